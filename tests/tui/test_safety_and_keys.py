"""Outside text is shown as text; keys are listed, remappable and paged lists stay small."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

from omnitui import services
from omnitui.runtime import Runtime
from omnitui.services.ingest import ingest
from omnitui.tui.app import OmniApp
from omnitui.tui.bindings import HELP_SECTIONS
from omnitui.tui.screens.customer import TIMELINE_PAGE, CustomerScreen
from omnitui.tui.screens.help import HelpScreen
from omnitui.tui.screens.inbox import InboxScreen
from omnitui.tui.widgets.inbox_table import PAGE_SIZE
from omnitui.tui.widgets.timeline import Timeline
from providers.base import InboundMessage, PollBatch
from tests.helpers import T0
from tests.tui.conftest import (
    HOSTILE_NAME,
    OUR_EMAIL,
    OUR_NUMBER,
    Seeded,
    make_test_app,
)
from tests.tui.test_flows import open_conversation
from tests.tui.waiting import press, settle

MALLORY_CONV = 5


def screen_text(app: OmniApp) -> str:
    """What the terminal shows, as plain text (from the SVG screenshot)."""
    import html
    import re

    svg = app.export_screenshot()
    parts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    return html.unescape("".join(parts)).replace("\xa0", " ")


async def test_hostile_markup_and_escapes_are_shown_literally(app: OmniApp) -> None:
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        inbox = screen_text(app)
        assert HOSTILE_NAME in inbox
        assert "[link=https://evil.example]click me[/link] RED" in inbox
        assert "\x1b" not in inbox and "pwned" not in inbox
        await open_conversation(pilot, MALLORY_CONV)
        shown = screen_text(app)
        assert f"{HOSTILE_NAME} <mallory@example.com>" in shown
        assert "Hi [bold]team[/bold]  cleared? [red]no[/red]" in shown
        assert "\x1b" not in shown
        svg = app.export_screenshot()
        # "[bold]" was not turned into bold: the name is drawn in one style run
        assert "[bold]Mallory[/bold]" in svg.replace("&#160;", " ")


async def test_help_lists_every_binding(app: OmniApp) -> None:
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await press(pilot, "question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        shown = screen_text(app)
        for _title, bindings in HELP_SECTIONS[:3]:
            for binding in bindings:
                assert binding.id is not None and binding.id in shown, binding.id
        await press(pilot, "escape")
        assert isinstance(pilot.app.screen, InboxScreen)


def test_every_binding_has_an_id_and_a_description() -> None:
    ids = [b.id for _t, bindings in HELP_SECTIONS for b in bindings]
    assert all(ids) and len(ids) == len(set(ids))
    assert all(b.description for _t, bindings in HELP_SECTIONS for b in bindings)


async def test_keymap_remaps_a_binding(seeded: Seeded) -> None:
    rt = seeded.runtime
    rt.config = dataclasses.replace(rt.config, keymap={"inbox.next_filter": "x"})
    app = make_test_app(rt)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, InboxScreen)
        await press(pilot, "x")
        assert screen.view == "mine"
        await press(pilot, "f")  # no longer bound
        assert screen.view == "mine"


def _many(runtime: Runtime, conversations: int, per_customer: int = 1) -> None:
    msgs = []
    for i in range(conversations):
        for j in range(per_customer):
            msgs.append(
                InboundMessage(
                    external_id=f"bulk-{i}-{j}",
                    channel="sms",
                    from_address=f"+1415556{i:04d}",
                    to_address=OUR_NUMBER,
                    sent_at=T0 - timedelta(days=1, minutes=i * per_customer + j),
                    body_text=f"message {j} of customer {i}",
                )
            )
    ingest(runtime.store(), "demo", PollBatch(messages=tuple(msgs), cursors={}))


async def test_inbox_loads_one_page_at_a_time(seeded: Seeded) -> None:
    _many(seeded.runtime, 250)
    app = make_test_app(seeded.runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, InboxScreen)
        assert len(screen.table.order) == PAGE_SIZE
        await press(pilot, "end")
        await settle(pilot)
        assert len(screen.table.order) == 2 * PAGE_SIZE
        await press(pilot, "end")
        await settle(pilot)
        assert len(screen.table.order) == 257  # 250 + the 7 seeded
        assert screen.table.row_count == 257


async def test_timeline_loads_older_entries_on_reaching_the_top(seeded: Seeded) -> None:
    _many(seeded.runtime, 1, per_customer=250)
    app = make_test_app(seeded.runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "g", *"+14155560000", "enter")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, CustomerScreen)
        assert len(screen.entries) == TIMELINE_PAGE and screen.has_older
        assert screen.timeline.option_count < TIMELINE_PAGE + 10
        loaded = TIMELINE_PAGE
        while loaded < 250:
            await press(pilot, "home")
            await settle(pilot)
            loaded = min(loaded + TIMELINE_PAGE, 250)
            assert len(screen.entries) == loaded
        assert not screen.has_older


async def test_draft_survives_leaving_and_quitting(seeded: Seeded) -> None:
    app = make_test_app(seeded.runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, 2)
        await press(pilot, "r", *"half a thought")
        await press(pilot, "escape", "escape")  # leave the composer, then the customer
        assert isinstance(pilot.app.screen, InboxScreen)
        screen = await open_conversation(pilot, 2)
        assert screen.composer.display
        assert screen.composer.body.text == "half a thought"
        await press(pilot, "r", *" more")
        await press(pilot, "q")  # focus is in the composer: q is typed, not quit
        assert screen.composer.body.text == "half a thought moreq"
        await press(pilot, "escape", "q")
    assert (seeded.runtime.data_dir / "drafts.json").exists()
    again = make_test_app(seeded.runtime)
    async with again.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, 2)
        assert screen.composer.body.text == "half a thought moreq"
        await press(pilot, "n")  # reply and note share the draft: the text stays
        assert (screen.composer.mode, screen.composer.body.text) == ("note", "half a thought moreq")


async def test_email_reply_from_sms_needs_a_subject(app: OmniApp, seeded: Seeded) -> None:
    services.set_status(seeded.store, 2, "resolved", "alice")  # Ann has no open e-mail thread
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, 3)  # Ann's SMS conversation
        await press(pilot, "c")
        assert screen.composer.channel == "email"
        assert screen.composer.subject_row.display
        assert "new conversation on" in str(screen.composer.head.render())
        await press(pilot, *"Details by mail", "ctrl+s")
        await settle(pilot)
        assert screen.composer.body.text == "Details by mail"  # refused: no subject
        screen.composer.subject.focus()
        await press(pilot, *"Your refund", "ctrl+s")
        await settle(pilot)
    from sqlalchemy import select

    from storage.models import Message, message_t

    with seeded.store.read() as session:
        (msg,) = session.execute(select(Message).where(message_t.c.direction == "out")).scalars()
    assert (msg.channel, msg.subject, msg.to_address, msg.from_address) == (
        "email",
        "Your refund",
        "ann@example.com",
        OUR_EMAIL,
    )


INVISIBLE_NAME = ":skull: Eve pa\u200by\u200cp\u200da\u2060l\ufeff\u00ad \u202eexe.txt\u202c \x9b2J"
INVISIBLE_BODY = "Pay at pa\u200bypal \u2066now\u2069 :skull: \x9b31m\x1b[5m [b]x[/b]"


async def test_emoji_codes_and_invisible_characters_never_reach_the_screen(
    seeded: Seeded,
) -> None:
    from omnitui.text import INVISIBLE

    unsafe = re.compile(f"[\\x00-\\x09\\x0b-\\x1f\\x7f-\\x9f{INVISIBLE}]")
    mail = InboundMessage(
        external_id="<eve1@mail.example.com>",
        channel="email",
        from_address="eve@example.com",
        to_address=OUR_EMAIL,
        sent_at=T0 + timedelta(minutes=80),
        body_text=INVISIBLE_BODY,
        from_name=INVISIBLE_NAME,
        subject="Invoice :skull: \u202eexe.pdf",
        message_id="<eve1@mail.example.com>",
    )
    ingest(seeded.store, "demo", PollBatch(messages=(mail,), cursors={}))
    app = make_test_app(seeded.runtime)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, InboxScreen)
        (eve,) = [r for r in screen.table.rows_by_id.values() if r.customer_name == INVISIBLE_NAME]
        row = "".join(cell.plain for cell in screen.table.get_row(str(eve.id)))
        inbox = screen_text(app)
        for shown in (row, inbox):
            assert not unsafe.search(shown), sorted({hex(ord(c)) for c in unsafe.findall(shown)})
            assert ":skull:" in shown and "\U0001f480" not in shown
        assert ":skull: Eve paypal" in row and "Invoice :skull: exe.pdf" in row
        await open_conversation(pilot, eve.id)
        timeline = pilot.app.screen.query_one(Timeline)
        entry = "".join(
            str(timeline.get_option_at_index(i).prompt) for i in range(timeline.option_count)
        )
        shown = screen_text(app)
        for text in (entry, shown):
            assert not unsafe.search(text), sorted({hex(ord(c)) for c in unsafe.findall(text)})
            assert "\U0001f480" not in text
        assert "Pay at paypal now :skull:  [b]x[/b]" in entry
        assert ":skull: Eve paypal" in shown


async def test_the_composer_shows_why_a_too_long_sms_was_not_queued(
    app: OmniApp, seeded: Seeded
) -> None:
    from sqlalchemy import select

    from storage.models import Message, message_t

    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, 3)  # Ann's SMS conversation
        await press(pilot, "r")
        assert screen.composer.channel == "sms"
        screen.composer.body.text = "x" * 1601
        await press(pilot, "ctrl+s")
        await settle(pilot)
        (note,) = app._notifications  # the toast the agent sees
        assert "too long for sms: 1,601 characters, at most 1,600" in note.message
        assert screen.composer.display and screen.composer.body.text == "x" * 1601
    with seeded.store.read() as session:
        assert not list(session.execute(select(Message).where(message_t.c.direction == "out")))
