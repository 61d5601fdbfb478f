"""Outgoing messages not yet known to be delivered, for the outbox list and screen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    select,
)
from sqlmodel import Session

from storage.db import utc
from storage.models import customer_t, message_t
from storage.vocabulary import OUTBOX_UNFINISHED


@dataclass(frozen=True)
class OutboxRow:
    id: int
    conversation_id: int
    account: str
    channel: str
    to: str
    status: str
    error: str | None
    attempts: int
    queued_at: datetime
    body: str
    next_attempt_at: datetime | None = None
    customer_id: int = 0
    customer_name: str = ""
    subject: str | None = None
    author: str | None = None


OUTBOX_PENDING = OUTBOX_UNFINISHED


def outbox(
    session: Session, *, statuses: tuple[str, ...] = OUTBOX_PENDING, limit: int = 200
) -> list[OutboxRow]:
    """Outgoing messages in ``statuses``, oldest first."""
    m = message_t.c
    stmt = (
        select(
            m.id,
            m.conversation_id,
            m.account,
            m.channel,
            m.to_address,
            m.outbox_state,
            m.error,
            m.attempts,
            m.sent_at,
            m.body_text,
            m.next_attempt_at,
            m.customer_id,
            customer_t.c.name,
            m.subject,
            m.author,
        )
        .join(customer_t, customer_t.c.id == m.customer_id)
        .where(m.outbox_state.in_(statuses))
        .order_by(m.id)
        .limit(limit)
    )
    return [
        OutboxRow(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            utc(r[8]),
            r[9],
            utc(r[10]) if r[10] else None,
            r[11],
            r[12],
            r[13],
            r[14],
        )
        for r in session.execute(stmt)
    ]


def message_account(session: Session, message_id: int) -> str | None:
    """The account an outgoing message is sent through (``None`` if there is no such message)."""
    return session.execute(
        select(message_t.c.account).where(message_t.c.id == message_id)
    ).scalar_one_or_none()
