"""Two consoles on one store (SQLite and PostgreSQL): each sees who else is
viewing or writing where, within two seconds, and no longer once they left;
a reply written before the other's reply landed is held and shows it; a
draft survives someone else's assign and status change. The presence of a
console killed with SIGKILL clears by expiry."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from textual.pilot import Pilot

from omnitui import services
from omnitui.runtime import Runtime, demo_config
from omnitui.services import presence
from omnitui.tui.app import OmniApp
from omnitui.tui.screens.customer import CustomerScreen
from omnitui.tui.screens.inbox import InboxScreen
from omnitui.tui.screens.pick import PickScreen
from omnitui.tui.widgets.customer_header import CustomerHeader
from storage.db import Store
from storage.models import Message, message_t, presence_t
from tests.tui.conftest import ANN_EMAIL_CONV, CARL_CONV, make_test_app, seed
from tests.tui.pilots import open_conversation, until
from tests.tui.waiting import press, settle

#: the issue's bounds: seen within 2 s, cleared within 5 s of leaving
SEEN_WITHIN = 2.0
CLEARED_WITHIN = 5.0


@dataclass
class Pair:
    store: Store
    alice: Runtime
    bob: Runtime


@pytest.fixture
def pair(store: Store, db_url: str, tmp_path: Path) -> Iterator[Pair]:
    seed(store)
    made = [
        Runtime(
            config=demo_config(agent=name),
            db_url=db_url,
            data_dir=tmp_path / name,
            demo=True,
        )
        for name in ("alice", "bob")
    ]
    try:
        yield Pair(store, *made)
    finally:
        for rt in made:
            rt.close()


def row_text(app: OmniApp, conversation_id: int) -> str:
    """The inbox row's subject cell as shown (with its presence mark)."""
    screen = app.screen
    if not isinstance(screen, InboxScreen) or conversation_id not in screen.table.rows_by_id:
        return ""
    return screen.table.get_cell(str(conversation_id), "summary").plain


def header_text(app: OmniApp) -> str:
    if not isinstance(app.screen, CustomerScreen):
        return ""
    header = app.screen.query_one(CustomerHeader)
    return header.render().plain


def replies(store: Store, author: str) -> list[Message]:
    with store.read() as session:
        rows = session.execute(
            select(Message).where(message_t.c.direction == "out", message_t.c.author == author)
        )
        return list(rows.scalars())


async def type_reply(pilot: Pilot[None], text: str) -> None:
    await press(pilot, "r")
    await press(pilot, *text)


async def test_each_console_sees_the_other_viewing_and_writing_and_leaving(pair: Pair) -> None:
    a_app, b_app = make_test_app(pair.alice), make_test_app(pair.bob)
    async with a_app.run_test(size=(140, 40)) as a, b_app.run_test(size=(140, 40)) as b:
        await settle(a)
        await settle(b)
        assert "alice" not in row_text(b_app, ANN_EMAIL_CONV)
        await open_conversation(a, ANN_EMAIL_CONV)
        opened = time.monotonic()  # alice has the customer in front of her
        await until(b, lambda: "◉alice" in row_text(b_app, ANN_EMAIL_CONV), "alice viewing")
        assert time.monotonic() - opened < SEEN_WITHIN
        # bob opens it too: his header says alice is there, and she sees him
        await open_conversation(b, ANN_EMAIL_CONV)
        await until(b, lambda: "alice is viewing" in header_text(b_app), "alice in the header")
        await until(a, lambda: "bob is viewing" in header_text(a_app), "bob in alice's header")
        # alice writes: bob reads "alice is writing…"
        await press(a, "r")
        typed = time.monotonic()
        await press(a, "R")  # the first letter makes it "composing"
        await until(b, lambda: "alice is writing…" in header_text(b_app), "alice writing")
        assert time.monotonic() - typed < SEEN_WITHIN
        # she leaves the customer (the draft is kept): gone from bob's header
        await press(a, "escape", "escape")
        assert isinstance(a_app.screen, InboxScreen)
        left = time.monotonic()
        await until(b, lambda: "alice" not in header_text(b_app), "alice gone")
        assert time.monotonic() - left < CLEARED_WITHIN
        # and alice's inbox row shows bob still there
        await until(a, lambda: "◉bob" in row_text(a_app, ANN_EMAIL_CONV), "bob in alice's inbox")
        # bob quits: his rows are withdrawn, not left to expire
        await b_app.action_quit()
    assert presence.present(pair.store, None, datetime.now(UTC)) == {}


