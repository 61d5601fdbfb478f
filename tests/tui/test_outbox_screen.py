"""The outbox screen (O): failed and unconfirmed messages, retried, edited,
re-addressed or discarded with real keystrokes; and how it looks."""

from __future__ import annotations

from typing import Any

import pytest
from rich.text import Text
from sqlalchemy import select, update
from textual.pilot import Pilot

from omnitui import services
from omnitui.services import outbox
from omnitui.tui.app import OmniApp
from omnitui.tui.screens.customer import CustomerScreen
from omnitui.tui.screens.outbox import OutboxScreen
from omnitui.tui.screens.outbox_edit import EditScreen
from omnitui.tui.screens.pick import PickScreen
from storage import queries
from storage.models import Message, identity_t, message_t
from tests.helpers import ScriptedProvider
from tests.tui.conftest import NOW, Seeded, SnapCompare, make_test_app
from tests.tui.test_flows import BOB_CONV, FAY_CONV
from tests.tui.waiting import press, settle

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


def _waiting(seeded: Seeded) -> tuple[int, int]:
    """A reply to Fay the demo provider refused, and one to Bob that went
    out unanswered; both queued at fixed times (stable pictures)."""
    store, accounts = seeded.store, seeded.runtime.account_infos()
    fay = services.reply(store, accounts, FAY_CONV, "Your refund is on its way.", "alice")
    outbox.deliver(store, seeded.runtime.provider("demo"), fay)
    bob = services.reply(store, accounts, BOB_CONV, "Yes, 10 to 16 on Sundays.", "bob")
    outbox.deliver(store, ScriptedProvider(outcomes=["unconfirmed"]), bob)
    with store.write() as session:
        for mid, minutes in ((fay, 5), (bob, 7)):
            session.execute(
                update(message_t)
                .where(message_t.c.id == mid)
                .values(sent_at=NOW.replace(minute=minutes))
            )
    return fay, bob


def _msg(seeded: Seeded, mid: int) -> Message:
    with seeded.store.read() as session:
        m = session.get(Message, mid)
    assert m is not None
    return m


def _actions(seeded: Seeded) -> list[tuple[str, str, Any]]:
    with seeded.store.read() as session:
        events = queries.audit_events(session, limit=50)
    return [(e.actor, e.action, e.detail.get("message")) for e in events if "outbox" in e.action]


async def _outbox(pilot: Pilot[None]) -> OutboxScreen:
    await press(pilot, "O")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, OutboxScreen)
    return screen


async def _select(pilot: Pilot[None], screen: OutboxScreen, mid: int) -> None:
    while screen.current is not None and screen.current.id != mid:
        await press(pilot, "j")


async def test_the_outbox_lists_what_waits_for_a_person(app: OmniApp, seeded: Seeded) -> None:
    fay, bob = _waiting(seeded)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = await _outbox(pilot)
        assert [(r.id, r.status, r.attempts) for r in screen.rows] == [
            (fay, "failed", 1),
            (bob, "unconfirmed", 1),
        ]
        text = str(screen.options.get_option_at_index(0).prompt)
        for part in ("EML", "Fay Fail", "fail@example.com", "1 attempt"):
            assert part in text
        assert "refused" in text  # the error
        await press(pilot, "escape")
        await settle(pilot)
        await press(pilot, "ctrl+p", *"outbox: show", "enter")  # the palette knows it too
        await settle(pilot)
        assert isinstance(pilot.app.screen, OutboxScreen)


async def test_retry_sends_it_again(app: OmniApp, seeded: Seeded) -> None:
    fay, _bob = _waiting(seeded)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await _outbox(pilot)
        await press(pilot, "R")
        await settle(pilot)  # the delivery worker, then the list read again
        assert (_msg(seeded, fay).outbox_state, _msg(seeded, fay).attempts) == ("failed", 2)
        assert _actions(seeded) == [("alice", "outbox.retry", fay)]


