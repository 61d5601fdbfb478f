"""Per account: last poll, last error and unfinished sends; and the change marker consoles poll."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

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


@dataclass(frozen=True)
class ChangeMarker:
    """A cheap fingerprint of the store: when it differs from the last one,
    something worth redrawing changed (here or in another process)."""

    last_message: int
    last_audit: int
    last_note: int
    last_customer: int
    outbox_pending: int
    #: every read mark is written with a new id (services.readmarks)
    last_read_mark: int


def change_marker(session: Session) -> ChangeMarker:
    """The store's :class:`ChangeMarker`: five index lookups (max of primary
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
            select(func.max(readmark_t.c.id)).scalar_subquery(),
        )
    ).one()
    return ChangeMarker(*(int(v or 0) for v in row))
