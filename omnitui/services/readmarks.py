"""Read marks: how far each agent has read each conversation (the inbox's
unread dots). Marking is a write, so it lives here; the inbox query reads the
marks (:data:`storage.queries.MARKED_UNREAD` is the "marked unread" value)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from omnitui.services.base import _get
from storage.db import Store
from storage.models import Conversation, readmark_t, utcnow
from storage.queries import MARKED_UNREAD


def _set_mark(store: Store, agent: str, conversation_id: int, read_at: datetime) -> None:
    """One row per agent and conversation, written with a new id each time,
    which moves the change marker (:func:`storage.queries.change_marker`): a
    read in one console moves the unread counts of the others. A
    conversation that is not there (merged away, dropped) is :class:`NotFound`."""
    r = readmark_t.c
    with store.write() as session:
        _get(session, Conversation, conversation_id, "conversation")
        insert = sqlite_insert if store.dialect == "sqlite" else pg_insert
        proposed = insert(readmark_t).values(
            agent=agent, conversation_id=conversation_id, read_at=read_at
        )
        # the proposed row's id is the next one on both engines (a sequence's
        # next value, SQLite's next rowid): the mark takes it
        session.execute(
            proposed.on_conflict_do_update(
                index_elements=[r.agent, r.conversation_id],
                set_={"read_at": proposed.excluded.read_at, "id": proposed.excluded.id},
            )
        )


def mark_read(store: Store, agent: str, conversation_id: int) -> None:
    """Record that ``agent`` has seen ``conversation_id`` up to now."""
    _set_mark(store, agent, conversation_id, utcnow())


def mark_unread(store: Store, agent: str, conversation_id: int) -> None:
    """Show ``conversation_id`` unread to ``agent`` until they open it again,
    also when the customer is not waiting for an answer."""
    _set_mark(store, agent, conversation_id, MARKED_UNREAD)
