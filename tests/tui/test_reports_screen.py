"""The Reports screen: opened by a key, tables and sparklines, period and
channel switched by keys."""

from __future__ import annotations

from textual.widgets import DataTable, Sparkline, Static

from omnitui.tui.app import OmniApp
from omnitui.tui.screens.reports import ReportsScreen
from tests.tui.conftest import Seeded
from tests.tui.pilots import settle


async def test_reports_by_keys(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, ReportsScreen)
        by_channel = screen.query_one("#by-channel", DataTable)
        channels = [str(by_channel.get_row_at(i)[0]) for i in range(by_channel.row_count)]
        assert "email" in channels and "sms" in channels
        volume = screen.query_one("#volume", Sparkline)
        assert volume.data and sum(volume.data) > 0
        title = str(screen.query_one("#reports-title", Static).render())
        assert "last 7 days" in title and "all channels" in title and "wall clock" in title
        await pilot.press("c")  # first channel only
        await settle(pilot)
        assert by_channel.row_count == 1
        await pilot.press("p")
        await settle(pilot)
        assert "last 30 days" in str(screen.query_one("#reports-title", Static).render())
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(pilot.app.screen, ReportsScreen)


async def test_the_last_key_wins_when_reports_overtake_each_other(
    app: OmniApp, seeded: Seeded
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o", "p", "p")  # 7 days, 30 days, 1 day, without waiting
        await settle(pilot)
        title = str(pilot.app.screen.query_one("#reports-title", Static).render())
        assert "last 1 day" in title and "computing" not in title
