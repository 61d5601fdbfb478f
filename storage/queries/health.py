"""Per account: last poll, last error and unfinished sends; and the change marker consoles poll."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    func,
    select,
)
from sqlmodel import Session

from storage.db import utc
from storage.models import audit_t, customer_t, message_t, note_t, readmark_t, syncstate_t
from storage.queries.outbox import OUTBOX_PENDING
from storage.vocabulary import OUTBOX_UNFINISHED


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


#: How far below a table's highest id the marker also counts rows: a change
#: that took its id before a later one but committed after it (PostgreSQL
#: hands ids out at the INSERT) lands there, where the highest id does not see it.
RECENT_IDS = 1000


@dataclass(frozen=True)
class ChangeMarker:
    """A cheap fingerprint of the store: when it differs from the last one,
    something worth redrawing changed (here or in another process). Per
    table, the highest id and how many rows hold one of the
    :data:`RECENT_IDS` below it (a late commit fills a gap there)."""

    messages: tuple[int, int]
    audit: tuple[int, int]
    notes: tuple[int, int]
    customers: tuple[int, int]
    outbox_pending: int
    #: every read mark is written with a new id (services.readmarks)
    read_marks: tuple[int, int]


def _recent(table: Any) -> tuple[Any, Any]:
    """The highest id of ``table`` and the count of rows just below it: an
    index lookup and a range of at most :data:`RECENT_IDS` index entries."""
    top = select(func.max(table.c.id)).scalar_subquery()
    near = (
        select(func.count())
        .select_from(table)
        .where(table.c.id > top - RECENT_IDS)
        .scalar_subquery()
    )
    return top, near


def change_marker(session: Session) -> ChangeMarker:
    """The store's :class:`ChangeMarker`: per table an index lookup (the
    highest id) and a short index range, and a count over the small set of
    unfinished outgoing messages."""
    m = message_t.c
    tables = (message_t, audit_t, note_t, customer_t, readmark_t)
    parts = [part for table in tables for part in _recent(table)]
    pending = (
        select(func.count())
        .select_from(message_t)
        .where(m.outbox_state.in_(OUTBOX_UNFINISHED))
        .scalar_subquery()
    )
    row = [int(v or 0) for v in session.execute(select(*parts, pending)).one()]
    pairs = [(row[i], row[i + 1]) for i in range(0, 2 * len(tables), 2)]
    return ChangeMarker(pairs[0], pairs[1], pairs[2], pairs[3], row[-1], pairs[4])
