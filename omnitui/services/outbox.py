"""The durable send queue: queued -> sending -> sent | failed | unconfirmed.

This is the outbox's own state (``Message.outbox_state``), which only
omnitui writes and only for messages composed here; what the provider says
later (Twilio's queued, delivered, ...) is the separate ``delivery_state``.
A message can only enter the outbox through :mod:`omnitui.services`.

What an agent typed is committed as ``queued`` before any network call. The
move to ``sending`` is committed before the provider is called, and the
outcome after. Only a failure known to have happened before the service
took anything is ``failed`` and retried with backoff; a send that went out
and got no answer (:class:`~providers.base.UnconfirmedError`), or a process
that died mid-send (:func:`recover_interrupted`; at once when it ran on
this machine, see :mod:`omnitui.services.senders`), leaves it ``unconfirmed``:
never sent again by itself. :func:`reconcile` asks a provider that can tell
(Twilio's message list, Matrix transaction ids) and marks it sent; what
stays unconfirmed waits for a person (``omnitui outbox retry``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import make_msgid

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from omnitui.addresses import InvalidAddress, normalize_address
from omnitui.services import senders, whatsapp_window
from omnitui.services.base import AccountInfo
from omnitui.services.records import conversation_values, conversations_by_key, find_identities
from omnitui.threads import pair_key
from providers.base import (
    CHAT_CHANNELS,
    DEFAULT_REGION,
    PHONE_CHANNELS,
    AuthError,
    DeliveryState,
    OutboundAttachment,
    OutboundMessage,
    OutboundTemplate,
    PermanentError,
    Provider,
    ProviderError,
    Reconciler,
    SendResult,
    ThreadOpener,
    TransientError,
    UnconfirmedError,
)
from storage.bulk import insert_ids
from storage.db import Store, utc
from storage.models import (
    AuditEvent,
    Conversation,
    Identity,
    Message,
    attachment_t,
    blob_t,
    conversation_t,
    message_t,
    utcnow,
)
from storage.queries import id_fits, message_account
from storage.vocabulary import (
    OUTBOX_AWAITING_OUTCOME,
    OUTBOX_CHANGEABLE,
    OUTBOX_NEEDS_PERSON,
    OutboxState,
)

MAX_ATTEMPTS = 5
#: A message "sending" for longer than this belongs to a dead process.
STALE_SENDING = timedelta(minutes=5)
#: How long after an unanswered attempt the provider is asked about it, and
#: how often: a record that has not shown up within the window is not
#: looked for again, and the message waits for a person.
RECONCILE_WINDOW = timedelta(hours=1)
RECONCILE_EVERY = timedelta(minutes=1)
UNCONFIRMED_TEXT = "the send went out and no answer came: it may or may not have been delivered"


class OutboxError(Exception):
    """An outbox request that cannot be carried out; the message says why."""


class OutboxNotFound(OutboxError):
    """The id names no outgoing message."""


@dataclass(frozen=True)
class Delivery:
    """The outcome of one delivery attempt."""

    message_id: int
    state: OutboxState
    external_id: str | None = None
    error: str | None = None
    delivery_state: DeliveryState | None = None


def backoff(attempts: int) -> timedelta:
    """Wait before retry number ``attempts`` of a transient failure: 30 s, 1, 2, 4 ... min."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def claim(store: Store, message_id: int) -> Message:
    """Mark ``message_id`` as being sent by this process and return it.

    Only a ``queued`` message (or a ``failed`` one due for an automatic retry)
    can be claimed, and only once: the conditional update is the lock.
    """
    now = utcnow()
    m = message_t.c
    with store.write() as session:
        claimed = session.execute(
            update(message_t)
            .where(
                m.id == message_id,
                m.direction == "out",
                (m.outbox_state == "queued")
                | ((m.outbox_state == "failed") & (m.next_attempt_at.is_not(None))),
            )
            .values(
                outbox_state="sending",
                attempts=m.attempts + 1,
                sending_owner=senders.SENDER_ID,
                sending_since=now,
                next_attempt_at=None,
            )
        ).rowcount  # type: ignore[attr-defined]
        message = session.get(Message, message_id)
    if message is None:
        raise OutboxNotFound(f"message {message_id} does not exist")
    if not claimed:
        state = message.outbox_state or "not in the outbox"
        raise OutboxError(
            f"message {message_id} is {state}, not queued: nothing was sent"
            + (
                " (use `omnitui outbox retry` to send it again)"
                if message.outbox_state in OUTBOX_NEEDS_PERSON
                else ""
            )
        )
    return message


