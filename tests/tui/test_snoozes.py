"""A snoozed conversation is back in the inbox at its time, with no new message."""

from __future__ import annotations

from datetime import UTC, timedelta

from omnitui import services
from omnitui.tui.app import OmniApp
from omnitui.tui.clock import Clock
from omnitui.tui.screens.inbox import InboxScreen
from tests.tui.conftest import NOW, Seeded
from tests.tui.pilots import until
from tests.tui.waiting import settle

ANN_EMAIL_CONV = 2


async def test_the_inbox_shows_a_snooze_open_after_its_time(app: OmniApp, seeded: Seeded) -> None:
    services.set_status(
        seeded.store,
        ANN_EMAIL_CONV,
        "snoozed",
        "alice",
        snoozed_until=NOW + timedelta(minutes=1),
        now=NOW,  # the console's clock
    )
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, InboxScreen)
        await settle(pilot)
        assert ANN_EMAIL_CONV not in screen.table.order  # snoozed: not in "open"
        app.desk.clock = Clock(fixed=NOW + timedelta(seconds=90), tz=UTC)
        # no key pressed, no message arrived: the console's periodic check wakes it
        await until(pilot, lambda: ANN_EMAIL_CONV in screen.table.order, "the snooze woke")
        assert screen.table.rows_by_id[ANN_EMAIL_CONV].status == "open"
