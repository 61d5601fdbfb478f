"""What a failed worker means to the agent (omnitui.tui.workers, the one
Worker.StateChanged handler): a conflict is told and the view read again, a
store that cannot take a change says "Not saved" and shows on the health
line, anything unexpected is a notice, never a crash."""

from __future__ import annotations

from typing import Any

import pytest

from omnitui import services
from omnitui.tui.app import OmniApp
from omnitui.tui.screens.inbox import InboxScreen
from omnitui.tui.widgets.account_bar import AccountBar
from storage.db import StoreUnavailable
from storage.queries import triage as triage_queries
from tests.tui.conftest import Seeded
from tests.tui.test_flows import BOB_CONV, conversation, goto_row
from tests.tui.waiting import press, settle


def _told(app: OmniApp) -> list[tuple[str, str]]:
    return [(n.title, n.message) for n in app._notifications]


async def test_a_conflict_is_told_and_the_inbox_read_again(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, InboxScreen)
        await goto_row(pilot, BOB_CONV)
        # someone else takes it after the console read it (their worker, not ours)
        services.assign(seeded.store, BOB_CONV, "bob", "bob")
        await press(pilot, "s", "down", "enter")  # pending, on the version read before
        assert any(title == "Changed by someone else" for title, _ in _told(app))
        row = screen.table.rows_by_id[BOB_CONV]
        assert row.assignee == "bob"  # read again: the other change is shown
    assert conversation(seeded, BOB_CONV).status == "open"  # nothing overwritten


async def test_a_change_the_store_cannot_take_is_not_saved_and_shown(
    app: OmniApp, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked(*_args: Any, **_kwargs: Any) -> None:
        raise StoreUnavailable("the store is locked by another program", "locked")

    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await goto_row(pilot, BOB_CONV)
        monkeypatch.setattr(services, "set_status", locked)
        await press(pilot, "s", "down", "enter")
        assert ("Not saved", "the store is locked by another program") in _told(app)
        bar = pilot.app.screen.query_one(AccountBar)
        assert str(bar.content).startswith(" STORE UNAVAILABLE ")
        assert pilot.app.is_running


async def test_an_unexpected_error_in_a_read_is_a_notice(
    app: OmniApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("no such column: conversation.colour")

    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        # the inbox reads its views through the query compiler (omnitui.services.views)
        monkeypatch.setattr(triage_queries, "find_conversations", broken)
        await press(pilot, "7")  # the inbox reads again, under "all"
        assert (
            "Background work failed",
            "inbox: no such column: conversation.colour",
        ) in _told(app)
        assert pilot.app.is_running