def deliver(store: Store, provider: Provider, message_id: int) -> Delivery:
    """Send one queued message through ``provider`` and record the outcome."""
    message = claim(store, message_id)
    if not message.from_address:
        _learn_our_address(store, message, provider)
    outbound = _outbound(store, message)
    try:  # nothing is posted before the send: a failure here is surely not sent
        outbound = _opened_thread(store, provider, message, outbound)
    except TransientError as exc:
        return _record_failure(
            store, message, str(exc), transient=True, retry_after=exc.retry_after
        )
    except ProviderError as exc:
        return _record_failure(store, message, str(exc), transient=False)
    except Exception as exc:  # noqa: BLE001 - a bug must not leave it "sending"
        return _record_failure(
            store,
            message,
            f"unexpected error while opening the thread: {type(exc).__name__}: {exc}",
            transient=False,
        )
    try:
        result = provider.send(outbound)
    except UnconfirmedError as exc:
        return _record_unconfirmed(store, message, str(exc))
    except TransientError as exc:
        return _record_failure(
            store, message, str(exc), transient=True, retry_after=exc.retry_after
        )
    except (AuthError, PermanentError, ProviderError) as exc:
        return _record_failure(store, message, str(exc), transient=False)
    except Exception as exc:  # noqa: BLE001 - a provider bug must not leave it "sending"
        # Whether it went out is unknown: shown to a person, never resent by itself.
        return _record_unconfirmed(
            store, message, f"unexpected error while sending: {type(exc).__name__}: {exc}"
        )
    return _record_sent(store, message_id, result)


def _learn_our_address(store: Store, message: Message, provider: Provider) -> None:
    """Our side's address on a message queued before it was known, and on its
    conversation: a Telegram bot's id is in its token, so a console without
    the secret queues with none; the process that sends holds the token."""
    ours = provider.address_for(message.channel)  # type: ignore[arg-type]
    if not ours:
        return
    with store.write() as session:
        session.execute(
            update(message_t)
            .where(message_t.c.id == message.id, message_t.c.from_address == "")
            .values(from_address=ours)
        )
        session.execute(
            update(conversation_t)
            .where(
                conversation_t.c.id == message.conversation_id,
                conversation_t.c.our_address == "",
            )
            .values(our_address=ours)
        )
    message.from_address = ours


def _opened_thread(
    store: Store, provider: Provider, message: Message, outbound: OutboundMessage
) -> OutboundMessage:
    """``outbound`` sent to the thread its provider opens for it (Matrix: a
    user's direct room, found or made), stored as the conversation's thread
    first: the room is an effect outside, so it is recorded before the
    message goes, and a retry after a crash reuses it."""
    if not isinstance(provider, ThreadOpener):
        return outbound
    thread = provider.open_thread(outbound)
    if thread is None or thread == outbound.thread_id:
        return outbound
    return replace(outbound, thread_id=_store_thread(store, message, outbound.thread_id, thread))


