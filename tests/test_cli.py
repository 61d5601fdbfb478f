"""The CLI for scripts: --json shapes, exit codes, errors on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import DEMO_CONFIG, Run, as_json, cli_runner, write_config

CONVERSATION_KEYS = {
    "id",
    "customer_id",
    "account",
    "channel",
    "subject",
    "status",
    "assignee",
    "last_message_at",
    "message_count",
}
CUSTOMER_KEYS = {"id", "name", "identities", "open_conversations", "last_message_at"}
TIMELINE_KEYS = {
    "kind",
    "id",
    "conversation_id",
    "channel",
    "direction",
    "author",
    "subject",
    "body",
    "at",
    "status",
}
OUTBOX_KEYS = {"id", "conversation_id", "channel", "to", "status", "error", "attempts"}


@pytest.fixture
def cli(tmp_path: Path, db_url: str) -> Run:
    return cli_runner(write_config(tmp_path), db_url)


def synced(cli: Run) -> list[dict[str, Any]]:
    reports = as_json(cli("sync", "--once", "--json"))
    assert reports[0]["ok"] and reports[0]["stored"] > 20
    listed: list[dict[str, Any]] = as_json(
        cli("conversations", "list", "--status", "all", "--json")
    )
    return listed


def test_sync_then_lists_have_stable_keys(cli: Any) -> None:
    convs = synced(cli)
    assert convs and set(convs[0]) >= CONVERSATION_KEYS
    again = as_json(cli("sync", "--once", "--json"))
    assert again[0]["duplicates"] == 0 or again[0]["stored"] >= 0
    customers = as_json(cli("customers", "list", "--json"))
    assert set(customers[0]) >= CUSTOMER_KEYS
    assert {"channel", "address"} == set(customers[0]["identities"][0])
    shown = as_json(cli("customers", "show", str(convs[0]["customer_id"]), "--json"))
    assert set(shown) >= CUSTOMER_KEYS and shown["timeline"]
    assert set(shown["timeline"][0]) >= TIMELINE_KEYS


def test_notes_search_and_merge(cli: Any) -> None:
    convs = synced(cli)
    conv = convs[0]
    note = as_json(
        cli(
            "notes",
            "add",
            "--conversation",
            str(conv["id"]),
            "--body",
            "Zebracorn escalation",
            "--json",
        )
    )
    hits = as_json(cli("search", "zebracorn", "--json"))
    assert [(h["kind"], h["id"]) for h in hits] == [("note", note["id"])]
    shown = as_json(cli("customers", "show", str(conv["customer_id"]), "--json"))
    assert any(
        e["kind"] == "note" and e["body"] == "Zebracorn escalation" for e in shown["timeline"]
    )
    others = [c for c in convs if c["customer_id"] != conv["customer_id"]]
    merged = as_json(
        cli("customers", "merge", str(conv["customer_id"]), str(others[0]["customer_id"]), "--json")
    )
    assert merged["id"] == conv["customer_id"]
    cli("customers", "merge", str(conv["customer_id"]), str(others[0]["customer_id"]), code=1)


def test_send_delivers_and_normalizes(cli: Any) -> None:
    sent = as_json(
        cli("send", "--channel", "sms", "--to", "+1 (415) 555-0100", "--body", "Hi!", "--json")
    )
    assert sent["status"] == "sent" and sent["to"] == "+14155550100" and sent["external_id"]
    assert (sent["segments"], sent["encoding"]) == (1, "GSM-7")
    assert as_json(cli("outbox", "list", "--json")) == []


def test_failed_send_exits_nonzero_and_stays_in_the_outbox(cli: Any) -> None:
    result = cli(
        "send",
        "--channel",
        "email",
        "--to",
        "will.fail@example.com",
        "--subject",
        "Hi",
        "--body",
        "Text I typed",
        code=1,
    )
    assert "failed" in result.stderr and "outbox retry" in result.stderr
    waiting = as_json(cli("outbox", "list", "--json"))
    assert len(waiting) == 1 and set(waiting[0]) >= OUTBOX_KEYS
    assert (waiting[0]["status"], waiting[0]["attempts"]) == ("failed", 1)
    retried = as_json(cli("outbox", "retry", str(waiting[0]["id"]), "--json", code=1))
    assert (retried["status"], retried["attempts"]) == ("failed", 2)


def test_reply_reads_stdin(cli: Any) -> None:
    conv = synced(cli)[0]
    out = as_json(cli("reply", str(conv["id"]), "--json", input="Thanks for waiting.\n"))
    assert out["status"] == "sent" and out["conversation_id"] == conv["id"]


def test_assign_and_status(cli: Any) -> None:
    conv = synced(cli)[0]
    assigned = as_json(cli("conversations", "assign", str(conv["id"]), "me", "--json"))
    assert assigned["assignee"] == "alice"
    mine = as_json(cli("conversations", "list", "--assignee", "alice", "--status", "all", "--json"))
    assert conv["id"] in [c["id"] for c in mine]
    resolved = as_json(cli("conversations", "status", str(conv["id"]), "resolved", "--json"))
    assert resolved["status"] == "resolved"
    cli("conversations", "status", str(conv["id"]), "closed", code=2)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ("send", "--channel", "sms", "--to", "+1 555", "--body", "x"),
            2,
            "not a valid phone number",
        ),
        (("send", "--channel", "sms", "--body", "x"), 2, "--to ADDRESS or --customer ID"),
        (("reply", "999", "--body", "x"), 1, "no conversation 999"),
        (("customers", "show", "999"), 1, "no customer 999"),
        (("outbox", "retry", "999"), 1, "no outgoing message 999"),
        (("conversations", "list", "--status", "bogus"), 2, "unknown status"),
        (("send", "--channel", "fax", "--to", "1", "--body", "x"), 2, "unknown channel 'fax'"),
        (
            ("send", "--channel", "sms", "--to", "+14155550100", "--account", "no", "--body", "x"),
            2,
            "no account named 'no'",
        ),
        (("send", "--channel", "email", "--to", "a@b.org", "--body", "x"), 2, "needs a subject"),
        (
            ("send", "--channel", "email", "--to", "a@b.org", "--subject", "\r\n", "--body", "x"),
            2,
            "needs a subject",
        ),
        (("send", "--channel", "sms", "--to", "+14155550100", "--body", " "), 2, "is empty"),
        (("send", "--channel", "sms", "--to", "+14155550100", "--body", "a\x00"), 2, "NUL"),
        (("reply", "1", "--channel", "fax", "--body", "x"), 2, "unknown channel 'fax'"),
        (("report", "--channel", "fax"), 2, "unknown channel 'fax'"),
        (("report", "--since", "99999999999999d"), 2, "reaches back too far"),
        (("report", "--since", "999999999w"), 2, "reaches back too far"),
        (("report", "--since", "\u00b2d"), 2, "write a number and a unit"),
        (("conversations", "status", "1", "closed"), 2, "unknown status 'closed'"),
        (
            ("conversations", "status", "1", "snoozed", "--until", "2001-01-01"),
            2,
            "not in the future",
        ),
        (("conversations", "status", "1", "snoozed"), 2, "needs a time"),
        (("conversations", "status", "1", "open", "--until", "2999-01-01"), 2, "snoozed only"),
        (("customers", "merge", "1", "1"), 2, "into itself"),
        (("notes", "add", "--customer", "1", "--body", ""), 2, "is empty"),
        (("customers", "show"), 2, "Missing argument"),
        (("customers", "list", "--limit", "0"), 2, "--limit"),
        (("outbox", "retry", "one"), 2, "valid integer"),
    ],
)
def test_errors_are_one_clear_line_on_stderr(
    cli: Any, args: tuple[str, ...], code: int, message: str
) -> None:
    result = cli(*args, code=code)
    assert message in result.stderr
    assert result.stdout == ""


#: Past every engine's id column (SQLite's driver: 64 bits; PostgreSQL's integer: 32).
HUGE_IDS = ["99999999999999999999999", "9223372036854775808", "3000000000"]


@pytest.mark.parametrize("big", HUGE_IDS)
@pytest.mark.parametrize(
    ("args", "noun"),
    [
        (("customers", "show", "{id}"), "customer"),
        (("customers", "merge", "{id}", "1"), "customer"),
        (("conversations", "assign", "{id}", "me"), "conversation"),
        (("conversations", "status", "{id}", "resolved"), "conversation"),
        (("reply", "{id}", "--body", "x"), "conversation"),
        (("notes", "add", "--conversation", "{id}", "--body", "x"), "conversation"),
        (("notes", "add", "--customer", "{id}", "--body", "x"), "customer"),
        (("send", "--channel", "sms", "--customer", "{id}", "--body", "x"), "customer"),
        (("attachments", "save", "{id}"), "attachment"),
        (("outbox", "retry", "{id}"), "outgoing message"),
    ],
    ids=lambda v: " ".join(v[:2]) if isinstance(v, tuple) else v,
)
def test_an_id_beyond_64_bits_is_not_found(
    cli: Any, args: tuple[str, ...], noun: str, big: str
) -> None:
    cli("notes", "add", "--customer", "1", "--body", "x", code=1)  # an empty store
    result = cli(*(a.format(id=big) for a in args), code=1)
    assert result.stderr.strip() == f"omnitui: error: there is no {noun} {big}"
    assert result.stdout == ""


def test_a_body_too_long_for_sms_is_refused_and_nothing_is_queued(cli: Any) -> None:
    result = cli("send", "--channel", "sms", "--to", "+14155550100", input="x" * 200_000, code=2)
    assert "too long for sms: 200,000 characters, at most 1,600" in result.stderr
    assert as_json(cli("outbox", "list", "--all", "--json")) == []


def test_search_takes_its_query_literally(cli: Any) -> None:
    conv = synced(cli)[0]
    cli("notes", "add", "--conversation", str(conv["id"]), "--body", "Zebracorn [x] note")
    for query in ("[/] zebracorn", "zebracorn [x]", '"zebracorn', "zebracorn*", "(zebracorn"):
        hits = as_json(cli("search", query, "--json"))
        assert [(h["kind"], h["snippet"]) for h in hits] == [("note", "Zebracorn [x] note")]
        assert f"Search: {query}" in cli("search", query).stdout  # the title, as typed


def test_db_upgrade_and_doctor(cli: Any) -> None:
    upgraded = as_json(cli("db", "upgrade", "--json"))
    assert upgraded["to"] == upgraded["from"] or upgraded["from"] is None
    report = as_json(cli("doctor", "--json"))
    assert report["ok"] and report["database"]["ok"]
    assert [a["name"] for a in report["accounts"]] == ["demo"]


def test_broken_config_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[accounts]]\nname = "x"\nkind = "carrier-pigeon"\n', encoding="utf-8")
    env = {**os.environ, "OMNITUI_DATA_DIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "omnitui.cli", "--config", str(bad), "conversations", "list"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2
    assert "carrier-pigeon" in proc.stderr and "bad.toml" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_report_json_and_bad_period(cli: Any, tmp_path: Path) -> None:
    synced(cli)
    doc = as_json(cli("report", "--since", "30d", "--json"))
    assert set(doc) == {"since", "now", "clock", "by_channel", "by_agent"}
    assert doc["clock"] == "wall"
    assert {
        "opened",
        "resolved",
        "messages_in",
        "messages_out",
        "first_response_median_s",
        "first_response_p90_s",
        "resolution_median_s",
        "resolution_p90_s",
        "backlog",
        "failed_sends",
    } <= set(doc["by_channel"]["email"])
    assert "7d, 24h" in cli("report", "--since", "soon", code=2).stderr
    config = tmp_path / "config.toml"
    hours = '[reports]\nbusiness_hours = "Mon-Fri 09:00-17:00"\ntimezone = "Europe/Berlin"\n'
    config.write_text(DEMO_CONFIG + hours, encoding="utf-8")
    clock = "business hours Mon-Fri 09:00-17:00 Europe/Berlin"
    assert as_json(cli("report", "--json"))["clock"] == clock
    assert f"Response and resolution times: {clock}" in cli("report").stdout


def test_a_snooze_past_its_time_lists_as_open(cli: Any, db_url: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from storage.db import open_store
    from storage.models import conversation_t

    conv = synced(cli)[0]
    until = (datetime.now(UTC) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
    cli("conversations", "status", str(conv["id"]), "snoozed", "--until", until)
    snoozed = as_json(cli("conversations", "list", "--status", "snoozed", "--json"))
    assert [c["id"] for c in snoozed] == [conv["id"]]
    # 90 s later (no poller, no console ran meanwhile): the minute has passed
    store = open_store(db_url, tmp_path / "data")
    try:
        with store.write() as session:
            session.execute(
                update(conversation_t)
                .where(conversation_t.c.id == conv["id"])
                .values(snoozed_until=datetime.now(UTC) - timedelta(seconds=30))
            )
    finally:
        store.close()
    assert as_json(cli("conversations", "list", "--status", "snoozed", "--json")) == []
    listed = as_json(cli("conversations", "list", "--status", "open", "--json"))
    assert conv["id"] in [c["id"] for c in listed]
