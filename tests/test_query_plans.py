"""Every hot read is served by an index: no full scan of messages,
conversations, customers, identities, notes or audit events, on SQLite and
PostgreSQL; and every index a hot read relies on is caught when missing.

SQLite: ``EXPLAIN QUERY PLAN`` of each statement the read runs; a ``SCAN``
of a big table is a full scan (also ``USING INDEX``: that walks the whole
index), unless it is the one ordered walk a read is allowed (the "all"
inbox walks the activity index newest first and stops at its LIMIT).
PostgreSQL: ``EXPLAIN`` with ``enable_seqscan`` off, so the planner takes
any usable index whatever the tiny test tables' statistics say; a
``Seq Scan`` left over means no index can serve the read. (A full index
scan that is not an ordered walk shows as ``Index Scan``/``Index Only
Scan`` without ``Index Cond``.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from omnitui.query import parse_query
from omnitui.services.ingest import ingest
from omnitui.services.tags import add_tags
from omnitui.services.views import BUILTIN_VIEWS
from storage import queries, reports
from storage.db import Store
from storage.queries import triage
from storage.query_terms import Sort
from tests.helpers import batch, email, sms

BIG_TABLES = (
    "message",
    "conversation",
    "customer",
    "identity",
    "note",
    "auditevent",
    "attachment",
)
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def plan_store(store: Store) -> Store:
    ingest(store, "shop", batch(email("p1"), sms("SM1"), email("p2", "bo@example.com")))
    add_tags(store, "alice", ["billing"], conversation_id=1)
    add_tags(store, "alice", ["vip"], customer_id=2)
    return store


@contextmanager
def captured(store: Store) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def grab(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool
    ) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", grab)


def _sqlite_scans(raw: Any, sql: str, params: Any, allowed: set[str]) -> list[str]:
    bad = []
    for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall():
        detail = str(row[3])
        match = re.match(r"SCAN (\w+)", detail)
        if match and match.group(1) in BIG_TABLES and detail not in allowed:
            bad.append(detail)
    return bad


def _pg_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _pg_nodes(child)


_PG_LEADING = """
SELECT i.relname, t.relname, a.attname
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
"""


def _pg_scans(raw: Any, sql: str, params: Any, allowed: set[str]) -> list[str]:
    cursor = raw.cursor()
    cursor.execute(_PG_LEADING)
    leading = {index: (table, column) for index, table, column in cursor.fetchall()}
    cursor.execute("SET LOCAL enable_seqscan = off")
    cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
    (plan,) = cursor.fetchone()[0]
    bad = []
    for node in _pg_nodes(plan["Plan"]):
        kind = node["Node Type"]
        if kind == "Seq Scan" and node.get("Relation Name") in BIG_TABLES:
            bad.append(f"Seq Scan on {node['Relation Name']}")
        if "Index Name" not in node:
            continue
        table, column = leading[node["Index Name"]]
        detail = f"{kind} on {table} using {node['Index Name']}"
        # an index condition on a later column still reads the whole index
        seeks = re.search(rf"\b{column}\b", node.get("Index Cond", "")) is not None
        if table in BIG_TABLES and not seeks and detail not in allowed:
            bad.append(detail)
    raw.rollback()
    return bad


def full_scans(store: Store, statements: list[tuple[str, Any]], allowed: set[str]) -> list[str]:
    bad = []
    scans = _sqlite_scans if store.engine.dialect.name == "sqlite" else _pg_scans
    with store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        for sql, params in statements:
            bad += [
                f"{d}  <-  {sql.split(chr(10))[0][:80]}" for d in scans(raw, sql, params, allowed)
            ]
    return bad


#: The one ordered walk each read may make (by engine); everything else seeks.
ALLOWED: dict[str, set[str]] = {
    "customers list": {
        "SCAN customer USING INDEX ix_customer_updated",
        "Index Scan on customer using ix_customer_updated",
        # PostgreSQL on a tiny table: the whole (partial) index, then a sort
        "Bitmap Index Scan on customer using ix_customer_updated",
    },
    "inbox all": {
        "SCAN conversation USING INDEX ix_conversation_activity",
        "Index Scan on conversation using ix_conversation_activity",
        "Index Scan Backward on conversation using ix_conversation_activity",
    },
}


def _inbox(view: str) -> Callable[[Any], object]:
    return lambda s: queries.list_conversations(s, view=view, agent="alice")


HOT_READS: dict[str, Callable[[Any], object]] = {
    **{f"inbox {view}": _inbox(view) for view in queries.INBOX_FILTERS},
    "conversations by assignee": lambda s: queries.list_conversations(s, view="all", assignee="bo"),
    "assigned names": lambda s: queries.assigned_names(s, ["zoe", "Bob"]),  # a view's team
    "customer conversations": lambda s: queries.list_conversations(s, view="all", customer_id=1),
    "timeline": lambda s: queries.timeline(s, 1, limit=200, with_events=True),
    "search": lambda s: queries.search(s, "refund"),
    "outbox": lambda s: queries.outbox(s),
    "account health": lambda s: queries.account_health(s, ["shop"]),
    "audit": lambda s: queries.audit_events(s, customer_id=1),
    "customer": lambda s: queries.get_customer(s, 1),
    "customers list": lambda s: queries.list_customers(s),
    "change marker": lambda s: queries.change_marker(s),
    "report, last 7 days": lambda s: reports.report(s, since=NOW - timedelta(days=7), now=NOW),
}


# -- the query language (storage/queries/triage.py) ----------------------------------


def _page(text: str, sort: Sort = "activity") -> Callable[[Any], object]:
    def read(s: Any) -> object:
        return triage.find_conversations(
            s,
            parse_query(text),
            agent="alice",
            now=NOW,
            sort=sort,
            limit=50,
        )

    return read


def _counts(*texts: str, limit: int | None = 10_000) -> Callable[[Any], object]:
    def read(s: Any) -> object:
        return triage.count_conversations(
            s, {t: parse_query(t) for t in texts}, agent="alice", now=NOW, limit=limit
        )

    return read


#: every shape of statement a query compiles to: each term, negated, under the
#: default statuses and under status:all, each sort, counts, bulk targets
QUERY_READS: dict[str, Callable[[Any], object]] = {
    **{f"view {v.name}": _page(v.query) for v in BUILTIN_VIEWS},
    "view counts": _counts(*(v.query for v in BUILTIN_VIEWS)),
    "query tag": _page("tag:billing"),
    "query -tag": _page("-tag:billing"),
    "query tag, all": _page("tag:billing status:all"),
    "query assignee": _page("assignee:bob"),
    "query -assignee": _page("-assignee:bob status:open"),
    "query channel": _page("channel:sms status:open"),
    "query account": _page("account:shop status:pending"),
    "query customer": _page("customer:1 status:all"),
    "query unread": _page("unread:me"),
    "query older": _page("older:2h"),
    "query newer, all": _page("newer:1d status:all"),
    "query waiting": _page("waiting:>4h"),
    "query word": _page("refund"),
    "query phrase": _page('"would like a refund"'),
    "query -word": _page("-refund"),
    "query three terms and a word": _page("status:open channel:email assignee:alice refund"),
    "query or": _page("tag:vip OR assignee:me"),
    "query sort waiting": _page("status:open", "waiting"),
    "query sort created": _page("status:open", "created"),
    "query after": lambda s: triage.find_conversations(
        s, parse_query("status:all"), agent="alice", now=NOW, after=2
    ),
    "counts of saved views": _counts("tag:billing", "unread:me", "waiting:>4h -tag:vip"),
    "exact counts": _counts("status:open", "assignee:me -status:resolved", limit=None),
    "bulk targets": lambda s: triage.matching_states(
        s, parse_query("tag:billing"), agent="alice", now=NOW, limit=1000
    ),
    "bulk states": lambda s: triage.conversation_states(s, [1, 2, 3]),
}
#: the ordered walks the new reads may make: a page under status:all walks
#: the activity index newest first and stops at its LIMIT; a count of every
#: conversation reads an index to its limit (10,000) or to the end (exact)
WALK_ACTIVITY = ALLOWED["inbox all"] | {
    "SCAN conversation USING COVERING INDEX ix_conversation_activity",
    "Index Only Scan Backward on conversation using ix_conversation_activity",
    # PostgreSQL, tables of three rows, sequential scans off: the page's ids
    # are joined back to their conversations by reading a whole small index
    # (at a million rows it seeks each id by the primary key: the plan is in
    # benchmarks/triage.py's run), in reads that walk every conversation anyway
    "Index Scan on conversation using ix_conversation_customer_activity",
}
QUERY_ALLOWED: dict[str, set[str]] = {
    "view all": WALK_ACTIVITY,
    "query tag, all": WALK_ACTIVITY,
    "query newer, all": WALK_ACTIVITY,
    "query customer": WALK_ACTIVITY,
    "query after": WALK_ACTIVITY,
    "view counts": {  # "all" counts every conversation (up to the limit)
        "SCAN conversation USING COVERING INDEX ix_conversation_created",
        "SCAN conversation USING COVERING INDEX ix_conversation_activity",
        "Index Only Scan on conversation using ix_conversation_created",
        "Index Only Scan on conversation using ix_conversation_activity",
        "Bitmap Index Scan on conversation using ix_conversation_created",
        "Bitmap Index Scan on conversation using ix_conversation_assignee_status",
    },
    "query sort created": {
        "SCAN conversation USING INDEX ix_conversation_created",
        "Index Scan Backward on conversation using ix_conversation_created",
    },
}
HOT_READS.update(QUERY_READS)
ALLOWED.update(QUERY_ALLOWED)


def _violations(store: Store) -> dict[str, list[str]]:
    found = {}
    for name, read in HOT_READS.items():
        with captured(store) as statements, store.read() as session:
            read(session)
        assert statements, name
        if bad := full_scans(store, statements, ALLOWED.get(name, set())):
            found[name] = bad
    return found


def test_hot_reads_use_indexes(plan_store: Store) -> None:
    assert _violations(plan_store) == {}


#: Every index a hot read relies on. Dropping any one of them must show up as
#: a full scan in some hot read: that is what makes the check above bite.
HOT_INDEXES = (
    "ix_conversation_activity",
    "ix_conversation_status_activity",
    # either serves a seek by assignee (one walks in activity order, the other
    # counts by status without reading rows): only both gone is a full scan
    "ix_conversation_assignee_activity ix_conversation_assignee_status",
    "ix_conversation_customer_activity",
    "ix_conversation_created",
    "ix_message_conversation_sent",
    "ix_message_customer_sent",
    "ix_message_outbox",
    "ix_message_sent",
    "ix_note_customer_created",
    "ix_audit_customer_at",
    "ix_audit_at",
    "ix_identity_customer_id",
    "ix_attachment_message_id",
    "ix_customer_updated",
)


@pytest.mark.parametrize("index", HOT_INDEXES)
def test_a_missing_index_is_caught(plan_store: Store, index: str) -> None:
    with plan_store.engine.begin() as conn:
        for name in index.split():
            conn.exec_driver_sql(f"DROP INDEX {name}")
    assert _violations(plan_store), f"nothing noticed that {index} is gone"


def test_query_reads_use_indexes_when_words_and_tags_are_common(
    plan_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other strategy of storage.queries.triage: a common word or tag is
    tested on the conversations the other terms leave (no list of ids)."""
    monkeypatch.setattr(triage, "RARE_MATCHES", 1)
    monkeypatch.setattr(triage, "COMMON_MATCHES", 0)
    found = {}
    for name, read in QUERY_READS.items():
        with captured(plan_store) as statements, plan_store.read() as session:
            read(session)
        if bad := full_scans(plan_store, statements, ALLOWED.get(name, set())):
            found[name] = bad
    assert found == {}