async def test_a_reply_written_before_the_others_reply_is_held_then_sent_once(
    pair: Pair,
) -> None:
    a_app, b_app = make_test_app(pair.alice), make_test_app(pair.bob)
    async with a_app.run_test(size=(140, 40)) as a, b_app.run_test(size=(140, 40)) as b:
        await settle(a)
        await settle(b)
        await open_conversation(a, ANN_EMAIL_CONV)
        b_screen = await open_conversation(b, ANN_EMAIL_CONV)
        await type_reply(a, "Refunded today, Ann.")
        await type_reply(b, "We will refund you.")
        await press(a, "ctrl+s")
        await until(a, lambda: len(replies(pair.store, "alice")) == 1, "alice's reply stored")
        # bob's console reads alice's reply; his draft still counts it as unseen
        await until(
            b,
            lambda: any(e.author == "alice" for e in b_screen.entries),
            "alice's reply in bob's timeline",
        )
        await press(b, "ctrl+s")
        await until(b, lambda: isinstance(b_app.screen, PickScreen), "the held send")
        question = b_app.screen
        assert isinstance(question, PickScreen)
        assert "alice replied" in question.title_text
        assert "Refunded today, Ann." in question.title_text
        assert replies(pair.store, "bob") == []  # held: nothing queued
        # send anyway: the second confirm
        await press(b, "down", "enter")
        await until(b, lambda: len(replies(pair.store, "bob")) == 1, "bob's reply stored")
        await settle(b)
        (sent,) = replies(pair.store, "bob")
        assert sent.body_text == "We will refund you."
        assert b_screen.composer.body.text == ""


async def test_going_back_to_edit_keeps_the_draft_and_counts_the_new_reply_as_seen(
    pair: Pair,
) -> None:
    a_app, b_app = make_test_app(pair.alice), make_test_app(pair.bob)
    async with a_app.run_test(size=(140, 40)) as a, b_app.run_test(size=(140, 40)) as b:
        await settle(a)
        await settle(b)
        b_screen = await open_conversation(b, ANN_EMAIL_CONV)
        await type_reply(b, "We will refund you.")
        await open_conversation(a, ANN_EMAIL_CONV)
        await type_reply(a, "Refunded today, Ann.")
        await press(a, "ctrl+s")
        await until(a, lambda: len(replies(pair.store, "alice")) == 1, "alice's reply stored")
        await press(b, "ctrl+s")
        await until(b, lambda: isinstance(b_app.screen, PickScreen), "the held send")
        await press(b, "enter")  # the first choice: go back and edit
        assert isinstance(b_app.screen, CustomerScreen)
        assert b_screen.composer.body.text == "We will refund you."
        assert replies(pair.store, "bob") == []
        (mine,) = replies(pair.store, "alice")
        assert pair.bob.data_dir and b_app.desk.drafts.seen(ANN_EMAIL_CONV) == f"message:{mine.id}"
        await press(b, *" Already done, I see.", "ctrl+s")  # nothing newer now: it goes
        await until(b, lambda: len(replies(pair.store, "bob")) == 1, "bob's reply stored")
        assert not isinstance(b_app.screen, PickScreen)


async def test_a_draft_survives_another_agents_assign_and_status_change(pair: Pair) -> None:
    a_app = make_test_app(pair.alice)
    async with a_app.run_test(size=(140, 40)) as a:
        await settle(a)
        screen = await open_conversation(a, ANN_EMAIL_CONV)
        await type_reply(a, "Half-written answer")
        services.assign(pair.store, ANN_EMAIL_CONV, "bob", "bob")
        services.set_status(pair.store, ANN_EMAIL_CONV, "pending", "bob")
        await until(
            a,
            lambda: (
                screen.conversations[ANN_EMAIL_CONV].status == "pending"
                and screen.conversations[ANN_EMAIL_CONV].assignee == "bob"
            ),
            "the change read",
        )
        assert screen.composer.display and screen.composer.body.text == "Half-written answer"
        # the draft on disk follows the text within the save's debounce
        await until(
            a,
            lambda: a_app.desk.drafts.get(ANN_EMAIL_CONV).body == "Half-written answer",
            "the draft saved",
        )
        await press(a, "ctrl+s")  # an assign or a status is no entry: not held
        await until(a, lambda: len(replies(pair.store, "alice")) == 1, "alice's reply stored")
        assert not isinstance(a_app.screen, PickScreen)


