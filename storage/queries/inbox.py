"""The inbox: conversations by view, newest activity first, each row with its
customer, preview and unread mark."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    and_,
    func,
    literal,
    select,
)
from sqlmodel import Session

from storage.db import utc
from storage.models import (
    conversation_t,
    conversation_tag_t,
    customer_t,
    customer_tag_t,
    message_t,
    readmark_t,
)
from storage.queries.ids import id_fits
from storage.queries.readmarks import MARKED_UNREAD
from storage.vocabulary import ACTIVE_STATUSES, CONVERSATION_STATUSES

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
    #: the conversation's own tags and its customer's, each sorted
    tags: tuple[str, ...] = ()
    customer_tags: tuple[str, ...] = ()


def row_columns(*, with_preview: bool) -> tuple[ColumnElement[Any], ...]:
    """The columns of a :class:`ConversationRow` (but its unread mark and
    tags), for every read that lists conversations."""
    c = conversation_t.c
    return (
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
    )


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
    conversation_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
    with_preview: bool = True,
) -> list[ConversationRow]:
    """Conversations, newest activity first, for an inbox ``view``
    (one of :data:`INBOX_FILTERS`; ``mine`` needs ``agent``)."""
    c = conversation_t.c
    read_at: ColumnElement[datetime | None] = literal(None)
    stmt: Select[Any] = select(*row_columns(with_preview=with_preview)).join(
        customer_t, customer_t.c.id == c.customer_id
    )
    if agent is not None:
        read_at = readmark_t.c.read_at
        stmt = stmt.outerjoin(
            readmark_t, and_(readmark_t.c.conversation_id == c.id, readmark_t.c.agent == agent)
        )
    stmt = stmt.add_columns(read_at.label("read_at"))
    if view == "mine":
        stmt = stmt.where(c.assignee == (agent or ""), c.status != "resolved")
    elif view == "unassigned":
        stmt = stmt.where(c.assignee.is_(None), c.status.in_(ACTIVE_STATUSES))
    elif view in CONVERSATION_STATUSES:
        stmt = stmt.where(c.status == view)
    elif view != "all":
        raise ValueError(f"unknown view {view!r}: use one of {', '.join(INBOX_FILTERS)}")
    if assignee is not None:
        stmt = stmt.where(c.assignee == assignee)
    if customer_id is not None:
        stmt = stmt.where(c.customer_id == customer_id)
    if conversation_id is not None:
        stmt = stmt.where(c.id == conversation_id)
    stmt = stmt.order_by(c.last_message_at.desc(), c.id.desc()).limit(limit).offset(offset)
    return conversation_rows(session, stmt, agent=agent)


def conversation_rows(
    session: Session, stmt: Select[Any], *, agent: str | None
) -> list[ConversationRow]:
    """The rows of ``stmt`` (:func:`row_columns` plus ``read_at``, the agent's
    read mark) as the inbox shows them: aware times, the unread mark, tags."""
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
    return with_tags(session, rows)


def with_tags(session: Session, rows: list[ConversationRow]) -> list[ConversationRow]:
    """``rows`` with their conversations' and customers' tags (two indexed
    reads for the whole page)."""
    if not rows:
        return rows
    ct, cu = conversation_tag_t.c, customer_tag_t.c
    own: dict[int, list[str]] = {}
    theirs: dict[int, list[str]] = {}
    for conv_id, tag in session.execute(
        select(ct.conversation_id, ct.tag).where(ct.conversation_id.in_({r.id for r in rows}))
    ):
        own.setdefault(conv_id, []).append(tag)
    for customer_id, tag in session.execute(
        select(cu.customer_id, cu.tag).where(cu.customer_id.in_({r.customer_id for r in rows}))
    ):
        theirs.setdefault(customer_id, []).append(tag)
    if not own and not theirs:
        return rows
    return [
        replace(
            r,
            tags=tuple(sorted(own.get(r.id, ()))),
            customer_tags=tuple(sorted(theirs.get(r.customer_id, ()))),
        )
        for r in rows
    ]


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


def get_conversation(
    session: Session, conversation_id: int, *, agent: str | None = None
) -> ConversationRow | None:
    """The conversation ``conversation_id`` as the inbox lists it (``None`` if
    there is no such conversation)."""
    if not id_fits(session, conversation_id, conversation_t):
        return None
    rows = list_conversations(
        session, view="all", agent=agent, conversation_id=conversation_id, limit=1
    )
    return rows[0] if rows else None
