"""The change marker consoles poll (storage.queries.change_marker) moves for
every committed change, also one that commits after a later one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage import queries
from storage.db import Store

AUDIT = "INSERT INTO auditevent (at, actor, action, detail) VALUES (%s, 'bob', 'assign', '{}')"


def marker(store: Store) -> queries.ChangeMarker:
    with store.read() as session:
        return queries.change_marker(session)


def test_a_change_committed_after_a_later_one_still_moves_the_marker(
    store: Store, db_url: str
) -> None:
    """On PostgreSQL an id is handed out at the INSERT, not at the commit: a
    transaction that took id 10 can commit after one that took 11. A marker
    of the highest id alone read 11 before and after the late commit, and
    the consoles never redrew for it."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite runs one writer at a time: its ids are given in commit order")
    import psycopg

    url = db_url.replace("postgresql+psycopg://", "postgresql://")
    now = datetime.now(UTC)
    with psycopg.connect(url) as slow, psycopg.connect(url, autocommit=True) as quick:
        slow.execute(AUDIT, (now,))  # takes the lower id, not committed yet
        quick.execute(AUDIT, (now,))  # the higher id, committed
        before = marker(store)
        slow.commit()
        after = marker(store)
    assert after != before
