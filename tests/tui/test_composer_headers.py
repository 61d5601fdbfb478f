"""The composer's e-mail header lines (To, Cc, Bcc, Subject) edited with real
keys, the reply-all key's prefill, the forward key, and what the timeline
shows of recipients."""

from __future__ import annotations

import json

import pytest
from textual.pilot import Pilot

from omnitui.services.ingest import ingest
from omnitui.tui.app import OmniApp
from omnitui.tui.screens.customer import CustomerScreen
from omnitui.tui.screens.pick import PickScreen
from tests.helpers import batch
from tests.tui.conftest import (
    ANN_EMAIL_CONV,
    ANN_SMS_CONV,
    OUR_EMAIL,
    Seeded,
    SnapCompare,
    mail,
    make_test_app,
    outgoing,
)
from tests.tui.pilots import open_conversation, screen_text, until
from tests.tui.waiting import draft_saved, press, settle


def ann_copies_bo_and_carl(seeded: Seeded) -> None:
    """Ann's newest mail in her thread names Bo (To) and Carl (Cc) besides us."""
    ann2 = "<ann2@mail.example.com>"
    msg = mail(
        "ann3",
        "ann@example.com",
        "Ann Example",
        35,
        "Re: Refund please",
        "Bo and Carl need to know too.",
        in_reply_to=ann2,
        references=("<ann1@mail.example.com>", ann2),
        to_addresses=(OUR_EMAIL, "bo@example.com"),
        cc_addresses=("Carl@Example.com",),
    )
    ingest(seeded.store, "demo", batch(msg, cursor=None))


async def test_reply_all_prefills_to_and_cc_and_sends_them_with_a_typed_bcc(
    seeded: Seeded,
) -> None:
    ann_copies_bo_and_carl(seeded)
    app = make_test_app(seeded.runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        assert "To: support@demo.omnitui.invalid, bo@example.com  Cc: Carl@Example.com" in (
            screen_text(app)
        )
        await press(pilot, "A")
        headers = screen.composer.headers
        assert headers.display and (headers.to, headers.cc) == (
            "ann@example.com",
            "bo@example.com, carl@example.com",
        )
        assert screen.composer.body.has_focus
        # back through Subject to Bcc, typed as one burst, then the text
        await pilot.press("shift+tab", "shift+tab", *"boss@example.org")
        await settle(pilot)
        assert headers.bcc == "boss@example.org"
        await pilot.press("tab", "tab", *"Noted, all of you.", "ctrl+s")
        await settle(pilot)
        assert "Bcc: boss@example.org" in screen_text(app)  # ours, shown to its author
    (msg,) = outgoing(seeded)
    assert (msg.conversation_id, msg.to_address) == (ANN_EMAIL_CONV, "ann@example.com")
    assert json.loads(msg.cc_addresses or "") == ["bo@example.com", "carl@example.com"]
    assert json.loads(msg.bcc_addresses or "") == ["boss@example.org"]
    assert msg.body_text == "Noted, all of you." and msg.subject == "Re: Refund please"


async def test_reply_all_after_a_switch_to_sms_comes_back_to_email(seeded: Seeded) -> None:
    ann_copies_bo_and_carl(seeded)
    app = make_test_app(seeded.runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        await press(pilot, "c")  # e-mail -> SMS: no header lines there
        assert screen.composer.channel == "sms" and not screen.composer.headers.display
        await press(pilot, *"Hi", "escape", "A")  # a draft: the composer stays open
        composer = screen.composer
        assert composer.channel == "email" and composer.headers.display
        assert composer.headers.cc == "bo@example.com, carl@example.com"
        assert composer.body.text == "Hi"


async def test_header_lines_typed_in_a_fast_burst_and_kept_in_the_draft(
    app: OmniApp, seeded: Seeded
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        # r, then every key at once: to Cc (body -> Subject -> Bcc -> Cc), an
        # address, back down to the body, the text
        keys = ["r", "shift+tab", "shift+tab", "shift+tab", *"dee@example.com", "tab", "tab"]
        await pilot.press(*keys, "tab", *"Copying Dee.")
        await settle(pilot)
        composer = screen.composer
        assert composer.headers.cc == "dee@example.com"
        assert composer.body.text == "Copying Dee."
        await press(pilot, "escape", "escape")  # leave the composer, then the customer
        draft = app.desk.drafts.get(ANN_EMAIL_CONV)
        assert (draft.cc, draft.body) == ("dee@example.com", "Copying Dee.")
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        assert screen.composer.display and screen.composer.headers.cc == "dee@example.com"
        await press(pilot, "r", "ctrl+s")
    (msg,) = outgoing(seeded)
    assert json.loads(msg.cc_addresses or "") == ["dee@example.com"]
    assert msg.bcc_addresses is None


async def test_a_bad_cc_is_named_and_nothing_is_queued(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        await press(pilot, "r", "shift+tab", "shift+tab", "shift+tab", *"dee@", "tab", "tab")
        await press(pilot, "tab", *"Hi", "ctrl+s")
        toasts = [n.message for n in app._notifications]
        assert any("'dee@'" in t and "not an e-mail address" in t for t in toasts), toasts
        assert screen.composer.body.text == "Hi"  # kept, to fix and send again
    assert outgoing(seeded) == []


async def test_no_header_lines_on_sms_and_reply_all_says_why(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_SMS_CONV)
        await press(pilot, "A")
        toasts = [n.message for n in app._notifications]
        assert any("Reply-all is for e-mail" in t for t in toasts), toasts
        await press(pilot, "r")
        assert screen.composer.display and not screen.composer.headers.display


async def test_forward_key_asks_recipient_and_note_and_links_back(
    app: OmniApp, seeded: Seeded
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        entry = screen.timeline.current
        assert entry is not None and entry.kind == "message"
        await press(pilot, "f")
        assert isinstance(app.screen, PickScreen)
        await press(pilot, *"not an address", "enter")
        assert isinstance(app.screen, PickScreen)  # refused, said in the hint
        assert "not an e-mail address" in screen_text(app)
        await press(pilot, *["backspace"] * len("not an address"), *"ops@example.org", "enter")
        await press(pilot, *"Please look into it.", "enter")
        await until(pilot, lambda: isinstance(app.screen, CustomerScreen), "back")
        await settle(pilot)
        assert "forwarded to ops@example.org by alice" in screen_text(app)
    (fwd,) = outgoing(seeded)
    assert fwd.forwarded_from_id == entry.id and fwd.to_address == "ops@example.org"
    assert fwd.body_text.startswith("Please look into it.\n\n---------- Forwarded message")
    assert fwd.subject == "Fwd: Re: Refund please"


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_reply_all_composer_snapshot(
    snap_compare: SnapCompare, seeded: Seeded, size: tuple[int, int]
) -> None:
    ann_copies_bo_and_carl(seeded)

    async def reply_all(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await open_conversation(pilot, ANN_EMAIL_CONV)
        await press(pilot, "A", *"Thanks, all.")
        await draft_saved(pilot)

    assert snap_compare(make_test_app(seeded.runtime), terminal_size=size, run_before=reply_all)
