"""Alerts that reach one person once: what is due for an agent, claimed so
that no second console of theirs (nor a restart) tells it again.

An event is due for an agent when it concerns them and no alert of theirs
has claimed it yet:

* ``message:<id>``: a customer's message on a conversation assigned to them
  (not one that came before the conversation was last assigned: taking a
  conversation is not news about it);
* ``mention:<id>``: a note that mentions them (:mod:`.mentions`);
* ``sla:<conversation>:<target>``: reserved for SLA breaches. The store has
  business hours (``storage.business_hours``) but no SLA targets yet, so
  nothing breaches; a breach source joins :data:`SOURCES` as one more
  function of the same shape when targets exist.

The claim is an ``INSERT … ON CONFLICT DO NOTHING`` into ``alertsent``
(agent, event key): the insert that adds the row wins; every other claimer
(a second console, the same console after a restart) adds nothing and tells
nothing. Claims are kept, so an event is never told twice.

:class:`Alerter` is one console's side: its first round (and the first after
the agent comes back from away) claims what is due silently into one summary
line instead of a flood; while the agent is away nothing is claimed, so it is
all in the summary on their return, from whichever console sees it first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import String, cast, exists, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from storage.db import Store, utc
from storage.models import (
    agent_state_t,
    alert_sent_t,
    audit_t,
    conversation_t,
    customer_t,
    mention_t,
    message_t,
    note_t,
    utcnow,
)
from storage.queries.mentions import unread_mentions

#: the furthest back a summary looks (an agent away for a month hears of the last week)
MAX_LOOKBACK = timedelta(days=7)
#: how far back each later round looks: a message whose date is older than
#: this when it arrives (a mail queued a day somewhere) is not alerted
LIVE_WINDOW = timedelta(days=1)
#: the summary starts this long before the agent's last claim, for messages
#: whose date came a little before the claim that preceded their arrival
SLACK = timedelta(hours=1)
#: the most events one round claims (a summary takes as many rounds as it needs)
ROUND_LIMIT = 200
#: characters of text an event carries
TEXT_LIMIT = 200


@dataclass(frozen=True)
class AlertEvent:
    """Something to tell one agent once."""

    key: str
    #: "message", "mention" (or, later, "sla")
    kind: str
    at: datetime
    customer_id: int
    conversation_id: int | None
    #: who it is from: the customer's name, the note's author
    who: str
    #: the subject or the start of the text (outside text: clean it to show it)
    text: str

    @property
    def title(self) -> str:
        if self.kind == "mention":
            return f"{self.who} mentioned you"
        if self.kind == "message":
            return f"New message from {self.who}"
        return f"SLA: {self.who}"

    def document(self, agent: str) -> dict[str, object]:
        """The event as JSON for a ``notify_cmd`` (stable keys)."""
        return {
            "agent": agent,
            "key": self.key,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "title": self.title,
            "text": self.text,
            "who": self.who,
            "customer_id": self.customer_id,
            "conversation_id": self.conversation_id,
        }


def _key(prefix: str, column: ColumnElement[int]) -> ColumnElement[str]:
    return literal(prefix, String) + cast(column, String)


def _unclaimed(agent: str, key: ColumnElement[str]) -> ColumnElement[bool]:
    a = alert_sent_t.c
    return ~exists().where(a.agent == agent, a.event_key == key)


def _messages(session: Session, agent: str, since: datetime, limit: int) -> list[AlertEvent]:
    c, m, u, au = conversation_t.c, message_t.c, customer_t.c, audit_t.c
    key = _key("message:", m.id)
    assigned_after = exists().where(
        au.conversation_id == c.id, au.action == "assign", au.at >= m.sent_at
    )
    rows = session.execute(
        select(m.id, m.sent_at, m.customer_id, m.conversation_id, u.name, m.subject, m.body_text)
        .select_from(conversation_t)
        .join(message_t, m.conversation_id == c.id)
        .join(customer_t, u.id == m.customer_id)
        .where(
            c.assignee == agent,
            c.last_message_at >= since,
            m.sent_at >= since,
            m.direction == "in",
            _unclaimed(agent, key),
            ~assigned_after,
        )
        .order_by(m.sent_at, m.id)
        .limit(limit)
    )
    return [
        AlertEvent(
            f"message:{r[0]}",
            "message",
            utc(r[1]),
            int(r[2]),
            int(r[3]),
            r[4] or "",
            (r[5] or r[6] or "")[:TEXT_LIMIT],
        )
        for r in rows
    ]


def _mentions(session: Session, agent: str, since: datetime, limit: int) -> list[AlertEvent]:
    me, n = mention_t.c, note_t.c
    key = _key("mention:", me.id)
    rows = session.execute(
        select(
            me.id,
            me.created_at,
            n.customer_id,
            n.conversation_id,
            n.author,
            func.substr(n.body, 1, TEXT_LIMIT),
        )
        .join(note_t, n.id == me.note_id)
        .where(me.agent == agent, me.created_at >= since, _unclaimed(agent, key))
        .order_by(me.created_at, me.id)
        .limit(limit)
    )
    return [
        AlertEvent(f"mention:{r[0]}", "mention", utc(r[1]), int(r[2]), r[3], r[4] or "", r[5] or "")
        for r in rows
    ]


#: Where due events come from; an SLA breach source would be one more.
SOURCES: tuple[Callable[[Session, str, datetime, int], list[AlertEvent]], ...] = (
    _messages,
    _mentions,
)


def due(store: Store, agent: str, since: datetime, *, limit: int = ROUND_LIMIT) -> list[AlertEvent]:
    """Events for ``agent`` from ``since`` on that no alert has claimed, oldest first."""
    with store.read() as session:
        found = [e for source in SOURCES for e in source(session, agent, since, limit)]
    return sorted(found, key=lambda e: (e.at, e.key))[:limit]


def claim(store: Store, agent: str, events: Sequence[AlertEvent]) -> list[AlertEvent]:
    """Claim ``events`` for ``agent``; returns those this call claimed (the
    others were claimed before, by any console). The insert is the claim."""
    if not events:
        return []
    dialect = postgresql if store.dialect == "postgresql" else sqlite
    won: list[AlertEvent] = []
    now = utcnow()
    with store.write() as session:
        for event in events:
            stmt = (
                dialect.insert(alert_sent_t)
                .values(agent=agent, event_key=event.key, at=now)
                .on_conflict_do_nothing()
                # RETURNING, not rowcount: psycopg reports -1 for this statement
                .returning(alert_sent_t.c.event_key)
            )
            if session.execute(stmt).first() is not None:
                won.append(event)
    return won


def prune(store: Store, now: datetime) -> int:
    """Forget claims older than any round looks back (:data:`MAX_LOOKBACK`
    and a day): their events can never be due again. Returns how many."""
    a = alert_sent_t.c
    with store.write() as session:
        result = session.execute(
            alert_sent_t.delete().where(a.at < now - MAX_LOOKBACK - timedelta(days=1))
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def horizon(store: Store, agent: str, started: datetime) -> datetime:
    """Where a console's first summary starts: a little before the agent's
    last claim (what came after it reached no console of theirs), else
    their last away/back; at most :data:`MAX_LOOKBACK` before ``started``;
    for an agent never alerted, :data:`LIVE_WINDOW` before ``started``."""
    a, s = alert_sent_t.c, agent_state_t.c
    with store.read() as session:
        last = session.execute(select(func.max(a.at)).where(a.agent == agent)).scalar_one()
        state = session.execute(select(s.away_since, s.updated_at).where(s.agent == agent)).first()
    marks = [utc(last)] if last is not None else []
    if state is not None:
        marks.append(utc(state[0] if state[0] is not None else state[1]))
    if not marks:
        return started - LIVE_WINDOW
    return max(min(marks) - SLACK, started - MAX_LOOKBACK)


# -- away ---------------------------------------------------------------------------


def away_since(store: Store, agent: str) -> datetime | None:
    """Since when ``agent`` is away, or ``None`` (they are here)."""
    s = agent_state_t.c
    with store.read() as session:
        value = session.execute(select(s.away_since).where(s.agent == agent)).scalar_one_or_none()
    return utc(value) if value is not None else None


def set_away(store: Store, agent: str, away: bool) -> datetime | None:
    """Mark ``agent`` away (alerts wait for their return) or back; returns
    since when they are away (kept when already away), or ``None``."""
    s = agent_state_t.c
    now = utcnow()
    with store.write() as session:
        row = session.execute(select(s.away_since).where(s.agent == agent)).first()
        if row is None:
            since = now if away else None
            session.execute(
                agent_state_t.insert().values(agent=agent, away_since=since, updated_at=now)
            )
            return since
        since = (utc(row[0]) if row[0] is not None else now) if away else None
        session.execute(
            agent_state_t.update().where(s.agent == agent).values(away_since=since, updated_at=now)
        )
        return since


# -- one console's rounds ----------------------------------------------------------------


@dataclass(frozen=True)
class AlertRound:
    """What one round found: events to tell one by one, or one summary line."""

    alerts: tuple[AlertEvent, ...] = ()
    summary: str | None = None
    away: datetime | None = None
    unread_mentions: int = 0
    #: the summary's events (counted in ``summary``), for a notify_cmd
    summarized: tuple[AlertEvent, ...] = field(default=(), repr=False)


def counted(events: Sequence[AlertEvent]) -> str:
    """ "5 new messages on your conversations, 2 mentions" (empty for none)."""
    messages = sum(1 for e in events if e.kind == "message")
    mentions = sum(1 for e in events if e.kind == "mention")
    others = len(events) - messages - mentions
    parts = []
    if messages:
        parts.append(f"{messages} new message{'s' if messages != 1 else ''} on your conversations")
    if mentions:
        parts.append(f"{mentions} mention{'s' if mentions != 1 else ''}")
    if others:
        parts.append(f"{others} other alert{'s' if others != 1 else ''}")
    return ", ".join(parts)


def summary_text(events: Sequence[AlertEvent], *, back: bool) -> str | None:
    """ "5 new messages on your conversations, 2 mentions while you were away"."""
    if not events:
        return "Welcome back: nothing new while you were away" if back else None
    return f"{counted(events)} while you were away"


class Alerter:
    """One console's alerts for one agent (see the module). :meth:`round` does
    store I/O: call it from a worker thread."""

    def __init__(self, store: Store, agent: str, started: datetime) -> None:
        self.store = store
        self.agent = agent
        self.started = started
        self._since: datetime | None = None
        self._summarize = True
        self._back = False
        self._away_from: datetime | None = None

    def round(self, now: datetime) -> AlertRound:
        """Claim what is due now: silently into a summary on the first round
        and after a return, one by one otherwise; nothing while away."""
        unread = self._unread()
        away = away_since(self.store, self.agent)
        if away is not None:
            self._away_from = away if self._away_from is None else min(self._away_from, away)
            self._summarize = self._back = True
            return AlertRound(away=away, unread_mentions=unread)
        if self._since is None:
            self._since = horizon(self.store, self.agent, self.started)
            prune(self.store, now)  # once a console start keeps the claims few
        if self._summarize:
            since = self._since
            if self._away_from is not None:
                since = max(min(since, self._away_from - SLACK), now - MAX_LOOKBACK)
            claimed: list[AlertEvent] = []
            for _ in range(50):  # a week's backlog at most, a round at a time
                won = claim(self.store, self.agent, due(self.store, self.agent, since))
                claimed.extend(won)
                if len(won) < ROUND_LIMIT:
                    break
            summary = summary_text(claimed, back=self._back)
            self._summarize = self._back = False
            self._away_from = None
            return AlertRound(summary=summary, unread_mentions=unread, summarized=tuple(claimed))
        since = max(self._since, now - LIVE_WINDOW)
        won = claim(self.store, self.agent, due(self.store, self.agent, since))
        return AlertRound(alerts=tuple(won), unread_mentions=unread)

    def _unread(self) -> int:
        with self.store.read() as session:
            return unread_mentions(session, self.agent)