def _store_thread(store: Store, message: Message, old: str | None, thread: str) -> str:
    """Key ``message``'s conversation by ``thread`` (it was ``old``); returns
    the thread the message goes to. Another sender that stored a thread first
    wins (its room is the conversation's); a conversation the store already
    has for ``thread`` gets the message instead (one conversation a room)."""
    c, m = conversation_t.c, message_t.c
    with store.write() as session:
        conv = session.execute(
            select(c.id, c.account, c.channel).where(c.id == message.conversation_id)
        ).one()
        other = conversations_by_key(session, conv.account, [(conv.channel, thread)]).get(
            (conv.channel, thread)
        )
        if other is None:
            changed = session.execute(
                update(conversation_t)
                .where(c.id == conv.id, c.thread_key == old)
                .values(thread_key=thread)
            ).rowcount  # type: ignore[attr-defined]
            if changed:
                return thread
            return str(session.execute(select(c.thread_key).where(c.id == conv.id)).scalar_one())
        owner = session.execute(select(c.customer_id).where(c.id == other)).scalar_one()
        session.execute(
            update(message_t)
            .where(m.id == message.id)
            .values(conversation_id=other, customer_id=owner)
        )
        session.execute(
            update(conversation_t).where(c.id == conv.id).values(message_count=c.message_count - 1)
        )
        if old == message.to_address:
            _drop_placeholder(session, conv.id)
        session.execute(
            update(conversation_t)
            .where(c.id == other)
            .values(message_count=c.message_count + 1, last_message_at=utcnow(), waiting_since=None)
        )
    message.conversation_id = other
    return thread


def _drop_placeholder(session: Session, conversation_id: int) -> None:
    """Delete the conversation a message to a user was queued in until its
    room was known, now that the message went to the room's own conversation
    and none is left in it (else every send to them would leave one empty
    conversation behind). One something else names (a tag, a note) is kept."""
    m = message_t.c
    if session.execute(select(m.id).where(m.conversation_id == conversation_id).limit(1)).first():
        return
    try:
        with session.begin_nested():
            session.execute(delete(conversation_t).where(conversation_t.c.id == conversation_id))
    except IntegrityError:
        pass


def _record_sent(
    store: Store,
    message_id: int,
    result: SendResult,
    *,
    expected: tuple[OutboxState, ...] = OUTBOX_AWAITING_OUTCOME,
) -> Delivery:
    """Mark ``message_id`` sent with the provider's id, if it is still in an
    ``expected`` state (a person may have decided otherwise meanwhile)."""
    with store.write() as session:
        _adopt_external_id(session, message_id, result.external_id)
        changed = session.execute(
            update(message_t)
            .where(message_t.c.id == message_id, message_t.c.outbox_state.in_(expected))
            .values(
                outbox_state="sent",
                delivery_state=result.delivery_state,
                external_id=result.external_id,
                error=None,
                next_attempt_at=None,
                sending_owner=None,
                sending_since=None,
                **({"sent_at": utc(result.sent_at)} if result.sent_at else {}),
            )
        ).rowcount  # type: ignore[attr-defined]
        if not changed:
            raise OutboxError(f"message {message_id} changed state while it was being sent")
    return Delivery(message_id, "sent", result.external_id, delivery_state=result.delivery_state)


def _adopt_external_id(session: Session, message_id: int, external_id: str) -> None:
    """Make room for ``external_id`` on our message ``message_id``.

    A poll that ran while the send was under way (or before an unanswered
    send was reconciled) may have stored the service's copy of our message
    as an outbound message of its own: that copy is the same message, so it
    goes, and ours carries the provider id.
    """
    m = message_t.c
    account = select(m.account).where(m.id == message_id).scalar_subquery()
    copies = session.execute(
        select(m.id, m.conversation_id, m.outbox_state).where(
            m.account == account, m.external_id == external_id, m.id != message_id
        )
    ).all()
    for copy_id, conversation_id, outbox_state in copies:
        if outbox_state is not None:
            raise OutboxError(
                f"the provider's id {external_id} already belongs to message {copy_id}"
            )
        session.execute(delete(attachment_t).where(attachment_t.c.message_id == copy_id))
        session.execute(delete(message_t).where(m.id == copy_id))
        session.execute(
            update(conversation_t)
            .where(conversation_t.c.id == conversation_id)
            .values(message_count=conversation_t.c.message_count - 1)
        )


