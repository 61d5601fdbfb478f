"""The composer names the conversation it sends to, and sends there."""

from __future__ import annotations

from sqlalchemy import select

from omnitui.threads import reply_subject
from omnitui.tui.app import OmniApp
from storage.models import Message, message_t
from tests.tui.conftest import Seeded
from tests.tui.test_flows import open_conversation
from tests.tui.test_safety_and_keys import screen_text
from tests.tui.waiting import press, settle

ANN_EMAIL_CONV = 2
ANN_SMS_CONV = 3
BOB_WA_CONV = 4


def sent(seeded: Seeded) -> list[Message]:
    with seeded.store.read() as session:
        return list(
            session.execute(select(Message).where(message_t.c.direction == "out")).scalars()
        )


async def test_after_a_channel_switch_the_head_names_where_the_reply_goes(
    app: OmniApp, seeded: Seeded
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        await press(pilot, "c")  # e-mail -> Ann's SMS thread
        head = str(screen.composer.head.render())
        assert f"#{ANN_SMS_CONV} on SMS" in head and f"#{ANN_EMAIL_CONV}" not in head
        await press(pilot, *"On its way", "ctrl+s")
        await settle(pilot)
    (msg,) = sent(seeded)
    assert (msg.conversation_id, msg.channel) == (ANN_SMS_CONV, "sms")


async def test_a_switch_to_email_continues_the_open_email_thread(
    app: OmniApp, seeded: Seeded
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_SMS_CONV)
        await press(pilot, "c")  # SMS -> e-mail: Ann's open thread, not a new one
        assert screen.composer.channel == "email"
        assert f"#{ANN_EMAIL_CONV} on EML" in str(screen.composer.head.render())
        # a reply: the Subject line is there to change, empty means "Re: …"
        assert screen.composer.subject.value == ""
        assert screen.composer.subject.placeholder == reply_subject("Refund please")
        await press(pilot, *"Details by mail", "ctrl+s")
        await settle(pilot)
    (msg,) = sent(seeded)
    assert (msg.conversation_id, msg.channel) == (ANN_EMAIL_CONV, "email")
    assert msg.subject == reply_subject("Refund please")


async def test_whatsapp_shows_no_sms_segment_counter(app: OmniApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, BOB_WA_CONV)
        await press(pilot, "r", *"Open on Sunday 10-16")
        head = str(screen.composer.head.render())
        assert "on WA" in head and "segment" not in head and "GSM" not in head


async def test_the_subject_field_is_labelled(app: OmniApp, seeded: Seeded) -> None:
    from omnitui import services

    services.set_status(seeded.store, ANN_EMAIL_CONV, "resolved", "alice")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_SMS_CONV)
        await press(pilot, "c")
        await settle(pilot)
        assert screen.composer.subject_row.display
        assert "Subject: " in screen_text(app)
