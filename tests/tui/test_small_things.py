"""Small things users expect, driven with real keystrokes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from rich.text import Text
from textual.pilot import Pilot

from omnitui import services
from omnitui.services.ingest import ingest
from omnitui.tui.app import OmniApp
from omnitui.tui.screens import customer as customer_screen
from omnitui.tui.screens.customer import CustomerScreen
from omnitui.tui.screens.inbox import InboxScreen
from omnitui.tui.screens.pick import PickScreen
from omnitui.tui.widgets.timeline import entry_id
from providers.base import InboundAttachment, InboundMessage, PollBatch
from storage import queries
from tests.tui.conftest import NOW, OUR_EMAIL, Seeded
from tests.tui.test_flows import ANN_EMAIL_CONV, BOB_CONV, goto_row, open_conversation
from tests.tui.waiting import press, settle


def _message_id(seeded: Seeded, customer: str, words: str) -> int:
    with seeded.store.read() as session:
        entries = queries.timeline(session, seeded.customers[customer])
    (found,) = [e.id for e in entries if e.kind == "message" and words in e.body]
    return found


async def _customer(pilot: Pilot[None]) -> CustomerScreen:
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, CustomerScreen)
    return screen


@pytest.mark.parametrize("page", [40, 1])
async def test_search_opens_the_customer_at_the_hit(
    app: OmniApp, seeded: Seeded, monkeypatch: pytest.MonkeyPatch, page: int
) -> None:
    # page=1: the hit is not among the newest entries read at first
    monkeypatch.setattr(customer_screen, "TIMELINE_PAGE", page)
    hit = _message_id(seeded, "ann", "order 1234")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "slash", *"1234")
        await settle(pilot)
        await press(pilot, "enter")
        screen = await _customer(pilot)
        current = screen.timeline.current
        assert current is not None and (current.kind, current.id) == ("message", hit)
        prompt = screen.timeline.get_option(entry_id(current)).prompt
        assert isinstance(prompt, Text)
        marked = [prompt.plain[s.start : s.end] for s in prompt.spans if s.style == "bold reverse"]
        assert marked == ["1234"]


async def test_jump_finds_phone_numbers_in_any_format_and_names_without_accents(
    app: OmniApp, seeded: Seeded
) -> None:
    zoe = InboundMessage(
        external_id="<zoe1@mail.example.com>",
        channel="email",
        from_address="zk@example.com",
        to_address=OUR_EMAIL,
        sent_at=NOW - timedelta(minutes=5),
        body_text="Hallo",
        from_name="Zoë Krüger",
        subject="Frage",
        message_id="<zoe1@mail.example.com>",
    )
    ingest(seeded.store, "demo", PollBatch(messages=(zoe,), cursors={}))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        for typed, who in (
            ("(415) 555-0100", seeded.customers["ann"]),
            ("+1 415 555 0177", seeded.customers["bob"]),
            ("4155550100", seeded.customers["ann"]),
        ):
            await press(pilot, "g", *typed)
            await settle(pilot)
            await press(pilot, "enter")
            screen = await _customer(pilot)
            assert screen.customer_id == who, typed
            await press(pilot, "escape")
            await settle(pilot)
        await press(pilot, "g", *"zoe", "enter")
        screen = await _customer(pilot)
        assert screen.customer is not None and screen.customer.name == "Zoë Krüger"


async def test_the_timeline_stops_at_its_ends(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        timeline = screen.timeline
        await press(pilot, "end")
        last = timeline.current_id
        await press(pilot, "j")
        assert timeline.current_id == last
        await press(pilot, "down")
        assert timeline.current_id == last
        await press(pilot, "home")
        first = timeline.current_id
        await press(pilot, "k", "up")
        assert timeline.current_id == first
        assert first != last


async def test_audit_lines_show_times_as_the_console_does(app: OmniApp, seeded: Seeded) -> None:
    services.set_status(
        seeded.store,
        ANN_EMAIL_CONV,
        "snoozed",
        "bob",
        snoozed_until=NOW + timedelta(days=1, microseconds=835434),
        now=NOW,
    )
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "7")  # all: a snoozed conversation is not in "open"
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        events = [e for e in screen.timeline.entries if e.kind == "event" and e.author == "bob"]
        prompt = screen.timeline.get_option(entry_id(events[0])).prompt
        assert isinstance(prompt, Text)
        line = prompt.plain
        assert "until Tue 03 Mar 2026 11:00" in line, line
        assert "+00:00" not in line and ".835434" not in line


def _unread(seeded: Seeded, conv_id: int) -> bool:
    with seeded.store.read() as session:
        rows = queries.list_conversations(session, view="all", agent="alice")
    return next(r.unread for r in rows if r.id == conv_id)


async def test_mark_unread_with_u(app: OmniApp, seeded: Seeded) -> None:
    dora = next(r.id for r in _rows(seeded) if r.customer_id == seeded.customers["dora"])
    # we spoke last on Dora's conversation: nothing is waiting, still it can be marked
    services.reply(seeded.store, seeded.runtime.account_infos(), dora, "Here it is", "alice")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_conversation(pilot, BOB_CONV)
        await press(pilot, "escape")
        await settle(pilot)
        assert not _unread(seeded, BOB_CONV)
        await press(pilot, "u")
        await settle(pilot)
        assert _unread(seeded, BOB_CONV)
        inbox = pilot.app.screen
        assert isinstance(inbox, InboxScreen) and inbox.table.rows_by_id[BOB_CONV].unread
        await press(pilot, "u")  # in the inbox, u toggles
        await settle(pilot)
        assert not _unread(seeded, BOB_CONV)
        await open_conversation(pilot, BOB_CONV)
        await press(pilot, "u")  # in the customer view: unread, and back to the inbox
        await settle(pilot)
        assert isinstance(pilot.app.screen, InboxScreen)
        assert _unread(seeded, BOB_CONV)
        await goto_row(pilot, dora)
        assert not _unread(seeded, dora)
        await press(pilot, "u")
        await settle(pilot)
        assert _unread(seeded, dora)
        await open_conversation(pilot, dora)
        await press(pilot, "escape")
        await settle(pilot)
        assert not _unread(seeded, dora)  # opening it reads it


def _rows(seeded: Seeded) -> list[queries.ConversationRow]:
    with seeded.store.read() as session:
        return queries.list_conversations(session, view="all")


def _mail_with(seeded: Seeded, *files: InboundAttachment) -> int:
    mail = InboundMessage(
        external_id="<dora2@mail.example.com>",
        channel="email",
        from_address="dora@example.com",
        to_address=OUR_EMAIL,
        sent_at=NOW - timedelta(minutes=1),
        body_text="Here is the invoice.",
        from_name="Dora Old",
        subject="Invoice copy",
        message_id="<dora2@mail.example.com>",
        attachments=files,
    )
    ingest(seeded.store, "demo", PollBatch(messages=(mail,), cursors={}))
    return next(r.id for r in _rows(seeded) if r.customer_id == seeded.customers["dora"])


@pytest.fixture
def opener(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$OPENER: a script that writes down the file it was given."""
    record = tmp_path / "opened.txt"
    script = tmp_path / "opener.sh"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> "{record}"\n', encoding="utf-8")
    script.chmod(0o755)
    monkeypatch.setenv("OPENER", str(script))
    return record