def idempotency_key(message: Message) -> str:
    """The same key for every attempt at ``message`` (and different for any
    other message, also one in another store): its id and when it was queued."""
    queued = utc(message.sent_at).isoformat() if message.sent_at else ""
    digest = hashlib.sha256(f"{message.id}|{queued}|{message.account}".encode()).hexdigest()
    return f"omnitui-{message.id}-{digest[:16]}"


def _outbound(store: Store, message: Message) -> OutboundMessage:
    with store.read() as session:
        conv = session.execute(
            select(conversation_t.c.thread_key, conversation_t.c.channel).where(
                conversation_t.c.id == message.conversation_id
            )
        ).one()
        last_in = session.execute(
            select(message_t.c.external_id, message_t.c.email_message_id)
            .where(
                message_t.c.conversation_id == message.conversation_id,
                message_t.c.direction == "in",
                message_t.c.sent_at <= message.sent_at,
            )
            .order_by(message_t.c.sent_at.desc())
            .limit(1)
        ).first()
        references: tuple[str, ...] = ()
        in_reply_to = None
        if message.channel == "email" and last_in is not None:
            in_reply_to = last_in.email_message_id
            references = _email_references(session, message.conversation_id, message.sent_at)
        files = _files(session, message)
    return OutboundMessage(
        channel=message.channel,  # type: ignore[arg-type]
        to_address=message.to_address,
        from_address=message.from_address,
        body_text=message.body_text,
        subject=message.subject,
        message_id=message.email_message_id,
        in_reply_to=in_reply_to,
        references=references,
        thread_id=conv.thread_key if message.channel in CHAT_CHANNELS else None,
        reply_to_external_id=last_in.external_id if last_in is not None else None,
        idempotency_key=idempotency_key(message),
        cc=_addresses(message.cc_addresses),
        bcc=_addresses(message.bcc_addresses),
        attachments=files,
        template=_template(message.template),
    )


def _addresses(stored: str | None) -> tuple[str, ...]:
    """A JSON list of addresses as the queue wrote it (see services.messages)."""
    return tuple(str(a) for a in json.loads(stored)) if stored else ()


def _template(stored: str | None) -> OutboundTemplate | None:
    if not stored:
        return None
    chosen = json.loads(stored)
    variables = {str(k): str(v) for k, v in (chosen.get("variables") or {}).items()}
    return OutboundTemplate(content_sid=str(chosen["content_sid"]), variables=variables)


def _files(session: Session, message: Message) -> tuple[OutboundAttachment, ...]:
    """The files queued with ``message``, with the bytes kept in the store
    (the same bytes on every attempt, from whichever host sends)."""
    a, b = attachment_t.c, blob_t.c
    rows = session.execute(
        select(a.filename, a.content_type, b.data)
        .join(blob_t, b.sha256 == a.sha256)
        .where(a.message_id == message.id)
        .order_by(a.id)
    ).all()
    return tuple(
        OutboundAttachment(filename=r.filename, content_type=r.content_type, data=bytes(r.data))
        for r in rows
    )


def _email_references(session: Session, conversation_id: int, before: datetime) -> tuple[str, ...]:
    ids = session.execute(
        select(message_t.c.email_message_id)
        .where(
            message_t.c.conversation_id == conversation_id,
            message_t.c.email_message_id.is_not(None),
            message_t.c.sent_at < before,
        )
        .order_by(message_t.c.sent_at)
    ).scalars()
    # RFC 5322 suggests the parent's References plus the parent; the first
    # id (the root) and the last few are what threading clients use.
    chain = [mid for mid in ids if mid]
    if len(chain) > 20:
        chain = chain[:1] + chain[-19:]
    return tuple(chain)


def _record_failure(
    store: Store, message: Message, error: str, *, transient: bool, retry_after: float | None = None
) -> Delivery:
    assert message.id is not None
    again = transient and message.attempts < MAX_ATTEMPTS
    delay = backoff(message.attempts)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    with store.write() as session:
        session.execute(
            update(message_t)
            .where(message_t.c.id == message.id)
            .values(
                outbox_state="failed",
                error=error[:2000],
                next_attempt_at=utcnow() + delay if again else None,
                sending_owner=None,
                sending_since=None,
            )
        )
    return Delivery(message.id, "failed", error=error)


