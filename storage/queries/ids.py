"""Whether an id can name a row at all (ids past the column's width are "not
found", not an overflow)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Table,
)
from sqlmodel import Session

from storage.models import (
    message_t,
)


def id_fits(session: Session, value: int, table: Table = message_t) -> bool:
    """Whether ``value`` fits the id column of ``table`` (the schema gives
    every table's id one type) on this engine.

    An id that does not fit names no row, and must not reach the driver:
    SQLite's raises OverflowError beyond 64 bits, and PostgreSQL refuses a
    value beyond the column's type (``integer``: 32 bits) as a data error.
    """
    wide = session.get_bind().dialect.name == "sqlite" or isinstance(table.c.id.type, BigInteger)
    bound = 2**63 if wide else 2**31
    return -bound <= value < bound
