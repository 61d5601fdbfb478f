"""WhatsApp's 24-hour window in the console: the line that says how long
free-form replies go, the refusal of a free-form send once it closed (before
anything is queued), and the template picker, driven with real keys at a
fixed clock."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from typing import Any

import pytest

from omnitui import services
from omnitui.services import outbox, whatsapp_window
from omnitui.tui.app import OmniApp, make_app
from omnitui.tui.clock import Clock
from omnitui.tui.screens.outbox import OutboxScreen
from omnitui.tui.screens.outbox_edit import EditScreen
from omnitui.tui.screens.pick import PickScreen
from storage.queries import audit_events
from tests.helpers import T0, ScriptedProvider
from tests.tui.conftest import BOB_CONV, NOW, Seeded, outgoing
from tests.tui.pilots import open_conversation, screen_text, settle, until
from tests.tui.waiting import press

#: two days after the seed: Bob's WhatsApp message (T0 + 40 min) is 48 h 20 min old,
#: so the window closed a day ago
LATER = T0 + timedelta(days=2, hours=1)


@pytest.fixture
def later(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> OmniApp:
    """The console and the services two days on."""
    monkeypatch.setattr(whatsapp_window, "utcnow", lambda: LATER)
    return make_app(seeded.runtime, poll=False, clock=Clock(fixed=LATER, tz=UTC), blink=False)


def notices(app: OmniApp) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


async def test_the_window_line_counts_down_while_free_form_replies_go(
    app: OmniApp, seeded: Seeded
) -> None:
    assert T0 + timedelta(hours=2) == NOW
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, BOB_CONV)
        line = screen.window_line
        await until(pilot, lambda: line.display, "the window line")
        assert "WhatsApp: free-form replies until 09:40 (22 h 40 min)" in screen_text(app)
        await press(pilot, "r", *"Open 10-16 on Sunday", "ctrl+s")
        await settle(pilot)
        await press(pilot, "escape")
        await settle(pilot)
        screen = await open_conversation(pilot, 3)  # Ann's SMS: no window line
        await until(pilot, lambda: not screen.window_line.display, "no window line off WhatsApp")
    [sent] = outgoing(seeded)
    assert (sent.channel, sent.body_text, sent.template) == (
        "whatsapp",
        "Open 10-16 on Sunday",
        None,
    )


async def test_after_the_window_a_free_form_send_is_refused_and_a_template_is_picked(
    later: OmniApp, seeded: Seeded
) -> None:
    app = later
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, BOB_CONV)
        await until(pilot, lambda: screen.window_line.display, "the window line")
        assert "WhatsApp: window closed 1 day ago: pick a template (ctrl+t)" in screen_text(app)
        await press(pilot, "r", *"Are you there?", "ctrl+s")
        assert "WhatsApp refuses free-form text now" in notices(app)
        assert "window closed 1 day ago" in notices(app)
        assert outgoing(seeded) == []
        assert screen.composer.body.text == "Are you there?"  # kept

        await press(pilot, "ctrl+t")  # the account's templates, not the snippets
        picker = app.screen
        assert isinstance(picker, PickScreen) and picker.title_text == "Pick a WhatsApp template"
        assert [c.value.name for c in picker.choices] == ["follow_up", "order_update"]
        await press(pilot, "down", "enter")  # order_update: {{name}}, {{order}}
        name = app.screen
        assert isinstance(name, PickScreen) and "{{name}} (1 of 2)" in name.title_text
        assert name.initial == seeded_name(seeded)  # prefilled with the customer's name
        await press(pilot, "enter")
        await press(pilot, "enter")  # an empty {{order}} is not taken
        assert isinstance(app.screen, PickScreen) and "{{order}} (2 of 2)" in app.screen.title_text
        await press(pilot, *"#1234", "enter")
        confirm = app.screen
        assert isinstance(confirm, PickScreen) and "The customer reads" in confirm.title_text
        rendered = f"Hello {seeded_name(seeded)}, your order #1234 has shipped."
        assert rendered in screen_text(app)
        await press(pilot, "enter")
        await until(pilot, lambda: len(outgoing(seeded)) == 1, "the template queued")
    [sent] = outgoing(seeded)
    assert (sent.conversation_id, sent.body_text) == (BOB_CONV, rendered)
    chosen: dict[str, Any] = json.loads(sent.template or "")
    assert chosen == {
        "name": "order_update",
        "content_sid": "HX" + "1" * 32,
        "variables": {"name": seeded_name(seeded), "order": "#1234"},
    }


async def test_escape_in_the_template_picker_queues_nothing(later: OmniApp, seeded: Seeded) -> None:
    async with later.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, BOB_CONV)
        await until(pilot, lambda: screen.window_line.display, "the window line")
        await press(pilot, "r", "ctrl+t", "enter")  # follow_up: {{name}}
        await press(pilot, "enter")  # the name as prefilled
        await press(pilot, "down", "enter")  # "no, cancel"
        await press(pilot, "ctrl+t", "escape")
    assert outgoing(seeded) == []


def seeded_name(seeded: Seeded) -> str:
    with seeded.store.read() as session:
        from storage.queries import get_customer

        customer = get_customer(session, seeded.customers["bob"])
        assert customer is not None
        return customer.name


# -- a free-form message put back in the queue after the window (outbox R, e, t) --


def failed_reply_to_bob(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> int:
    """A free-form reply to Bob queued at NOW (the window open) that the
    provider refused; the services' clock is LATER again afterwards."""
    monkeypatch.setattr(whatsapp_window, "utcnow", lambda: NOW)
    store, accounts = seeded.store, seeded.runtime.account_infos()
    mid = services.reply(store, accounts, BOB_CONV, "Open 10-16 on Sunday", "alice")
    refusing = ScriptedProvider(outcomes=["permanent"])
    assert outbox.deliver(store, refusing, mid).state == "failed"
    monkeypatch.setattr(whatsapp_window, "utcnow", lambda: LATER)
    return mid


