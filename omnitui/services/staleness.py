"""A send that cannot be stale: what a customer's timeline gained since a
person (or a script) last looked at it.

A draft remembers the newest entry its author had seen (an
:class:`~omnitui.services.entries.EntryId`). Before a reply is queued, the
console asks :func:`newer_entries`; ``omnitui reply --if-latest`` asks
:func:`require_latest`. Newer is anything on the customer's timeline (it is
per customer, across their conversations): a customer's message, a reply of
ours by anyone (queued ones too; not one a person discarded) and a note.

The order. Within a kind the store's ids are the order of arrival, so a mail
that arrives late with an old ``Date`` is still newer than every message
stored before it. Across kinds only times compare; each entry takes the
newest time of its kind up to its id ("effective time"), so the order is one
total order that keeps the arrival order of each kind:

    key(entry) = (effective time, message before note, id)

:func:`latest_entry` is the greatest key; :func:`newer_entries` gives every
entry with a greater key than the one seen, so ``--if-latest`` given the
latest entry always passes. (What times cannot tell: a message arriving
after a note was seen but dated before it is not flagged against that note;
it is against any message seen.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import Session

from omnitui.services.base import InvalidRequest, NotFound, ServiceError
from omnitui.services.entries import EntryId, EntryKind
from omnitui.text import first_line
from storage.db import Store, utc
from storage.models import conversation_t, customer_t, message_t, note_t
from storage.queries import id_fits
from storage.queries.timeline import shown_state

#: how much of an entry's text a preview gives
PREVIEW_WIDTH = 100
_RANK: dict[EntryKind, int] = {"message": 0, "note": 1}


@dataclass(frozen=True)
class Entry:
    """A timeline entry newer than the one seen: who, when, and the start of it."""

    kind: EntryKind
    id: int
    #: the customer (their message), or the agent who wrote the reply or note
    who: str
    at: datetime
    preview: str
    #: a message's direction (``in``: the customer's; ``out``: a reply of ours)
    direction: str | None = None
    #: a reply's state as shown in the timeline (queued, sent, delivered, ...)
    status: str | None = None

    @property
    def entry_id(self) -> EntryId:
        return EntryId(self.kind, self.id)

    @property
    def entry(self) -> str:
        """The id as both faces write it (``message:123``)."""
        return str(self.entry_id)


class Stale(ServiceError):
    """The timeline has entries newer than the one named as seen."""

    def __init__(self, seen: EntryId | None, latest: EntryId | None, newer: list[Entry]) -> None:
        self.seen, self.latest, self.newer = seen, latest, newer
        first = newer[-1] if newer else None
        what = f"; newest: {first.entry} by {first.who}" if first else ""
        super().__init__(
            f"{len(newer)} newer {'entry' if len(newer) == 1 else 'entries'} since "
            f"{seen or 'an empty timeline'}{what}: read them, then reply with "
            f"--if-latest {latest}"
        )


def _customer_of(session: Session, conversation_id: int) -> int:
    c = conversation_t.c
    found = (
        session.execute(select(c.customer_id).where(c.id == conversation_id)).scalar()
        if id_fits(session, conversation_id, conversation_t)
        else None
    )
    if found is None:
        raise NotFound(f"there is no conversation {conversation_id}")
    return int(found)


def _included(customer_id: int) -> Any:
    # the messages an entry list shows: all of the customer's but those a
    # person discarded (they are never sent)
    m = message_t.c
    return (m.customer_id == customer_id) & or_(
        m.outbox_state.is_(None), m.outbox_state != "discarded"
    )


def _effective(session: Session, customer_id: int, seen: EntryId) -> datetime | None:
    """The effective time of ``seen``: the newest time of its kind up to its id
    (``None`` when it is not on the customer's timeline)."""
    if not id_fits(session, seen.id, message_t if seen.kind == "message" else note_t):
        return None  # past the id column's width: names no entry (and must not reach the driver)
    if seen.kind == "message":
        m = message_t.c
        mine = m.customer_id == customer_id
        there = session.execute(select(m.id).where(mine, m.id == seen.id)).first()
        at = session.execute(select(func.max(m.sent_at)).where(mine, m.id <= seen.id)).scalar()
    else:
        n = note_t.c
        mine = n.customer_id == customer_id
        there = session.execute(select(n.id).where(mine, n.id == seen.id)).first()
        at = session.execute(select(func.max(n.created_at)).where(mine, n.id <= seen.id)).scalar()
    return utc(at) if there is not None and at is not None else None


def latest_entry_of(session: Session, customer_id: int) -> EntryId | None:
    """The newest entry of customer ``customer_id``'s timeline (see the module
    for the order), or ``None`` when it has no message and no note."""
    m, n = message_t.c, note_t.c
    last_message = session.execute(select(func.max(m.id)).where(_included(customer_id))).scalar()
    last_note = session.execute(select(func.max(n.id)).where(n.customer_id == customer_id)).scalar()
    keys: list[tuple[datetime, int, int, EntryId]] = []
    for kind, last in (("message", last_message), ("note", last_note)):
        if last is not None:
            entry = EntryId(kind, int(last))  # type: ignore[arg-type]
            at = _effective(session, customer_id, entry)
            assert at is not None  # it is there: just read
            keys.append((at, _RANK[entry.kind], entry.id, entry))
    return max(keys)[3] if keys else None


def latest_entry(store: Store, conversation_id: int) -> EntryId | None:
    """The newest entry of the timeline conversation ``conversation_id`` is on."""
    with store.read() as session:
        return latest_entry_of(session, _customer_of(session, conversation_id))


def _messages_from(session: Session, customer_id: int, first_id: int) -> list[Entry]:
    m, cu = message_t.c, customer_t.c
    rows = session.execute(
        select(
            m.id,
            m.direction,
            m.author,
            m.from_address,
            cu.name,
            m.sent_at,
            m.body_text,
            m.subject,
            m.outbox_state,
            m.delivery_state,
        )
        .join(customer_t, cu.id == m.customer_id)
        .where(_included(customer_id), m.id >= first_id)
        .order_by(m.id)
    )
    return [
        Entry(
            "message",
            r.id,
            (r.name or r.from_address) if r.direction == "in" else (r.author or "(unknown)"),
            utc(r.sent_at),
            first_line(r.body_text, PREVIEW_WIDTH) or first_line(r.subject, PREVIEW_WIDTH),
            r.direction,
            shown_state(r.direction, r.outbox_state, r.delivery_state),
        )
        for r in rows
    ]


def _notes_from(session: Session, customer_id: int, first_id: int) -> list[Entry]:
    n = note_t.c
    rows = session.execute(
        select(n.id, n.author, n.created_at, n.body)
        .where(n.customer_id == customer_id, n.id >= first_id)
        .order_by(n.id)
    )
    return [
        Entry("note", r.id, r.author, utc(r.created_at), first_line(r.body, PREVIEW_WIDTH))
        for r in rows
    ]


def _first_after(
    session: Session, customer_id: int, kind: EntryKind, at: datetime, *, tie: bool
) -> int | None:
    """The smallest id of ``kind`` whose effective time is after ``at`` (or at
    it, with ``tie``): every entry of that kind from it on is newer."""
    if kind == "message":
        m = message_t.c
        when = m.sent_at >= at if tie else m.sent_at > at
        first = session.execute(
            select(func.min(m.id)).where(m.customer_id == customer_id, when)
        ).scalar()
    else:
        n = note_t.c
        when = n.created_at >= at if tie else n.created_at > at
        first = session.execute(
            select(func.min(n.id)).where(n.customer_id == customer_id, when)
        ).scalar()
    return int(first) if first is not None else None


def newer_in(session: Session, customer_id: int, seen: EntryId | None) -> list[Entry]:
    """The entries of customer ``customer_id``'s timeline newer than ``seen``
    (all of them for ``None``: an empty timeline was seen), oldest first.
    An entry that is not on this customer's timeline is an
    :class:`InvalidRequest`."""
    if seen is None:
        found = _messages_from(session, customer_id, 0) + _notes_from(session, customer_id, 0)
    else:
        at = _effective(session, customer_id, seen)
        if at is None:
            raise InvalidRequest(f"{seen} is not on the timeline of customer {customer_id}")
        other: EntryKind = "note" if seen.kind == "message" else "message"
        start = _first_after(session, customer_id, other, at, tie=_RANK[other] > _RANK[seen.kind])
        same = (_messages_from if seen.kind == "message" else _notes_from)(
            session, customer_id, seen.id + 1
        )
        others = (
            (_messages_from if other == "message" else _notes_from)(session, customer_id, start)
            if start is not None
            else []
        )
        found = same + others
    return _in_order(found)


def _in_order(entries: list[Entry]) -> list[Entry]:
    # the module's order: effective time (newest of its kind so far), kind, id
    out: list[tuple[datetime, int, int, Entry]] = []
    newest: dict[EntryKind, datetime] = {}
    for entry in sorted(entries, key=lambda e: (e.kind, e.id)):
        at = max(entry.at, newest.get(entry.kind, entry.at))
        newest[entry.kind] = at
        out.append((at, _RANK[entry.kind], entry.id, entry))
    return [e for *_, e in sorted(out, key=lambda t: t[:3])]


def newer_entries(store: Store, conversation_id: int, seen: EntryId | None) -> list[Entry]:
    """What the timeline of conversation ``conversation_id``'s customer gained
    after ``seen``: newer customer messages, replies (by anyone, queued ones
    too) and notes, oldest first. Empty: a reply may go as it is."""
    with store.read() as session:
        return newer_in(session, _customer_of(session, conversation_id), seen)


def require_latest(store: Store, conversation_id: int, seen: EntryId) -> None:
    """Raise :class:`Stale` (with what is newer) unless ``seen`` is still the
    newest entry of the timeline conversation ``conversation_id`` is on."""
    with store.read() as session:
        customer = _customer_of(session, conversation_id)
        newer = newer_in(session, customer, seen)
        if newer:
            raise Stale(seen, latest_entry_of(session, customer), newer)


def seen_mark(entries: Iterable[tuple[str, int, datetime]]) -> EntryId | None:
    """The newest of the timeline entries a person was shown, as
    ``(kind, id, at)`` (events and other kinds are passed over), in the
    module's order: what a draft remembers as seen."""
    shown = [Entry(kind, id_, "", at, "") for kind, id_, at in entries if kind in _RANK]
    ordered = _in_order(shown)
    return ordered[-1].entry_id if ordered else None
