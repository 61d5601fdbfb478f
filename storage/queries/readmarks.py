"""How far each agent has read each conversation (the inbox's unread marks)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from storage.models import (
    readmark_t,
    utcnow,
)

#: The read mark of a conversation an agent marked unread: older than any
#: message, so the conversation shows unread until it is opened again,
#: also when the customer is not waiting for an answer.
MARKED_UNREAD = datetime(1970, 1, 1, tzinfo=UTC)


def mark_unread(session: Session, agent: str, conversation_id: int) -> None:
    """Show ``conversation_id`` unread to ``agent`` until they open it (caller commits)."""
    r = readmark_t.c
    changed = session.execute(
        readmark_t.update()
        .where(r.agent == agent, r.conversation_id == conversation_id)
        .values(read_at=MARKED_UNREAD)
    ).rowcount  # type: ignore[attr-defined]
    if not changed:
        session.execute(
            readmark_t.insert().values(
                agent=agent, conversation_id=conversation_id, read_at=MARKED_UNREAD
            )
        )


def mark_read(session: Session, agent: str, conversation_id: int) -> None:
    """Record that ``agent`` has seen ``conversation_id`` up to now (caller commits)."""
    r = readmark_t.c
    now = utcnow()
    changed = session.execute(
        readmark_t.update()
        .where(r.agent == agent, r.conversation_id == conversation_id)
        .values(read_at=now)
    ).rowcount  # type: ignore[attr-defined]
    if not changed:
        session.execute(
            readmark_t.insert().values(agent=agent, conversation_id=conversation_id, read_at=now)
        )
