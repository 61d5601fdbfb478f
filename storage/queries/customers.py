"""Customers and their identities: the customer list and lookups, and the names
of the people at work."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    case,
    func,
    or_,
    select,
)
from sqlmodel import Session

from storage import fold
from storage.db import utc
from storage.models import (
    audit_t,
    conversation_t,
    customer_t,
    identity_t,
    message_t,
    note_t,
)
from storage.queries.ids import id_fits
from storage.vocabulary import ACTIVE_STATUSES


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
                func.sum(case((c.status.in_(ACTIVE_STATUSES), 1), else_=0)),
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


def assigned_names(session: Session, names: Sequence[str]) -> list[str]:
    """Those of ``names`` that conversations are assigned to, as assigned,
    in any case or Unicode form ("dave" and "DAVE" find Dave, as the team's
    spelling rule reads names: :func:`storage.fold.same_name`),
    alphabetically: an agent who left the team, or one :func:`people` did
    not list (it lists at most ``limit``), still has conversations, and a
    query naming them must find them.

    The store's distinct assignees are walked one index seek each (the next
    name after the last, on the assignee index: as many seeks as people
    ever assigned, never a scan of the conversations), and compared here:
    neither engine's index can answer a case-insensitive match."""
    wanted = {fold.same_name(n) for n in names if n}
    if not wanted:
        return []
    c = conversation_t.c
    first = select(func.min(c.assignee).label("name")).cte("assigned", recursive=True)
    following = select(
        select(func.min(c.assignee)).where(c.assignee > first.c.name).scalar_subquery()
    ).where(first.c.name.is_not(None))
    walk = first.union_all(following)
    return [
        name
        for name in session.execute(select(walk.c.name).where(walk.c.name.is_not(None))).scalars()
        if fold.same_name(name) in wanted
    ]


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
