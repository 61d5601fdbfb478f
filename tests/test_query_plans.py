"""Every hot read is served by an index: no full scan of messages,
conversations, customers or identities (SQLite's query plans)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from omnitui.ingest import ingest
from storage import queries
from storage.db import Store, open_store
from tests.helpers import batch, email, sms

BIG_TABLES = ("message", "conversation", "customer", "identity", "note", "auditevent")


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'plans.db'}", tmp_path / "data")
    ingest(store, "shop", batch(email("p1"), sms("SM1"), email("p2", "bo@example.com")))
    yield store
    store.close()


@contextmanager
def captured(store: Store) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def grab(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool
    ) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", grab)


def full_scans(store: Store, statements: list[tuple[str, Any]]) -> list[str]:
    bad = []
    with store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        for sql, params in statements:
            for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall():
                detail = row[3]
                match = re.match(r"SCAN (\w+)(?! USING)", detail)
                if match and match.group(1) in BIG_TABLES and "USING" not in detail:
                    bad.append(f"{detail}  <-  {sql.splitlines()[0][:80]}")
    return bad


HOT_READS: dict[str, Callable[[Any], object]] = {
    **{
        f"inbox {view}": (lambda s, v=view: queries.list_conversations(s, view=v, agent="alice"))
        for view in queries.INBOX_FILTERS
    },
    "conversations by assignee": lambda s: queries.list_conversations(s, view="all", assignee="bo"),
    "customer conversations": lambda s: queries.list_conversations(s, view="all", customer_id=1),
    "timeline": lambda s: queries.timeline(s, 1, limit=200),
    "search": lambda s: queries.search(s, "refund"),
    "outbox": lambda s: queries.outbox(s),
    "account health": lambda s: queries.account_health(s, ["shop"]),
    "audit": lambda s: queries.audit_events(s, customer_id=1),
    "customer": lambda s: queries.get_customer(s, 1),
}


@pytest.mark.parametrize("name", sorted(HOT_READS))
def test_hot_reads_use_indexes(sqlite_store: Store, name: str) -> None:
    with captured(sqlite_store) as statements, sqlite_store.read() as session:
        HOT_READS[name](session)
    assert statements
    assert full_scans(sqlite_store, statements) == []


def test_the_check_fails_when_an_index_is_missing(sqlite_store: Store) -> None:
    with sqlite_store.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_message_customer_sent")
    with captured(sqlite_store) as statements, sqlite_store.read() as session:
        queries.timeline(session, 1)
    assert any("SCAN message" in line for line in full_scans(sqlite_store, statements))
