"""Triage figures on a seeded store (see ``seed.py``: 1,000,000 messages,
306,000 conversations), each next to its floor: the very statement omnitui
ran, captured at the driver and replayed on a bare DBAPI cursor (so the
floor is "the same query in bare SQL", without our Python around it, and
without the small lookups before it: a rare word's or tag's conversations):

* counting every view (the 7 built-in ones and 3 saved ones) together,
  one UNION ALL statement; target 50 ms;
* switching views: the first page (100 rows) of each of the 10 views, the
  slowest one reported; target 100 ms;
* a query of three terms and a word, first page (50), for a common word,
  a rare one and a phrase; target 100 ms;
* a bulk action on 1,000 conversations (assign and tag, each in its own
  transaction with its audit events); the floor is the same writes in bare
  SQL, one transaction per conversation (on PostgreSQL one statement each,
  as omnitui sends them); target 1 s.

Before measuring, the store gets tags if it has none (a tenth of the
conversations, a twentieth of the customers), the index the counts need
(:data:`SUGGESTED_INDEX`, not yet in a migration) and, on PostgreSQL, fresh
statistics (``ANALYZE``, which autovacuum does on a live server).

    .venv/bin/python benchmarks/triage.py --db sqlite:///.bench/store-1000000.db
    .venv/bin/python benchmarks/run.py --only triage [--db postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, select, text

from benchmarks.table import Figure, median_ms, print_table
from omnitui.query import parse_query
from omnitui.services.bulk import BulkChange, bulk_update
from omnitui.services.views import BUILTIN_VIEWS, View, count_views, list_view
from storage.db import Store, open_store
from storage.models import conversation_t, conversation_tag_t, customer_tag_t
from storage.queries.triage import SERIAL, matching_states

#: the index the view counts need (assignee and status together: "mine" and
#: "unassigned" count from it alone): migration 0005 makes it; kept here for
#: benchmark stores built before it
SUGGESTED_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_conversation_assignee_status ON conversation (assignee, status)"
)
TAGS = ("billing", "vip", "refund", "escalated", "bug", "wholesale")
SAVED = (
    View("Billing", "b", "tag:billing"),
    View("VIP waiting", "v", "tag:vip waiting:>4h"),
    View("Unread", "u", "unread:me"),
)
QUERIES = (
    ("common word", "status:open channel:email assignee:alice refund"),
    ("rare word", "status:all channel:email assignee:alice Rechnung"),
    ("phrase", 'status:all channel:email assignee:alice "card was charged"'),
)
AGENT = "alice"


def prepare(store: Store) -> None:
    """Tags (when the store has none), the suggested index, statistics."""
    c = conversation_t.c
    with store.write() as session:
        if not session.execute(select(func.count()).select_from(conversation_tag_t)).scalar_one():
            ids = list(session.execute(select(c.id, c.customer_id)).all())
            rows = [
                {"conversation_id": i, "tag": TAGS[i % len(TAGS)]} for i, _ in ids if i % 10 == 0
            ]
            customers = sorted({cu for _, cu in ids if cu % 20 == 0})
            for start in range(0, len(rows), 20_000):
                session.execute(conversation_tag_t.insert(), rows[start : start + 20_000])
            session.execute(
                customer_tag_t.insert(),
                [{"customer_id": cu, "tag": TAGS[cu % len(TAGS)]} for cu in customers],
            )
        session.execute(text(SUGGESTED_INDEX))
    if store.dialect == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")


@contextmanager
def _captured(store: Store) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def grab(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", grab)


def _floor_of(
    store: Store, ours: Callable[[], object], marker: str = "AS customer_name"
) -> Callable[[], None]:
    """The main statement ``ours`` runs (the SELECT holding ``marker``),
    replayed on a bare cursor (on PostgreSQL after the same ``SET LOCAL``)."""
    with _captured(store) as seen:
        ours()
    sql, params = next(s for s in seen if marker in s[0])

    def floor() -> None:
        with store.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            cursor = raw.cursor()
            if store.dialect == "postgresql":
                cursor.execute(SERIAL)
            cursor.execute(sql, params)
            cursor.fetchall()
            raw.rollback()

    return floor


def view_figures(store: Store, repeat: int) -> list[Figure]:
    now = datetime.now(UTC)
    views = BUILTIN_VIEWS + SAVED

    def counts() -> None:
        count_views(store, views, agent=AGENT, now=now)

    figures = [
        Figure(
            f"count all {len(views)} views (one statement)",
            median_ms(counts, repeat),
            median_ms(_floor_of(store, counts, "count("), repeat),
            "ms",
            limit=50,
            floor_is="the same UNION ALL statement on a bare cursor",
        )
    ]

    def exact() -> None:
        count_views(store, views, agent=AGENT, now=now, limit=None)

    figures.append(
        Figure(
            "  the same, exact past 10,000 (omnitui views)",
            median_ms(exact, repeat),
            median_ms(_floor_of(store, exact, "count("), repeat),
            "ms",
            floor_is="the same statement on a bare cursor",
        )
    )
    worst: tuple[float, float, str] = (0.0, 0.0, "")
    for view in views:

        def page(v: View = view) -> None:
            list_view(store, v, agent=AGENT, now=now, limit=100)

        ours, floor = median_ms(page, repeat), median_ms(_floor_of(store, page), repeat)
        worst = max(worst, (ours, floor, view.name))
    figures.append(
        Figure(
            f"switch view, first page (slowest: {worst[2]})",
            worst[0],
            worst[1],
            "ms",
            limit=100,
            floor_is="that view's page statement on a bare cursor",
        )
    )
    for label, typed in QUERIES:
        query = parse_query(typed)

        def first(q: Any = query) -> None:
            list_view(store, q, agent=AGENT, now=now, limit=50)

        figures.append(
            Figure(
                f"3 terms and a {label}, first page",
                median_ms(first, repeat),
                median_ms(_floor_of(store, first), repeat),
                "ms",
                limit=100,
                floor_is=f"the page statement of {typed!r} on a bare cursor",
            )
        )
    return figures


def bulk_figure(store: Store, repeat: int) -> Figure:
    now = datetime.now(UTC)
    with store.read() as session:
        found = matching_states(
            session, parse_query("status:resolved"), agent=AGENT, now=now, limit=1000
        )
    ids = [s.id for s in found]
    runs = {"n": 0}

    def ours() -> None:
        runs["n"] += 1
        odd = runs["n"] % 2
        change = BulkChange(
            assign="bob" if odd else "carol",
            tag=("bulk-bench",) if odd else (),
            untag=() if odd else ("bulk-bench",),
        )
        results = bulk_update(store, "bench", ids, change, now=now)
        assert all(r.outcome == "changed" for r in results), results[:3]

    def floor() -> None:
        runs["n"] += 1
        odd = runs["n"] % 2
        if store.dialect == "postgresql":
            _one_statement_floor(store, ids, "bob" if odd else "carol", bool(odd), now)
        else:
            _statement_by_statement_floor(store, ids, "bob" if odd else "carol", bool(odd), now)

    count = max(repeat // 3, 3)
    started = time.perf_counter()
    mine = median_ms(ours, count)
    runs["n"] = 0
    floor_ms = median_ms(floor, count)
    print(f"  bulk measured in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return Figure(
        f"bulk assign + tag, {len(ids):,} conversations",
        mine,
        floor_ms,
        "ms",
        limit=1000,
        floor_is=(
            "the same writes per conversation, bare: "
            + (
                "one statement (CTEs), autocommit"
                if store.dialect == "postgresql"
                else "UPDATE + 2 INSERTs, one transaction"
            )
        ),
    )


def _statement_by_statement_floor(
    store: Store, ids: list[int], who: str, tag: bool, now: datetime
) -> None:
    """SQLite: each conversation's UPDATE, audit INSERT and tag INSERT (or
    DELETE) on a bare cursor, committed one by one (a statement costs no
    round trip there, as omnitui writes them)."""
    with store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        for i in ids:
            cursor.execute(
                "UPDATE conversation SET assignee = ?, version = version + 1 WHERE id = ?",
                (who, i),
            )
            cursor.execute(
                "INSERT INTO auditevent (at, actor, action, conversation_id, detail) "
                "VALUES (?, ?, ?, ?, ?)",
                (now.isoformat(), "bench", "assign", i, "{}"),
            )
            if tag:
                cursor.execute(
                    "INSERT INTO conversationtag (conversation_id, tag, created_at) "
                    "VALUES (?, ?, ?)",
                    (i, "bulk-floor", now.isoformat()),
                )
            else:
                cursor.execute(
                    "DELETE FROM conversationtag WHERE conversation_id = ? AND tag = ?",
                    (i, "bulk-floor"),
                )
            raw.commit()


#: PostgreSQL's floor: a conversation's UPDATE, tag write and two audit rows
#: in one statement, as omnitui sends them (a round trip per statement is
#: what the time there is made of), without the version check, the tags'
#: JSON or our Python around it
_ONE_FLOOR = """
WITH changed AS (
    UPDATE conversation SET assignee = %(who)s, version = version + 1 WHERE id = %(id)s
    RETURNING id
), tagged AS ({tag_write} RETURNING tag),
audited AS (
    INSERT INTO auditevent (at, actor, action, conversation_id, detail)
    SELECT %(at)s, 'bench', 'assign', %(id)s, '{{}}' FROM changed
    UNION ALL SELECT %(at)s, 'bench', %(action)s, %(id)s, '{{}}' FROM tagged
)
SELECT (SELECT count(*) FROM changed), (SELECT array_agg(tag) FROM tagged)
"""
_TAG_WRITES = {
    True: "INSERT INTO conversationtag (conversation_id, tag, created_at) "
    "VALUES (%(id)s, 'bulk-floor', %(at)s) ON CONFLICT DO NOTHING",
    False: "DELETE FROM conversationtag WHERE conversation_id = %(id)s AND tag = 'bulk-floor'",
}


def _one_statement_floor(store: Store, ids: list[int], who: str, tag: bool, now: datetime) -> None:
    sql = _ONE_FLOOR.format(tag_write=_TAG_WRITES[tag])
    action = "tag" if tag else "untag"
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        for i in ids:
            cursor.execute(sql, {"who": who, "id": i, "at": now, "action": action})
            cursor.fetchone()


def measure(url: str, repeat: int, data: Path) -> list[Figure]:
    store = open_store(url, data)
    try:
        prepare(store)
        return [*view_figures(store, repeat), bulk_figure(store, repeat)]
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", required=True, help="a seeded store (see seed.py)")
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    figures = measure(args.db, args.repeat, root / ".bench" / "data")
    print(f"\nstore: {args.db}\n")
    print_table(figures)


if __name__ == "__main__":
    main()
