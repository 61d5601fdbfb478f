"""Small things users expect, driven with real keystrokes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot

from omnitui import services
from omnitui.services.ingest import ingest
from omnitui.tui.app import OmniApp
from omnitui.tui.screens import customer as customer_screen
from omnitui.tui.screens.customer import CustomerScreen
from omnitui.tui.screens.inbox import InboxScreen
from omnitui.tui.screens.pick import PickScreen
from omnitui.tui.widgets.timeline import entry_id
from providers.base import InboundAttachment
from storage import queries
from tests.helpers import batch
from tests.tui.conftest import ANN_EMAIL_CONV, BOB_CONV, NOW, Seeded, mail
from tests.tui.pilots import goto_row, open_conversation, settle


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
        await pilot.press("slash", *"1234")
        await settle(pilot)
        await pilot.press("enter")
        screen = await _customer(pilot)
        current = screen.timeline.current
        assert current is not None and (current.kind, current.id) == ("message", hit)
        prompt = screen.timeline.get_option(entry_id(current)).prompt
        assert not isinstance(prompt, str)
        marked = [prompt.plain[s.start : s.end] for s in prompt.spans if s.style == "bold reverse"]
        assert marked == ["1234"]


async def test_jump_finds_phone_numbers_in_any_format_and_names_without_accents(
    app: OmniApp, seeded: Seeded
) -> None:
    zoe = mail("zoe1", "zk@example.com", "Zoë Krüger", 115, "Frage", "Hallo")
    ingest(seeded.store, "demo", batch(zoe, cursor=None))
    async with app.run_test(size=(100, 30)) as pilot:
        for typed, who in (
            ("(415) 555-0100", seeded.customers["ann"]),
            ("+1 415 555 0177", seeded.customers["bob"]),
            ("4155550100", seeded.customers["ann"]),
        ):
            await pilot.press("g", *typed)
            await settle(pilot)
            await pilot.press("enter")
            screen = await _customer(pilot)
            assert screen.customer_id == who, typed
            await pilot.press("escape")
            await settle(pilot)
        await pilot.press("g", *"zoe", "enter")
        screen = await _customer(pilot)
        assert screen.customer is not None and screen.customer.name == "Zoë Krüger"


async def test_the_timeline_stops_at_its_ends(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        timeline = screen.timeline
        await pilot.press("end")
        last = timeline.current_id
        await pilot.press("j")
        assert timeline.current_id == last
        await pilot.press("down")
        assert timeline.current_id == last
        await pilot.press("home")
        first = timeline.current_id
        await pilot.press("k", "up")
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
        await pilot.press("7")  # all: a snoozed conversation is not in "open"
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        events = [e for e in screen.timeline.entries if e.kind == "event" and e.author == "bob"]
        prompt = screen.timeline.get_option(entry_id(events[0])).prompt
        assert not isinstance(prompt, str)
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
        await open_conversation(pilot, BOB_CONV)
        await pilot.press("escape")
        await settle(pilot)
        assert not _unread(seeded, BOB_CONV)
        await pilot.press("u")
        await settle(pilot)
        assert _unread(seeded, BOB_CONV)
        inbox = pilot.app.screen
        assert isinstance(inbox, InboxScreen) and inbox.table.rows_by_id[BOB_CONV].unread
        await pilot.press("u")  # in the inbox, u toggles
        await settle(pilot)
        assert not _unread(seeded, BOB_CONV)
        await open_conversation(pilot, BOB_CONV)
        await pilot.press("u")  # in the customer view: unread, and back to the inbox
        await settle(pilot)
        assert isinstance(pilot.app.screen, InboxScreen)
        assert _unread(seeded, BOB_CONV)
        await goto_row(pilot, dora)
        assert not _unread(seeded, dora)
        await pilot.press("u")
        await settle(pilot)
        assert _unread(seeded, dora)
        await open_conversation(pilot, dora)
        await pilot.press("escape")
        await settle(pilot)
        assert not _unread(seeded, dora)  # opening it reads it


def _rows(seeded: Seeded) -> list[queries.ConversationRow]:
    with seeded.store.read() as session:
        return queries.list_conversations(session, view="all")


def _mail_with(seeded: Seeded, *files: InboundAttachment) -> int:
    dora = mail(
        "dora2",
        "dora@example.com",
        "Dora Old",
        119,
        "Invoice copy",
        "Here is the invoice.",
        attachments=files,
    )
    ingest(seeded.store, "demo", batch(dora, cursor=None))
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
        await open_conversation(pilot, dora)
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(pilot.app.screen, PickScreen)  # two files: which one?
        await pilot.press("j", "enter")
        await settle(pilot)  # the worker waits for the opener
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
        await open_conversation(pilot, dora)
        await pilot.press("v")
        await settle(pilot)
        assert any("not a document" in n.message for n in pilot.app._notifications)
    assert not opener.exists()
