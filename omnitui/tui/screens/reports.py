"""The team's numbers: tables per channel and per agent, and sparklines of
daily customer volume and median first-response time. ``p`` switches the
period, ``c`` the channel. Response and resolution times count only the
business hours of the config when it sets them; the title says which clock."""

from __future__ import annotations

import statistics
from datetime import timedelta
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Sparkline, Static

from omnitui.services import reports
from omnitui.tui.bindings import REPORTS_BINDINGS
from omnitui.tui.desk import Desk
from omnitui.tui.format import plain
from omnitui.tui.messages import ReportReady
from omnitui.tui.widgets.key_hints import KeyHints
from omnitui.tui.workers import WorkerFailures
from storage.business_hours import BusinessHours
from storage.reports import Report

PERIODS = (
    ("7 days", timedelta(days=7)),
    ("30 days", timedelta(days=30)),
    ("1 day", timedelta(days=1)),
)


def _heads(group: str) -> tuple[str, ...]:
    """The two-line headers of a table (the CLI's words, from
    :data:`omnitui.services.reports.COLUMNS`), short enough that every column
    shows at 80 columns. The waiting buckets have their own table."""
    return (f"\n{group}", *("\n".join(c.head) for c in reports.COLUMNS))


#: Names (channels, agents) are cut to this many cells.
NAME_WIDTH = 12


class ReportsScreen(WorkerFailures, Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [*REPORTS_BINDINGS]

    def __init__(self, desk: Desk, hours: BusinessHours | None = None) -> None:
        super().__init__()
        self.desk = desk
        self.hours = hours
        self.period = 0
        self.channel: str | None = None
        self.channels: list[str] = []

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="reports-title")
            for table_id in ("by-channel", "by-agent"):
                yield DataTable(
                    id=table_id, cursor_type="none", zebra_stripes=True, header_height=2
                )
            yield Static(Text(reports.WAITING_TITLE, style="bold"))
            yield DataTable(id="backlog", cursor_type="none", zebra_stripes=True)
            yield Static(id="volume-label")
            yield Sparkline([], id="volume")
            yield Static(id="response-label")
            yield Sparkline([], id="response")
        yield KeyHints(id="keys")

    def on_mount(self) -> None:
        self.refresh_report()

    def action_period(self) -> None:
        self.period = (self.period + 1) % len(PERIODS)
        self.refresh_report()

    def action_channel(self) -> None:
        order: list[str | None] = [None, *self.channels]
        self.channel = order[(order.index(self.channel) + 1) % len(order)]
        self.refresh_report()

    def refresh_report(self) -> None:
        """Compute the report in a worker thread (a month of a big store takes
        a second or two); the screen stays responsive and shows it when ready."""
        label, _length = PERIODS[self.period]
        title = Text(f"Reports · last {label} · {self.channel or 'all channels'}", style="bold")
        title.append("   computing…", style="dim")
        self.query_one("#reports-title", Static).update(title)
        self._compute(self.period, self.channel)

    @work(thread=True, exclusive=True, exit_on_error=False, group="report")
    def _compute(self, period: int, channel: str | None) -> None:
        now = self.desk.clock.now()
        result = reports.team_report(
            self.desk.store,
            since=now - PERIODS[period][1],
            now=now,
            channel=channel,
            hours=self.hours,
        )
        self.post_message(ReportReady(period, channel, result))

    def on_report_ready(self, message: ReportReady) -> None:
        if (message.period, message.channel) != (self.period, self.channel):
            return  # keys moved on meanwhile: a newer report is on its way
        self._show(message.result)

    def _show(self, result: Report) -> None:
        label = PERIODS[self.period][0]
        if self.channel is None:
            self.channels = sorted(result.by_channel)
        title = Text(f"Reports · last {label} · {self.channel or 'all channels'}", style="bold")
        title.append(f"\nResponse and resolution times: {reports.clock_text(result)}", style="dim")
        title.append(f"\n{reports.LEGEND}", style="dim")
        self.query_one("#reports-title", Static).update(title)
        backlog = self.query_one("#backlog", DataTable)
        backlog.clear(columns=True)
        backlog.add_columns("", "", *reports.WAITING_BUCKETS)
        for kind, rows in reports.groups(result):
            table = self.query_one(f"#by-{kind}", DataTable)
            table.clear(columns=True)
            table.add_columns(*_heads(kind))
            for name, figures in rows:
                table.add_row(_name(name), *reports.cells(figures))
                backlog.add_row(
                    Text(kind, style="dim"), _name(name), *reports.waiting_cells(figures)
                )
        days = result.days()
        volume = [float(result.daily_in.get(day, 0)) for day in days]
        response = [
            statistics.median(result.daily_response_s[day]) / 60
            if result.daily_response_s.get(day)
            else 0.0
            for day in days
        ]
        self.query_one("#volume-label", Static).update(
            f"Customer messages per day ({days[0]} … {days[-1]}): total {int(sum(volume))}"
        )
        self.query_one("#volume", Sparkline).data = volume
        best = max(response, default=0.0)
        self.query_one("#response-label", Static).update(
            f"Median first response per day, minutes (max {best:.0f})"
        )
        self.query_one("#response", Sparkline).data = response


def _name(name: str) -> Text:
    """A channel or agent name for a table cell, cut with an ellipsis."""
    text = Text(plain(name), no_wrap=True, overflow="ellipsis")
    text.truncate(NAME_WIDTH, overflow="ellipsis")
    return text
