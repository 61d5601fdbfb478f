"""The query language's syntax tree: what :func:`omnitui.query.parse_query`
returns and :mod:`storage.queries.triage` compiles into SQL.

Pure data with no imports of the store, like :mod:`storage.vocabulary`, so
the parser (in the application) and the compiler (in the store) share one
definition without the store knowing the application.

A query is a :class:`Term`, an :class:`And` or an :class:`Or`. Negation
sits on terms only: the parser pushes a negated group down to its terms
(``-(a OR b)`` is ``-a -b``), so the compiler never meets a negated group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from storage.vocabulary import ACTIVE_STATUSES

TermKind = Literal[
    "status",
    "assignee",
    "channel",
    "account",
    "tag",
    "customer",
    "unread",
    "older",
    "newer",
    "waiting",
    "word",
    "phrase",
]
#: the kinds written ``kind:value`` (words and phrases are written bare)
KEYED_KINDS: tuple[TermKind, ...] = (
    "status",
    "assignee",
    "channel",
    "account",
    "tag",
    "customer",
    "unread",
    "older",
    "newer",
    "waiting",
)
#: ``status:`` values (``all`` lifts the default)
STATUS_WORDS: tuple[str, ...] = ("open", "pending", "snoozed", "resolved", "all")
#: the statuses a query means when it names no status at all: the
#: conversations somebody still has to act on (as the inbox's "open" and
#: "unassigned" filters show them), so a typed ``tag:billing`` does not list
#: a year of resolved threads
DEFAULT_STATUSES: tuple[str, ...] = ACTIVE_STATUSES
#: the orders a list of conversations comes in: newest activity first,
#: longest waiting first (not waiting last), newest first
Sort = Literal["activity", "waiting", "created"]
SORTS: tuple[Sort, ...] = ("activity", "waiting", "created")
#: seconds per unit of ``older:``, ``newer:`` and ``waiting:``
DURATION_UNITS: dict[str, int] = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
#: the longest duration a term may give (ten years)
MAX_DURATION_SECONDS = 3660 * 86400


@dataclass(frozen=True)
class Term:
    """One term: ``kind`` (see :data:`TermKind`), its ``value`` in canonical
    spelling (a status word, ``me``/``none``/a name, a normalized tag, a
    customer id in digits, ``2h``, ``>4h``, a word or a phrase's text) and
    whether it was negated with ``-``.

    ``position`` and ``length`` say where it was written (0-based, in
    characters), for messages about it; they take no part in equality."""

    kind: TermKind
    value: str
    negated: bool = False
    position: int = field(default=0, compare=False)
    length: int = field(default=0, compare=False)

    @property
    def seconds(self) -> int:
        """``older``/``newer``/``waiting``: the duration, in seconds."""
        text = self.value.lstrip("<>")
        return int(text[:-1]) * DURATION_UNITS[text[-1]]

    @property
    def longer(self) -> bool:
        """``waiting``: ``>`` (waiting longer than) rather than ``<``."""
        return not self.value.startswith("<")


@dataclass(frozen=True)
class And:
    """Every item matches (no items: everything matches)."""

    items: tuple[Query, ...]


@dataclass(frozen=True)
class Or:
    """At least one item matches."""

    items: tuple[Query, ...]


Query = Term | And | Or


def terms_of(query: Query) -> list[Term]:
    """Every term of ``query``, in the order written."""
    if isinstance(query, Term):
        return [query]
    return [t for item in query.items for t in terms_of(item)]


def names_status(query: Query) -> bool:
    """Whether ``query`` says anything about status (else :data:`DEFAULT_STATUSES` apply)."""
    return any(t.kind == "status" for t in terms_of(query))
