"""The contract between omnitui and the outside world.

A provider talks to one account of one service (an IMAP mailbox, a Twilio
number, a Telegram bot, ...). It never touches the store: ``poll`` returns
what is new plus the cursors that cover it, ``send`` returns what the service
said. ``omnitui.services`` stores both in one transaction, so a crash between
the network call and the write can lose nothing.

Errors are typed so the sync engine decides retry versus fail without string
matching:

* :class:`AuthError` - credentials refused; retrying will not help until a
  person fixes the config.
* :class:`TransientError` - timeouts, refused connections, 429 and 5xx; try
  again later with backoff.
* :class:`PermanentError` - the service rejected this request for good (bad
  address, 4xx other than 429); the message is ``failed``.
* :class:`UnconfirmedError` - raised by ``send`` only: the request went out
  and no answer came back (a read timeout after the POST, a connection
  dropped after the end of SMTP DATA). The service may have delivered the
  message, so it is never retried by itself: it becomes ``unconfirmed``, and
  a provider that can look (:class:`Reconciler`) is asked later.

``send`` raises :class:`TransientError` only for failures known to happen
before the service accepted anything: a refused connection, a TLS or login
failure, an SMTP refusal before DATA ended, an HTTP error response.

Messages carried in these errors are shown to people: they must never contain
a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Literal, Protocol, runtime_checkable

from storage.vocabulary import (
    CHANNELS as CHANNELS,
)
from storage.vocabulary import (
    CHAT_CHANNELS as CHAT_CHANNELS,
)
from storage.vocabulary import (
    DEFAULT_REGION as DEFAULT_REGION,
)
from storage.vocabulary import (
    DELIVERY_STATES as DELIVERY_STATES,
)
from storage.vocabulary import (
    FINAL_DELIVERY_STATES as FINAL_DELIVERY_STATES,
)
from storage.vocabulary import (
    PHONE_CHANNELS as PHONE_CHANNELS,
)
from storage.vocabulary import (
    UNDELIVERED_STATES as UNDELIVERED_STATES,
)
from storage.vocabulary import (
    Channel as Channel,
)
from storage.vocabulary import (
    DeliveryState as DeliveryState,
)

Direction = Literal["in", "out"]


class ProviderError(Exception):
    """Base of every error a provider raises on purpose."""


class AuthError(ProviderError):
    """The service refused our credentials."""


class TransientError(ProviderError):
    """A passing failure: try again later.

    ``retry_after`` is the delay in seconds the service asked for, if any.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(ProviderError):
    """The service rejected this request; retrying the same request fails again."""


class UnconfirmedError(ProviderError):
    """The request reached the service (or may have) and no answer came back:
    the message may or may not have been delivered. Never retried by itself."""


@dataclass(frozen=True, slots=True)
class InboundAttachment:
    """A file that came with a message. ``filename`` is as the sender gave it
    (the store sanitizes it)."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message seen on the service, in either direction.

    ``direction`` is ``"out"`` for our own messages the service reports back
    (an SMS sent from another tool, a mail in the Sent folder); the store
    matches those to replies it sent itself by ``external_id``.

    ``thread_id`` names the conversation where the service has one (a chat
    room, a Telegram chat). For email it is ``None`` and the store threads by
    ``message_id`` / ``in_reply_to`` / ``references`` and the subject. For
    SMS and WhatsApp the pair of numbers is the thread.

    ``reply_to`` is where answers go when that is not the sender (the
    sender still names the customer).

    ``problem`` is set when the message could not be fully understood (a
    malformed MIME part, an unknown charset): it is stored anyway, with the
    reason shown to the agent.
    """

    external_id: str
    channel: Channel
    from_address: str
    to_address: str
    sent_at: datetime
    body_text: str
    from_name: str | None = None
    subject: str | None = None
    body_html: str | None = None
    direction: Direction = "in"
    thread_id: str | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    attachments: tuple[InboundAttachment, ...] = ()
    #: for ``direction="out"``: what the service says became of it
    delivery_state: DeliveryState | None = None
    #: the service's error code and words for an undelivered/failed message
    delivery_error: str | None = None
    problem: str | None = None
    #: where replies should go when not to the sender (e-mail Reply-To)
    reply_to: str | None = None


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A later delivery state for a message we sent (Twilio's delivered, ...)."""

    external_id: str
    state: DeliveryState
    #: the service's error code and words ("30007 Carrier violation")
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PollBatch:
    """What one ``poll`` found.

    ``cursors`` maps a scope (an IMAP folder; ``""`` for providers with one
    stream) to the opaque cursor that covers every message in this batch.
    The store saves them in the transaction that stores the messages.
    ``more`` says another poll right away would find more (a large first sync
    is fetched in batches).
    """

    messages: tuple[InboundMessage, ...] = ()
    cursors: Mapping[str, str] = field(default_factory=dict)
    status_updates: tuple[StatusUpdate, ...] = ()
    more: bool = False


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A message to deliver.

    ``message_id`` is chosen by the store before sending (email uses it as
    the Message-ID header) so a retried or echoed message is recognised.
    ``thread_id`` is the chat room or chat id to post into, when the channel
    has one; ``reply_to_external_id`` is the customer message answered.
    """

    channel: Channel
    to_address: str
    body_text: str
    from_address: str | None = None
    subject: str | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    thread_id: str | None = None
    reply_to_external_id: str | None = None
    #: the same for every attempt at this message, so a service that
    #: deduplicates requests (Matrix transaction ids) posts it once
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the service said when it accepted a message."""

    external_id: str
    #: what the service says of it now (Twilio answers every create "queued")
    delivery_state: DeliveryState | None = None
    sent_at: datetime | None = None


@runtime_checkable
class Provider(Protocol):
    """One account on one service.

    ``kind`` is the config's ``kind`` value; ``channels`` the channels this
    account carries. Calls are blocking and may be slow: callers run them off
    the UI loop. A provider keeps its own connection between calls and
    releases it in ``close``.
    """

    kind: ClassVar[str]
    account: str
    channels: tuple[Channel, ...]

    def address_for(self, channel: Channel) -> str:
        """Our own address on ``channel`` (From for sends, To for threading)."""
        ...

    def poll(self, cursors: Mapping[str, str]) -> PollBatch:
        """Fetch what is new since ``cursors`` (empty on the first poll).

        Raises AuthError, TransientError or PermanentError.
        """
        ...

    def send(self, message: OutboundMessage) -> SendResult:
        """Deliver one message.

        Raises AuthError, TransientError or PermanentError when the service
        surely did not take it, UnconfirmedError when it may have.
        """
        ...

    def close(self) -> None:
        """Release connections. Safe to call twice."""
        ...


@runtime_checkable
class Reconciler(Protocol):
    """An optional ability: a provider that can tell whether a message whose
    send went unanswered reached the service after all."""

    def find_sent(self, message: OutboundMessage, attempted_at: datetime) -> SendResult | None:
        """The service's record of ``message`` sent at or after ``attempted_at``,
        or ``None`` when it has none. May re-submit the message only where the
        service makes that idempotent (Matrix transaction ids). Raises the
        provider errors."""
        ...
