"""The console's mentions and alerts, with real keys: the inbox counts unread
mentions, ``@`` lists them and opening one opens the note and marks it read;
``@b`` + tab in a note completes a team name (also typed in a burst); a new
message on my conversation alerts one of my two consoles once; ``Z`` mutes
alerts and the summary comes on the way back; the desktop notification
written to the terminal carries no escape sequence from a hostile subject."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from omnitui import services
from omnitui.notify import AlertSettings, DesktopMode
from omnitui.runtime import Runtime, demo_config
from omnitui.services.ingest import ingest
from omnitui.tui.app import OmniApp
from omnitui.tui.screens.customer import CustomerScreen
from omnitui.tui.screens.inbox import InboxScreen
from omnitui.tui.screens.mentions import MentionsScreen
from omnitui.tui.widgets.mention_count import MentionCount
from storage.models import utcnow
from storage.queries.mentions import list_mentions
from tests.helpers import T0, batch
from tests.tui.conftest import ANN_EMAIL_CONV, BOB_CONV, Seeded, mail, make_test_app, seed
from tests.tui.pilots import open_conversation, screen_text, settle, until


def told(app: OmniApp) -> list[tuple[str, str]]:
    """(title, text) of every notice the console has shown."""
    return [(str(n.title), str(n.message)) for n in app._notifications]


def mention_count(app: OmniApp) -> MentionCount:
    return app.screen.query_one(MentionCount)


async def rounds(pilot: Pilot[None], app: OmniApp, more: int = 2) -> None:
    """Until ``more`` further alerts rounds have been told."""
    start = app.alerts.told_rounds
    await until(pilot, lambda: app.alerts.told_rounds >= start + more, f"{more} alerts rounds")


def arrive(seeded: Seeded, *exts: str, subject: str = "Re: Refund please") -> None:
    """New e-mails from Ann in her refund thread, sent now, in one transaction."""
    ann1 = "<ann1@mail.example.com>"
    minutes = (utcnow() - T0).total_seconds() / 60
    messages = [
        mail(
            ext,
            "ann@example.com",
            "Ann Example",
            minutes,
            subject,
            f"More {ext}.",
            in_reply_to=ann1,
            references=(ann1,),
        )
        for ext in exts
    ]
    ingest(seeded.store, "demo", batch(*messages, cursor=None), default_region="US")


def with_alerts(runtime: Runtime, settings: AlertSettings) -> Runtime:
    runtime.config = dataclasses.replace(runtime.config, alerts=settings)
    return runtime


async def test_the_mentions_screen_opens_a_mention_and_marks_it_read(seeded: Seeded) -> None:
    store = seeded.store
    services.assign(store, BOB_CONV, "alice", "bob")  # alice is on the team now
    older = services.add_note(store, "bob", "@alice look at the refund", conversation_id=BOB_CONV)
    newer = services.add_note(
        store, "bob", "@Alice \x1b[31mcall her\x1b[0m", conversation_id=ANN_EMAIL_CONV
    )
    app = make_test_app(seeded.runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: mention_count(app).unread == 2, "two unread mentions")
        assert mention_count(app).display and "2 unread mentions" in screen_text(app)
        await pilot.press("@")
        await until(pilot, lambda: isinstance(app.screen, MentionsScreen) and app.screen.loaded)
        screen = app.screen
        assert isinstance(screen, MentionsScreen)
        assert [r.note_id for r in screen.rows] == [newer, older]  # newest first
        shown = screen_text(app)
        assert "2 unread of 2" in shown and "call her" in shown and "\x1b" not in shown
        await pilot.press("enter")  # the newest: Ann's conversation
        await until(pilot, lambda: isinstance(app.screen, CustomerScreen), "the conversation")
        await settle(pilot)
        customer = app.screen
        assert isinstance(customer, CustomerScreen)
        assert customer.conversation_id == ANN_EMAIL_CONV
        with store.read() as session:
            read = {r.note_id: r.unread for r in list_mentions(session, agent="alice")}
        assert read == {newer: False, older: True}
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MentionsScreen))
        await until(pilot, lambda: "1 unread of 2" in screen_text(app), "the list read again")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, InboxScreen))
        await until(pilot, lambda: mention_count(app).unread == 1, "the count follows")
        assert "1 unread mention " in screen_text(app)


async def test_at_completes_a_team_name_in_a_note_also_in_a_burst(seeded: Seeded) -> None:
    store = seeded.store
    services.assign(store, BOB_CONV, "bob", "bob")  # bob and brenda are on the team
    services.assign(store, ANN_EMAIL_CONV, "brenda", "bob")
    app = make_test_app(seeded.runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "bob" in app.desk.mentionable, "the team read")
        assert "alice" not in app.desk.mentionable  # not oneself
        screen = await open_conversation(pilot, BOB_CONV)
        await pilot.press("n")
        await until(
            pilot, lambda: screen.composer.mode == "note" and screen.composer.body.has_focus
        )
        body = screen.composer.body
        await pilot.press("@", "b")
        await settle(pilot)
        hint = screen.composer.mentions
        assert hint.display and hint.offered == ["bob", "brenda"]
        assert "tab: complete" in screen_text(app)
        await pilot.press("r", "tab")  # "@br" + tab
        await settle(pilot)
        assert body.text == "@brenda "
        assert not hint.display
        # a burst: every key at once, before the hint line has caught up
        await pilot.press(*"and @BO", "tab", *"too")
        await settle(pilot)
        assert body.text == "@brenda and @bob too"
        await pilot.press("ctrl+s")
        await settle(pilot)
    with store.read() as session:
        assert sorted(r.agent for r in list_mentions(session)) == ["bob", "brenda"]


async def test_tab_without_an_at_name_is_not_taken_in_reply_mode(seeded: Seeded) -> None:
    services.assign(seeded.store, BOB_CONV, "bob", "bob")
    app = make_test_app(seeded.runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "bob" in app.desk.mentionable, "the team read")
        screen = await open_conversation(pilot, BOB_CONV)
        await pilot.press("r")
        await until(pilot, lambda: screen.composer.body.has_focus)
        await pilot.press("@", "b", "tab")
        await settle(pilot)
        assert screen.composer.body.text == "@b"  # replies mention nobody
        assert not screen.composer.body.has_focus  # tab moved on, as anywhere


@pytest.fixture
def shared(db_url: str, tmp_path: Path) -> Iterator[Seeded]:
    """The console tests' seed on SQLite or PostgreSQL (``db_url``)."""
    runtime = Runtime(config=demo_config(agent="alice"), db_url=db_url, data_dir=tmp_path)
    try:
        store = runtime.store()
        yield Seeded(runtime, store, seed(store))
    finally:
        runtime.close()


