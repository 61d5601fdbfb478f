"""Keys typed ahead go where the agent meant: a burst sent while a screen or
the composer is still opening lands in it, not on the screen underneath."""

from __future__ import annotations

from textual import events
from textual.pilot import Pilot

from omnitui.tui.app import OmniApp
from omnitui.tui.screens.customer import CustomerScreen
from omnitui.tui.screens.inbox import InboxScreen
from tests.tui.conftest import ANN_EMAIL_CONV
from tests.tui.pilots import goto_row, settle


async def burst(pilot: Pilot[None], *keys: str) -> None:
    """Send ``keys`` as a terminal does when they are typed ahead: all in one go,
    none waiting for the previous one to be handled (``pilot.press`` waits)."""
    app = pilot.app
    assert app._driver is not None
    for key in keys:
        event = events.Key(key, key if len(key) == 1 else None)
        event.set_sender(app)
        app._driver.send_message(event)
    await settle(pilot)


async def test_enter_r_and_text_in_one_burst_types_into_the_composer(app: OmniApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await goto_row(pilot, ANN_EMAIL_CONV)
        await burst(pilot, "enter", "r", *"quick")  # the q must not quit
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, CustomerScreen)
        assert screen.composer.body.has_focus
        assert screen.composer.body.text == "quick"


async def test_r_and_text_in_one_burst_types_into_the_composer(app: OmniApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await goto_row(pilot, ANN_EMAIL_CONV)
        await burst(pilot, "r", *"hello")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, CustomerScreen)
        assert screen.composer.body.text == "hello"


async def test_enter_then_escape_in_one_burst_comes_back(app: OmniApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await goto_row(pilot, ANN_EMAIL_CONV)
        await burst(pilot, "enter", "escape")
        await settle(pilot)
        assert isinstance(pilot.app.screen, InboxScreen)
        await burst(pilot, "enter", "r", *"hi", "escape", "escape")
        await settle(pilot)
        assert isinstance(pilot.app.screen, InboxScreen)
        assert app.desk.drafts.get(ANN_EMAIL_CONV).body == "hi"
