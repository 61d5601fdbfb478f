"""A view of the config whose query names an agent nobody on the team has
(``assignee:alcie``), in the console, driven with real keys on both engines:
its count in the bar says it cannot be counted (``!``), not a bare 0 that
reads as an empty view, and its key tells why and keeps the view shown, as
``conversations list --view`` refuses it (tests/test_views_agents.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from omnitui.config import ViewSetting
from omnitui.runtime import Runtime, demo_config
from omnitui.tui.screens.inbox import InboxScreen
from tests.tui.conftest import Seeded, make_test_app, seed
from tests.tui.pilots import until
from tests.tui.waiting import press, settle

TYPO = ViewSetting("typo", "8", "assignee:alcie", "activity")
BOBS = ViewSetting("bobs", "9", "assignee:Bob status:all", "activity")

pytestmark = pytest.mark.migrated  # the db_url fixture's databases come migrated


@pytest.fixture
def typo(db_url: str, tmp_path: Path) -> Iterator[Seeded]:
    """The console tests' seed on either engine, a view with a typo in the
    config, and one naming bob (on the team) after it."""
    config = dataclasses.replace(demo_config(agent="alice"), team=("bob",), views=(TYPO, BOBS))
    rt = Runtime(config=config, db_url=db_url, data_dir=tmp_path / "data", demo=True)
    try:
        store = rt.store()
        yield Seeded(rt, store, seed(store))
    finally:
        rt.close()


async def test_a_view_naming_nobody_shows_why_not_a_bare_0(typo: Seeded) -> None:
    app = make_test_app(typo.runtime)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, InboxScreen)
        await until(pilot, lambda: "open" in screen.bar.counts, "the first count")
        shown = str(screen.bar.render())
        assert "8 typo !" in shown and "typo 0" not in shown  # before: "8 typo 0"
        assert "9 bobs 0" in shown  # bob is on the team: his view counts
        rows = list(screen.table.order)
        assert rows

        await press(pilot, "8")  # the view's key: why, and the open view stays
        told = [str(n.message) for n in app._notifications]
        assert any(
            "assignee:alcie at column 1: nobody on the team is called 'alcie'" in t
            and "Did you mean 'alice'?" in t
            for t in told
        ), told
        assert screen.view == "open" and screen.table.order == rows
        assert "1 open" in str(screen.bar.render())

        await press(pilot, "7", "f")  # f steps past it, to bob's
        assert screen.view == "bobs"
        await press(pilot, "F")
        assert screen.view == "all"


async def test_a_view_refused_before_its_count_came_goes_back(typo: Seeded) -> None:
    """The key pressed before the count said why (the first count is on its
    way): the view's read is refused, the agent told why, and the view shown
    before is read again, not left under the refused view's name."""
    app = make_test_app(typo.runtime)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, InboxScreen)
        await until(pilot, lambda: "open" in screen.bar.counts, "the first count")
        await press(pilot, "7")
        rows = list(screen.table.order)
        screen.bar.problems.clear()  # as before the first count came
        await press(pilot, "8")
        await until(pilot, lambda: "typo" in screen.bar.problems, "the refused read")
        await settle(pilot)
        assert screen.view == "all" and screen.table.order == rows
        assert "8 typo !" in str(screen.bar.render())
        told = [str(n.message) for n in app._notifications]
        assert any("nobody on the team is called 'alcie'" in t for t in told), told
