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
from storage.queries.ids import id_fits
from storage.queries.timeline import address_list, shown_state
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


@dataclass(frozen=True)
class OutgoingMessage:
    """One outgoing message and both its states: what ``send``, ``reply`` and
    the outbox commands report about the message they acted on."""

    id: int
    conversation_id: int
    customer_id: int
    account: str
    channel: str
    to: str
    #: one word for people (see :func:`~storage.queries.timeline.shown_state`)
    status: str
    outbox_state: str | None
    delivery_state: str | None
    delivery_error: str | None
    external_id: str | None
    error: str | None
    attempts: int
    body: str
    #: a WhatsApp template send: JSON {"name", "content_sid", "variables"}, else None
    template: str | None = None
    #: e-mail's Cc and Bcc (the Bcc is in the envelope only, never a header,
    #: and given only to its author: see :func:`outgoing_message`)
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    #: the message this one forwards, if it is a forward
    forwarded_from_id: int | None = None


def outgoing_message(
    session: Session, message_id: int, *, viewer: str | None = None
) -> OutgoingMessage | None:
    """The outgoing message ``message_id`` (``None`` if there is no such
    message); its Bcc only when ``viewer`` is its author."""
    if not id_fits(session, message_id, message_t):
        return None
    m = message_t.c
    r = session.execute(
        select(
            m.id,
            m.conversation_id,
            m.customer_id,
            m.account,
            m.channel,
            m.to_address,
            m.direction,
            m.outbox_state,
            m.delivery_state,
            m.delivery_error,
            m.external_id,
            m.error,
            m.attempts,
            m.body_text,
            m.template,
            m.author,
            m.cc_addresses,
            m.bcc_addresses,
            m.forwarded_from_id,
        ).where(m.id == message_id, m.direction == "out")
    ).first()
    if r is None:
        return None
    return OutgoingMessage(
        id=r.id,
        conversation_id=r.conversation_id,
        customer_id=r.customer_id,
        account=r.account,
        channel=r.channel,
        to=r.to_address,
        status=shown_state(r.direction, r.outbox_state, r.delivery_state),
        outbox_state=r.outbox_state,
        delivery_state=r.delivery_state,
        delivery_error=r.delivery_error,
        external_id=r.external_id,
        error=r.error,
        attempts=r.attempts,
        body=r.body_text,
        template=r.template,
        cc=address_list(r.cc_addresses),
        bcc=address_list(r.bcc_addresses) if viewer is not None and r.author == viewer else (),
        forwarded_from_id=r.forwarded_from_id,
    )


def message_account(session: Session, message_id: int) -> str | None:
    """The account an outgoing message is sent through (``None`` if there is no such message)."""
    return session.execute(
        select(message_t.c.account).where(message_t.c.id == message_id)
    ).scalar_one_or_none()
