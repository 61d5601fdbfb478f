"""Full-text search over messages and notes (SQLite FTS5, PostgreSQL tsvector),
newest matches first."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    Table,
    func,
    literal_column,
    select,
    text,
)
from sqlmodel import Session

from storage.db import utc
from storage.models import (
    customer_t,
    message_t,
    note_t,
)


@dataclass(frozen=True)
class SearchHit:
    kind: str  # "message" | "note"
    id: int
    customer_id: int
    customer_name: str
    conversation_id: int | None
    channel: str | None
    subject: str | None
    snippet: str
    at: datetime


_WORD = re.compile(r"\w+", re.UNICODE)


def search_terms(query: str) -> list[str]:
    """The words :func:`search` looks for in ``query`` (each matches as a prefix)."""
    return _WORD.findall(query)[:16]


_terms = search_terms

#: How many of the most recently stored matches are ordered by time for a
#: page of results: a common word matches a good part of a big store, and
#: sorting all of those would make every search as slow as the store is big.
SEARCH_WINDOW = 2000


def search(session: Session, query: str, *, limit: int = 50) -> list[SearchHit]:
    """Messages and notes matching every word of ``query`` (prefixes match),
    newest first (on SQLite: among the :data:`SEARCH_WINDOW` most recently
    stored matches of each)."""
    terms = _terms(query)
    if not terms:
        return []
    m, n = message_t.c, note_t.c
    msg_ids = _matching_ids(session, message_t, m.sent_at, terms, limit)
    note_ids = _matching_ids(session, note_t, n.created_at, terms, limit)
    msgs = (
        select(
            m.id,
            m.customer_id,
            customer_t.c.name,
            m.conversation_id,
            m.channel,
            m.subject,
            m.body_text,
            m.sent_at,
        )
        .join(customer_t, customer_t.c.id == m.customer_id)
        .where(m.id.in_(msg_ids))
        .order_by(m.sent_at.desc())
        .limit(limit)
    )
    notes = (
        select(n.id, n.customer_id, customer_t.c.name, n.conversation_id, n.body, n.created_at)
        .join(customer_t, customer_t.c.id == n.customer_id)
        .where(n.id.in_(note_ids))
        .order_by(n.created_at.desc())
        .limit(limit)
    )
    hits = [
        SearchHit("message", r[0], r[1], r[2], r[3], r[4], r[5], _snippet(r[6], terms), utc(r[7]))
        for r in session.execute(msgs)
    ] + [
        SearchHit("note", r[0], r[1], r[2], r[3], None, None, _snippet(r[4], terms), utc(r[5]))
        for r in session.execute(notes)
    ]
    hits.sort(key=lambda h: h.at, reverse=True)
    return hits[:limit]


def _matching_ids(
    session: Session, table: Table, at: ColumnElement[datetime], terms: list[str], limit: int
) -> Select[Any] | list[int]:
    """The rows of ``table`` among which the newest ``limit`` matches are."""
    if session.get_bind().dialect.name == "sqlite":
        fts = " ".join(f'"{t}"*' for t in terms)
        return _fts_rowids(f"{table.name}_fts", fts, SEARCH_WINDOW)
    # PostgreSQL walks the time index testing each row when it believes a
    # word is common, which is right for common words and costs a second for
    # a rare one; and it cannot tell how many rows a prefix matches unless its
    # statistics list the word. So: where the statistics say common, walk;
    # otherwise read the matches from the GIN index alone (a bitmap scan,
    # at most a window of rows) and, if the window is not full, those are
    # all of them; if it is full, the word is common after all: walk.
    match = _tsmatch(table.name, " & ".join(f"{t}:*" for t in terms))
    newest = select(table.c.id).where(match).order_by(at.desc()).limit(limit)
    if _estimated_rows(session, select(table.c.id).where(match)) < COMMON_MATCHES:
        session.execute(text("SET LOCAL enable_indexscan = off"))
        session.execute(text("SET LOCAL enable_seqscan = off"))
        few = session.execute(select(table.c.id, at).where(match).limit(SEARCH_WINDOW + 1)).all()
        session.execute(text("SET LOCAL enable_indexscan TO DEFAULT"))
        session.execute(text("SET LOCAL enable_seqscan TO DEFAULT"))
        if len(few) <= SEARCH_WINDOW:
            return [row[0] for row in sorted(few, key=lambda row: row[1], reverse=True)[:limit]]
    return list(session.execute(newest).scalars())


#: Matches (by the planner's estimate) above which a word counts as common.
COMMON_MATCHES = 20_000


def _estimated_rows(session: Session, stmt: Select[Any]) -> float:
    compiled = stmt.compile(session.get_bind())
    explain = f"EXPLAIN (FORMAT JSON) {compiled}"
    plan = session.connection().exec_driver_sql(explain, compiled.params).scalar_one()
    return float(plan[0]["Plan"]["Plan Rows"])


def _fts_rowids(table: str, query: str, window: int) -> Select[Any]:
    # FTS5 walks its index backwards by rowid and stops at the window
    rowid: ColumnElement[int] = literal_column("rowid")
    return (
        select(rowid)
        .select_from(text(table))
        .where(text(f"{table} MATCH :q").bindparams(q=query))
        .order_by(rowid.desc())
        .limit(window)
    )


def _tsmatch(table: str, tsquery: str) -> ColumnElement[bool]:
    return literal_column(f"{table}.search").op("@@", return_type=Boolean)(
        func.to_tsquery("simple", tsquery)
    )


def _snippet(body: str, terms: list[str], width: int = 160) -> str:
    flat = " ".join(body.split())
    low = flat.lower()
    pos = min((p for t in terms if (p := low.find(t.lower())) >= 0), default=0)
    start = max(pos - width // 3, 0)
    return ("…" if start else "") + flat[start : start + width]