async def test_v_opens_a_file_with_the_opener(app: OmniApp, seeded: Seeded, opener: Path) -> None:
    dora = _mail_with(
        seeded,
        InboundAttachment("invoice 1042.pdf", "application/pdf", b"%PDF-1.4 invoice"),
        InboundAttachment("photo.jpg", "image/jpeg", b"\xff\xd8\xff photo"),
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await open_conversation(pilot, dora)
        await press(pilot, "v")
        await settle(pilot)
        assert isinstance(pilot.app.screen, PickScreen)  # two files: which one?
        await press(pilot, "j", "enter")
        await settle(pilot)
    (path,) = opener.read_text().splitlines()
    opened = Path(path)
    assert opened.name == "photo.jpg" and opened.read_bytes() == b"\xff\xd8\xff photo"
    assert opened.is_relative_to(seeded.store.data_dir)  # a copy in the data dir, not Downloads
    assert not (opened.stat().st_mode & 0o222)  # read-only


async def test_a_launcher_is_not_opened(app: OmniApp, seeded: Seeded, opener: Path) -> None:
    dora = _mail_with(
        seeded, InboundAttachment("invoice.pdf.desktop", "application/x-desktop", b"[Desktop]")
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await open_conversation(pilot, dora)
        await press(pilot, "v")
        await settle(pilot)
        assert any("not a document" in n.message for n in pilot.app._notifications)
    assert not opener.exists()
