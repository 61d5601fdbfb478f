"""Waiting for the console in tests: on its workers and its messages, never
on time. The console reads and writes the store in worker threads (see
omnitui.tui.workers), so after a key a test waits until those workers have
finished, what they posted has been handled and no typed-ahead key is held."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.pilot import Pilot

from omnitui.tui.app import OmniApp

#: Rounds of "wait for the workers, then for the messages" before giving up
#: (each round ends only when something finished: no time is guessed).
ROUNDS = 200


def busy(app: OmniApp) -> list[Any]:
    """What the console is still doing: unfinished workers (the poller aside)
    and keys the gate holds."""
    work: list[Any] = [w for w in app.workers if not w.is_finished and w.group != "poll"]
    gate = app.key_gate
    return [*work, *(["keys held"] if gate.busy or gate.held else [])]


async def settle(pilot: Pilot[None]) -> None:
    """Until the console is quiet: its workers done, their messages handled,
    no key held back."""
    app = pilot.app
    assert isinstance(app, OmniApp)
    for _ in range(ROUNDS):
        await pilot.pause()
        pending = busy(app)
        if not pending:
            await pilot.pause()
            if not busy(app):
                return
            continue
        workers = [w for w in pending if not isinstance(w, str)]
        await asyncio.gather(*(w.wait() for w in workers), return_exceptions=True)
    raise AssertionError(f"the console never settled: {busy(app)}")


async def press(pilot: Pilot[None], *keys: str) -> None:
    """Press ``keys`` and wait until the console has done what they set off."""
    await pilot.press(*keys)
    await settle(pilot)


async def draft_saved(pilot: Pilot[None]) -> None:
    """Until every composer on the screen has put what was typed into the
    drafts file (its throttle's timer fired, see ``SAVE_DELAY``) and the
    console shows it: a snapshot after typing then has the draft mark
    whether the machine was quick or slow."""
    from omnitui.tui.widgets.composer import Composer
    from tests.tui.pilots import until

    composers = list(pilot.app.screen.query(Composer))
    await until(pilot, lambda: not any(c.save_pending for c in composers), "the draft saved")
    await settle(pilot)
