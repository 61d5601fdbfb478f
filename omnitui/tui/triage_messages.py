"""Messages of the inbox's triage work (views, counts, marks, bulk actions,
tags), posted by its workers; see :mod:`omnitui.tui.messages` for the idiom."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message


@dataclass
class ViewsCounted(Message):
    """Every view's count (by name), and the typed query's (``query``: its text)."""

    ticket: int
    counts: dict[str, int]
    query: str | None = None
    query_count: int | None = None
    #: why a view has no count (it names an agent nobody on the team has), by name
    problems: dict[str, str] = field(default_factory=dict)

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ViewsCounted) and message.ticket > self.ticket


@dataclass
class ViewRefused(Message):
    """Read number ``ticket`` of view ``view`` was refused, and why (its query
    names an agent nobody on the team has; its count says so too)."""

    ticket: int
    view: str
    reason: str


@dataclass
class ViewMarked(Message):
    """The conversations (id -> version) that ``view`` lists, to mark;
    ``capped``: the view lists more than were marked."""

    view: str
    versions: dict[int, int]
    capped: bool = False


@dataclass
class BulkDone(Message):
    """A bulk action ended: ``what`` it was, the conversations it changed,
    and for each one it did not change, why (a conflict, a refusal)."""

    what: str
    changed: tuple[int, ...]
    problems: dict[int, str] = field(default_factory=dict)
    unchanged: tuple[int, ...] = ()


@dataclass
class TagsRead(Message):
    """The tags in use (tag, count) and the tags of what was asked about
    (``where``, for people: the conversations of ``versions``, or customer
    ``customer_id``), to add (``adding``) or remove one."""

    where: str
    versions: dict[int, int]
    customer_id: int | None
    in_use: list[tuple[str, int]]
    current: tuple[str, ...]
    adding: bool


@dataclass
class QueryChecked(Message):
    """A typed query checked against the team: ``problem`` (column, length,
    why) when it names an assignee nobody has, else None."""

    text: str
    problem: tuple[int, int, str] | None


@dataclass
class TeamReadForMarks(Message):
    """The team, for assigning the marked conversations."""

    names: list[str]
