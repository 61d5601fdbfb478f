"""Presence in the console: what this agent tells the team, and who else it
shows (:mod:`omnitui.services.presence` keeps the rows).

Telling. Every :data:`LOOK` seconds the board looks, on the UI thread and
without I/O, at what the console shows: "viewing" the conversation in focus
on a customer screen, "composing" while the composer there has text. What
changed is written at once, and everything is refreshed every
``REFRESH`` (expiring after ``TTL``), in a worker on the app (the key gate
never waits for it). Leaving the customer, emptying or closing the
composer withdraws within a look; quitting withdraws before the console
ends; a killed console's rows expire.

Showing. The app's periodic check of the store (``OmniApp._check``, every
second) reads who else is present, one small query on a table of a few rows
per agent (``read``), and posts :class:`PresenceSeen`; the board hands it
to the inbox rows and the customer header, which redraw only what changed.
Presence never moves the change marker, so a refresh redraws nothing.

Presence is a courtesy: a store fault here is logged and passed over, never
shown as an error and never in the way of the console's work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.css.query import NoMatches
from textual.message import Message
from textual.worker import Worker

from omnitui.services import presence
from omnitui.services.presence import Present
from omnitui.tui.screens.customer import CustomerScreen
from omnitui.tui.widgets.customer_header import CustomerHeader
from omnitui.tui.widgets.inbox_table import InboxTable
from storage.db import Store
from storage.vocabulary import PresenceActivity

if TYPE_CHECKING:
    from textual.app import App

log = logging.getLogger("omnitui.tui.presence")

#: Seconds between looks at what this console shows (no I/O: a set compared).
LOOK = 0.25
#: Every this many writes, expired rows are dropped too.
CLEANUP_EVERY = 20
#: Seconds quitting waits for the withdrawal (a store that does not answer
#: leaves the rows to expire).
LEAVE_PATIENCE = 2.0

#: a conversation and what this agent does there
Here = tuple[int, PresenceActivity]


@dataclass
class PresenceSeen(Message):
    """Who else is on which conversation, as the store says now."""

    present: Present


class PresenceBoard:
    """What this console has told the store, and what it knows of the others."""

    def __init__(
        self,
        app: App[Any],
        store: Store,
        agent: str,
        *,
        ttl: timedelta | None = None,
        refresh: timedelta | None = None,
    ) -> None:
        self.app = app
        self.store = store
        self.agent = agent
        # read when the board is made, so a test (or a killed console's) may set them
        self.ttl = ttl or presence.TTL
        self.refresh = refresh or presence.REFRESH
        #: what the store was last told this console does
        self.told: frozenset[Here] = frozenset()
        #: the others, from the last check
        self.others: Present = {}
        self._refreshed = 0.0
        self._writing: Worker[None] | None = None
        self._writes = 0
        self._failing = self._warned = False
        self._unread = False

    def start(self) -> None:
        self.app.set_interval(LOOK, self.look)

    # -- telling ------------------------------------------------------------------

    def wanted(self) -> frozenset[Here]:
        """What the console shows now: the conversation in focus on a customer
        screen (viewing) and the one its composer has text for (composing)."""
        here: set[Here] = set()
        for screen in self.app.screen_stack:
            if not isinstance(screen, CustomerScreen) or not screen.is_mounted:
                continue
            if not screen.loaded:
                continue
            try:
                conv = screen.target()
                composer = screen.composer
            except NoMatches:  # the screen is being taken down: it shows nothing now
                continue
            if conv is not None:
                here.add((conv.id, "viewing"))
            if composer.display and composer.target and composer.body.text.strip():
                here.add((composer.target.conversation_id, "composing"))
        return frozenset(here)

    def look(self) -> None:
        """Tell the store what changed since the last look, and refresh what
        lasts before it expires (on the UI thread: the writing is a worker's)."""
        if self._writing is not None and not self._writing.is_finished:
            return  # one write at a time, in order; the next look catches up
        if self._failing:
            self.told, self._failing = frozenset(), False  # tell it all again
        wanted = self.wanted()
        due = bool(wanted) and time.monotonic() - self._refreshed >= self.refresh.total_seconds()
        if wanted == self.told and not due:
            return
        told = wanted if due else wanted - self.told
        gone = self.told - wanted
        if due:
            self._refreshed = time.monotonic()
        self.told = wanted
        self._writes += 1
        self._writing = self._write(told, gone, clean=self._writes % CLEANUP_EVERY == 0)

    def _write(self, told: frozenset[Here], gone: frozenset[Here], *, clean: bool) -> Worker[None]:
        return self.app.run_worker(
            partial(self._store, told, gone, clean),
            thread=True,
            group="presence",
            exit_on_error=False,
        )

    def _store(self, told: frozenset[Here], gone: frozenset[Here], clean: bool) -> None:
        # in a worker thread
        try:
            for conversation_id, activity in sorted(gone):
                presence.withdraw(self.store, self.agent, conversation_id, activity)
            for conversation_id, activity in sorted(told):
                presence.announce(self.store, self.agent, conversation_id, activity, self.ttl)
            if clean:
                presence.cleanup(self.store)
            self._warned = False
        except Exception as exc:  # noqa: BLE001 - a courtesy: logged, never in the way
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        if not self._warned:  # once while it lasts, not at every look
            log.warning("presence not written: %s: %s", type(exc).__name__, exc)
        self._warned = self._failing = True

    async def leave(self) -> None:
        """Withdraw what this console told (when it quits); waits at most
        :data:`LEAVE_PATIENCE` for the store."""
        told, self.told = self.told, frozenset()
        if not told:
            return
        if self._writing is not None and not self._writing.is_finished:
            await asyncio.wait([asyncio.ensure_future(self._writing.wait())], timeout=1.0)
        worker = self._write(frozenset(), told, clean=False)
        await asyncio.wait([asyncio.ensure_future(worker.wait())], timeout=LEAVE_PATIENCE)

    # -- showing ------------------------------------------------------------------

    def read(self) -> Present | None:
        """Who else is present now (in the app's check worker); ``None`` when
        the store could not say (logged; the last answer stays shown)."""
        try:
            found = presence.present(self.store, None, except_agent=self.agent)  # the store's clock
        except Exception as exc:  # noqa: BLE001 - a courtesy: logged, never in the way
            if not self._unread:
                log.warning("presence not read: %s: %s", type(exc).__name__, exc)
            self._unread = True
            return None
        self._unread = False
        return found

    def show(self, present: Present) -> None:
        """Hand who else is where to the inbox rows and customer headers (they
        redraw what changed)."""
        self.others = present
        for screen in self.app.screen_stack:
            if not screen.is_mounted:
                continue
            for table in screen.query(InboxTable):
                table.show_presence(present)
            for header in screen.query(CustomerHeader):
                header.show_presence(present)
