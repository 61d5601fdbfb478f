"""How the console looks, at the smallest supported size and a comfortable one.

Fixed data, a frozen clock and still cursors keep the pictures stable; update
them with ``pytest tests/tui --snapshot-update`` after a deliberate change.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot

from omnitui.tui.screens.inbox import InboxScreen
from tests.tui.conftest import ANN_EMAIL_CONV, Seeded, make_test_app
from tests.tui.pilots import settle

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


async def _open_ann(pilot: Pilot[None]) -> None:
    await settle(pilot)  # the first look at the store is on the account bar
    screen = pilot.app.screen
    assert isinstance(screen, InboxScreen)
    for _ in range(screen.table.order.index(ANN_EMAIL_CONV)):
        await pilot.press("j")
    await pilot.press("enter")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_inbox(snap_compare: Any, seeded: Seeded, size: tuple[int, int]) -> None:
    assert snap_compare(make_test_app(seeded.runtime), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_customer_view(snap_compare: Any, seeded: Seeded, size: tuple[int, int]) -> None:
    assert snap_compare(make_test_app(seeded.runtime), terminal_size=size, run_before=_open_ann)


@pytest.mark.parametrize("size", SIZES)
def test_composer(snap_compare: Any, seeded: Seeded, size: tuple[int, int]) -> None:
    async def compose(pilot: Pilot[None]) -> None:
        await _open_ann(pilot)
        await pilot.press("c")
        await settle(pilot)
        # pasted, as a terminal sends it (the typing itself is the flow tests' part)
        assert pilot.app._driver is not None
        pilot.app._driver.send_message(events.Paste("Your refund of 20 EUR is on its way [bold]"))
        await settle(pilot)

    assert snap_compare(make_test_app(seeded.runtime), terminal_size=size, run_before=compose)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: Any, seeded: Seeded, size: tuple[int, int]) -> None:
    app = make_test_app(seeded.runtime)
    assert snap_compare(app, terminal_size=size, run_before=settle, press=["question_mark"])


@pytest.mark.parametrize("size", SIZES)
def test_reports(snap_compare: Any, seeded: Seeded, size: tuple[int, int]) -> None:
    async def reports(pilot: Pilot[None]) -> None:
        await pilot.press("o")
        await settle(pilot)  # the report is computed off the UI thread

    assert snap_compare(make_test_app(seeded.runtime), terminal_size=size, run_before=reports)
