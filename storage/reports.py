"""The team's numbers for a period: per channel and per agent.

Counts and per-conversation times are computed in SQL (the same statements
on SQLite and PostgreSQL); medians and 90th percentiles are taken in Python
over the per-conversation times, which are bounded by the period.

Definitions (also shown in ``omnitui report --help``):

* opened: conversations created in the period; resolved: conversations set to
  resolved in the period (audit log).
* first response: from a conversation's first customer message to our first
  message after it, for conversations opened in the period whose customer
  wrote first.
* resolution: from a conversation's creation to its first "resolved" in the
  period.
* backlog: open and pending conversations waiting for us now, by how long.
* failed sends: outgoing messages of the period that are failed or unconfirmed.

With ``hours`` (the config's ``[reports] business_hours``), first-response and
resolution times count only business seconds (see :mod:`storage.business_hours`);
without, wall-clock seconds. Backlog ages are always wall-clock: how long a
customer has been waiting, as they see it.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, func, select
from sqlmodel import Session

from storage.bulk import chunks
from storage.business_hours import BusinessHours
from storage.db import utc
from storage.models import audit_t, conversation_t, message_t
from storage.vocabulary import ACTIVE_STATUSES, OUTBOX_NEEDS_PERSON, UNDELIVERED_STATES

BACKLOG_BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("<1h", timedelta(hours=1)),
    ("1-4h", timedelta(hours=4)),
    ("4-24h", timedelta(hours=24)),
    ("1-3d", timedelta(days=3)),
    (">3d", timedelta.max),
)


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (the value below which ``fraction`` of them lie)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


@dataclass
class Figures:
    opened: int = 0
    resolved: int = 0
    messages_in: int = 0
    messages_out: int = 0
    failed_sends: int = 0
    first_response_s: list[float] = field(default_factory=list)
    resolution_s: list[float] = field(default_factory=list)
    backlog: dict[str, int] = field(default_factory=lambda: {b: 0 for b, _ in BACKLOG_BUCKETS})

    def summary(self) -> dict[str, object]:
        return {
            "opened": self.opened,
            "resolved": self.resolved,
            "messages_in": self.messages_in,
            "messages_out": self.messages_out,
            "failed_sends": self.failed_sends,
            "first_response_median_s": percentile(self.first_response_s, 0.5),
            "first_response_p90_s": percentile(self.first_response_s, 0.9),
            "resolution_median_s": percentile(self.resolution_s, 0.5),
            "resolution_p90_s": percentile(self.resolution_s, 0.9),
            "backlog": dict(self.backlog),
        }


@dataclass
class Report:
    since: datetime
    now: datetime
    by_channel: dict[str, Figures]
    by_agent: dict[str, Figures]
    #: per day (YYYY-MM-DD, UTC): customer messages, and first-response times
    daily_in: dict[str, int] = field(default_factory=dict)
    daily_response_s: dict[str, list[float]] = field(default_factory=dict)
    #: the clock of the response and resolution times: business hours, or wall time
    hours: BusinessHours | None = None

    @property
    def clock(self) -> str:
        """``wall``, or ``business hours Mon-Fri 09:00-17:00 Europe/Berlin``."""
        return "wall" if self.hours is None else f"business hours {self.hours}"

    def days(self) -> list[str]:
        """Every day of the period, oldest first."""
        first, last = self.since.date(), self.now.date()
        return [str(first + timedelta(days=n)) for n in range((last - first).days + 1)]


def _conversations(session: Session, ids: list[int]) -> list[Row[Any]]:
    """(id, channel, assignee, created_at) of the conversations ``ids``, a chunk at a time."""
    c = conversation_t.c
    return [
        row
        for part in chunks(ids)  # a long period has more than one statement takes
        for row in session.execute(
            select(c.id, c.channel, c.assignee, c.created_at).where(c.id.in_(part))
        )
    ]


def report(
    session: Session,
    *,
    since: datetime,
    now: datetime,
    channel: str | None = None,
    agent: str | None = None,
    hours: BusinessHours | None = None,
) -> Report:
    """The figures of ``since`` to ``now``; times in business seconds of ``hours`` if given."""
    c, m, a = conversation_t.c, message_t.c, audit_t.c
    channels: dict[str, Figures] = defaultdict(Figures)
    agents: dict[str, Figures] = defaultdict(Figures)

    def keep(conv_channel: str, assignee: str | None) -> bool:
        return (channel is None or conv_channel == channel) and (agent is None or assignee == agent)

    def seconds(start: datetime, end: datetime) -> float:
        if hours is None:
            return (end - start).total_seconds()
        return hours.seconds_between(start, end)

    def both(conv_channel: str, assignee: str | None) -> list[Figures]:
        return [channels[conv_channel], agents[assignee or "(unassigned)"]]

    # opened in the period, with the first customer message and our first answer
    # an answer that never left (failed, unconfirmed, still queued) or that the
    # provider could not deliver is no response
    first = (
        select(m.conversation_id, m.direction, func.min(m.sent_at).label("first"))
        .where(
            m.outbox_state.is_(None) | (m.outbox_state == "sent"),
            m.delivery_state.is_(None) | m.delivery_state.not_in(UNDELIVERED_STATES),
        )
        .group_by(m.conversation_id, m.direction)
        .subquery()
    )
    opened = session.execute(
        select(c.id, c.channel, c.assignee, c.created_at).where(c.created_at >= since)
    ).all()
    firsts: dict[int, dict[str, datetime]] = defaultdict(dict)
    daily_response: dict[str, list[float]] = {}
    ids = [r.id for r in opened if keep(r.channel, r.assignee)]
    for part in chunks(ids):
        for conv_id, direction, at in session.execute(
            select(first.c.conversation_id, first.c.direction, first.c.first).where(
                first.c.conversation_id.in_(part)
            )
        ):
            firsts[conv_id][direction] = utc(at)
    for r in opened:
        if not keep(r.channel, r.assignee):
            continue
        f = firsts.get(r.id, {})
        answered = "in" in f and "out" in f and f["out"] >= f["in"]
        response = seconds(f["in"], f["out"]) if answered else 0.0
        if answered:
            daily_response.setdefault(str(f["in"].date()), []).append(response)
        for fig in both(r.channel, r.assignee):
            fig.opened += 1
            if answered:
                fig.first_response_s.append(response)
    # resolved in the period (first "resolved" per conversation)
    resolved_at: dict[int, datetime] = {}
    for conv_id, at, detail in session.execute(
        select(a.conversation_id, a.at, a.detail)
        .where(a.action == "status", a.at >= since, a.conversation_id.is_not(None))
        .order_by(a.at)
    ):
        if json.loads(detail or "{}").get("after", {}).get("status") == "resolved":
            resolved_at.setdefault(conv_id, utc(at))
    for r in _conversations(session, list(resolved_at)):
        if keep(r.channel, r.assignee):
            resolution = seconds(utc(r.created_at), resolved_at[r.id])
            for fig in both(r.channel, r.assignee):
                fig.resolved += 1
                fig.resolution_s.append(resolution)
    # messages of the period, and customer messages per day: grouped per
    # conversation from the sent_at index, then each conversation's channel and
    # assignee by primary key (a join would make the planner walk conversations)
    daily_in: dict[str, int] = defaultdict(int)
    counts = session.execute(
        select(
            m.conversation_id,
            func.date(m.sent_at),
            m.direction,
            m.outbox_state,
            m.delivery_state,
            func.count(),
        )
        .where(m.sent_at >= since)
        .group_by(
            m.conversation_id, func.date(m.sent_at), m.direction, m.outbox_state, m.delivery_state
        )
    ).all()
    owners = {
        r.id: (r.channel, r.assignee)
        for r in _conversations(session, list({row[0] for row in counts}))
    }
    for conv_id, day, direction, outbox_state, delivery_state, n in counts:
        conv_channel, assignee = owners[conv_id]
        if not keep(conv_channel, assignee):
            continue
        if direction == "in":
            daily_in[str(day)[:10]] += n
        for fig in both(conv_channel, assignee):
            if direction == "in":
                fig.messages_in += n
            else:
                fig.messages_out += n
                if outbox_state in OUTBOX_NEEDS_PERSON or delivery_state in UNDELIVERED_STATES:
                    fig.failed_sends += n
    # backlog now, in wall-clock time whatever ``hours`` says
    for conv_channel, assignee, waiting in session.execute(
        select(c.channel, c.assignee, c.waiting_since).where(
            c.status.in_(ACTIVE_STATUSES), c.waiting_since.is_not(None)
        )
    ):
        if keep(conv_channel, assignee):
            age = now - utc(waiting)
            bucket = next(name for name, limit in BACKLOG_BUCKETS if age < limit)
            for fig in both(conv_channel, assignee):
                fig.backlog[bucket] += 1
    return Report(
        since=since,
        now=now,
        by_channel=dict(channels),
        by_agent=dict(agents),
        daily_in=dict(daily_in),
        daily_response_s=daily_response,
        hours=hours,
    )