async def test_a_message_on_my_conversation_alerts_one_of_my_two_consoles_once(
    shared: Seeded, tmp_path: Path
) -> None:
    seeded = shared
    services.assign(seeded.store, ANN_EMAIL_CONV, "alice", "bob")
    sink = tmp_path / "events.jsonl"
    script = tmp_path / "sink.py"
    script.write_text(f"import sys\nopen({str(sink)!r}, 'a').write(sys.stdin.read() + '\\n')\n")
    settings = AlertSettings(bell=True, notify_cmd=f"{sys.executable} {script}", notify_timeout=20)
    runtime = with_alerts(seeded.runtime, settings)
    one, two = make_test_app(runtime), make_test_app(runtime)
    async with one.run_test(size=(100, 30)) as p1, two.run_test(size=(100, 30)) as p2:
        await rounds(p1, one)
        await rounds(p2, two)
        assert not [t for t in told(one) + told(two) if t[0] == "While you were away"]
        arrive(seeded, "ann3", subject="Re: Refund please, again")
        await until(
            p1, lambda: any("New message" in t for t, _ in told(one) + told(two)), "an alert"
        )
        await rounds(p1, one, 3)
        await rounds(p2, two, 3)
        await settle(p1)
        await settle(p2)
        alerts = [t for t in told(one) + told(two) if t[0].startswith("New message")]
        assert alerts == [("New message from Ann Example", "Re: Refund please, again")]
    (line,) = sink.read_text().splitlines()
    event = json.loads(line)
    assert (event["kind"], event["conversation_id"], event["agent"]) == (
        "message",
        ANN_EMAIL_CONV,
        "alice",
    )
    # a restart: no alert again, and nothing to sum up
    again = make_test_app(runtime)
    async with again.run_test(size=(100, 30)) as pilot:
        await rounds(pilot, again, 3)
        assert not [t for t in told(again) if t[0].startswith(("New message", "While"))]


