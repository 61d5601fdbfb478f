"""Read marks: how far each agent has read each conversation (the inbox's
unread dots). Marking is a write, so it lives here; the inbox query reads the
marks (:data:`storage.queries.MARKED_UNREAD` is the "marked unread" value)."""

from __future__ import annotations

from datetime import datetime

from storage.db import Store
from storage.models import readmark_t, utcnow
from storage.queries import MARKED_UNREAD


def _set_mark(store: Store, agent: str, conversation_id: int, read_at: datetime) -> None:
    r = readmark_t.c
    with store.write() as session:
        changed = session.execute(
            readmark_t.update()
            .where(r.agent == agent, r.conversation_id == conversation_id)
            .values(read_at=read_at)
        ).rowcount  # type: ignore[attr-defined]
        if not changed:
            session.execute(
                readmark_t.insert().values(
                    agent=agent, conversation_id=conversation_id, read_at=read_at
                )
            )


def mark_read(store: Store, agent: str, conversation_id: int) -> None:
    """Record that ``agent`` has seen ``conversation_id`` up to now."""
    _set_mark(store, agent, conversation_id, utcnow())


def mark_unread(store: Store, agent: str, conversation_id: int) -> None:
    """Show ``conversation_id`` unread to ``agent`` until they open it again,
    also when the customer is not waiting for an answer."""
    _set_mark(store, agent, conversation_id, MARKED_UNREAD)
