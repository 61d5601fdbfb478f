"""One core, two faces: a rule lives once in omnitui.services, so the CLI and
the console answer alike. Each test drives the CLI (typer's CliRunner) and
the console (Pilot) on the same seeded store and compares what they do."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from textual.pilot import Pilot
from typer.testing import CliRunner, Result

from omnitui import services
from omnitui.cli import app as cli_app
from omnitui.tui.app import OmniApp
from omnitui.tui.messages import OpenCustomer
from omnitui.tui.screens.customer import CustomerScreen
from omnitui.tui.widgets.timeline import entry_id
from storage.models import Message, audit_t, message_t
from tests.tui.conftest import NOW, Seeded
from tests.tui.test_flows import ANN_EMAIL_CONV, ANN_SMS_CONV, open_conversation
from tests.tui.waiting import press, settle

CONFIG = """
[agent]
name = "alice"

[[accounts]]
name = "demo"
kind = "demo"
poll_interval = 30
"""


def cli(seeded: Seeded, *args: str, code: int = 0) -> Result:
    """``omnitui ARGS`` on the seeded store, as agent alice, 250 columns wide."""
    config = Path(seeded.runtime.data_dir) / "cli-config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    result = CliRunner().invoke(
        cli_app,
        ["--config", str(config), "--db", seeded.runtime.db_url, *args],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    return result


async def open_customer(pilot: Pilot[None], customer_id: int) -> CustomerScreen:
    pilot.app.post_message(OpenCustomer(customer_id))
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, CustomerScreen)
    return screen


def outgoing(seeded: Seeded) -> list[Message]:
    with seeded.store.read() as session:
        rows = session.execute(select(Message).where(message_t.c.direction == "out"))
        return list(rows.scalars())


# -- follow merges ---------------------------------------------------------------


async def test_a_merged_customer_is_the_one_that_remains_in_both_faces(
    app: OmniApp, seeded: Seeded
) -> None:
    ann, merged = seeded.customers["ann"], seeded.customers["ann_sms"]  # merged into Ann
    shown = cli(seeded, "customers", "show", str(merged), "--json")
    doc = json.loads(shown.stdout)
    assert doc["id"] == ann and doc["merged_into_id"] is None
    assert {c["id"] for c in doc["conversations"]} >= {ANN_EMAIL_CONV, ANN_SMS_CONV}
    assert f"customer {merged} was merged into {ann}" in shown.stderr
    text = cli(seeded, "customers", "show", str(merged)).stdout
    assert f"Customer {ann}: Ann Example" in text
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = await open_customer(pilot, merged)
        assert screen.customer is not None and screen.customer.id == ann
        assert set(screen.conversations) == {c["id"] for c in doc["conversations"]}


# -- what a change says ----------------------------------------------------------


async def test_changes_read_the_same_in_customers_show_and_the_timeline(
    app: OmniApp, seeded: Seeded
) -> None:
    services.assign(seeded.store, ANN_EMAIL_CONV, "bob", "bob")
    until = NOW + timedelta(days=1)
    services.set_status(
        seeded.store, ANN_EMAIL_CONV, "snoozed", "bob", snoozed_until=until, now=NOW
    )
    lines = ["assigned to bob", "status: snoozed until"]
    shown = cli(seeded, "customers", "show", str(seeded.customers["ann"])).stdout
    for line in lines:
        assert line in shown, shown
    assert f"status: snoozed until {until:%Y-%m-%d %H:%M}" in shown  # the CLI's UTC
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "7")  # all: a snoozed conversation is not in "open"
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        events = [e for e in screen.timeline.entries if e.kind == "event" and e.author == "bob"]
        seen = [screen.timeline.get_option(entry_id(e)).prompt for e in events]
        plain = " | ".join(getattr(p, "plain", str(p)) for p in seen)
    for line in lines:
        assert line in plain, plain


# -- a new e-mail needs a subject ------------------------------------------------


async def test_a_switch_to_email_without_a_subject_is_refused_alike(
    app: OmniApp, seeded: Seeded
) -> None:
    services.set_status(seeded.store, ANN_EMAIL_CONV, "resolved", "alice")  # no open e-mail
    refused = cli(
        seeded, "reply", str(ANN_SMS_CONV), "--channel", "email", "--body", "By mail", code=2
    )
    said = refused.stderr.removeprefix("omnitui: error: ").strip()
    assert "a new e-mail needs a subject" in said
    assert outgoing(seeded) == []  # nothing queued
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_SMS_CONV)
        await press(pilot, "c")
        assert screen.composer.channel == "email" and screen.composer.subject_row.display
        await press(pilot, *"By mail", "ctrl+s")
        await settle(pilot)
        assert screen.composer.body.text == "By mail"  # kept
        toasts = [n.message for n in pilot.app._notifications]
    assert said in toasts, toasts  # the same words
    assert outgoing(seeded) == []
    cli(seeded, "reply", str(ANN_SMS_CONV), "--channel", "email", "--subject", "Hi", "--body", "x")
    (mail,) = outgoing(seeded)
    assert (mail.channel, mail.subject) == ("email", "Hi")


# -- the same retry ------------------------------------------------------------------


def _audited(seeded: Seeded, message_id: int) -> list[tuple[str, str]]:
    with seeded.store.read() as session:
        rows = session.execute(select(audit_t.c.actor, audit_t.c.action, audit_t.c.detail))
        return [(a, act) for a, act, d in rows if json.loads(d).get("message") == message_id]


def _failed_reply(seeded: Seeded, conversation_id: int) -> int:
    accounts = seeded.runtime.account_infos()
    mid = services.reply(seeded.store, accounts, conversation_id, "Hello", "alice")
    with seeded.store.write() as session:
        message = session.get(Message, mid)
        assert message is not None
        message.outbox_state, message.error = "failed", "refused"
        session.add(message)
    return mid


async def test_retry_in_the_customer_view_is_audited_as_in_the_cli(
    app: OmniApp, seeded: Seeded, monkeypatch: Any
) -> None:
    by_cli = _failed_reply(seeded, ANN_EMAIL_CONV)
    cli(seeded, "outbox", "retry", str(by_cli))
    assert _audited(seeded, by_cli) == [("alice", "outbox.retry")]
    in_console = _failed_reply(seeded, ANN_EMAIL_CONV)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        monkeypatch.setattr(app.desk, "deliver", lambda _id: None)  # not sent: only audited
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        assert screen.timeline.highlight_entry(f"m{in_console}")
        await press(pilot, "R")
        await settle(pilot)
    assert _audited(seeded, in_console) == [("alice", "outbox.retry")]


# -- the report's columns ----------------------------------------------------------


def _heads(stdout: str) -> list[list[str]]:
    rows = [line for line in stdout.splitlines() if line.startswith("┃")]
    return [[c.strip() for c in line.strip("┃").split("┃")] for line in rows]


def _cells(stdout: str, name: str) -> list[str]:
    (row,) = [line for line in stdout.splitlines() if line.startswith(f"│ {name} ")]
    return [c.strip() for c in row.strip("│").split("│")]


async def test_the_report_has_the_same_columns_in_both_faces(app: OmniApp, seeded: Seeded) -> None:
    from textual.widgets import DataTable, Static

    out = cli(seeded, "report", "--since", "5000d").stdout
    by_channel, by_agent = _heads(out)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "o")
        await settle(pilot)
        screen = pilot.app.screen
        shown = {}
        for kind in ("channel", "agent"):
            table = screen.query_one(f"#by-{kind}", DataTable)
            shown[kind] = [" ".join(str(c.label).split()) for c in table.columns.values()]
        email = [str(c) for c in screen.query_one("#by-channel", DataTable).get_row_at(0)]
        titles = " ".join(str(s.render()) for s in screen.query(Static))
    assert by_channel[:-1] == shown["channel"] and by_agent[:-1] == shown["agent"]
    assert by_channel[-1] == "waiting <1h/1-4h/4-24h/1-3d/>3d" and "Waiting for us" in titles
    assert "backlog" not in out.lower()
    assert _cells(out, "email")[: len(email)] == email  # the same figures, formatted alike


# -- one snooze parser --------------------------------------------------------------


def _snoozed_until(seeded: Seeded, conversation_id: int) -> str:
    from storage.models import Conversation

    with seeded.store.read() as session:
        conv = session.get(Conversation, conversation_id)
        assert conv is not None and conv.status == "snoozed" and conv.snoozed_until
        return f"{conv.snoozed_until:%Y-%m-%d %H:%M}"


async def test_the_cli_and_the_snooze_picker_read_times_alike(app: OmniApp, seeded: Seeded) -> None:
    from textual.widgets import Static

    from omnitui.tui.screens.pick import PickScreen
    from tests.tui.test_flows import BOB_CONV, FAY_CONV, goto_row

    typed = "2099-04-01 13:15"  # the console's zone is UTC here, as the CLI's
    cli(seeded, "conversations", "status", str(BOB_CONV), "snoozed", "--until", typed)
    assert _snoozed_until(seeded, BOB_CONV) == "2099-04-01 13:15"
    # the console's words work in the CLI too (the CLI took only ISO datetimes)
    cli(seeded, "conversations", "status", str(ANN_EMAIL_CONV), "snoozed", "--until", "tomorrow")
    assert _snoozed_until(seeded, ANN_EMAIL_CONV).endswith(" 09:00")
    refused = {}
    for text in ("someday", "2001-01-01 10:00"):
        args = ("conversations", "status", str(FAY_CONV), "snoozed", "--until", text)
        said = cli(seeded, *args, code=2).stderr.removeprefix("omnitui: error: ")
        refused[text] = said.removeprefix("--until: ").strip()
    assert "not a time" in refused["someday"]
    assert "not in the future" in refused["2001-01-01 10:00"]
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await goto_row(pilot, FAY_CONV)
        for text, why in refused.items():
            await press(pilot, "z", *text, "enter")
            await settle(pilot)
            picker = pilot.app.screen
            assert isinstance(picker, PickScreen)  # still asking, and saying why
            hint = str(picker.query_one("#pick-hint", Static).render())
            assert why in hint, (why, hint)  # the same words
            await press(pilot, "escape")
            await settle(pilot)
        await press(pilot, "z", *typed, "enter")
        await settle(pilot)
    assert _snoozed_until(seeded, FAY_CONV) == "2099-04-01 13:15"


# -- segments: SMS only -------------------------------------------------------------


async def test_segments_are_counted_for_sms_only_in_both_faces(
    app: OmniApp, seeded: Seeded
) -> None:
    from tests.tui.test_flows import BOB_CONV

    body = "Open on Sunday 10-16"
    doc = {
        channel: json.loads(cli(seeded, "reply", str(conv), "--body", body, "--json").stdout)
        for channel, conv in (("whatsapp", BOB_CONV), ("sms", ANN_SMS_CONV))
    }
    assert doc["whatsapp"]["channel"] == "whatsapp"
    assert (doc["whatsapp"]["segments"], doc["whatsapp"]["encoding"]) == (None, None)
    assert (doc["sms"]["segments"], doc["sms"]["encoding"]) == (1, "GSM-7")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        heads = {}
        for channel, conv in (("whatsapp", BOB_CONV), ("sms", ANN_SMS_CONV)):
            screen = await open_conversation(pilot, conv)
            await press(pilot, "r", *body)
            heads[channel] = str(screen.composer.head.render())
            await press(pilot, "escape", "escape")
            await settle(pilot)
    assert "GSM-7" not in heads["whatsapp"] and "GSM-7 · 1 segment" in heads["sms"]
