"""The console never touches the store on the UI thread: a day's flows,
driven with keys, and not one store session or SQL statement on the thread
that runs the event loop (with PostgreSQL across hosts that would be network
I/O freezing the screen; with a locked SQLite file, its busy timeout)."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session
from textual.pilot import Pilot
from textual.screen import Screen

from omnitui.services.ingest import ingest
from omnitui.tui.app import OmniApp
from omnitui.tui.screens.customer import CustomerScreen
from omnitui.tui.screens.inbox import InboxScreen
from omnitui.tui.screens.outbox import OutboxScreen
from omnitui.tui.screens.pick import PickScreen
from omnitui.tui.screens.reports import ReportsScreen
from providers.base import InboundMessage, PollBatch
from storage.db import Store
from tests.helpers import T0
from tests.tui.conftest import Seeded, make_test_app
from tests.tui.test_flows import ANN_EMAIL_CONV, BOB_CONV, FAY_CONV, goto_row
from tests.tui.test_outbox_screen import _waiting
from tests.tui.waiting import press, settle


@dataclass
class UIThreadCalls:
    """Store sessions opened and SQL run on the UI thread while armed, each
    with where in omnitui it came from."""

    ui_thread: int = field(default_factory=threading.get_ident)
    armed: bool = False
    calls: list[str] = field(default_factory=list)

    def seen(self, what: str) -> None:
        if self.armed and threading.get_ident() == self.ui_thread:
            frames = [
                f"{f.filename.rsplit('/omnitui/', 1)[-1]}:{f.lineno} {f.name}"
                for f in traceback.extract_stack()
                if "/omnitui/" in f.filename and "/tests/" not in f.filename
            ]
            self.calls.append(f"{what} from {' <- '.join(reversed(frames[-4:]))}")


#: Store.read and Store.write
Opens = Callable[[Store], AbstractContextManager[Session]]


@pytest.fixture
def on_ui_thread(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> Iterator[UIThreadCalls]:
    # the test's thread runs the app's event loop (run_test): that is the UI thread
    watch = UIThreadCalls()

    def wrap(name: str, original: Opens) -> Opens:
        def watched(store: Store) -> AbstractContextManager[Session]:
            watch.seen(f"Store.{name}()")
            return original(store)

        return watched

    monkeypatch.setattr(Store, "read", wrap("read", Store.read))
    monkeypatch.setattr(Store, "write", wrap("write", Store.write))

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        watch.seen(f"SQL {sql.split()[0]}")

    engine = seeded.store.engine
    event.listen(engine, "before_cursor_execute", statement)
    yield watch
    event.remove(engine, "before_cursor_execute", statement)


def _long_history(seeded: Seeded) -> None:
    """Dora writes often: more than a page of timeline (older pages load on demand)."""
    messages = tuple(
        InboundMessage(
            external_id=f"<dora-{n}@mail.example.com>",
            channel="email",
            from_address="dora@example.com",
            to_address="support@demo.omnitui.invalid",
            sent_at=T0 - timedelta(days=3, minutes=n),
            body_text=f"Note {n} about the invoice.",
            from_name="Dora Old",
            subject=f"Invoice question {n}",
            message_id=f"<dora-{n}@mail.example.com>",
        )
        for n in range(60)
    )
    ingest(seeded.store, "demo", PollBatch(messages=messages, cursors={}), default_region="US")


async def _pick(pilot: Pilot[None], *typed: str) -> None:
    """Answer the picker in view: type (when given), then enter."""
    assert isinstance(pilot.app.screen, PickScreen)
    await press(pilot, *typed, "enter")


async def _open_customer(pilot: Pilot[None], conversation_id: int) -> CustomerScreen:
    await goto_row(pilot, conversation_id)
    await press(pilot, "enter")
    screen = pilot.app.screen
    assert isinstance(screen, CustomerScreen)
    return screen


async def _back_to_inbox(pilot: Pilot[None]) -> InboxScreen:
    while not isinstance(pilot.app.screen, InboxScreen):
        await press(pilot, "escape")
    return pilot.app.screen


async def test_a_days_work_never_touches_the_store_on_the_ui_thread(
    seeded: Seeded, on_ui_thread: UIThreadCalls
) -> None:
    _long_history(seeded)
    fay_reply, _bob_reply = _waiting(seeded)  # a failed and an unconfirmed reply
    app: OmniApp = make_test_app(seeded.runtime)
    on_ui_thread.armed = True  # from the start: the first screen's first read too
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        inbox: Screen[Any] = pilot.app.screen  # an InboxScreen, and later again
        assert isinstance(inbox, InboxScreen) and inbox.table.order

        # the views
        for key in ("7", "2", "3", "f", "F", "1"):
            await press(pilot, key)
        assert inbox.view == "open"

        # Ann: reply, switch channel, note, assign, status, snooze
        ann = await _open_customer(pilot, ANN_EMAIL_CONV)
        await press(pilot, "r", *"Refund sent today.", "ctrl+s")
        await press(pilot, "c", *"Also by SMS.", "ctrl+s")
        await press(pilot, "n", *"Called her, all fine.", "ctrl+s")
        assert [e.body for e in ann.timeline.entries[-3:]] == [
            "Refund sent today.",
            "Also by SMS.",
            "Called her, all fine.",
        ]
        conv = ann.target()  # the SMS thread now, where the last reply went
        assert conv is not None
        await press(pilot, "a")
        await _pick(pilot)  # me
        assert ann.conversations[conv.id].assignee == "alice"
        await press(pilot, "s")
        await _pick(pilot, "down")  # pending
        assert ann.conversations[conv.id].status == "pending"
        await press(pilot, "z")
        await _pick(pilot)  # in an hour
        assert ann.conversations[conv.id].status == "snoozed"

        # merge Bob into Ann
        await press(pilot, "m")
        await _pick(pilot, *"+14155550177")
        await _pick(pilot)  # yes, merge
        assert BOB_CONV in ann.conversations

        # the failed reply to Fay, retried from her timeline; then marked unread
        inbox = await _back_to_inbox(pilot)
        await press(pilot, "7")
        fay = await _open_customer(pilot, FAY_CONV)
        while fay.timeline.current is not None and fay.timeline.current.id != fay_reply:
            await press(pilot, "k")
        await press(pilot, "R")
        await press(pilot, "u")  # marks it unread and leaves
        assert pilot.app.screen is inbox

        # Dora's long history: older pages on demand
        await press(pilot, "g")
        await _pick(pilot, *"dora")
        dora = pilot.app.screen
        assert isinstance(dora, CustomerScreen) and dora.has_older
        shown = len(dora.timeline.entries)
        await press(pilot, "home")
        assert len(dora.timeline.entries) > shown

        # search, then the reports and the outbox
        await press(pilot, "slash")
        await _pick(pilot, *"parcel")
        found = pilot.app.screen
        assert isinstance(found, CustomerScreen) and found.customer_id == seeded.customers["ann"]
        await press(pilot, "o")
        assert isinstance(pilot.app.screen, ReportsScreen)
        await press(pilot, "p", "c", "escape")
        await press(pilot, "O")
        outbox = pilot.app.screen
        assert isinstance(outbox, OutboxScreen) and outbox.rows
        await press(pilot, "R")  # the unconfirmed reply to Bob, sent again
        await press(pilot, "escape")
        await _back_to_inbox(pilot)
        await press(pilot, "u")
        await press(pilot, "ctrl+r")
    on_ui_thread.armed = False  # and to the end: quitting too

    assert on_ui_thread.calls == [], "\n".join(sorted(set(on_ui_thread.calls)))
