"""One customer's timeline: messages, notes and audit events in time order, with attachments."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    select,
)
from sqlmodel import Session

from storage.bulk import chunks
from storage.db import utc
from storage.models import attachment_t, audit_t, blob_t, message_t, note_t
from storage.queries.ids import id_fits
from storage.vocabulary import OUTBOX_NEEDS_PERSON


@dataclass(frozen=True)
class AttachmentRow:
    id: int
    message_id: int
    filename: str
    content_type: str
    size: int
    sha256: str


def stored_bytes(session: Session, sha256: str) -> bytes | None:
    """The bytes kept in the store itself under ``sha256`` (the files of
    messages composed here, see ``Blob``), ``None`` if the store has none."""
    data = session.execute(select(blob_t.c.data).where(blob_t.c.sha256 == sha256)).scalar()
    return bytes(data) if data is not None else None


def attachments_of(session: Session, message_ids: Sequence[int]) -> dict[int, list[AttachmentRow]]:
    """The attachments of each message in ``message_ids`` (by the message_id index)."""
    a = attachment_t.c
    found: dict[int, list[AttachmentRow]] = {}
    for part in chunks(list(message_ids)):
        stmt = (
            select(a.id, a.message_id, a.filename, a.content_type, a.size, a.sha256)
            .where(a.message_id.in_(part))
            .order_by(a.id)
        )
        for row in session.execute(stmt):
            found.setdefault(row.message_id, []).append(AttachmentRow(*row))
    return found


def get_attachment(session: Session, attachment_id: int) -> AttachmentRow | None:
    if not id_fits(session, attachment_id, attachment_t):
        return None
    a = attachment_t.c
    row = session.execute(
        select(a.id, a.message_id, a.filename, a.content_type, a.size, a.sha256).where(
            a.id == attachment_id
        )
    ).first()
    return AttachmentRow(*row) if row is not None else None


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # "message" | "note" | "event"
    id: int
    conversation_id: int | None
    channel: str | None
    direction: str | None
    author: str | None
    subject: str | None
    body: str
    at: datetime
    #: one word for people: the outbox's state until the provider took the
    #: message, then what the provider says (see :func:`shown_state`)
    status: str | None
    error: str | None = None
    account: str | None = None
    from_address: str | None = None
    to_address: str | None = None
    attachments: tuple[AttachmentRow, ...] = ()
    outbox_state: str | None = None
    delivery_state: str | None = None
    delivery_error: str | None = None
    #: an event's action and detail as recorded (``kind == "event"``); the
    #: words for people are :func:`omnitui.events.describe_event`'s
    action: str | None = None
    detail: Mapping[str, Any] | None = None
    #: e-mail's To and Cc as the message named them (plain addresses)
    to_addresses: tuple[str, ...] = ()
    cc_addresses: tuple[str, ...] = ()
    #: our own outbound message's Bcc, given only to its author (``viewer``)
    bcc_addresses: tuple[str, ...] = ()
    #: this message forwards message ``forwarded_from_id``
    forwarded_from_id: int | None = None
    #: where this message was forwarded since, and by whom
    forwards: tuple[ForwardRow, ...] = ()


@dataclass(frozen=True)
class ForwardRow:
    """A forward of a message: the new message, its recipient, who sent it."""

    message_id: int
    to: str
    author: str | None
    at: datetime


def address_list(stored: str | None) -> tuple[str, ...]:
    """A stored JSON list of addresses (To, Cc, Bcc) as a tuple; junk reads as none."""
    try:
        value = json.loads(stored) if stored else []
    except ValueError:
        return ()
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def forwards_of(session: Session, message_ids: Sequence[int]) -> dict[int, list[ForwardRow]]:
    """The forwards of each message in ``message_ids`` (by the forwarded_from_id index)."""
    m = message_t.c
    found: dict[int, list[ForwardRow]] = {}
    for part in chunks(list(message_ids)):
        stmt = (
            select(m.forwarded_from_id, m.id, m.to_address, m.author, m.sent_at)
            .where(m.forwarded_from_id.in_(part))
            .order_by(m.sent_at, m.id)
        )
        for row in session.execute(stmt):
            found.setdefault(row.forwarded_from_id, []).append(
                ForwardRow(row.id, row.to_address, row.author, utc(row.sent_at))
            )
    return found


@dataclass(frozen=True)
class NoteRow:
    """An internal note, as stored."""

    id: int
    customer_id: int
    conversation_id: int | None
    author: str
    body: str
    created_at: datetime


def get_note(session: Session, note_id: int) -> NoteRow | None:
    if not id_fits(session, note_id, note_t):
        return None
    n = note_t.c
    row = session.execute(
        select(n.id, n.customer_id, n.conversation_id, n.author, n.body, n.created_at).where(
            n.id == note_id
        )
    ).first()
    if row is None:
        return None
    return NoteRow(row[0], row[1], row[2], row[3], row[4], utc(row[5]))


def shown_state(direction: str | None, outbox_state: str | None, delivery_state: str | None) -> str:
    """What to show of a message's two states: "received" for a customer's;
    for an outbound one the outbox's state while it is ours to send (queued,
    sending, failed, unconfirmed), then the provider's delivery state."""
    if direction == "in":
        return "received"
    if outbox_state is not None and outbox_state != "sent":
        return outbox_state
    return delivery_state or "sent"


