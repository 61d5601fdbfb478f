"""The durable send queue: queued -> sending -> sent | failed (| unconfirmed).

What an agent typed is committed as ``queued`` before any network call. The
move to ``sending`` is committed before the provider is called, and the
outcome after, so a process that dies mid-send leaves ``sending`` behind;
:func:`recover_interrupted` turns such rows into ``unconfirmed``: shown to
the agent, never sent again without a person saying so (the provider may
have delivered it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session

from omnitui.leases import PROCESS_ID
from providers.base import (
    AuthError,
    OutboundMessage,
    PermanentError,
    Provider,
    ProviderError,
    TransientError,
)
from storage.db import Store, utc
from storage.models import Message, conversation_t, message_t, utcnow

MAX_ATTEMPTS = 5
#: A message "sending" for longer than this belongs to a dead process.
STALE_SENDING = timedelta(minutes=5)


class OutboxError(Exception):
    """An outbox request that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class Delivery:
    """The outcome of one delivery attempt."""

    message_id: int
    status: str
    external_id: str | None = None
    error: str | None = None


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
                (m.status == "queued")
                | ((m.status == "failed") & (m.next_attempt_at.is_not(None))),
            )
            .values(
                status="sending",
                attempts=m.attempts + 1,
                sending_owner=PROCESS_ID,
                sending_since=now,
                next_attempt_at=None,
            )
        ).rowcount  # type: ignore[attr-defined]
        message = session.get(Message, message_id)
    if message is None:
        raise OutboxError(f"message {message_id} does not exist")
    if not claimed:
        raise OutboxError(
            f"message {message_id} is {message.status}, not queued: nothing was sent"
            + (
                " (use `omnitui outbox retry` to send it again)"
                if message.status in ("failed", "unconfirmed")
                else ""
            )
        )
    return message


def deliver(store: Store, provider: Provider, message_id: int) -> Delivery:
    """Send one queued message through ``provider`` and record the outcome."""
    message = claim(store, message_id)
    outbound = _outbound(store, message)
    try:
        result = provider.send(outbound)
    except TransientError as exc:
        return _record_failure(
            store, message, str(exc), transient=True, retry_after=exc.retry_after
        )
    except (AuthError, PermanentError, ProviderError) as exc:
        return _record_failure(store, message, str(exc), transient=False)
    with store.write() as session:
        session.execute(
            update(message_t)
            .where(message_t.c.id == message_id)
            .values(
                status=result.status if result.status != "failed" else "sent",
                external_id=result.external_id,
                error=None,
                sending_owner=None,
                sending_since=None,
                **({"sent_at": utc(result.sent_at)} if result.sent_at else {}),
            )
        )
    return Delivery(message_id, result.status, result.external_id)


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
    return OutboundMessage(
        channel=message.channel,  # type: ignore[arg-type]
        to_address=message.to_address,
        from_address=message.from_address,
        body_text=message.body_text,
        subject=message.subject,
        message_id=message.email_message_id,
        in_reply_to=in_reply_to,
        references=references,
        thread_id=conv.thread_key if message.channel not in ("email", "sms", "whatsapp") else None,
        reply_to_external_id=last_in.external_id if last_in is not None else None,
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
                status="failed",
                error=error[:2000],
                next_attempt_at=utcnow() + delay if again else None,
                sending_owner=None,
                sending_since=None,
            )
        )
    return Delivery(message.id, "failed", error=error)


def retry(store: Store, message_id: int) -> None:
    """Put a ``failed`` or ``unconfirmed`` message back in the queue, by a person's decision."""
    with store.write() as session:
        message = session.get(Message, message_id)
        if message is None or message.direction != "out":
            raise OutboxError(f"there is no outgoing message {message_id}")
        if message.status not in ("failed", "unconfirmed"):
            raise OutboxError(
                f"message {message_id} is {message.status}; only failed or unconfirmed "
                "messages can be retried"
            )
        message.status = "queued"
        message.next_attempt_at = None
        session.add(message)


def recover_interrupted(store: Store, older_than: timedelta = STALE_SENDING) -> list[int]:
    """Mark messages left ``sending`` by a dead process as ``unconfirmed``.

    A message this process is sending right now is never touched; another
    process's is taken as dead once it has been sending for ``older_than``.
    """
    cutoff = utcnow() - older_than
    m = message_t.c
    with store.write() as session:
        stale = list(
            session.execute(
                select(m.id).where(
                    m.status == "sending",
                    m.sending_owner.is_distinct_from(PROCESS_ID),
                    (m.sending_since.is_(None)) | (m.sending_since < cutoff),
                )
            ).scalars()
        )
        if stale:
            session.execute(
                update(message_t)
                .where(m.id.in_(stale))
                .values(
                    status="unconfirmed",
                    error="the process sending this message stopped before the provider "
                    "answered: it may or may not have been delivered",
                    sending_owner=None,
                    sending_since=None,
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
            (m.status == "queued") | ((m.status == "failed") & (m.next_attempt_at <= now)),
        )
        .order_by(m.id)
        .limit(limit)
    )
    if account is not None:
        stmt = stmt.where(m.account == account)
    with store.read() as session:
        return list(session.execute(stmt).scalars())