# -- a console killed with SIGKILL --------------------------------------------------

#: the killed console's expiry and refresh, short so the test takes seconds
KILLED_TTL, KILLED_REFRESH = 3.0, 1.0


def _drain(master: int, stop: threading.Event) -> None:
    # read what the console draws, as a terminal does (a full pty stalls it)
    import select as select_

    while not stop.is_set():
        ready, _, _ = select_.select([master], [], [], 0.1)
        if ready:
            try:
                os.read(master, 65536)
            except OSError:
                return


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
async def test_a_killed_consoles_presence_clears_by_expiry(pair: Pair, tmp_path: Path) -> None:
    from tests.tui.test_kill9 import Terminal

    config = tmp_path / "carol.toml"
    config.write_text('[agent]\nname = "carol"\n', encoding="utf-8")
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "OMNITUI_DATA_DIR": str(tmp_path / "carol"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    code = (
        "from datetime import timedelta; from omnitui.services import presence; "
        f"presence.TTL = timedelta(seconds={KILLED_TTL}); "
        f"presence.REFRESH = timedelta(seconds={KILLED_REFRESH}); "
        "from omnitui.cli import main; main()"
    )
    db = pair.bob.db_url
    term = Terminal([sys.executable, "-c", code, "--config", str(config), "--db", db], env)
    stop = threading.Event()
    b_app = make_test_app(pair.bob)
    try:
        term.wait_for("Carl Chat")  # the inbox is up, Carl's chat first
        term.type("\r")
        term.wait_for("Hi from Telegram")  # carol is on Carl's conversation
        drain = threading.Thread(target=_drain, args=(term.master, stop), daemon=True)
        drain.start()
        async with b_app.run_test(size=(140, 40)) as b:
            await settle(b)
            await until(b, lambda: "◉carol" in row_text(b_app, CARL_CONV), "carol viewing")
            os.killpg(term.proc.pid, signal.SIGKILL)  # nothing of hers runs again
            term.proc.wait(10)
            killed = time.monotonic()
            await until(b, lambda: "carol" not in row_text(b_app, CARL_CONV), "carol gone")
            cleared = time.monotonic() - killed
    finally:
        stop.set()
        term.close()
    # gone by expiry (her row is still there, expired), well within 30 s
    assert cleared <= KILLED_TTL + 5.0, cleared
    with pair.store.read() as session:
        rows = session.execute(
            select(presence_t.c.agent, presence_t.c.activity).where(
                presence_t.c.conversation_id == CARL_CONV
            )
        ).all()
    assert [tuple(r) for r in rows] == [("carol", "viewing")]


async def test_a_store_fault_in_presence_never_gets_in_the_way(
    pair: Pair, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from storage.db import StoreUnavailable

    calls: list[str] = []

    def refuse(*args: object, **kwargs: object) -> None:
        calls.append("write")
        raise StoreUnavailable("the store is locked", "locked")

    def broken(*args: object, **kwargs: object) -> None:
        calls.append("read")
        raise RuntimeError("presence table gone")

    monkeypatch.setattr(presence, "announce", refuse)
    monkeypatch.setattr(presence, "present", broken)
    a_app = make_test_app(pair.alice)
    async with a_app.run_test(size=(140, 40)) as a:
        await settle(a)
        await open_conversation(a, ANN_EMAIL_CONV)
        await type_reply(a, "Still works")
        await until(a, lambda: {"read", "write"} <= set(calls), "presence tried")
        await press(a, "ctrl+s")
        await until(a, lambda: len(replies(pair.store, "alice")) == 1, "the reply stored")
        assert [n for n in a_app._notifications if n.severity == "error"] == []
        assert a_app.store_problem is None  # not shown as the store's trouble either
    warned = [r.getMessage() for r in caplog.records if r.name == "omnitui.tui.presence"]
    assert any("presence not written" in w for w in warned)
    assert any("presence not read" in w for w in warned)
    assert len(warned) == 2  # once each, not once a second
