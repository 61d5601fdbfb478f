"""Keys typed ahead go where the agent meant them.

Textual hands each key to the focused widget's queue at once and resolves
most bindings only when the key has bubbled back up to the app. A burst such
as ``enter r quick`` (typed ahead while the customer opens, or pasted) is
therefore routed to the inbox before ``enter`` has opened anything: the ``r``
opened a second screen and the ``q`` quit the console.

The :class:`KeyGate` lets one key at a time through. The next key is held
until the previous one and what it set off have been handled: a callback is
passed along the focused widget's ancestors to the app (each runs after that
node has handled everything queued before it), for a few rounds, so that
messages posted on the way (a row selected, a customer to open, a deferred
focus) are handled too; a screen that opened or closed meanwhile is waited
for until it has mounted. Held keys are then posted again, in order, and land
on whatever has focus by then: the new screen, the composer.

A watchdog lets the keys go if a hop never comes back (a widget removed while
a callback waited in its queue), so the console cannot stop taking keys.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from time import monotonic
from typing import Any

from textual import events
from textual.app import App
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker

#: Rounds along the focus chain after each key (enter -> row selected ->
#: open customer -> push screen needs three).
ROUNDS = 4
#: Seconds a single hop may take before the held keys are let go anyway.
WATCHDOG = 2.0


class KeyGate:
    """One key at a time: the next is held until the previous one has settled."""

    def __init__(self, app: App[Any], pending: Callable[[], Sequence[Worker[Any]]] = list) -> None:
        self.app = app
        #: the workers a key waits for (the screens' unfinished reads and writes)
        self.pending = pending
        self._waiting: asyncio.Future[Any] | None = None
        self.held: deque[events.Key] = deque()
        self.busy = False
        self._run = 0  # which key's walk is current (a stale callback does nothing)
        self._progress = 0.0  # when the current walk last moved on
        self._watchdog: Timer | None = None

    def admit(self, event: events.Key) -> bool:
        """Whether the app may handle ``event`` now; if not, it is held for later."""
        if self.busy:
            self.held.append(events.Key(event.key, event.character))
            return False
        self.busy = True
        if self.pending():  # the screen is still reading what the key acts on
            self.held.append(events.Key(event.key, event.character))
            self._run += 1
            self._watch(self._run, WATCHDOG)
            self._await_work(self._run)
            return False
        return True

    def dispatched(self) -> None:
        """The admitted key was handed on: let the next one go once it has settled."""
        self._run += 1
        self._watch(self._run, WATCHDOG)
        self._walk(self._run, self._route(), ROUNDS, self.app.screen)

    def _route(self) -> list[MessagePump]:
        start = self.app.focused or self.app.screen
        return list(start.ancestors_with_self)  # ... the screen, the app

    def _walk(self, run: int, nodes: list[MessagePump], rounds: int, screen: Screen[Any]) -> None:
        if run != self._run:
            return
        self._progress = monotonic()
        while nodes:
            node, nodes = nodes[0], nodes[1:]
            if node.call_later(self._walk, run, nodes, rounds, screen):
                return  # continued once ``node`` has handled what was queued before
        if self.app.screen is not screen:
            # a screen opened or closed: wait until it has mounted and taken focus
            screen = self.app.screen
            self._walk(run, [screen, self.app], rounds, screen)
        elif rounds > 1:
            self._walk(run, self._route(), rounds - 1, screen)
        else:
            self._await_work(run)

    def _await_work(self, run: int) -> None:
        """Release the held keys once the screens' workers are done and what
        they posted has been handled (one more walk), else now."""
        if run != self._run:
            return
        pending = self.pending()
        if not pending:
            self._release(run)
            return
        self._progress = monotonic()
        self._waiting = asyncio.ensure_future(_finished(pending))
        self._waiting.add_done_callback(lambda _done: self._after_work(run))

    def _after_work(self, run: int) -> None:
        if run == self._run and self.app.screen_stack:  # (none left: the app is closing)
            self._walk(run, self._route(), 1, self.app.screen)

    def _watch(self, run: int, delay: float) -> None:
        self._watchdog = self.app.set_timer(delay, partial(self._check, run))

    def _check(self, run: int) -> None:
        if run != self._run:
            return
        quiet = monotonic() - self._progress
        if quiet < WATCHDOG:  # still moving (a slow screen, a loaded machine)
            self._watch(run, WATCHDOG - quiet)
        else:
            self._release(run)

    def _release(self, run: int) -> None:
        if run != self._run:
            return
        self._run += 1
        if self._watchdog is not None:
            self._watchdog.stop()
            self._watchdog = None
        self.busy = False
        held, self.held = list(self.held), deque()
        for key in held:
            self.app.post_message(key)


async def _finished(workers: Sequence[Worker[Any]]) -> None:
    # failed or cancelled is finished too (the failure is told elsewhere)
    await asyncio.gather(*(w.wait() for w in workers), return_exceptions=True)
