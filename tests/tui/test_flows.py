"""The agent's flows, driven with real keystrokes; the store is checked afterwards."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from textual.pilot import Pilot

from omnitui import services
from omnitui.services.ingest import ingest
from omnitui.tui.app import OmniApp
from omnitui.tui.screens.customer import CustomerScreen
from omnitui.tui.screens.inbox import InboxScreen
from omnitui.tui.screens.pick import PickScreen
from providers.base import InboundAttachment, InboundMessage, PollBatch
from storage.models import Customer, Note
from tests.tui.conftest import (
    ANN_EMAIL_CONV,
    ANN_SMS_CONV,
    BOB_CONV,
    FAY_CONV,
    NOW,
    Seeded,
    conversation,
    outgoing,
)
from tests.tui.waiting import press, settle

__all__ = ["ANN_EMAIL_CONV", "ANN_SMS_CONV", "BOB_CONV", "FAY_CONV", "conversation", "outgoing"]


async def goto_row(pilot: Pilot[None], conversation_id: int) -> None:
    """Move the inbox cursor with j/k to ``conversation_id``."""
    screen = pilot.app.screen
    assert isinstance(screen, InboxScreen)
    for _ in range(len(screen.table.order) + 1):
        current = screen.table.current
        if current is not None and current.id == conversation_id:
            return
        key = "j" if screen.table.order.index(conversation_id) > screen.table.cursor_row else "k"
        await press(pilot, key)
    raise AssertionError(f"conversation {conversation_id} is not in the inbox")


async def open_conversation(pilot: Pilot[None], conversation_id: int) -> CustomerScreen:
    await goto_row(pilot, conversation_id)
    await press(pilot, "enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, CustomerScreen)
    return screen


async def test_inbox_lists_newest_activity_first(app: OmniApp) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, InboxScreen)
        assert screen.table.order == [7, 6, 5, 4, 2, 3, 1]
        cells = screen.table.get_row_at(0)
        assert [c.plain for c in cells[:3]] == ["*", "TG", "50m"]
        await press(pilot, "7")
        assert screen.view == "all"
        await press(pilot, "2")
        assert screen.view == "mine" and screen.table.order == []


async def test_reply_goes_through_the_outbox(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        await press(pilot, "r")
        await press(pilot, *"Refund sent today.")
        await press(pilot, "ctrl+s")
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
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        await press(pilot, "c")  # from e-mail to the customer's SMS number
        assert screen.composer.channel == "sms"
        await press(pilot, *"Your refund is on its way")
        assert "GSM-7 · 1 segment" in str(screen.composer.head.render())
        await press(pilot, "ctrl+s")
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
        await settle(pilot)
        screen = await open_conversation(pilot, BOB_CONV)
        await press(pilot, "n")
        assert screen.composer.has_class("note")
        await press(pilot, *"VIP, call back")
        await press(pilot, "ctrl+enter")
        await settle(pilot)
    with seeded.store.read() as session:
        notes = list(session.execute(select(Note)).scalars())
    assert [(n.body, n.author, n.conversation_id) for n in notes] == [
        ("VIP, call back", "alice", BOB_CONV)
    ]
    assert outgoing(seeded) == []


async def test_assign_to_me_and_to_someone(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await goto_row(pilot, BOB_CONV)
        await press(pilot, "a")
        await settle(pilot)  # the team is read off the UI thread
        assert isinstance(pilot.app.screen, PickScreen)
        await press(pilot, "enter")  # the first choice: me
        await settle(pilot)
        assert conversation(seeded, BOB_CONV).assignee == "alice"
        await goto_row(pilot, FAY_CONV)
        await press(pilot, "a")
        await settle(pilot)
        await press(pilot, *"bob", "enter")
        await settle(pilot)
        await press(pilot, "enter")  # yes: bob is new on the team
        await settle(pilot)
        assert conversation(seeded, FAY_CONV).assignee == "bob"
        await press(pilot, "2")  # mine
        screen = pilot.app.screen
        assert isinstance(screen, InboxScreen)
        assert screen.table.order == [BOB_CONV]


async def test_resolve_from_the_customer_view(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_conversation(pilot, BOB_CONV)
        await press(pilot, "s", "down", "down", "enter")  # open, pending, resolved
        await settle(pilot)
        assert conversation(seeded, BOB_CONV).status == "resolved"
        await press(pilot, "escape")
        screen = pilot.app.screen
        assert isinstance(screen, InboxScreen)
        assert BOB_CONV not in screen.table.order


async def test_snooze_with_a_preset_and_typed(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await goto_row(pilot, BOB_CONV)
        await press(pilot, "z", "enter")  # in 1 hour
        await settle(pilot)
        conv = conversation(seeded, BOB_CONV)
        assert conv.status == "snoozed"
        assert conv.snoozed_until is not None
        assert conv.snoozed_until.replace(tzinfo=NOW.tzinfo) == NOW + timedelta(hours=1)
        await goto_row(pilot, FAY_CONV)
        await press(pilot, "z", *"tomorrow 14:00", "enter")
        await settle(pilot)
        conv = conversation(seeded, FAY_CONV)
        assert conv.status == "snoozed"
        assert conv.snoozed_until is not None
        assert conv.snoozed_until.strftime("%m-%d %H:%M") == "03-03 14:00"


async def test_conflict_is_shown_and_the_view_refreshed(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await goto_row(pilot, BOB_CONV)
        # someone else takes it after this inbox was read
        services.assign(seeded.store, BOB_CONV, "bob", "bob")
        await press(pilot, "a", "enter")
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
        await settle(pilot)
        screen = await open_conversation(pilot, BOB_CONV)
        await press(pilot, "m", *"Carl")
        await settle(pilot)
        await press(pilot, "enter")  # Carl Chat
        await press(pilot, "enter")  # yes, merge
        await settle(pilot)
        with seeded.store.read() as session:
            carl = session.get(Customer, seeded.customers["carl"])
            assert carl is not None
            assert carl.merged_into_id == seeded.customers["bob"]
        channels = {e.channel for e in screen.timeline.entries if e.kind == "message"}
        assert channels == {"whatsapp", "telegram"}


async def test_search_opens_the_customer(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "slash", *"sunday")
        await settle(pilot)
        await press(pilot, "enter")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, CustomerScreen)
        assert screen.customer_id == seeded.customers["bob"]


async def test_jump_to_customer_by_address(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "g", *"fail@", "enter")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, CustomerScreen)
        assert screen.customer_id == seeded.customers["fay"]


async def test_failed_send_is_shown_and_retried(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, FAY_CONV)
        await press(pilot, "r", *"hello", "ctrl+s")
        await settle(pilot)
        (msg,) = outgoing(seeded)
        assert msg.outbox_state == "failed" and msg.attempts == 1
        assert screen.timeline.current is not None
        assert screen.timeline.current.status == "failed"
        await press(pilot, "R")
        await settle(pilot)
        (msg,) = outgoing(seeded)
        assert msg.outbox_state == "failed" and msg.attempts == 2
        assert "fail" in (msg.error or "")


async def test_snippet_fills_the_customer_name(app: OmniApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        await press(pilot, "r", "ctrl+t", "enter")
        await settle(pilot)
        assert screen.composer.body.text == (
            "Thanks for reaching out, Ann Example! I'm looking into it now."
        )


async def test_palette_runs_noun_verb_commands(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await goto_row(pilot, BOB_CONV)
        await press(pilot, "ctrl+p", *"assign to me")
        await press(pilot, "enter")
        await settle(pilot)
        assert conversation(seeded, BOB_CONV).assignee == "alice"


async def test_new_messages_show_up_live(app: OmniApp, seeded: Seeded) -> None:
    from omnitui.services.ingest import ingest
    from providers.base import PollBatch
    from tests.tui.conftest import phone

    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, InboxScreen)
        before = len(screen.table.order)
        # the first look at the store (on mount) has taken its marker: what follows is new
        await settle(pilot)
        # as if another process (omnitui sync) stored a message
        new = phone("SM-new", "+14155550999", 100, "New customer here")
        ingest(seeded.store, "demo", PollBatch(messages=(new,), cursors={}))
        app.check_changes()
        # the console notices: its worker checks the store, then reads the inbox again
        await settle(pilot)
        assert len(screen.table.order) == before + 1
        assert screen.table.current is not None


async def test_files_are_listed_and_saved_with_d(
    app: OmniApp, seeded: Seeded, tmp_path: Path
) -> None:
    invoice = InboundAttachment("invoice 1042.pdf", "application/pdf", b"%PDF-1.4 invoice")
    mail = InboundMessage(
        external_id="<dora2@mail.example.com>",
        channel="email",
        from_address="dora@example.com",
        to_address="support@demo.omnitui.invalid",
        sent_at=NOW - timedelta(minutes=1),
        body_text="Here is the invoice.",
        from_name="Dora Old",
        subject="Invoice copy",
        message_id="<dora2@mail.example.com>",
        attachments=(invoice,),
    )
    ingest(seeded.store, "demo", PollBatch(messages=(mail,), cursors={}))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        inbox = pilot.app.screen
        assert isinstance(inbox, InboxScreen)
        dora = next(r.id for r in inbox.table.rows_by_id.values() if r.customer_name == "Dora Old")
        screen = await open_conversation(pilot, dora)
        entry = screen.timeline.current
        assert entry is not None and [a.filename for a in entry.attachments] == ["invoice 1042.pdf"]
        await press(pilot, "d")
        await settle(pilot)
    saved = tmp_path / "downloads" / "invoice 1042.pdf"
    assert saved.read_bytes() == b"%PDF-1.4 invoice"