def _record_unconfirmed(store: Store, message: Message, error: str) -> Delivery:
    """The send went out unanswered: ``unconfirmed``, checked by :func:`reconcile`
    where the provider can tell, never sent again by itself. ``sending_since``
    stays: it is when the attempt began, which the check looks after."""
    assert message.id is not None
    with store.write() as session:
        session.execute(
            update(message_t)
            .where(message_t.c.id == message.id)
            .values(
                outbox_state="unconfirmed",
                error=error[:2000],
                next_attempt_at=utcnow(),
                sending_owner=None,
            )
        )
    return Delivery(message.id, "unconfirmed", error=error)


def retry(
    store: Store, message_id: int, *, accounts: Mapping[str, AccountInfo] | None = None
) -> None:
    """Put a ``failed`` or ``unconfirmed`` message back in the queue, by a person's decision.

    A free-form WhatsApp message outside its conversation's window is refused
    (:class:`~omnitui.services.whatsapp_window.WindowClosed`, naming the
    templates of its account in ``accounts``) and left as it is.

    A message whose sender died mid-send is unconfirmed first (a person
    retrying right after the crash need not wait for the next poll round)."""
    recover_interrupted(store)
    with store.write() as session:
        message = session.get(Message, message_id)
        if message is None or message.direction != "out":
            raise OutboxNotFound(f"there is no outgoing message {message_id}")
        if message.outbox_state not in OUTBOX_NEEDS_PERSON:
            state = message.outbox_state or "not one composed here"
            raise OutboxError(
                f"message {message_id} is {state}; only failed or unconfirmed "
                "messages can be retried"
            )
        _window_allows(session, message, message.conversation_id, message.to_address, accounts)
        message.outbox_state = "queued"
        message.next_attempt_at = None
        message.sending_since = None
        session.add(message)


def recover_interrupted(store: Store, older_than: timedelta = STALE_SENDING) -> list[int]:
    """Mark messages left ``sending`` by a dead process as ``unconfirmed``.

    A message this process is sending right now is never touched; another
    process's is taken as dead once it has been sending for ``older_than``,
    or at once when that process ran on this machine and is gone
    (:func:`omnitui.services.senders.gone`: killed mid-send).
    """
    cutoff = utcnow() - older_than
    m = message_t.c
    with store.write() as session:
        sending = session.execute(
            select(m.id, m.sending_owner, m.sending_since).where(
                m.outbox_state == "sending",
                m.sending_owner.is_distinct_from(senders.SENDER_ID),
            )
        ).all()
        stale = [
            row.id
            for row in sending
            if row.sending_since is None
            or utc(row.sending_since) < cutoff
            or senders.gone(row.sending_owner)
        ]
        if stale:
            session.execute(
                update(message_t)
                .where(m.id.in_(stale), m.outbox_state == "sending")
                .values(
                    outbox_state="unconfirmed",
                    error="the process sending this message stopped before the provider "
                    "answered: it may or may not have been delivered",
                    sending_owner=None,
                    next_attempt_at=utcnow(),
                )
            )
    return stale


def due(store: Store, account: str | None = None, limit: int = 100) -> list[int]:
    """Ids of messages waiting to be sent now: queued, or transient failures due for retry."""
    m = message_t.c
    now = utcnow()
    stmt = (
        select(m.id)
        .where(
            m.direction == "out",
            (m.outbox_state == "queued")
            | ((m.outbox_state == "failed") & (m.next_attempt_at <= now)),
        )
        .order_by(m.id)
        .limit(limit)
    )
    if account is not None:
        stmt = stmt.where(m.account == account)
    with store.read() as session:
        return list(session.execute(stmt).scalars())


