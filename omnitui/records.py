"""Finding and creating the rows every write path needs: customers by
address, and conversations by thread key. Shared by ingest and the outbox."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, Table, func, insert, select
from sqlmodel import Session

from storage.models import customer_t, identity_t, utcnow

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


def _by_first(keys: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for first, second in dict.fromkeys(keys):
        grouped.setdefault(first, []).append(second)
    return grouped


def find_identities(
    session: Session, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """customer id by (channel, normalized address), for the keys that exist."""
    # One "channel = ? AND address IN (...)" per channel: both engines serve
    # it from the unique index, where a row-value IN may scan the table.
    found: dict[tuple[str, str], int] = {}
    for channel, addresses in _by_first(keys).items():
        for address, customer_id in driver_lookup(
            session,
            "SELECT address, customer_id FROM identity WHERE channel = ? AND address IN ({in})",
            (channel,),
            addresses,
        ):
            found[(channel, address)] = customer_id
    return found


def ensure_customers(
    session: Session, names: Mapping[tuple[str, str], str | None]
) -> tuple[dict[tuple[str, str], int], int]:
    """The customer of every (channel, normalized address) key of ``names``.

    A key with no identity yet gets a new customer, named by the given display
    name or else the address. Returns the mapping and how many were created.
    """
    found = find_identities(session, list(names))
    missing = [key for key in names if key not in found]
    if not missing:
        return found, 0
    now = utcnow()
    rows = [
        {
            "name": (names[key] or "").strip() or key[1],
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        for key in missing
    ]
    ids = insert_ids(session, customer_t, rows)
    dialect = session.get_bind().dialect.name
    bulk_insert(
        session,
        identity_t,
        ("customer_id", "channel", "address", "display_name", "created_at"),
        [
            (cid, ch, addr, names[(ch, addr)], driver_time(now, dialect))
            for cid, (ch, addr) in zip(ids, missing, strict=True)
        ],
    )
    found.update(zip(missing, ids, strict=True))
    return found, len(missing)


def conversations_by_key(
    session: Session, account: str, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """conversation id by (channel, thread key) within ``account``, for the keys that exist."""
    found: dict[tuple[str, str], int] = {}
    for channel, thread_keys in _by_first(keys).items():
        for key, conv_id in driver_lookup(
            session,
            "SELECT thread_key, id FROM conversation "
            "WHERE account = ? AND channel = ? AND thread_key IN ({in})",
            (account, channel),
            thread_keys,
        ):
            found[(channel, key)] = conv_id
    return found


def conversation_values(
    *,
    account: str,
    channel: str,
    thread_key: str,
    customer_id: int,
    ours: str,
    theirs: str,
    subject: str | None,
    at: datetime,
) -> dict[str, Any]:
    """The row of a new open conversation with no messages yet."""
    return {
        "customer_id": customer_id,
        "account": account,
        "channel": channel,
        "thread_key": thread_key,
        "our_address": ours,
        "their_address": theirs,
        "subject": subject,
        "status": "open",
        "last_message_at": at,
        "message_count": 0,
        # a conversation starts with its first message (imported history too)
        "created_at": min(at, utcnow()),
        "version": 1,
    }
