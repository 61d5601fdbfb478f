"""Driver-level bulk SQL for the hot write and lookup paths, and the one
chunking rule for ``IN (...)`` lists.

SQLAlchemy's per-row parameter processing and the compilation of an
expanding ``IN`` cost more than the statements themselves at ingest rates
(``benchmarks/ingest.py``), so these go through the DB-API cursor with
values already in driver form. Everything else uses SQLAlchemy as usual.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, Table, func, insert, select
from sqlmodel import Session

CHUNK = 900  # bound parameters per IN (...) lookup; far below every engine's limit

T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_ids(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert ``rows`` into ``table`` and return their new ids, in order.

    PostgreSQL returns ordered ids from one multi-row INSERT ... RETURNING.
    SQLite cannot promise RETURNING order for a multi-row insert, so
    SQLAlchemy would fall back to one statement per row; instead the ids are
    allocated here, which is safe because a SQLite write transaction
    (BEGIN IMMEDIATE, see storage.db) excludes every other writer.
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        start = (
            int(session.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1
        )
        ids = list(range(start, start + len(rows)))
        keys = list(rows[0])
        times = {k for k in keys if _is_time(table, k)}
        values = [
            (i, *(driver_time(row[k], dialect) if k in times else row[k] for k in keys))
            for row, i in zip(rows, ids, strict=True)
        ]
        bulk_insert(session, table, ["id", *keys], values)
        return ids
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return [int(i) for i in session.execute(stmt, list(rows)).scalars()]


def _is_time(table: Table, column: str) -> bool:
    kind = table.c[column].type
    return isinstance(getattr(kind, "impl", kind), DateTime)


def driver_time(value: datetime | None, dialect: str) -> object:
    """``value`` as the driver takes it for a timestamp column of ours: the
    text SQLAlchemy's SQLite dialect writes, or the aware datetime itself."""
    if value is None or dialect != "sqlite":
        return value
    # isoformat is a third faster than strftime and gives the same text
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def driver_executemany(session: Session, sql: str, rows: Sequence[Sequence[object]]) -> None:
    """Run ``sql`` (with ``?`` placeholders) once per row through the driver.

    For the ingest hot path only: SQLAlchemy's per-row parameter processing
    costs more than the statement itself. Values must already be in driver
    form (see :func:`driver_time`).
    """
    if not rows:
        return
    conn = session.connection()
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    conn.exec_driver_sql(sql, list(rows))


def bulk_insert(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    """Insert many rows through the driver (see :func:`driver_executemany`)."""
    marks = ", ".join("?" * len(columns))
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
    driver_executemany(session, sql, rows)


def driver_lookup(
    session: Session, sql: str, fixed: Sequence[object], values: Sequence[object]
) -> Iterator[Sequence[Any]]:
    """Rows of ``sql`` (``?`` placeholders; ``IN ({in})`` takes ``values``, a
    chunk at a time), through the driver: compiling an expanding ``IN`` costs
    SQLAlchemy more than the lookup costs the database. Values come back in
    driver form (SQLite timestamps as the text :func:`driver_time` writes)."""
    conn = session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    template = sql.replace("?", mark)
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        for part in chunks(values):
            cursor.execute(template.replace("{in}", ", ".join([mark] * len(part))), (*fixed, *part))
            yield from cursor.fetchall()
    finally:
        cursor.close()