def reconcile(store: Store, provider: Provider, limit: int = 20) -> list[Delivery]:
    """Ask ``provider`` about its account's unconfirmed messages; mark those it
    has as sent. Does nothing for a provider that cannot tell."""
    if not isinstance(provider, Reconciler):
        return []
    m = message_t.c
    now = utcnow()
    with store.read() as session:
        waiting = list(
            session.execute(
                select(Message)
                .where(
                    m.account == provider.account,
                    m.outbox_state == "unconfirmed",
                    m.next_attempt_at.is_not(None),
                    m.next_attempt_at <= now,
                )
                .order_by(m.id)
                .limit(limit)
            ).scalars()
        )
    done: list[Delivery] = []
    for message in waiting:
        assert message.id is not None
        attempted = utc(message.sending_since) if message.sending_since else None
        if attempted is None or now - attempted > RECONCILE_WINDOW:
            _stop_checking(
                store,
                message.id,
                f"{message.error or UNCONFIRMED_TEXT}; the service had no record of it "
                "within an hour: `omnitui outbox retry` sends it again",
            )
            continue
        try:
            outbound = _opened_thread(store, provider, message, _outbound(store, message))
            found = provider.find_sent(outbound, attempted)
        except ProviderError:
            continue  # the service cannot answer now: ask again next round
        if found is None:
            _check_later(store, message.id, now + RECONCILE_EVERY)
            continue
        try:
            done.append(_record_sent(store, message.id, found, expected=("unconfirmed",)))
        except OutboxError as exc:
            _stop_checking(store, message.id, str(exc))
    return done


def _check_later(store: Store, message_id: int, when: datetime) -> None:
    with store.write() as session:
        session.execute(
            update(message_t)
            .where(message_t.c.id == message_id, message_t.c.outbox_state == "unconfirmed")
            .values(next_attempt_at=when)
        )


def _stop_checking(store: Store, message_id: int, error: str) -> None:
    with store.write() as session:
        session.execute(
            update(message_t)
            .where(message_t.c.id == message_id, message_t.c.outbox_state == "unconfirmed")
            .values(next_attempt_at=None, error=error[:2000])
        )


# -- a person's decisions about an unsent message (the outbox screen, the CLI) --
#
# Each is one conditional update (the state it expects is part of the WHERE,
# as in :func:`claim`), so it cannot race a send under way: a message a
# worker has claimed is "sending" and is refused here. Each is audited.


def _audit(session: Session, actor: str, action: str, message: Message, **detail: object) -> None:
    session.add(
        AuditEvent(
            actor=actor,
            action=action,
            customer_id=message.customer_id,
            conversation_id=message.conversation_id,
            detail=json.dumps({"message": message.id, **detail}, default=str, sort_keys=True),
        )
    )


def _changeable(session: Session, message_id: int, what: str) -> Message:
    # an id too big for the engine names no row (and must not reach the driver)
    message = session.get(Message, message_id) if id_fits(session, message_id) else None
    if message is None or message.direction != "out" or message.outbox_state is None:
        raise OutboxNotFound(f"there is no outgoing message {message_id} composed here")
    if message.outbox_state not in OUTBOX_CHANGEABLE:
        raise OutboxError(
            f"message {message_id} is {message.outbox_state}; only queued, failed or "
            f"unconfirmed messages can be {what}"
        )
    return message


def _window_allows(
    session: Session,
    message: Message,
    conversation_id: int | None,
    to: str,
    accounts: Mapping[str, AccountInfo] | None,
) -> None:
    """Refuse to queue free-form WhatsApp ``message`` again, to ``to`` on
    conversation ``conversation_id`` (``None``: one not made yet), outside
    that conversation's window: Twilio would answer 63016. A template goes
    in or out of the window. The rule is :mod:`whatsapp_window`'s."""
    if message.channel != "whatsapp" or message.template:
        return
    whatsapp_window.require_open(
        session,
        conversation_id,
        (accounts or {}).get(message.account),
        about=f"message {message.id} to {to}: ",
        done="Nothing was changed",
    )


