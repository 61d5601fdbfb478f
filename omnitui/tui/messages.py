"""Messages the console's workers and widgets post (workers only post messages;
the UI thread reads them and refreshes what is on screen)."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from storage.queries import AccountHealth, ChangeMarker


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