def timeline(
    session: Session,
    customer_id: int,
    *,
    limit: int = 200,
    before: datetime | None = None,
    with_events: bool = False,
    viewer: str | None = None,
    conversation_id: int | None = None,
) -> list[TimelineEntry]:
    """The newest ``limit`` entries (messages and notes; with ``with_events``
    also who assigned, changed status or merged) of a customer before
    ``before``, in time order (oldest first). The Bcc of an outbound message
    is given only when ``viewer`` is its author: nobody else sees it. With
    ``conversation_id``: that conversation's entries only."""
    m = message_t.c
    msgs = select(
        m.id,
        m.conversation_id,
        m.channel,
        m.direction,
        m.author,
        m.subject,
        m.body_text,
        m.sent_at,
        m.outbox_state,
        m.delivery_state,
        m.delivery_error,
        m.error,
        m.account,
        m.from_address,
        m.to_address,
        m.to_addresses,
        m.cc_addresses,
        m.bcc_addresses,
        m.forwarded_from_id,
    ).where(m.customer_id == customer_id)
    n = note_t.c
    notes = select(n.id, n.conversation_id, n.author, n.body, n.created_at).where(
        n.customer_id == customer_id
    )
    if conversation_id is not None:
        msgs = msgs.where(m.conversation_id == conversation_id)
        notes = notes.where(n.conversation_id == conversation_id)
    if before is not None:
        msgs = msgs.where(m.sent_at < before)
        notes = notes.where(n.created_at < before)
    message_rows = session.execute(msgs.order_by(m.sent_at.desc(), m.id.desc()).limit(limit)).all()
    files = attachments_of(session, [r.id for r in message_rows])
    forwards = forwards_of(session, [r.id for r in message_rows])
    entries = [
        TimelineEntry(
            "message",
            r.id,
            r.conversation_id,
            r.channel,
            r.direction,
            r.author,
            r.subject,
            r.body_text,
            utc(r.sent_at),
            shown_state(r.direction, r.outbox_state, r.delivery_state),
            r.error if r.outbox_state in OUTBOX_NEEDS_PERSON else r.delivery_error,
            r.account,
            r.from_address,
            r.to_address,
            tuple(files.get(r.id, ())),
            r.outbox_state,
            r.delivery_state,
            r.delivery_error,
            to_addresses=address_list(r.to_addresses),
            cc_addresses=address_list(r.cc_addresses),
            bcc_addresses=(
                address_list(r.bcc_addresses)
                if r.direction == "out" and viewer is not None and r.author == viewer
                else ()
            ),
            forwarded_from_id=r.forwarded_from_id,
            forwards=tuple(forwards.get(r.id, ())),
        )
        for r in message_rows
    ] + [
        TimelineEntry(
            "note",
            r.id,
            r.conversation_id,
            None,
            None,
            r.author,
            None,
            r.body,
            utc(r.created_at),
            None,
        )
        for r in session.execute(notes.order_by(n.created_at.desc(), n.id.desc()).limit(limit))
    ]
    if with_events:
        entries += [
            TimelineEntry(
                "event",
                e.id,
                e.conversation_id,
                None,
                None,
                e.actor,
                None,
                "",
                e.at,
                None,
                action=e.action,
                detail=e.detail,
            )
            for e in audit_events(session, customer_id=customer_id, limit=limit)
            if (before is None or e.at < before)
            and (conversation_id is None or e.conversation_id == conversation_id)
        ]
    entries.sort(key=lambda e: (e.at, e.kind, e.id))
    return entries[-limit:]


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    customer_id: int | None
    conversation_id: int | None
    detail: dict[str, Any]


def audit_events(
    session: Session,
    *,
    customer_id: int | None = None,
    conversation_id: int | None = None,
    limit: int = 100,
) -> list[AuditRow]:
    """Who changed what, newest first, for a customer or a conversation."""
    a = audit_t.c
    stmt = select(a.id, a.at, a.actor, a.action, a.customer_id, a.conversation_id, a.detail)
    if customer_id is not None:
        stmt = stmt.where(a.customer_id == customer_id)
    if conversation_id is not None:
        stmt = stmt.where(a.conversation_id == conversation_id)
    rows = session.execute(stmt.order_by(a.id.desc()).limit(limit))
    return [AuditRow(r[0], utc(r[1]), r[2], r[3], r[4], r[5], _json_object(r[6])) for r in rows]


def _json_object(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {"text": raw}
    return value if isinstance(value, dict) else {"value": value}
