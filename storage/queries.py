"""The read paths the UI and the CLI need: inbox, customers, timeline, search,
outbox and account health. Every list is bounded (``limit``) and served by an
index; none scans every message."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    ScalarSelect,
    Select,
    Table,
    and_,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
)
from sqlmodel import Session

from storage import fold
from storage.bulk import chunks
from storage.db import utc
from storage.models import (
    OUTBOX_NEEDS_PERSON,
    OUTBOX_UNFINISHED,
    attachment_t,
    audit_t,
    conversation_t,
    customer_t,
    identity_t,
    message_t,
    note_t,
    readmark_t,
    syncstate_t,
    utcnow,
)

INBOX_FILTERS = ("open", "mine", "unassigned", "pending", "snoozed", "resolved", "all")


@dataclass(frozen=True)
class ConversationRow:
    id: int
    customer_id: int
    customer_name: str
    account: str
    channel: str
    subject: str | None
    preview: str  # the start of the newest message, as stored (not cleaned)
    status: str
    assignee: str | None
    last_message_at: datetime
    waiting_since: datetime | None
    message_count: int
    snoozed_until: datetime | None
    version: int
    their_address: str
    unread: bool = False


def _preview_column() -> ScalarSelect[str]:
    m = message_t.c
    return (
        select(func.substr(m.body_text, 1, 200))
        .where(m.conversation_id == conversation_t.c.id)
        .order_by(m.sent_at.desc(), m.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def list_conversations(
    session: Session,
    *,
    view: str = "open",
    agent: str | None = None,
    assignee: str | None = None,
    customer_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
    with_preview: bool = True,
) -> list[ConversationRow]:
    """Conversations, newest activity first, for an inbox ``view``
    (one of :data:`INBOX_FILTERS`; ``mine`` needs ``agent``)."""
    c = conversation_t.c
    read_at: ColumnElement[datetime | None] = literal(None)
    stmt: Select[Any] = select(
        c.id,
        c.customer_id,
        customer_t.c.name.label("customer_name"),
        c.account,
        c.channel,
        c.subject,
        (_preview_column() if with_preview else literal("")).label("preview"),
        c.status,
        c.assignee,
        c.last_message_at,
        c.waiting_since,
        c.message_count,
        c.snoozed_until,
        c.version,
        c.their_address,
    ).join(customer_t, customer_t.c.id == c.customer_id)
    if agent is not None:
        read_at = readmark_t.c.read_at
        stmt = stmt.outerjoin(
            readmark_t, and_(readmark_t.c.conversation_id == c.id, readmark_t.c.agent == agent)
        )
    stmt = stmt.add_columns(read_at.label("read_at"))
    if view == "mine":
        stmt = stmt.where(c.assignee == (agent or ""), c.status != "resolved")
    elif view == "unassigned":
        stmt = stmt.where(c.assignee.is_(None), c.status.in_(("open", "pending")))
    elif view in ("open", "pending", "snoozed", "resolved"):
        stmt = stmt.where(c.status == view)
    elif view != "all":
        raise ValueError(f"unknown view {view!r}: use one of {', '.join(INBOX_FILTERS)}")
    if assignee is not None:
        stmt = stmt.where(c.assignee == assignee)
    if customer_id is not None:
        stmt = stmt.where(c.customer_id == customer_id)
    stmt = stmt.order_by(c.last_message_at.desc(), c.id.desc()).limit(limit).offset(offset)
    rows = []
    for r in session.execute(stmt).mappings():
        data = dict(r)
        mark = data.pop("read_at")
        for key in ("last_message_at", "waiting_since", "snoozed_until"):
            data[key] = utc(data[key]) if data[key] else None
        waiting, last = data["waiting_since"], data["last_message_at"]
        marked = mark is not None and utc(mark) == MARKED_UNREAD
        unread = (
            agent is not None
            and (waiting is not None or marked)
            and (mark is None or utc(mark) < last)
        )
        rows.append(ConversationRow(**data, unread=unread))
    return rows


#: The read mark of a conversation an agent marked unread: older than any
#: message, so the conversation shows unread until it is opened again,
#: also when the customer is not waiting for an answer.
MARKED_UNREAD = datetime(1970, 1, 1, tzinfo=UTC)


def mark_unread(session: Session, agent: str, conversation_id: int) -> None:
    """Show ``conversation_id`` unread to ``agent`` until they open it (caller commits)."""
    r = readmark_t.c
    changed = session.execute(
        readmark_t.update()
        .where(r.agent == agent, r.conversation_id == conversation_id)
        .values(read_at=MARKED_UNREAD)
    ).rowcount  # type: ignore[attr-defined]
    if not changed:
        session.execute(
            readmark_t.insert().values(
                agent=agent, conversation_id=conversation_id, read_at=MARKED_UNREAD
            )
        )


def mark_read(session: Session, agent: str, conversation_id: int) -> None:
    """Record that ``agent`` has seen ``conversation_id`` up to now (caller commits)."""
    r = readmark_t.c
    now = utcnow()
    changed = session.execute(
        readmark_t.update()
        .where(r.agent == agent, r.conversation_id == conversation_id)
        .values(read_at=now)
    ).rowcount  # type: ignore[attr-defined]
    if not changed:
        session.execute(
            readmark_t.insert().values(agent=agent, conversation_id=conversation_id, read_at=now)
        )


@dataclass(frozen=True)
class IdentityRow:
    channel: str
    address: str


@dataclass(frozen=True)
class CustomerRow:
    id: int
    name: str
    identities: tuple[IdentityRow, ...]
    open_conversations: int
    last_message_at: datetime | None
    merged_into_id: int | None = None


def _customer_rows(
    session: Session, ids_and_names: list[tuple[int, str, int | None]]
) -> list[CustomerRow]:
    ids = [i for i, _n, _m in ids_and_names]
    if not ids:
        return []
    idents: dict[int, list[IdentityRow]] = {i: [] for i in ids}
    for cid, ch, addr in session.execute(
        select(identity_t.c.customer_id, identity_t.c.channel, identity_t.c.address)
        .where(identity_t.c.customer_id.in_(ids))
        .order_by(identity_t.c.id)
    ):
        idents[cid].append(IdentityRow(ch, addr))
    c = conversation_t.c
    stats = {
        cid: (n_open, last)
        for cid, n_open, last in session.execute(
            select(
                c.customer_id,
                func.sum(case((c.status.in_(("open", "pending")), 1), else_=0)),
                func.max(c.last_message_at),
            )
            .where(c.customer_id.in_(ids))
            .group_by(c.customer_id)
        )
    }
    return [
        CustomerRow(
            id=i,
            name=name,
            identities=tuple(idents[i]),
            open_conversations=int(stats.get(i, (0, None))[0] or 0),
            last_message_at=utc(last) if (last := stats.get(i, (0, None))[1]) else None,
            merged_into_id=merged,
        )
        for i, name, merged in ids_and_names
    ]


#: What a phone number typed in some format looks like: digits, maybe a
#: leading +, spaces, dots, dashes, slashes and brackets.
_PHONEISH = re.compile(r"^\+?[\d\s().\-/]+$")


def _like_text(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_customers(
    session: Session,
    *,
    query: str | None = None,
    phone: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[CustomerRow]:
    """Customers (merged ones left out), most recently updated first.

    ``query`` matches a name without regard to case or accents ("zoe" finds
    "Zoë"), or part of an address; a phone number typed in any format
    matches by its digits (``(415) 555-0100`` finds ``+14155550100``).
    ``phone``, a number already in E.164 form (the caller read it with its
    default region), matches exactly."""
    cu = customer_t.c
    i = identity_t.c
    stmt = select(cu.id, cu.name, cu.merged_into_id).where(cu.merged_into_id.is_(None))
    text_query = (query or "").strip()
    if text_query or phone:
        dialect = session.get_bind().dialect.name
        wanted: list[ColumnElement[bool]] = []
        address_match: list[ColumnElement[bool]] = []
        if text_query:
            like = _like_text(text_query.lower())
            wanted.append(func.lower(cu.name).like(like, escape="\\"))
            wanted.append(
                fold.folded(cu.name, dialect).like(_like_text(fold.fold(text_query)), escape="\\")
            )
            address_match.append(func.lower(i.address).like(like, escape="\\"))
            digits = re.sub(r"\D", "", text_query)
            if _PHONEISH.match(text_query) and len(digits) >= 4 and digits != text_query:
                address_match.append(i.address.like(f"%{digits}%"))
        if phone:
            address_match.append(i.address == phone)
        by_address = select(i.customer_id).where(or_(*address_match))
        stmt = stmt.where(or_(*wanted, cu.id.in_(by_address)))
    stmt = stmt.order_by(cu.updated_at.desc(), cu.id.desc()).limit(limit).offset(offset)
    return _customer_rows(session, [(r[0], r[1], r[2]) for r in session.execute(stmt)])


def id_fits(session: Session, value: int, table: Table = message_t) -> bool:
    """Whether ``value`` fits the id column of ``table`` (the schema gives
    every table's id one type) on this engine.

    An id that does not fit names no row, and must not reach the driver:
    SQLite's raises OverflowError beyond 64 bits, and PostgreSQL refuses a
    value beyond the column's type (``integer``: 32 bits) as a data error.
    """
    wide = session.get_bind().dialect.name == "sqlite" or isinstance(table.c.id.type, BigInteger)
    bound = 2**63 if wide else 2**31
    return -bound <= value < bound


def get_customer(session: Session, customer_id: int) -> CustomerRow | None:
    if not id_fits(session, customer_id, customer_t):
        return None
    cu = customer_t.c
    row = session.execute(
        select(cu.id, cu.name, cu.merged_into_id).where(cu.id == customer_id)
    ).first()
    if row is None:
        return None
    return _customer_rows(session, [(row[0], row[1], row[2])])[0]


@dataclass(frozen=True)
class AttachmentRow:
    id: int
    message_id: int
    filename: str
    content_type: str
    size: int
    sha256: str


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
    kind: str  # "message" | "note"
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
    #: an event's own time to show (a snooze's wake-up), see :func:`event_until`
    until: datetime | None = None


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
) -> list[TimelineEntry]:
    """The newest ``limit`` entries (messages and notes; with ``with_events``
    also who assigned, changed status or merged) of a customer before
    ``before``, in time order (oldest first)."""
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
    ).where(m.customer_id == customer_id)
    n = note_t.c
    notes = select(n.id, n.conversation_id, n.author, n.body, n.created_at).where(
        n.customer_id == customer_id
    )
    if before is not None:
        msgs = msgs.where(m.sent_at < before)
        notes = notes.where(n.created_at < before)
    message_rows = session.execute(msgs.order_by(m.sent_at.desc(), m.id.desc()).limit(limit)).all()
    files = attachments_of(session, [r.id for r in message_rows])
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
                e.action,
                describe_event(e),
                e.at,
                None,
                until=event_until(e),
            )
            for e in audit_events(session, customer_id=customer_id, limit=limit)
            if before is None or e.at < before
        ]
    entries.sort(key=lambda e: (e.at, e.kind, e.id))
    return entries[-limit:]


def describe_event(event: AuditRow) -> str:
    """One line for a change: "assigned to bob", "status: resolved", ...

    A time in the change (a snooze's wake-up) is not in the line: it is
    :func:`event_until`, for the face to show in its own way."""
    after = event.detail.get("after", {})
    if not isinstance(after, dict):
        after = {}
    message = event.detail.get("message")
    if event.action == "assign":
        return f"assigned to {after.get('assignee') or 'nobody'}"
    if event.action == "status":
        return f"status: {after.get('status')}"
    if event.action == "merge":
        name, merged = event.detail.get("merged_name"), event.detail.get("merged")
        return f"merged {name} (#{merged}) into this customer"
    if event.action == "outbox.retry":
        return f"sent message {message} again"
    if event.action == "outbox.edit":
        return f"edited message {message} and sent it again"
    if event.action == "outbox.readdress":
        return f"re-addressed message {message} to {event.detail.get('to')}"
    if event.action == "outbox.discard":
        return f"discarded message {message} (never sent)"
    return event.action


def event_until(event: AuditRow) -> datetime | None:
    """The wake-up time of a snooze (``None`` for other changes)."""
    after = event.detail.get("after", {})
    until = after.get("snoozed_until") if isinstance(after, dict) else None
    if not isinstance(until, str) or not until:
        return None
    try:
        return utc(datetime.fromisoformat(until))
    except ValueError:
        return None


@dataclass(frozen=True)
class SearchHit:
    kind: str  # "message" | "note"
    id: int
    customer_id: int
    customer_name: str
    conversation_id: int | None
    channel: str | None
    subject: str | None
    snippet: str
    at: datetime


_WORD = re.compile(r"\w+", re.UNICODE)


def search_terms(query: str) -> list[str]:
    """The words :func:`search` looks for in ``query`` (each matches as a prefix)."""
    return _WORD.findall(query)[:16]


_terms = search_terms


#: How many of the most recently stored matches are ordered by time for a
#: page of results: a common word matches a good part of a big store, and
#: sorting all of those would make every search as slow as the store is big.
SEARCH_WINDOW = 2000


def search(session: Session, query: str, *, limit: int = 50) -> list[SearchHit]:
    """Messages and notes matching every word of ``query`` (prefixes match),
    newest first (on SQLite: among the :data:`SEARCH_WINDOW` most recently
    stored matches of each)."""
    terms = _terms(query)
    if not terms:
        return []
    m, n = message_t.c, note_t.c
    msg_ids = _matching_ids(session, message_t, m.sent_at, terms, limit)
    note_ids = _matching_ids(session, note_t, n.created_at, terms, limit)
    msgs = (
        select(
            m.id,
            m.customer_id,
            customer_t.c.name,
            m.conversation_id,
            m.channel,
            m.subject,
            m.body_text,
            m.sent_at,
        )
        .join(customer_t, customer_t.c.id == m.customer_id)
        .where(m.id.in_(msg_ids))
        .order_by(m.sent_at.desc())
        .limit(limit)
    )
    notes = (
        select(n.id, n.customer_id, customer_t.c.name, n.conversation_id, n.body, n.created_at)
        .join(customer_t, customer_t.c.id == n.customer_id)
        .where(n.id.in_(note_ids))
        .order_by(n.created_at.desc())
        .limit(limit)
    )
    hits = [
        SearchHit("message", r[0], r[1], r[2], r[3], r[4], r[5], _snippet(r[6], terms), utc(r[7]))
        for r in session.execute(msgs)
    ] + [
        SearchHit("note", r[0], r[1], r[2], r[3], None, None, _snippet(r[4], terms), utc(r[5]))
        for r in session.execute(notes)
    ]
    hits.sort(key=lambda h: h.at, reverse=True)
    return hits[:limit]


def _matching_ids(
    session: Session, table: Table, at: ColumnElement[datetime], terms: list[str], limit: int
) -> Select[Any] | list[int]:
    """The rows of ``table`` among which the newest ``limit`` matches are."""
    if session.get_bind().dialect.name == "sqlite":
        fts = " ".join(f'"{t}"*' for t in terms)
        return _fts_rowids(f"{table.name}_fts", fts, SEARCH_WINDOW)
    # PostgreSQL walks the time index testing each row when it believes a
    # word is common, which is right for common words and costs a second for
    # a rare one; and it cannot tell how many rows a prefix matches unless its
    # statistics list the word. So: where the statistics say common, walk;
    # otherwise read the matches from the GIN index alone (a bitmap scan,
    # at most a window of rows) and, if the window is not full, those are
    # all of them; if it is full, the word is common after all: walk.
    match = _tsmatch(table.name, " & ".join(f"{t}:*" for t in terms))
    newest = select(table.c.id).where(match).order_by(at.desc()).limit(limit)
    if _estimated_rows(session, select(table.c.id).where(match)) < COMMON_MATCHES:
        session.execute(text("SET LOCAL enable_indexscan = off"))
        session.execute(text("SET LOCAL enable_seqscan = off"))
        few = session.execute(select(table.c.id, at).where(match).limit(SEARCH_WINDOW + 1)).all()
        session.execute(text("SET LOCAL enable_indexscan TO DEFAULT"))
        session.execute(text("SET LOCAL enable_seqscan TO DEFAULT"))
        if len(few) <= SEARCH_WINDOW:
            return [row[0] for row in sorted(few, key=lambda row: row[1], reverse=True)[:limit]]
    return list(session.execute(newest).scalars())


#: Matches (by the planner's estimate) above which a word counts as common.
COMMON_MATCHES = 20_000


def _estimated_rows(session: Session, stmt: Select[Any]) -> float:
    compiled = stmt.compile(session.get_bind())
    explain = f"EXPLAIN (FORMAT JSON) {compiled}"
    plan = session.connection().exec_driver_sql(explain, compiled.params).scalar_one()
    return float(plan[0]["Plan"]["Plan Rows"])


def _fts_rowids(table: str, query: str, window: int) -> Select[Any]:
    # FTS5 walks its index backwards by rowid and stops at the window
    rowid: ColumnElement[int] = literal_column("rowid")
    return (
        select(rowid)
        .select_from(text(table))
        .where(text(f"{table} MATCH :q").bindparams(q=query))
        .order_by(rowid.desc())
        .limit(window)
    )


def _tsmatch(table: str, tsquery: str) -> ColumnElement[bool]:
    return literal_column(f"{table}.search").op("@@", return_type=Boolean)(
        func.to_tsquery("simple", tsquery)
    )


def _snippet(body: str, terms: list[str], width: int = 160) -> str:
    flat = " ".join(body.split())
    low = flat.lower()
    pos = min((p for t in terms if (p := low.find(t.lower())) >= 0), default=0)
    start = max(pos - width // 3, 0)
    return ("…" if start else "") + flat[start : start + width]


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


def customer_addresses(session: Session, customer_id: int, channel: str) -> list[str]:
    """The customer's addresses on ``channel``, oldest first (for re-addressing)."""
    i = identity_t.c
    return list(
        session.execute(
            select(i.address)
            .where(i.customer_id == customer_id, i.channel == channel)
            .order_by(i.id)
        ).scalars()
    )


@dataclass(frozen=True)
class AccountHealth:
    account: str
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    outbox: dict[str, int] = field(default_factory=dict)


def account_health(session: Session, accounts: list[str]) -> list[AccountHealth]:
    """Per account: last good poll, last error, and unfinished outgoing messages."""
    s = syncstate_t.c
    health = {a: AccountHealth(a, None, None, None, {}) for a in accounts}
    for account, ok, err, err_at in session.execute(
        select(s.account, s.last_success_at, s.last_error, s.last_error_at)
        .where(s.account.in_(accounts))
        .order_by(s.account, s.scope)
    ):
        h = health[account]
        ok = utc(ok) if ok else None
        health[account] = AccountHealth(
            account,
            max(ok, h.last_success_at) if ok and h.last_success_at else ok or h.last_success_at,
            err or h.last_error,
            utc(err_at) if err_at else h.last_error_at,
            {},
        )
    m = message_t.c
    # Driven by the outbox index: the unfinished few, whatever the account's size.
    for account, status, count in session.execute(
        select(m.account, m.outbox_state, func.count())
        .where(m.outbox_state.in_(OUTBOX_PENDING))
        .group_by(m.account, m.outbox_state)
    ):
        if account in health:
            health[account].outbox[status] = count
    return list(health.values())


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


# --- appended for the console (omnitui.tui) ---


@dataclass(frozen=True)
class ChangeMarker:
    """A cheap fingerprint of the store: when it differs from the last one,
    something worth redrawing changed (here or in another process)."""

    last_message: int
    last_audit: int
    last_note: int
    last_customer: int
    outbox_pending: int


def change_marker(session: Session) -> ChangeMarker:
    """The store's :class:`ChangeMarker`: four index lookups (max of primary
    keys) and a count over the small set of unfinished outgoing messages."""
    m = message_t.c
    row = session.execute(
        select(
            select(func.max(m.id)).scalar_subquery(),
            select(func.max(audit_t.c.id)).scalar_subquery(),
            select(func.max(note_t.c.id)).scalar_subquery(),
            select(func.max(customer_t.c.id)).scalar_subquery(),
            select(func.count())
            .select_from(message_t)
            .where(m.outbox_state.in_(OUTBOX_UNFINISHED))
            .scalar_subquery(),
        )
    ).one()
    return ChangeMarker(*(int(v or 0) for v in row))


def message_account(session: Session, message_id: int) -> str | None:
    """The account an outgoing message is sent through (``None`` if there is no such message)."""
    return session.execute(
        select(message_t.c.account).where(message_t.c.id == message_id)
    ).scalar_one_or_none()


def assignees(session: Session, *, limit: int = 50) -> list[str]:
    """The people conversations are assigned to, alphabetically (for the assign picker)."""
    c = conversation_t.c
    return list(
        session.execute(
            select(c.assignee)
            .where(c.assignee.is_not(None))
            .distinct()
            .order_by(c.assignee)
            .limit(limit)
        ).scalars()
    )


#: How many of the newest messages, notes and audit events :func:`people`
#: looks through for names: who works here shows up in recent work, and
#: the store's whole history is never read for a picker.
PEOPLE_WINDOW = 5000


def people(session: Session, *, limit: int = 200) -> list[str]:
    """Everyone the store has seen at work, alphabetically: assignees, and the
    authors of the newest messages and notes and actors of the newest audit
    events (see :data:`PEOPLE_WINDOW`)."""
    m, n, a = message_t.c, note_t.c, audit_t.c
    names = set(assignees(session, limit=limit))
    for column, id_column in ((m.author, m.id), (n.author, n.id), (a.actor, a.id)):
        recent = (
            select(column.label("name"))
            .where(column.is_not(None))
            .order_by(id_column.desc())
            .limit(PEOPLE_WINDOW)
            .subquery()
        )
        names.update(session.execute(select(recent.c.name).distinct().limit(limit)).scalars())
    return sorted(name for name in names if name and name.strip())[:limit]


def customer_conversations(
    session: Session, customer_id: int, *, agent: str | None = None, limit: int = 500
) -> list[ConversationRow]:
    """A customer's conversations, newest activity first, for the customer view:
    without the per-row preview of the newest message (the timeline shows the
    messages themselves), which keeps opening a customer with many long
    threads cheap."""
    return list_conversations(
        session, view="all", agent=agent, customer_id=customer_id, limit=limit, with_preview=False
    )