def _set(session: Session, message: Message, what: str, **values: object) -> None:
    """Apply ``values`` to ``message`` if it is still in the state it was read in."""
    changed = session.execute(
        update(message_t)
        .where(message_t.c.id == message.id, message_t.c.outbox_state == message.outbox_state)
        .values(**values)
    ).rowcount  # type: ignore[attr-defined]
    if not changed:
        raise OutboxError(
            f"message {message.id} changed state while it was being {what}: look again"
        )


def _requeue_values(message: Message, now: datetime) -> dict[str, object]:
    """A changed message is a new message: queued now (so its idempotency key
    is new and a service that kept the old attempt does not drop this one),
    and on e-mail with a Message-ID of its own."""
    values: dict[str, object] = {
        "outbox_state": "queued",
        "sent_at": now,
        "error": None,
        "next_attempt_at": None,
        "sending_owner": None,
        "sending_since": None,
        "attempts": 0,
    }
    if message.channel == "email":
        domain = message.from_address.rpartition("@")[2] or None
        values["external_id"] = values["email_message_id"] = make_msgid(domain=domain)
    return values


def retry_by(
    store: Store,
    message_id: int,
    actor: str,
    *,
    accounts: Mapping[str, AccountInfo] | None = None,
) -> None:
    """:func:`retry`, audited as ``actor``'s decision."""
    retry(store, message_id, accounts=accounts)
    with store.write() as session:
        message = session.get(Message, message_id)
        assert message is not None
        _audit(session, actor, "outbox.retry", message)


def discard(store: Store, message_id: int, actor: str) -> None:
    """Never send ``message_id``: it stays in the timeline as ``discarded``."""
    with store.write() as session:
        message = _changeable(session, message_id, "discarded")
        before = message.outbox_state
        _set(session, message, "discarded", outbox_state="discarded", next_attempt_at=None)
        _audit(session, actor, "outbox.discard", message, before=before)


def edit(
    store: Store,
    message_id: int,
    body: str,
    actor: str,
    *,
    accounts: Mapping[str, AccountInfo] | None = None,
) -> None:
    """Put ``body`` on the unsent message ``message_id`` and queue it again
    (refused, as by :func:`retry`, on WhatsApp outside the window)."""
    if not body.strip():
        raise OutboxError("the message is empty: discard it instead of sending nothing")
    with store.write() as session:
        message = _changeable(session, message_id, "edited")
        if message.template:  # Twilio sends the approved wording, whatever the text says
            raise OutboxError(
                "a WhatsApp template's text is its approved wording: retry it as it is, "
                "or discard it and reply with another template"
            )
        _window_allows(session, message, message.conversation_id, message.to_address, accounts)
        before = message.outbox_state
        _set(session, message, "edited", body_text=body, **_requeue_values(message, utcnow()))
        _audit(session, actor, "outbox.edit", message, before=before, chars=len(body))


