"""Messages the console's workers and widgets post (workers only post messages;
the UI thread reads them and refreshes what is on screen; see
:mod:`omnitui.tui.workers`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from textual.message import Message

from omnitui.services import ReplyTarget
from storage.queries import (
    AccountHealth,
    ChangeMarker,
    ConversationRow,
    CustomerRow,
    OutboxRow,
    TimelineEntry,
)
from storage.reports import Report


@dataclass
class MessagesSynced(Message):
    """A poll round of one account finished (``error`` set when it failed)."""

    account: str
    stored: int = 0
    sent: int = 0
    send_failed: int = 0
    error: str | None = None
    conversation_ids: frozenset[int] = field(default_factory=frozenset)

    def can_replace(self, message: Message) -> bool:
        # a burst of empty rounds for one account needs one refresh, not many
        return (
            isinstance(message, MessagesSynced)
            and message.account == self.account
            and not message.stored
            and not self.stored
        )


@dataclass
class OutboxDelivered(Message):
    """A delivery attempt ended: ``status`` is the outbox state it left
    (sent, failed or unconfirmed)."""

    message_id: int
    status: str
    error: str | None = None


@dataclass
class PollersReady(Message):
    """The polling worker built the providers it could; ``unable`` names the
    accounts this console cannot poll (a secret it cannot read) and why."""

    unable: dict[str, str]


@dataclass
class DeliveryDeferred(Message):
    """A queued message this console cannot send (no secret for its account
    here); it stays queued for the process that polls the account."""

    message_id: int
    reason: str


@dataclass
class StoreChecked(Message):
    """The store's change marker and account health, read off the UI thread."""

    marker: ChangeMarker
    health: list[AccountHealth]
    force: bool = False
    #: accounts whose lease another process holds (it polls them), and who
    held: dict[str, str] = field(default_factory=dict)


@dataclass
class OpenCustomer(Message):
    """Show a customer's timeline, at ``conversation_id`` when given."""

    customer_id: int
    conversation_id: int | None = None
    compose: str | None = None  # "reply" | "note": open the composer too
    #: the timeline entry to show (a search hit: "m12", "n3"), and the words to highlight
    entry: str | None = None
    terms: tuple[str, ...] = ()


@dataclass
class StoreProblem(Message):
    """The store cannot serve (``problem`` says why) or serves again (None), as
    seen by reading (``source="read"``, the change check) or writing (``"write"``,
    a poll round or a delivery)."""

    source: str
    problem: str | None = None


# -- results of the screens' workers (each says what it answers: a handler
#    drops an answer to a question no longer asked) --------------------------


@dataclass
class InboxRead(Message):
    """The inbox's first ``limit`` rows under ``view`` (read number ``ticket``)."""

    ticket: int
    view: str
    limit: int
    rows: list[ConversationRow]

    def can_replace(self, message: Message) -> bool:
        # a burst of reloads needs the newest answer only
        return isinstance(message, InboxRead) and message.ticket > self.ticket


@dataclass
class InboxPage(Message):
    """A further page of the inbox under ``view``, from row ``offset``."""

    view: str
    offset: int
    rows: list[ConversationRow]


@dataclass
class CustomerRead(Message):
    """A customer (``None``: gone), their conversations and the newest
    ``limit`` timeline entries (``has_older``: more exist before them)."""

    ticket: int
    asked_id: int
    customer: CustomerRow | None
    conversations: list[ConversationRow]
    entries: list[TimelineEntry]
    has_older: bool

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CustomerRead) and message.ticket > self.ticket


@dataclass
class OlderRead(Message):
    """Timeline entries before ``before``, for the customer ``customer_id``."""

    customer_id: int
    before: datetime
    entries: list[TimelineEntry]
    has_older: bool


@dataclass
class RoutesRead(Message):
    """Where a reply on each of the customer's channels goes, for the composer
    to open on ``conversation_id`` as ``mode`` (``None``: as its draft was)."""

    conversation_id: int
    channels: tuple[tuple[str, str], ...]
    routes: tuple[ReplyTarget, ...]
    mode: str | None
    focus: bool
    #: then move the composer to the next channel (c pressed while it was closed)
    switch: bool = False


@dataclass
class Saved(Message):
    """A write the agent asked for is kept: ``text`` says what was done.
    ``queued`` names messages to deliver now; ``sent`` is set by the composer's
    sends (the composer clears its draft then)."""

    text: str
    queued: tuple[int, ...] = ()
    sent: bool = False


@dataclass
class ReadMarked(Message):
    """Conversation ``conversation_id`` is marked read (or unread) for the agent;
    ``asked`` when the agent pressed the key (a mark made by opening is silent)."""

    conversation_id: int
    read: bool
    asked: bool = True


@dataclass
class TeamRead(Message):
    """The team, for assigning ``conversation``."""

    conversation: ConversationRow
    names: list[str]


@dataclass
class ChoicesFound(Message):
    """What a picker's lookup found for ``query``."""

    query: str
    choices: list[Any]


@dataclass
class FilesSaved(Message):
    """Attachments written into ``directory``."""

    directory: Path
    paths: list[Path]


@dataclass
class FileOpened(Message):
    """A file was handed to the desktop's opener (``code``: its exit code, when
    it exited; ``None`` while it still runs)."""

    path: Path
    code: int | None


@dataclass
class OutboxRead(Message):
    """The messages waiting for a person."""

    ticket: int
    rows: list[OutboxRow]


@dataclass
class AddressesRead(Message):
    """The customer's addresses on the message's channel, for re-addressing."""

    row: OutboxRow
    addresses: list[str]


@dataclass
class ReportReady(Message):
    """A report for the period and channel asked."""

    period: int
    channel: str | None
    result: Report