async def test_away_mutes_alerts_and_back_sums_them_up(seeded: Seeded) -> None:
    services.assign(seeded.store, ANN_EMAIL_CONV, "alice", "bob")
    app = make_test_app(seeded.runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await rounds(pilot, app)
        await pilot.press("Z")
        await until(pilot, lambda: app.alerts.away, "away")
        assert mention_count(app).display and "AWAY" in screen_text(app)
        arrive(seeded, "ann3")
        services.add_note(seeded.store, "bob", "@alice she wrote again", conversation_id=BOB_CONV)
        await rounds(pilot, app, 3)
        assert not [t for t in told(app) if t[0].startswith(("New message", "bob mentioned"))]
        assert mention_count(app).unread == 1  # counted, not alerted
        await pilot.press("Z")
        await until(pilot, lambda: not app.alerts.away, "back")
        await until(pilot, lambda: any(t == "While you were away" for t, _ in told(app)))
        summary = [m for t, m in told(app) if t == "While you were away"]
        assert summary == ["1 new message on your conversations, 1 mention while you were away"]
        await rounds(pilot, app, 2)
        assert not [t for t in told(app) if t[0].startswith(("New message", "bob mentioned"))]


@pytest.mark.parametrize("mode", ["osc9", "osc777"])
async def test_the_desktop_notification_carries_no_escape_sequence(
    seeded: Seeded, mode: DesktopMode, monkeypatch: pytest.MonkeyPatch
) -> None:
    services.assign(seeded.store, ANN_EMAIL_CONV, "alice", "bob")
    runtime = with_alerts(seeded.runtime, AlertSettings(desktop=mode))
    app = make_test_app(runtime)
    written: list[str] = []
    monkeypatch.setattr(app.alerts, "write_terminal", written.append)
    async with app.run_test(size=(100, 30)) as pilot:
        await rounds(pilot, app)
        arrive(seeded, "evil2", subject="Re: \x1b]0;pwned\x07\x1b[2J;owned\x9b31m\x1b\\ ok")
        await until(pilot, lambda: bool(written), "a desktop notification")
    (sequence,) = written
    head = "\x1b]9;" if mode == "osc9" else "\x1b]777;notify;"
    assert sequence.startswith(head) and sequence.endswith("\x07")
    inner = sequence[len(head) : -1]
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in inner)
    assert "Ann Example" in inner and "ok" in inner and "pwned" not in inner


async def test_a_burst_of_messages_is_one_line_not_a_flood(seeded: Seeded) -> None:
    services.assign(seeded.store, ANN_EMAIL_CONV, "alice", "bob")
    app = make_test_app(seeded.runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await rounds(pilot, app)
        arrive(seeded, *(f"burst{n}" for n in range(5)))  # one transaction: one round
        await until(pilot, lambda: any(t == "New for you" for t, _ in told(app)), "the line")
        await rounds(pilot, app)
        assert [m for t, m in told(app) if t == "New for you"] == [
            "5 new messages on your conversations"
        ]
        assert not [t for t, _ in told(app) if t.startswith("New message")]
