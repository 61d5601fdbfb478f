"""The assign picker knows the team: the store's people and ``[agent] team``;
a name nobody has needs a second confirmation."""

from __future__ import annotations

import dataclasses

from textual.pilot import Pilot

from omnitui import services
from omnitui.runtime import Runtime
from omnitui.tui.screens.pick import PickList, PickScreen
from tests.tui.conftest import BOB_CONV, FAY_CONV, Seeded, conversation, make_test_app
from tests.tui.pilots import goto_row, settle


def _choices(pilot: Pilot[None]) -> list[str]:
    screen = pilot.app.screen
    assert isinstance(screen, PickScreen)
    options = screen.query_one(PickList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def _with_team(seeded: Seeded, *names: str) -> Runtime:
    rt = seeded.runtime
    rt.config = dataclasses.replace(rt.config, team=names)
    return rt


async def test_the_picker_lists_the_team(seeded: Seeded) -> None:
    services.assign(seeded.store, FAY_CONV, "dana", "erin")
    services.add_note(seeded.store, "fred", "called", conversation_id=FAY_CONV)
    app = make_test_app(_with_team(seeded, "hal"))
    async with app.run_test(size=(100, 30)) as pilot:
        await goto_row(pilot, BOB_CONV)
        await pilot.press("a")
        await settle(pilot)
        assert _choices(pilot) == [
            "me (alice)",
            "dana",
            "erin",
            "fred",
            "hal",
            "nobody (unassign)",
        ]


async def test_a_typo_is_caught_by_the_second_question(seeded: Seeded) -> None:
    app = make_test_app(_with_team(seeded, "bob"))
    async with app.run_test(size=(100, 30)) as pilot:
        await goto_row(pilot, BOB_CONV)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press(*"bbo", "enter")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, PickScreen)
        assert "nobody on the team is called 'bbo'" in screen.title_text
        assert _choices(pilot) == [
            "no, assign to bob",
            "yes, assign to bbo (new on the team)",
            "no, cancel",
        ]
        assert conversation(seeded, BOB_CONV).assignee is None  # nothing yet
        await pilot.press("enter")  # the suggestion
        await settle(pilot)
        assert conversation(seeded, BOB_CONV).assignee == "bob"
        await pilot.press("a")
        await settle(pilot)
        await pilot.press(*"zed", "enter")
        await settle(pilot)
        await pilot.press("escape")  # not sure after all
        await settle(pilot)
        assert conversation(seeded, BOB_CONV).assignee == "bob"
        await pilot.press("a")
        await settle(pilot)
        await pilot.press(*"Bob", "enter")  # the team's spelling, no question
        await settle(pilot)
        assert not isinstance(pilot.app.screen, PickScreen)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press(*"zed", "enter")
        await settle(pilot)
        await pilot.press("enter")  # no close match: "yes" comes first
        await settle(pilot)
        assert conversation(seeded, BOB_CONV).assignee == "zed"