async def test_edit_puts_the_new_text_on_the_message_and_sends_it(
    app: OmniApp, seeded: Seeded
) -> None:
    _fay, bob = _waiting(seeded)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = await _outbox(pilot)
        await _select(pilot, screen, bob)
        await press(pilot, "e")
        await settle(pilot)
        assert isinstance(pilot.app.screen, EditScreen)
        await press(pilot, "end", *" Happy Sunday!", "ctrl+s")
        await settle(pilot)
        sent = _msg(seeded, bob)
        assert sent.body_text == "Yes, 10 to 16 on Sundays. Happy Sunday!"
        assert sent.outbox_state == "sent"
        assert _actions(seeded) == [("alice", "outbox.edit", bob)]
        assert [r.id for r in screen.rows] == [_fay]


async def test_readdress_checks_the_address_and_sends_it_there(
    app: OmniApp, seeded: Seeded
) -> None:
    fay, _bob = _waiting(seeded)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await _outbox(pilot)
        await press(pilot, "t")
        await settle(pilot)
        picker = pilot.app.screen
        assert isinstance(picker, PickScreen)
        await press(pilot, *"fay at example", "enter")
        await settle(pilot)
        assert pilot.app.screen is picker  # refused, saying why
        assert "not an e-mail address" in str(picker.query_one("#pick-hint").render())
        await press(pilot, *(["backspace"] * 14), *"Fay@Example.com", "enter")
        await settle(pilot)
        moved = _msg(seeded, fay)
        assert (moved.to_address, moved.outbox_state) == ("fay@example.com", "sent")
        with seeded.store.read() as session:
            owner = session.execute(
                select(identity_t.c.customer_id).where(identity_t.c.address == "fay@example.com")
            ).scalar_one()
        assert owner == seeded.customers["fay"]
        assert _actions(seeded) == [("alice", "outbox.readdress", fay)]


async def test_discard_asks_then_never_sends(app: OmniApp, seeded: Seeded) -> None:
    fay, _bob = _waiting(seeded)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = await _outbox(pilot)
        await press(pilot, "x")
        await settle(pilot)
        await press(pilot, "enter")  # "no, keep it" comes first
        await settle(pilot)
        assert _msg(seeded, fay).outbox_state == "failed"
        await press(pilot, "x", "j", "enter")
        await settle(pilot)
        assert _msg(seeded, fay).outbox_state == "discarded"
        assert [r.id for r in screen.rows] == [_bob]
        assert _actions(seeded) == [("alice", "outbox.discard", fay)]
        await press(pilot, "escape")
        await press(pilot, "g", *"fail@", "enter")
        await settle(pilot)
        customer = pilot.app.screen
        assert isinstance(customer, CustomerScreen)
        (entry,) = [e for e in customer.timeline.entries if e.id == fay and e.kind == "message"]
        assert entry.status == "discarded"
        prompt = customer.timeline.get_option(f"m{fay}").prompt
        assert isinstance(prompt, Text)
        assert any("strike" in str(span.style) for span in prompt.spans)


async def test_enter_opens_the_customer_at_the_message(app: OmniApp, seeded: Seeded) -> None:
    _fay, bob = _waiting(seeded)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = await _outbox(pilot)
        await _select(pilot, screen, bob)
        await press(pilot, "enter")
        await settle(pilot)
        customer = pilot.app.screen
        assert isinstance(customer, CustomerScreen)
        assert customer.customer_id == seeded.customers["bob"]
        current = customer.timeline.current
        assert current is not None and current.id == bob
        await press(pilot, "escape")
        await settle(pilot)
        assert pilot.app.screen is screen


@pytest.mark.parametrize("size", SIZES)
def test_outbox_snapshot(snap_compare: SnapCompare, seeded: Seeded, size: tuple[int, int]) -> None:
    _waiting(seeded)

    async def show(pilot: Pilot[None]) -> None:
        await _outbox(pilot)

    assert snap_compare(make_test_app(seeded.runtime), terminal_size=size, run_before=show)
