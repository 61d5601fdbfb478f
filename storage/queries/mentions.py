"""The mentions of agents in notes: newest first, per agent, the unread ones
counted (``ix_mention_agent_created`` serves both)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from storage.db import utc
from storage.models import customer_t, mention_t, note_t

#: characters of the note shown with a mention
PREVIEW = 200


@dataclass(frozen=True)
class MentionRow:
    """One mention: who wrote the note (``author``), where (the customer and
    the conversation, if the note is on one), when, the note's start."""

    id: int
    agent: str
    note_id: int
    author: str
    customer_id: int
    customer_name: str
    conversation_id: int | None
    created_at: datetime
    read_at: datetime | None
    preview: str

    @property
    def unread(self) -> bool:
        return self.read_at is None


def list_mentions(
    session: Session, *, agent: str | None = None, unread: bool = False, limit: int = 100
) -> list[MentionRow]:
    """Mentions (of ``agent``, or of everyone), newest first."""
    m, n, c = mention_t.c, note_t.c, customer_t.c
    stmt = (
        select(
            m.id,
            m.agent,
            m.note_id,
            n.author,
            n.customer_id,
            c.name,
            n.conversation_id,
            m.created_at,
            m.read_at,
            func.substr(n.body, 1, PREVIEW),
        )
        .join(note_t, n.id == m.note_id)
        .join(customer_t, c.id == n.customer_id)
        .order_by(m.created_at.desc(), m.id.desc())
        .limit(limit)
    )
    if agent is not None:
        stmt = stmt.where(m.agent == agent)
    if unread:
        stmt = stmt.where(m.read_at.is_(None))
    return [
        MentionRow(
            int(r[0]),
            r[1],
            int(r[2]),
            r[3],
            int(r[4]),
            r[5],
            r[6],
            utc(r[7]),
            utc(r[8]) if r[8] is not None else None,
            r[9] or "",
        )
        for r in session.execute(stmt)
    ]


def unread_mentions(session: Session, agent: str) -> int:
    """How many mentions of ``agent`` are unread."""
    m = mention_t.c
    return int(
        session.execute(
            select(func.count()).where(m.agent == agent, m.read_at.is_(None))
        ).scalar_one()
    )
