"""Drafts are findable: marked in the inbox and the customer header, opened
with their customer, one text for reply and note, and a way to throw one away."""

from __future__ import annotations

from sqlalchemy import select

from omnitui.tui.app import OmniApp
from omnitui.tui.drafts import Draft, Drafts
from omnitui.tui.format import DRAFT_MARK
from omnitui.tui.screens.customer import CustomerScreen
from omnitui.tui.screens.inbox import InboxScreen
from omnitui.tui.screens.pick import PickScreen
from storage.models import Note
from tests.tui.conftest import Seeded
from tests.tui.test_flows import open_conversation
from tests.tui.waiting import draft_saved, press, settle

ANN_EMAIL_CONV = 2
ANN_SMS_CONV = 3


def on_disk(seeded: Seeded) -> Drafts:
    return Drafts(seeded.runtime.data_dir / "drafts.json")


async def test_conversations_with_a_draft_are_marked(app: OmniApp) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        await press(pilot, "r", *"half a thought", "escape")
        header = str(screen.query_one("#customer-header").render())
        assert f"#{ANN_EMAIL_CONV} " in header and f"{DRAFT_MARK} draft" in header
        await press(pilot, "escape")
        inbox = pilot.app.screen
        assert isinstance(inbox, InboxScreen)
        marked = [
            conv
            for n, conv in enumerate(inbox.table.order)
            if inbox.table.get_row_at(n)[-1].plain.startswith(DRAFT_MARK)
        ]
        assert marked == [ANN_EMAIL_CONV]
        screen = await open_conversation(pilot, ANN_SMS_CONV)  # Ann again, her SMS thread
        header = str(screen.query_one("#customer-header").render())
        assert f"#{ANN_EMAIL_CONV}{DRAFT_MARK}" in header  # "other open: EML #2✎"


async def test_the_draft_mark_shows_as_soon_as_the_draft_is_kept(app: OmniApp) -> None:
    """While the agent writes, the header's "✎ draft" follows the drafts
    file (when the throttle saves it), not whatever redraws the header next;
    emptying the text takes it away again."""
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        header = screen.query_one("#customer-header")
        await press(pilot, "r", *"half a thought")
        await draft_saved(pilot)
        assert f"{DRAFT_MARK} draft" in str(header.render())
        await press(pilot, *["backspace"] * len("half a thought"))
        await draft_saved(pilot)
        assert DRAFT_MARK not in str(header.render())


async def test_opening_a_customer_with_a_draft_opens_the_drafted_conversation(
    app: OmniApp, seeded: Seeded
) -> None:
    # the draft is on Ann's SMS thread; her newest conversation is the e-mail one
    app.desk.drafts.put(ANN_SMS_CONV, Draft(body="About the parcel: "))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "g", *"ann@example.com")
        await settle(pilot)
        await press(pilot, "enter")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, CustomerScreen)
        assert screen.conversation_id == ANN_SMS_CONV
        assert screen.composer.display
        assert screen.composer.target is not None
        assert screen.composer.target.conversation_id == ANN_SMS_CONV
        assert screen.composer.body.text == "About the parcel: "


async def test_reply_and_note_share_one_text(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        await press(pilot, "r", *"Refund checked, all fine")
        await press(pilot, "ctrl+n")  # on second thought: an internal note
        assert (screen.composer.mode, screen.composer.body.text) == (
            "note",
            "Refund checked, all fine",
        )
        await press(pilot, "ctrl+n", "ctrl+n")  # and back and forth
        assert screen.composer.body.text == "Refund checked, all fine"
        await press(pilot, "ctrl+s")
        await settle(pilot)
    with seeded.store.read() as session:
        (note,) = session.execute(select(Note)).scalars()
    assert note.body == "Refund checked, all fine"
    assert on_disk(seeded).get(ANN_EMAIL_CONV).empty


async def test_discard_draft_by_key_and_from_the_palette(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        await press(pilot, "r", *"not meant to be", "ctrl+g")
        asking = pilot.app.screen
        assert isinstance(asking, PickScreen)
        await press(pilot, "escape")  # asked first: escape keeps it
        assert screen.composer.body.text == "not meant to be"
        await press(pilot, "ctrl+g", "down", "enter")
        await settle(pilot)
        assert pilot.app.screen is screen and not screen.composer.display
        assert on_disk(seeded).get(ANN_EMAIL_CONV).empty
        # from the timeline: the palette entry
        await press(pilot, "r", *"again", "escape")
        await press(pilot, "ctrl+p", *"discard draft")
        await settle(pilot)
        await press(pilot, "enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, PickScreen)
        await press(pilot, "down", "enter")
        await settle(pilot)
        assert on_disk(seeded).get(ANN_EMAIL_CONV).empty
        assert f"{DRAFT_MARK}" not in str(screen.query_one("#customer-header").render())
        # and the key on the timeline
        await press(pilot, "r", *"third time", "escape", "X", "down", "enter")
        await settle(pilot)
        assert on_disk(seeded).get(ANN_EMAIL_CONV).empty and not screen.composer.display
