"""A worker's result that lands while the console is closing is dropped, not
drawn on a screen that is being taken down (which crashed the console with
NoMatches or "No screens on stack" and wrote a crash log)."""

from __future__ import annotations

from textual import events
from textual.message import Message

from omnitui.tui.app import OmniApp
from omnitui.tui.messages import OutboxDelivered, StoreChecked, StoreProblem
from omnitui.tui.widgets.account_bar import AccountBar
from tests.tui.pilots import settle


async def test_results_arriving_while_the_screens_close_are_dropped(app: OmniApp) -> None:
    seen: list[StoreChecked] = []
    late: list[Message] = []

    def hook(message: Message) -> None:
        if isinstance(message, StoreChecked) and not seen:
            seen.append(message)
        # the account bar goes first when the screens are taken down: the
        # results of a check, a failed read and a delivery come in just then
        if isinstance(message, events.Unmount) and isinstance(message._sender, AccountBar):
            for result in (
                StoreChecked(seen[0].marker, seen[0].health, force=True),
                StoreProblem("read", "database is locked"),
                OutboxDelivered(1, "failed", "no route"),
            ):
                app.post_message(result)
                late.append(result)

    async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
        await settle(pilot)
        assert seen  # the first look at the store
    assert late, "the screens closed without the late results"
    assert app.crash_log is None
    assert app.return_code in (None, 0)
