"""Driving the console in tests: wait for what it is doing (its workers end,
the messages they post are handled, a condition holds), never for a fixed
time. A keystroke test that passes only with luck on a loaded machine is a
race, not a flake; these waits are how a test says what it waits for."""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import Callable

from textual.app import App
from textual.pilot import Pilot
from textual.worker import WorkerCancelled, WorkerState

from omnitui.tui.screens.customer import CustomerScreen
from omnitui.tui.screens.inbox import InboxScreen

#: Seconds a wait may take before the test fails. Only a hang gets near it:
#: the slowest wait in the suite, on a loaded 2-core machine, is under 2 s.
PATIENCE = 30.0


def screen_text(app: App[None]) -> str:
    """What the terminal shows, as plain text (from the SVG screenshot)."""
    svg = app.export_screenshot()
    parts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    return html.unescape("".join(parts)).replace("\xa0", " ")


async def workers_done(pilot: Pilot[None]) -> None:
    """Every worker started so far has ended (but the poller, which runs until
    the console stops). A cancelled worker is done; a failed one fails the test."""
    running = [
        w for w in pilot.app.workers if w.group != "poll" and w.state is not WorkerState.PENDING
    ]
    outcomes = await asyncio.gather(*(w.wait() for w in running), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, WorkerCancelled):
            raise outcome


async def settle(pilot: Pilot[None]) -> None:
    """Until the console is idle: no worker left running, and what the workers
    posted (and what handling it started) handled too."""
    deadline = time.monotonic() + PATIENCE
    while True:
        await workers_done(pilot)
        await pilot.pause()
        busy = [w for w in pilot.app.workers if w.group != "poll" and not w.is_finished]
        if not busy:
            return
        assert time.monotonic() < deadline, f"workers never ended: {busy}"


async def until(pilot: Pilot[None], condition: Callable[[], bool], what: str = "") -> None:
    """Let the console run (its timers, workers and messages) until ``condition()``."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"the console never got there: {what}"
        await settle(pilot)


async def goto_row(pilot: Pilot[None], conversation_id: int) -> None:
    """Move the inbox cursor with j/k to ``conversation_id``."""
    screen = pilot.app.screen
    assert isinstance(screen, InboxScreen)
    for _ in range(len(screen.table.order) + 1):
        current = screen.table.current
        if current is not None and current.id == conversation_id:
            return
        key = "j" if screen.table.order.index(conversation_id) > screen.table.cursor_row else "k"
        await pilot.press(key)
    raise AssertionError(f"conversation {conversation_id} is not in the inbox")


async def open_conversation(pilot: Pilot[None], conversation_id: int) -> CustomerScreen:
    """From the inbox, open ``conversation_id`` (enter) and wait for its timeline."""
    await goto_row(pilot, conversation_id)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, CustomerScreen), "customer screen")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, CustomerScreen)
    return screen
