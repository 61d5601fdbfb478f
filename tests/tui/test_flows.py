"""The agent's flows, driven with real keystrokes; the store is checked afterwards."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from textual.command import CommandPalette
from textual.widgets import OptionList

from omnitui import services
from omnitui.services.ingest import ingest
from omnitui.tui.app import OmniApp
from omnitui.tui.screens.customer import CustomerScreen
from omnitui.tui.screens.inbox import InboxScreen
from omnitui.tui.screens.pick import PickScreen
from providers.base import InboundAttachment
from storage.models import Customer, Note
from tests.helpers import batch
from tests.tui.conftest import (
    ANN_EMAIL_CONV,
    BOB_CONV,
    FAY_CONV,
    NOW,
    Seeded,
    conversation,
    mail,
    outgoing,
    phone,
)
from tests.tui.pilots import goto_row, open_conversation, settle, until


async def test_inbox_lists_newest_activity_first(app: OmniApp) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, InboxScreen)
        assert screen.table.order == [7, 6, 5, 4, 2, 3, 1]
        cells = screen.table.get_row_at(0)
        assert [c.plain for c in cells[:3]] == ["*", "TG", "50m"]
        await pilot.press("7")
        assert screen.view == "all"
        await pilot.press("2")
        assert screen.view == "mine" and screen.table.order == []


async def test_reply_goes_through_the_outbox(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        await pilot.press("r")
        await pilot.press(*"Refund sent today.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        sent = outgoing(seeded)
        assert [(m.conversation_id, m.channel, m.body_text, m.outbox_state) for m in sent] == [
            (ANN_EMAIL_CONV, "email", "Refund sent today.", "sent")
        ]
        assert sent[0].author == "alice"
        statuses = [e.status for e in screen.timeline.entries if e.direction == "out"]
        assert statuses == ["sent"]


async def test_reply_on_another_channel_continues_the_timeline(
    app: OmniApp, seeded: Seeded
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        await pilot.press("c")  # from e-mail to the customer's SMS number
        assert screen.composer.channel == "sms"
        await pilot.press(*"Your refund is on its way")
        assert "GSM-7 · 1 segment" in str(screen.composer.head.render())
        await pilot.press("ctrl+s")
        await settle(pilot)
        (msg,) = outgoing(seeded)
        assert (msg.channel, msg.to_address, msg.customer_id) == (
            "sms",
            "+14155550100",
            seeded.customers["ann"],
        )
        assert msg.outbox_state == "sent"
        kinds = [(e.channel, e.direction) for e in screen.timeline.entries if e.kind == "message"]
        assert kinds[-1] == ("sms", "out")


async def test_note_is_internal(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_conversation(pilot, BOB_CONV)
        await pilot.press("n")
        assert screen.composer.has_class("note")
        await pilot.press(*"VIP, call back")
        await pilot.press("ctrl+enter")
        await settle(pilot)
    with seeded.store.read() as session:
        notes = list(session.execute(select(Note)).scalars())
    assert [(n.body, n.author, n.conversation_id) for n in notes] == [
        ("VIP, call back", "alice", BOB_CONV)
    ]
    assert outgoing(seeded) == []


async def test_assign_to_me_and_to_someone(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await goto_row(pilot, BOB_CONV)
        await pilot.press("a")
        await settle(pilot)  # the team is read off the UI thread
        assert isinstance(pilot.app.screen, PickScreen)
        await pilot.press("enter")  # the first choice: me
        await settle(pilot)
        assert conversation(seeded, BOB_CONV).assignee == "alice"
        await goto_row(pilot, FAY_CONV)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press(*"bob", "enter")
        await settle(pilot)
        await pilot.press("enter")  # yes: bob is new on the team
        await settle(pilot)
        assert conversation(seeded, FAY_CONV).assignee == "bob"
        await pilot.press("2")  # mine
        screen = pilot.app.screen
        assert isinstance(screen, InboxScreen)
        assert screen.table.order == [BOB_CONV]


async def test_resolve_from_the_customer_view(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await open_conversation(pilot, BOB_CONV)
        await pilot.press("s", "down", "down", "enter")  # open, pending, resolved
        await settle(pilot)
        assert conversation(seeded, BOB_CONV).status == "resolved"
        await pilot.press("escape")
        screen = pilot.app.screen
        assert isinstance(screen, InboxScreen)
        assert BOB_CONV not in screen.table.order


async def test_snooze_with_a_preset_and_typed(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await goto_row(pilot, BOB_CONV)
        await pilot.press("z", "enter")  # in 1 hour
        await settle(pilot)
        conv = conversation(seeded, BOB_CONV)
        assert conv.status == "snoozed"
        assert conv.snoozed_until is not None
        assert conv.snoozed_until.replace(tzinfo=NOW.tzinfo) == NOW + timedelta(hours=1)
        await goto_row(pilot, FAY_CONV)
        await pilot.press("z", *"tomorrow 14:00", "enter")
        await settle(pilot)
        conv = conversation(seeded, FAY_CONV)
        assert conv.status == "snoozed"
        assert conv.snoozed_until is not None
        assert conv.snoozed_until.strftime("%m-%d %H:%M") == "03-03 14:00"


async def test_conflict_is_shown_and_the_view_refreshed(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await goto_row(pilot, BOB_CONV)
        # someone else takes it after this inbox was read
        services.assign(seeded.store, BOB_CONV, "bob", "bob")
        await pilot.press("a", "enter")
        await settle(pilot)
        assert conversation(seeded, BOB_CONV).assignee == "bob"
        messages = [n.message for n in pilot.app._notifications]
        assert any("changed by bob" in m for m in messages), messages
        screen = pilot.app.screen
        assert isinstance(screen, InboxScreen)
        assert screen.table.current is not None
        assert screen.table.current.assignee == "bob"


async def test_merge_two_customers(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_conversation(pilot, BOB_CONV)
        await pilot.press("m", *"Carl")
        await settle(pilot)
        await pilot.press("enter")  # Carl Chat
        await pilot.press("enter")  # yes, merge
        await settle(pilot)
        with seeded.store.read() as session:
            carl = session.get(Customer, seeded.customers["carl"])
            assert carl is not None
            assert carl.merged_into_id == seeded.customers["bob"]
        channels = {e.channel for e in screen.timeline.entries if e.kind == "message"}
        assert channels == {"whatsapp", "telegram"}


async def test_search_opens_the_customer(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("slash", *"sunday")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, CustomerScreen)
        assert screen.customer_id == seeded.customers["bob"]


async def test_jump_to_customer_by_address(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("g", *"fail@", "enter")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, CustomerScreen)
        assert screen.customer_id == seeded.customers["fay"]


async def test_failed_send_is_shown_and_retried(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_conversation(pilot, FAY_CONV)
        await pilot.press("r", *"hello", "ctrl+s")
        await settle(pilot)
        (msg,) = outgoing(seeded)
        assert msg.outbox_state == "failed" and msg.attempts == 1
        assert screen.timeline.current is not None
        assert screen.timeline.current.status == "failed"
        await pilot.press("R")
        await settle(pilot)
        (msg,) = outgoing(seeded)
        assert msg.outbox_state == "failed" and msg.attempts == 2
        assert "fail" in (msg.error or "")


async def test_snippet_fills_the_customer_name(app: OmniApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        await pilot.press("r", "ctrl+t", "enter")
        await settle(pilot)
        assert screen.composer.body.text == (
            "Thanks for reaching out, Ann Example! I'm looking into it now."
        )


async def test_palette_runs_noun_verb_commands(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await goto_row(pilot, BOB_CONV)
        await pilot.press("ctrl+p", *"assign to me")
        palette = pilot.app.screen
        assert isinstance(palette, CommandPalette)
        # the palette searches in a worker of its own: wait for its hits
        options = palette.query_one(OptionList)

        def found() -> bool:
            first = options.get_option_at_index(0) if options.option_count else None
            return first is not None and "assign to me" in str(first.prompt)

        await settle(pilot)
        await until(pilot, found, "the palette's hit")
        await pilot.press("enter")
        await settle(pilot)
        assert conversation(seeded, BOB_CONV).assignee == "alice"


async def test_new_messages_show_up_live(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, InboxScreen)
        before = len(screen.table.order)
        # the first look at the store (on mount) has taken its marker: what follows is new
        await settle(pilot)
        # as if another process (omnitui sync) stored a message
        new = phone("SM-new", "+14155550999", 100, "New customer here")
        ingest(seeded.store, "demo", batch(new, cursor=None))
        # the console notices by itself: its periodic check sees the store changed
        await until(pilot, lambda: len(screen.table.order) == before + 1, "the new row")
        assert screen.table.current is not None


async def test_files_are_listed_and_saved_with_d(
    app: OmniApp, seeded: Seeded, tmp_path: Path
) -> None:
    invoice = InboundAttachment("invoice 1042.pdf", "application/pdf", b"%PDF-1.4 invoice")
    dora = mail(
        "dora2",
        "dora@example.com",
        "Dora Old",
        119,
        "Invoice copy",
        "Here is the invoice.",
        attachments=(invoice,),
    )
    ingest(seeded.store, "demo", batch(dora, cursor=None))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        inbox = pilot.app.screen
        assert isinstance(inbox, InboxScreen)
        dora = next(r.id for r in inbox.table.rows_by_id.values() if r.customer_name == "Dora Old")
        screen = await open_conversation(pilot, dora)
        entry = screen.timeline.current
        assert entry is not None and [a.filename for a in entry.attachments] == ["invoice 1042.pdf"]
        await pilot.press("d")
        await settle(pilot)
    saved = tmp_path / "downloads" / "invoice 1042.pdf"
    assert saved.read_bytes() == b"%PDF-1.4 invoice"