def readdress(
    store: Store,
    message_id: int,
    to: str,
    actor: str,
    *,
    default_region: str = DEFAULT_REGION,
    accounts: Mapping[str, AccountInfo] | None = None,
) -> str:
    """Send the unsent message ``message_id`` to ``to`` instead, and queue it
    again; returns the address as stored.

    ``to`` becomes one of the customer's identities if nobody has it yet; an
    address that belongs to another customer is refused (that would show one
    customer's message to another). An SMS or WhatsApp message moves to the
    conversation with the new number; a chat message cannot be re-addressed
    (it goes to its room). A free-form WhatsApp message is refused, as by
    :func:`retry`, when the window of that conversation is closed (or never
    opened: the customer has not written from the new number).
    """
    with store.write() as session:
        message = _changeable(session, message_id, "re-addressed")
        if message.channel not in ("email", *PHONE_CHANNELS):
            raise OutboxError(
                f"a {message.channel} message goes to its chat, not to an address: "
                "discard it and write in the customer's other conversation"
            )
        try:
            address = normalize_address(message.channel, to, default_region)
        except InvalidAddress as exc:
            raise OutboxError(str(exc)) from None
        if address == message.to_address:
            raise OutboxError(f"message {message_id} already goes to {address}")
        owner = find_identities(session, [(message.channel, address)]).get(
            (message.channel, address)
        )
        if owner is not None and owner != message.customer_id:
            raise OutboxError(
                f"{address} belongs to customer {owner}, not to this message's customer "
                f"{message.customer_id}: merge them first if they are one person"
            )
        if message.channel == "whatsapp":
            target = _pair_conversation_id(session, message, address)
            _window_allows(session, message, target, address, accounts)
        if owner is None:
            session.add(
                Identity(customer_id=message.customer_id, channel=message.channel, address=address)
            )
        now = utcnow()
        values = _requeue_values(message, now)
        values["to_address"] = address
        if message.channel in PHONE_CHANNELS:
            values["conversation_id"] = _pair_conversation(session, message, address, now)
        before = (message.outbox_state, message.to_address)
        _set(session, message, "re-addressed", **values)
        _audit(
            session,
            actor,
            "outbox.readdress",
            message,
            before=before[0],
            old_to=before[1],
            to=address,
            new_identity=owner is None,
        )
    return address


def _pair_conversation_id(session: Session, message: Message, theirs: str) -> int | None:
    """The SMS/WhatsApp conversation of our number with ``theirs``, if there is one."""
    old = session.get(Conversation, message.conversation_id)
    assert old is not None
    key = pair_key(old.our_address, theirs)
    return conversations_by_key(session, old.account, [(old.channel, key)]).get((old.channel, key))


def _pair_conversation(session: Session, message: Message, theirs: str, now: datetime) -> int:
    """The SMS/WhatsApp conversation of our number with ``theirs`` (made if
    new), with the moved message counted there instead of where it was."""
    old = session.get(Conversation, message.conversation_id)
    assert old is not None
    found = _pair_conversation_id(session, message, theirs)
    if found is None:
        found = insert_ids(
            session,
            conversation_t,
            [
                conversation_values(
                    account=old.account,
                    channel=old.channel,
                    thread_key=pair_key(old.our_address, theirs),
                    customer_id=message.customer_id,
                    ours=old.our_address,
                    theirs=theirs,
                    subject=None,
                    at=now,
                )
            ],
        )[0]
    c = conversation_t.c
    session.execute(
        update(conversation_t).where(c.id == old.id).values(message_count=c.message_count - 1)
    )
    session.execute(
        update(conversation_t)
        .where(c.id == found)
        .values(message_count=c.message_count + 1, last_message_at=now, waiting_since=None)
    )
    return found


# -- sending right after queuing (``omnitui send``/``reply``, the console) --


@dataclass(frozen=True)
class Deferred:
    """The message stays queued: this process cannot send for its account (a
    secret it cannot read here); the process that polls the account sends it."""

    message_id: int
    reason: str


def deliver_now(
    store: Store, provider_for: Callable[[str], Provider], message_id: int
) -> Delivery | Deferred:
    """Try queued ``message_id`` right away, as both faces do after queuing.

    ``provider_for(account)`` builds the account's provider (``Runtime.provider``);
    when it raises :class:`~omnitui.config.ConfigError` (e.g. the secret cannot be
    read in this process) nothing is sent and the message stays queued for the
    poller: :class:`Deferred` says why. A failed or unconfirmed send stays in the
    outbox (the :class:`Delivery` says so). Raises :class:`OutboxNotFound` for an
    id that names no message, :class:`OutboxError` when another worker (a poll
    round) claimed it first; that worker reports the outcome.
    """
    from omnitui.config import ConfigError

    with store.read() as session:
        account = message_account(session, message_id) if id_fits(session, message_id) else None
    if account is None:
        raise OutboxNotFound(f"there is no outgoing message {message_id}")
    try:
        provider = provider_for(account)
    except ConfigError as exc:  # SecretUnavailable: an agent without the token
        return Deferred(message_id, str(exc))
    return deliver(store, provider, message_id)