def unchanged(seeded: Seeded) -> tuple[object, ...]:
    """The reply's row and the outbox's audit trail."""
    [m] = outgoing(seeded)
    with seeded.store.read() as session:
        audit = [e.action for e in audit_events(session, limit=50) if "outbox" in e.action]
    return (m.outbox_state, m.body_text, m.to_address, m.conversation_id, m.attempts, audit)


async def test_outbox_retry_edit_readdress_of_a_free_form_message_after_the_window_are_refused(
    later: OmniApp, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = later
    mid = failed_reply_to_bob(seeded, monkeypatch)
    before = unchanged(seeded)
    assert before[0] == "failed" and before[-1] == []
    refused = "WhatsApp refuses free-form text now"
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "O")
        screen = app.screen
        assert isinstance(screen, OutboxScreen)
        await until(pilot, lambda: [r.id for r in screen.rows] == [mid], "the failed reply")

        await press(pilot, "R")
        await until(pilot, lambda: refused in notices(app), "the retry refused")
        assert "the window closed 1 day ago" in notices(app)
        assert "templates: follow_up, order_update" in notices(app)
        assert unchanged(seeded) == before
        app.clear_notifications()

        await press(pilot, "e")
        await until(pilot, lambda: isinstance(app.screen, EditScreen), "the editor")
        await press(pilot, "end", *" (and 9-13 on Saturday)", "ctrl+s")
        await until(pilot, lambda: refused in notices(app), "the edit refused")
        assert unchanged(seeded) == before
        app.clear_notifications()

        await press(pilot, "t")
        await until(pilot, lambda: isinstance(app.screen, PickScreen), "the address picker")
        await press(pilot, *"+14155550166", "enter")
        await until(pilot, lambda: refused in notices(app), "the re-address refused")
        assert "the customer has not written on WhatsApp yet" in notices(app)
        assert unchanged(seeded) == before
        assert isinstance(app.screen, OutboxScreen)  # still there, nothing left open
        assert [r.id for r in screen.rows] == [mid]


async def test_retry_in_the_timeline_after_the_window_is_refused(
    later: OmniApp, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = later
    mid = failed_reply_to_bob(seeded, monkeypatch)
    before = unchanged(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, BOB_CONV)
        await until(pilot, lambda: screen.timeline.current is not None, "the timeline")
        assert screen.timeline.current is not None and screen.timeline.current.id == mid
        await press(pilot, "R")
        await until(pilot, lambda: "WhatsApp refuses free-form" in notices(app), "the refusal")
        assert "the window closed 1 day ago" in notices(app)
    assert unchanged(seeded) == before
