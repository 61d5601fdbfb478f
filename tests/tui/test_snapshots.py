"""How the console looks, at the smallest supported size and a comfortable one.

Fixed data, a frozen clock and still cursors keep the pictures stable; update
them with ``pytest tests/tui --snapshot-update`` after a deliberate change.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from omnitui.tui.screens.inbox import InboxScreen
from tests.tui.conftest import Seeded, SnapCompare, make_test_app
from tests.tui.waiting import draft_saved, press, settle

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
ANN_EMAIL_CONV = 2


async def _open_ann(pilot: Pilot[None]) -> None:
    await settle(pilot)  # the inbox's rows are read in a worker
    screen = pilot.app.screen
    assert isinstance(screen, InboxScreen)
    for _ in range(screen.table.order.index(ANN_EMAIL_CONV)):
        await press(pilot, "j")
    await press(pilot, "enter")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_inbox(snap_compare: SnapCompare, seeded: Seeded, size: tuple[int, int]) -> None:
    assert snap_compare(make_test_app(seeded.runtime), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_customer_view(snap_compare: SnapCompare, seeded: Seeded, size: tuple[int, int]) -> None:
    assert snap_compare(make_test_app(seeded.runtime), terminal_size=size, run_before=_open_ann)


@pytest.mark.parametrize("size", SIZES)
def test_composer(snap_compare: SnapCompare, seeded: Seeded, size: tuple[int, int]) -> None:
    async def compose(pilot: Pilot[None]) -> None:
        await _open_ann(pilot)
        await press(pilot, "c", *"Your refund of 20 EUR is on its way [bold]")
        await draft_saved(pilot)

    assert snap_compare(make_test_app(seeded.runtime), terminal_size=size, run_before=compose)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: SnapCompare, seeded: Seeded, size: tuple[int, int]) -> None:
    async def help_screen(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await press(pilot, "question_mark")

    assert snap_compare(make_test_app(seeded.runtime), terminal_size=size, run_before=help_screen)


@pytest.mark.parametrize("size", SIZES)
def test_reports(snap_compare: SnapCompare, seeded: Seeded, size: tuple[int, int]) -> None:
    async def reports(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await press(pilot, "o")  # the report is computed in a worker: press waits for it

    assert snap_compare(make_test_app(seeded.runtime), terminal_size=size, run_before=reports)


@pytest.mark.parametrize("size", SIZES)
def test_inbox_with_views_tags_and_marks(
    snap_compare: SnapCompare, seeded: Seeded, size: tuple[int, int]
) -> None:
    """A view of the config on its key (8) with its count, tags in the rows
    (a hostile one among them, shown as text), two rows marked."""
    import dataclasses

    from omnitui.config import ViewSetting
    from omnitui.services import tags

    rt = seeded.runtime
    vip = ViewSetting("vip waiting", "8", "tag:vip waiting:>30m", "waiting")
    rt.config = dataclasses.replace(rt.config, views=(vip,))
    tags.add_tags(seeded.store, "bob", ["vip", "billing"], conversation_id=ANN_EMAIL_CONV)
    tags.add_tags(seeded.store, "bob", ["refund/late"], customer_id=seeded.customers["mallory"])

    async def marked(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await press(pilot, "space", "j", "space")

    assert snap_compare(make_test_app(rt), terminal_size=size, run_before=marked)
