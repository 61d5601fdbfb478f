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
  :class:`OutsideWindowError` is the one a person can act on: WhatsApp takes
  only an approved template this long after the customer's last message.
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

from collections.abc import Iterable, Mapping
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


class OutsideWindowError(PermanentError):
    """WhatsApp refused free-form text: the customer last wrote more than 24
    hours ago, and only an approved template may be sent (Twilio error 63016).
    The same message with ``template`` set is accepted."""

    MESSAGE = (
        "more than 24 hours since the customer's last message: WhatsApp allows only "
        "an approved template; pick one with --template NAME"
    )

    def __init__(self, message: str = MESSAGE) -> None:
        super().__init__(message)


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
    #: every address of an e-mail's Reply-To, in order (a reply-all answers
    #: them all); empty when it has none
    reply_to_addresses: tuple[str, ...] = ()
    #: every To and Cc recipient as the message names them, in order (plain
    #: addresses, without display names); ``to_address`` is the first of them
    #: (ours, for a mail to the support address). E-mail only; a reply-all
    #: answers ``to_addresses + cc_addresses`` less our own address.
    to_addresses: tuple[str, ...] = ()
    cc_addresses: tuple[str, ...] = ()


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
class OutboundAttachment:
    """A file to send with a message: its name as the customer will see it,
    its content type (``image/*`` goes as a picture where the channel has
    them) and its bytes."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class OutboundTemplate:
    """An approved message template (a Twilio Content SID, ``HX…``) and the
    values of its variables by name (``{"1": "Ann"}`` fills ``{{1}}``)."""

    content_sid: str
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A message to deliver.

    ``message_id`` is chosen by the store before sending (email uses it as
    the Message-ID header) so a retried or echoed message is recognised.
    ``thread_id`` is the chat room or chat id to post into, when the channel
    has one; ``reply_to_external_id`` is the customer message answered.

    ``cc`` and ``bcc`` are further e-mail recipients (plain addresses); Bcc
    goes only to the SMTP envelope, never into a header. ``attachments``
    must fit :meth:`Provider.limits` (a provider refuses those that do not
    with :class:`PermanentError` before anything goes out). ``template``
    sends an approved template instead of ``body_text`` (WhatsApp outside
    the 24-hour window); ``body_text`` is then the text as the customer will
    read it, kept for the timeline.
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
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    attachments: tuple[OutboundAttachment, ...] = ()
    template: OutboundTemplate | None = None


def _size(n: int) -> str:
    """``n`` bytes for people: "25 MB", "700 KB", "12 bytes"."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.3g} MB"
    if n >= 1024:
        return f"{n / 1024:.3g} KB"
    return f"{n} bytes"


def _sizes(size: int, most: int) -> tuple[str, str]:
    """``size`` and the bound ``most`` it is over, for people; in bytes when
    rounded they would read the same ("1 MB; up to 1 MB")."""
    if _size(size) == _size(most):
        return f"{size:,} bytes", f"{_size(most)} ({most:,} bytes)"
    return _size(size), _size(most)


@dataclass(frozen=True, slots=True)
class SendLimits:
    """What files a channel of an account can carry, so a message that
    cannot go is refused before it is queued.

    ``max_attachment_bytes`` bounds each file, ``max_total_bytes`` all the
    files of one message together (``None``: no bound of its own). When
    ``can_attach`` is false, ``why_not`` says why for people.
    """

    max_attachment_bytes: int | None
    max_total_bytes: int | None
    can_attach: bool = True
    why_not: str | None = None

    def refusal(self, files: Iterable[tuple[str, int]]) -> str | None:
        """Why the files ``(name, size in bytes)`` cannot be sent, or ``None``
        when they fit."""
        listed = list(files)
        if not listed:
            return None
        if not self.can_attach:
            return self.why_not or "this channel cannot carry files"
        for name, size in listed:
            if self.max_attachment_bytes is not None and size > self.max_attachment_bytes:
                got, most = _sizes(size, self.max_attachment_bytes)
                return f"{name} is {got}; this channel takes files up to {most}"
        total = sum(size for _, size in listed)
        if self.max_total_bytes is not None and total > self.max_total_bytes:
            got, most = _sizes(total, self.max_total_bytes)
            return f"the files come to {got}; this channel takes up to {most} in one message"
        return None


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
        surely did not take it, UnconfirmedError when it may have (also when
        only part of it went out: the text of a chat message posted and one
        of its files refused; never retried, a person looks).
        """
        ...

    def limits(self, channel: Channel) -> SendLimits:
        """The files ``channel`` can carry from this account. Never raises: a
        provider that asks its service (Matrix) falls back to what the
        settings tell (:meth:`providers.settings.AccountSettings.send_limits`)."""
        ...

    def check(self) -> str:
        """Log in (or reach the service) and say in one line what answered:
        ``omnitui doctor``'s connectivity check. Raises as :meth:`poll`."""
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


@runtime_checkable
class ThreadOpener(Protocol):
    """An optional ability: a provider whose first message to a person must
    go to a thread made for it (Matrix: a direct room with a user), which the
    outbox stores as the conversation's thread before the message goes, so a
    retry reuses it (DESIGN.md: external effects are recorded first)."""

    def open_thread(self, message: OutboundMessage) -> str | None:
        """The thread ``message`` goes to when its ``thread_id`` (else its
        ``to_address``) names a person rather than a thread: an existing one
        shared with them, else a new one made now; ``None`` when it names a
        thread already. Called again after a crash, it finds what an earlier
        call made instead of making another. Raises the provider errors
        (a :class:`TransientError` where it may be asked again)."""
        ...
