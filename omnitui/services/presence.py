"""Who else is looking: per agent and conversation, "viewing" or "composing",
for a few seconds at a time.

A console announces what it is doing with an expiry (:data:`TTL`) and
refreshes it while it lasts (every :data:`REFRESH`); it withdraws it when the
agent leaves. A console that is killed withdraws nothing: its rows simply
expire, and :func:`present` reads unexpired rows only. :func:`cleanup` drops
expired rows now and then, so the table stays a few rows per agent.

Presence is not a change to anything: it is never audited and does not move
the consoles' change marker (a refresh every few seconds would redraw every
console). Writes are an upsert on both engines (``INSERT … ON CONFLICT DO
UPDATE``), so two refreshes racing never fail on the primary key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from omnitui.services.base import InvalidRequest
from storage.bulk import chunks
from storage.db import Store, utc
from storage.models import presence_t
from storage.vocabulary import PRESENCE_ACTIVITIES, PresenceActivity

#: How long an announcement lasts unless refreshed: a killed console is gone
#: from the others' screens this long after its last refresh (plus their
#: next look, a second).
TTL = timedelta(seconds=12)
#: How often a console refreshes what it announces (well inside TTL: two
#: refreshes can be missed, to a busy store, before the row expires).
REFRESH = timedelta(seconds=4)

#: who is where: conversation id -> [(agent, activity)], sorted
Present = dict[int, list[tuple[str, PresenceActivity]]]


def store_now(session: Session) -> datetime:
    """Now by the store's clock, in UTC. Presence compares times written by
    one machine's console with another's: with each console's own clock, one
    a minute slow would write rows already expired for the others, and one
    fast would linger long after it was killed. The store's clock is the
    one clock they share (SQLite's is the machine's own, which its consoles share)."""
    if session.get_bind().dialect.name == "postgresql":
        return utc(session.execute(select(func.now())).scalar_one())
    text = session.execute(select(func.strftime("%Y-%m-%d %H:%M:%f", "now"))).scalar_one()
    return datetime.fromisoformat(str(text)).replace(tzinfo=UTC)


def _checked(activity: str) -> PresenceActivity:
    if activity not in PRESENCE_ACTIVITIES:
        raise InvalidRequest(
            f"unknown activity {activity!r}: use {' or '.join(PRESENCE_ACTIVITIES)}"
        )
    return activity


def announce(
    store: Store,
    agent: str,
    conversation_id: int,
    activity: PresenceActivity,
    ttl: timedelta = TTL,
    *,
    now: datetime | None = None,
) -> None:
    """Record that ``agent`` is ``activity`` on ``conversation_id`` until
    ``ttl`` from ``now`` (by default the store's clock: :func:`store_now`;
    again: the expiry moves on)."""
    checked = _checked(activity)
    insert = postgresql.insert if store.dialect == "postgresql" else sqlite.insert
    with store.write() as session:
        values = {
            "agent": agent,
            "conversation_id": conversation_id,
            "activity": checked,
            "expires_at": (now or store_now(session)) + ttl,
        }
        stmt = insert(presence_t).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["agent", "conversation_id", "activity"],
            set_={"expires_at": stmt.excluded.expires_at},
        )
        session.execute(stmt)


def withdraw(
    store: Store,
    agent: str,
    conversation_id: int | None = None,
    activity: PresenceActivity | None = None,
) -> None:
    """Forget that ``agent`` is ``activity`` on ``conversation_id`` (``None``:
    any activity; no conversation: everywhere, as when the console quits)."""
    p = presence_t.c
    stmt = presence_t.delete().where(p.agent == agent)
    if conversation_id is not None:
        stmt = stmt.where(p.conversation_id == conversation_id)
    if activity is not None:
        stmt = stmt.where(p.activity == _checked(activity))
    with store.write() as session:
        session.execute(stmt)


def present(
    store: Store,
    conversation_ids: Iterable[int] | None,
    now: datetime | None = None,
    except_agent: str | None = None,
) -> Present:
    """Who is viewing or composing on ``conversation_ids`` (``None``: on any
    conversation) at ``now``, from unexpired rows only, but ``except_agent``
    (the one asking). Conversations nobody is on are left out. ``now`` is
    by default the store's clock (:func:`store_now`), as announcements are."""
    p = presence_t.c
    parts: list[Sequence[int] | None] = [None]
    if conversation_ids is not None:
        parts = list(chunks(sorted(set(conversation_ids))))
        if not parts:
            return {}
    found: Present = {}
    with store.read() as session:
        at = now or store_now(session)
        stmt = select(p.conversation_id, p.agent, p.activity).where(p.expires_at > at)
        if except_agent is not None:
            stmt = stmt.where(p.agent != except_agent)
        for part in parts:
            query = stmt if part is None else stmt.where(p.conversation_id.in_(part))
            for conversation_id, agent, activity in session.execute(query):
                if activity in PRESENCE_ACTIVITIES:  # a word from a newer omnitui: passed over
                    found.setdefault(conversation_id, []).append((agent, activity))
    return {conv: sorted(set(who)) for conv, who in found.items()}


def cleanup(store: Store, now: datetime | None = None) -> int:
    """Drop the rows expired by ``now``; returns how many. Cheap (a handful of
    rows), and needed only now and then: :func:`present` never reads them."""
    p = presence_t.c
    with store.write() as session:
        at = now or store_now(session)
        gone = session.execute(presence_t.delete().where(p.expires_at <= at))
        return int(gone.rowcount or 0)  # type: ignore[attr-defined]
