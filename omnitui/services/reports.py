"""The team's report as both faces show it: which figures, under which
header words, in which order, each as a plain value (a count, or a time such
as ``45m``). ``omnitui report`` and the console's Reports screen (``o``)
build their tables from :data:`COLUMNS` and :func:`cells`, so the words and
numbers agree (the review found "backlog" in one face and "waiting" in the
other). The figures themselves are :mod:`storage.reports`'s.

A header is two short lines: the console stacks them (every column fits at
80 columns), the CLI joins them with a space; :data:`LEGEND` explains the
short words in both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from omnitui.text import span
from storage import reports
from storage.business_hours import BusinessHours
from storage.db import Store
from storage.reports import BACKLOG_BUCKETS, Figures, Report

#: What a report row is about: one channel, or one agent.
Group = Literal["channel", "agent"]
GROUPS: tuple[Group, ...] = ("channel", "agent")


@dataclass(frozen=True)
class ReportColumn:
    """One figure of a report row."""

    #: the key of :meth:`storage.reports.Figures.summary` it shows
    key: str
    #: the header words, as two lines (the first may be empty)
    head: tuple[str, str]
    #: ``count``: shown as it is; ``time``: seconds shown as ``45m`` or ``3.5h``
    kind: Literal["count", "time"] = "count"

    def one_line(self) -> str:
        """The header on one line (the CLI's)."""
        return " ".join(word for word in self.head if word)


COLUMNS: tuple[ReportColumn, ...] = (
    ReportColumn("opened", ("", "opened")),
    ReportColumn("resolved", ("", "resolved")),
    ReportColumn("messages_in", ("", "in")),
    ReportColumn("messages_out", ("", "out")),
    ReportColumn("first_response_median_s", ("1st", "p50"), "time"),
    ReportColumn("first_response_p90_s", ("1st", "p90"), "time"),
    ReportColumn("resolution_median_s", ("res", "p50"), "time"),
    ReportColumn("resolution_p90_s", ("res", "p90"), "time"),
    ReportColumn("failed_sends", ("failed", "sends")),
)
#: The open and pending conversations waiting for us now, by how long: the
#: word both faces head them with, and the buckets, shortest wait first.
WAITING = "waiting"
WAITING_BUCKETS: tuple[str, ...] = tuple(name for name, _limit in BACKLOG_BUCKETS)
WAITING_TITLE = "Waiting for us now (open and pending)"
LEGEND = "1st: first response · res: resolution · p50 median, p90 slowest tenth"


def cells(figures: Figures) -> list[int | str]:
    """The row's values in the order of :data:`COLUMNS`: counts as numbers,
    times as ``45m`` / ``3.5h`` (``-`` when there is none)."""
    summary = figures.summary()
    return [span(summary[c.key]) if c.kind == "time" else _count(summary[c.key]) for c in COLUMNS]


def waiting_cells(figures: Figures) -> list[int]:
    """How many conversations wait in each of :data:`WAITING_BUCKETS`."""
    return [figures.backlog.get(name, 0) for name in WAITING_BUCKETS]


def clock_text(result: Report) -> str:
    """Which clock the times count: ``wall clock``, or the business hours."""
    return "wall clock" if result.hours is None else result.clock


def groups(result: Report) -> list[tuple[Group, list[tuple[str, Figures]]]]:
    """The rows of each table, by channel then by agent, names in order."""
    return [
        ("channel", sorted(result.by_channel.items())),
        ("agent", sorted(result.by_agent.items())),
    ]


def team_report(
    store: Store,
    *,
    since: datetime,
    now: datetime,
    channel: str | None = None,
    agent: str | None = None,
    hours: BusinessHours | None = None,
) -> Report:
    """The figures of ``since`` to ``now`` (see :func:`storage.reports.report`)."""
    with store.read() as session:
        return reports.report(
            session, since=since, now=now, channel=channel, agent=agent, hours=hours
        )


def _count(value: object) -> int:
    return value if isinstance(value, int) else 0
