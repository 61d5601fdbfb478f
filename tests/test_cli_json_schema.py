"""Each command's --json document has one schema: the exact keys and the type
of each value, pinned here for every command that takes --json, on both
engines. The documents come from dataclasses through one serializer
(omnitui.cli.output.to_jsonable), so a new field in a row shows up here as a
new key: add it to the schema and to the README's list of key changes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperGroup as Group
from typer.testing import Result

from omnitui import services
from omnitui.cli import app
from omnitui.services.ingest import ingest
from providers.base import CHANNELS, InboundAttachment
from storage import queries
from storage.db import Store
from tests.helpers import Run, batch, cli_runner, email, write_config


@dataclass(frozen=True)
class Opt:
    """``spec``, or ``null``."""

    spec: Any


@dataclass(frozen=True)
class Map:
    """An object with any keys, each value of ``spec``."""

    spec: Any


@dataclass(frozen=True)
class OneOf:
    """A string from ``words``."""

    words: tuple[str, ...]


WHEN = "an ISO 8601 UTC time"
NUMBER = "a number"
_WHEN = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")

IDENTITY = {"channel": OneOf(CHANNELS), "address": str}
CUSTOMER = {
    "id": int,
    "name": str,
    "identities": [IDENTITY],
    "open_conversations": int,
    "last_message_at": Opt(WHEN),
    "merged_into_id": Opt(int),
}
CONVERSATION = {
    "id": int,
    "customer_id": int,
    "customer_name": str,
    "account": str,
    "channel": OneOf(CHANNELS),
    "subject": Opt(str),
    "preview": str,
    "status": OneOf(("open", "pending", "resolved", "snoozed")),
    "assignee": Opt(str),
    "last_message_at": WHEN,
    "waiting_since": Opt(WHEN),
    "message_count": int,
    "snoozed_until": Opt(WHEN),
    "version": int,
    "their_address": str,
    "unread": bool,
    "tags": [str],
    "customer_tags": [str],
}
ATTACHMENT = {
    "id": int,
    "message_id": int,
    "filename": str,
    "content_type": str,
    "size": int,
    "sha256": str,
}
TIMELINE_ENTRY = {
    "kind": OneOf(("message", "note")),
    "id": int,
    "conversation_id": Opt(int),
    "channel": Opt(OneOf(CHANNELS)),
    "direction": Opt(OneOf(("in", "out"))),
    "author": Opt(str),
    "subject": Opt(str),
    "body": str,
    "at": WHEN,
    "status": Opt(str),
    "error": Opt(str),
    "account": Opt(str),
    "from_address": Opt(str),
    "to_address": Opt(str),
    "attachments": [ATTACHMENT],
    "outbox_state": Opt(str),
    "delivery_state": Opt(str),
    "delivery_error": Opt(str),
    # an event's recorded change (the timeline here holds messages and notes only)
    "action": Opt(str),
    "detail": Opt(dict),
    "to_addresses": [str],
    "cc_addresses": [str],
    "bcc_addresses": [str],
    "forwarded_from_id": Opt(int),
    "forwards": [{"message_id": int, "to": str, "author": Opt(str), "at": WHEN}],
}
AUDIT = {
    "id": int,
    "at": WHEN,
    "actor": str,
    "action": str,
    "customer_id": Opt(int),
    "conversation_id": Opt(int),
    "detail": dict,
}
CUSTOMER_DETAIL = CUSTOMER | {
    "conversations": [CONVERSATION],
    "timeline": [TIMELINE_ENTRY],
    "audit": [AUDIT],
}
NOTE = {
    "id": int,
    "customer_id": int,
    "conversation_id": Opt(int),
    "author": str,
    "body": str,
    "created_at": WHEN,
}
SEARCH_HIT = {
    "kind": OneOf(("message", "note")),
    "id": int,
    "customer_id": int,
    "customer_name": str,
    "conversation_id": Opt(int),
    "channel": Opt(OneOf(CHANNELS)),
    "subject": Opt(str),
    "snippet": str,
    "at": WHEN,
}
OUTBOX_ROW = {
    "id": int,
    "conversation_id": int,
    "account": str,
    "channel": OneOf(CHANNELS),
    "to": str,
    "status": str,
    "error": Opt(str),
    "attempts": int,
    "queued_at": WHEN,
    "body": str,
    "next_attempt_at": Opt(WHEN),
    "customer_id": int,
    "customer_name": str,
    "subject": Opt(str),
    "author": Opt(str),
}
OUTGOING = {
    "id": int,
    "conversation_id": int,
    "customer_id": int,
    "account": str,
    "channel": OneOf(CHANNELS),
    "to": str,
    "status": str,
    "outbox_state": Opt(str),
    "delivery_state": Opt(str),
    "delivery_error": Opt(str),
    "external_id": Opt(str),
    "error": Opt(str),
    "attempts": int,
    "cc": [str],
    "bcc": [str],
    "forwarded_from_id": Opt(int),
    "deferred": Opt(str),
    "segments": Opt(int),
    "encoding": Opt(OneOf(("GSM-7", "UCS-2"))),
    "template": Opt({"name": str, "content_sid": str, "variables": Map(str)}),
    "files": [ATTACHMENT],
}
SYNC_ROUND = {
    "account": str,
    "ok": bool,
    "stored": int,
    "duplicates": int,
    "new_customers": int,
    "status_updates": int,
    "sent": int,
    "send_failed": int,
    "error": Opt(str),
    "held_by": Opt(str),
}
FIGURES = {
    "opened": int,
    "resolved": int,
    "messages_in": int,
    "messages_out": int,
    "failed_sends": int,
    "first_response_median_s": Opt(NUMBER),
    "first_response_p90_s": Opt(NUMBER),
    "resolution_median_s": Opt(NUMBER),
    "resolution_p90_s": Opt(NUMBER),
    "backlog": {"<1h": int, "1-4h": int, "4-24h": int, "1-3d": int, ">3d": int},
}
REPORT = {
    "since": WHEN,
    "now": WHEN,
    "clock": str,
    "by_channel": Map(FIGURES),
    "by_agent": Map(FIGURES),
}
DOCTOR = {
    "config": Opt(str),
    "agent": str,
    "database": {
        "url": str,
        "ok": bool,
        "error": Opt(str),
        "revision": Opt(str),
        "head": Opt(str),
        "engine": Opt(str),
    },
    "accounts": [
        {
            "name": str,
            "kind": str,
            "ok": bool,
            "error": Opt(str),
            "secrets": Map(str),
            "check": Opt(str),
            "last_success_at": Opt(WHEN),
            "last_error": Opt(str),
            "outbox": Map(int),
        }
    ],
    "ok": bool,
}
ERROR = {"error": {"message": str, "code": int, "kind": str}}

TAG_CHANGE = {
    "target": OneOf(("conversation", "customer")),
    "id": int,
    "added": [str],
    "removed": [str],
    "tags": [str],
}

#: every command that takes --json, and the schema of what it prints
MENTION = {
    "id": int,
    "agent": str,
    "note_id": int,
    "author": str,
    "customer_id": int,
    "customer_name": str,
    "conversation_id": Opt(int),
    "created_at": WHEN,
    "read_at": Opt(WHEN),
    "preview": str,
}
AGENT_STATE = {"agent": str, "away": bool, "away_since": Opt(WHEN)}

SCHEMAS: dict[str, Any] = {
    "init": {"path": str},
    "doctor": DOCTOR,
    "db upgrade": {"url": str, "from": Opt(str), "to": str},
    "sync": [SYNC_ROUND],
    "send": OUTGOING,
    "reply": OUTGOING,
    "outbox list": [OUTBOX_ROW],
    "outbox retry": OUTGOING,
    "outbox edit": OUTGOING,
    "outbox readdress": OUTGOING,
    "outbox discard": OUTGOING,
    "customers list": [CUSTOMER],
    "customers show": CUSTOMER_DETAIL,
    "customers merge": CUSTOMER,
    "conversations list": [CONVERSATION],
    "conversations show": {
        **CONVERSATION,
        "latest_entry": Opt(str),
        "whatsapp_window": Opt({"open": bool, "until": Opt(WHEN), "last_inbound_at": Opt(WHEN)}),
        "timeline": [TIMELINE_ENTRY],
    },
    "forward": OUTGOING,
    "conversations assign": CONVERSATION,
    "conversations status": CONVERSATION,
    "notes add": NOTE,
    "search": [SEARCH_HIT],
    "attachments save": {"id": int, "path": str, "size": int},
    "report": REPORT,
    "mentions": [MENTION],
    "mentions read": {"agent": str, "read": [int]},
    "agent away": AGENT_STATE,
    "agent back": AGENT_STATE,
    "agent status": AGENT_STATE,
    "conversations bulk": {
        "dry_run": bool,
        "counts": Map(int),
        "results": [
            {
                "conversation_id": int,
                "outcome": OneOf(
                    ("changed", "unchanged", "would_change", "conflict", "not_found", "failed")
                ),
                "changes": [str],
                "detail": Opt(str),
            }
        ],
    },
    "tags add": TAG_CHANGE,
    "tags rm": TAG_CHANGE,
    "tags list": [{"tag": str, "conversations": int, "customers": int}],
    "views": [
        {
            "name": str,
            "key": Opt(str),
            "query": str,
            "sort": OneOf(("activity", "waiting", "created")),
            "builtin": bool,
            "count": Opt(int),
            "problem": Opt(str),
        }
    ],
}


def mismatches(value: Any, spec: Any, where: str = "$") -> list[str]:
    """How ``value`` differs from ``spec`` (empty when it fits)."""
    if isinstance(spec, Opt):
        return [] if value is None else mismatches(value, spec.spec, where)
    if isinstance(spec, OneOf):
        return [] if value in spec.words else [f"{where}: {value!r} is not one of {spec.words}"]
    if spec is WHEN:
        fits = isinstance(value, str) and _WHEN.fullmatch(value) is not None
        return [] if fits else [f"{where}: {value!r} is not {WHEN}"]
    if spec is NUMBER:
        fits = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if fits else [f"{where}: {value!r} is not {NUMBER}"]
    if isinstance(spec, list):
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not a list"]
        return [
            m for n, item in enumerate(value) for m in mismatches(item, spec[0], f"{where}[{n}]")
        ]
    if isinstance(spec, Map):
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not an object"]
        return [m for k, v in value.items() for m in mismatches(v, spec.spec, f"{where}.{k}")]
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not an object"]
        found = []
        if set(value) != set(spec):
            extra, missing = sorted(set(value) - set(spec)), sorted(set(spec) - set(value))
            found.append(f"{where}: keys differ: extra {extra}, missing {missing}")
        for key in [k for k in spec if k in value]:
            found += mismatches(value[key], spec[key], f"{where}.{key}")
        return found
    if spec is int and isinstance(value, bool):
        return [f"{where}: {value!r} is a bool, not an int"]
    return [] if isinstance(value, spec) else [f"{where}: {value!r} is not {spec.__name__}"]


def test_the_checker_finds_an_extra_key_a_missing_one_and_a_wrong_type() -> None:
    spec = {"id": int, "at": WHEN, "who": Opt(str)}
    assert mismatches({"id": 1, "at": "2024-01-02T03:04:05Z", "who": None}, spec) == []
    found = mismatches({"id": True, "at": "yesterday", "extra": 1}, spec)
    assert found == [
        "$: keys differ: extra ['extra'], missing ['who']",
        "$.id: True is a bool, not an int",
        "$.at: 'yesterday' is not an ISO 8601 UTC time",
    ]


def json_commands(group: Group, prefix: str = "") -> set[str]:
    """The commands of ``group`` that take --json, as ``"outbox list"``."""
    found = set()
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, Group):
            found |= json_commands(command, f"{path} ")
            if any("--json" in getattr(p, "opts", ()) for p in command.params):
                found.add(path)  # a group that lists when given no command (mentions)
        elif any("--json" in getattr(p, "opts", ()) for p in command.params):
            found.add(path)
    return found


def test_every_command_that_takes_json_has_a_pinned_schema() -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, Group)
    assert json_commands(root) == set(SCHEMAS)


PDF = b"%PDF-1.4 a tiny invoice"


@pytest.fixture
def run(store: Store, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setenv("OMNITUI_DATA_DIR", str(store.data_dir))  # the attachments' bytes
    cli = cli_runner(write_config(tmp_path), db_url)

    def invoke(*args: str, code: int = 0) -> Result:
        return cli(*args, "--json", code=code)

    return invoke


def test_each_command_prints_the_document_of_its_schema(
    store: Store, run: Run, tmp_path: Path
) -> None:
    ingest(
        store,
        "shop",
        batch(email("m1", attachments=(InboundAttachment("invoice.pdf", "application/pdf", PDF),))),
    )
    with store.read() as s:
        (ann,) = queries.list_customers(s)
        (attachment,) = queries.timeline(s, ann.id)[0].attachments
        (thread,) = queries.list_conversations(s, view="all")
    docs: dict[str, Any] = {}

    def doc(command: str, *args: str, code: int = 0) -> Any:
        value = json.loads(run(*command.split(), *args, code=code).stdout)
        docs[command] = value
        return value

    doc("init", "--path", str(tmp_path / "new.toml"))
    doc("db upgrade")
    doc("sync", "--once")
    doc("doctor")
    doc("conversations assign", str(thread.id), "me")
    doc("conversations status", str(thread.id), "pending")
    doc("conversations show", str(thread.id))
    doc("notes add", "--conversation", str(thread.id), "--body", "Zebracorn escalation")
    doc("search", "zebracorn")
    demo_thread = next(
        c for c in doc("conversations list", "--status", "all") if c["account"] == "demo"
    )
    doc("reply", str(demo_thread["id"]), "--body", "Your refund is on its way.")
    whatsapp = next(
        c for c in doc("conversations list", "--status", "all") if c["channel"] == "whatsapp"
    )
    assert doc("conversations show", str(whatsapp["id"]))["whatsapp_window"]["until"]
    sms = doc("send", "--channel", "sms", "--to", "+14155550100", "--body", "Hi!")
    assert (sms["segments"], sms["encoding"]) == (1, "GSM-7")
    failed = doc(
        "send", "--channel", "email", "--to", "will.fail@example.com", "--subject", "Hi",
        "--body", "x", code=1,
    )  # fmt: skip
    assert (failed["status"], failed["segments"], failed["encoding"]) == ("failed", None, None)
    doc("outbox list")
    doc("outbox retry", str(failed["id"]), code=1)
    doc("outbox edit", str(failed["id"]), "--body", "y", code=1)
    doc("outbox readdress", str(failed["id"]), "--to", "ok@example.com")
    other = doc(
        "send", "--channel", "email", "--to", "also.fail@example.com", "--subject", "Hi",
        "--body", "x", code=1,
    )  # fmt: skip
    assert doc("outbox discard", str(other["id"]))["status"] == "discarded"
    doc("conversations list", "--status", "all")
    doc("customers list")
    shown = doc("customers show", str(ann.id))
    assert shown["audit"] and any(e["attachments"] for e in shown["timeline"])
    assert {e["kind"] for e in shown["timeline"]} == {"message", "note"}
    doc("attachments save", str(attachment.id), "--to", str(tmp_path))
    fwd = doc("forward", str(shown["timeline"][0]["id"]), "--to", "ops@example.org")
    assert fwd["forwarded_from_id"] == shown["timeline"][0]["id"]
    assert doc("conversations show", str(thread.id))["timeline"]
    doc("report")
    doc("views")
    doc("tags add", "--conversation", str(thread.id), "billing", "vip")
    doc("tags rm", "--conversation", str(thread.id), "vip")
    doc("tags list")
    doc("conversations bulk", str(thread.id), "--tag", "triaged")
    sms_customer = sms["customer_id"]
    doc("customers merge", str(ann.id), str(sms_customer))
    services.add_note(store, "bob", "@alice please look", conversation_id=thread.id)
    (mention,) = doc("mentions")
    doc("mentions read", str(mention["id"]))
    assert doc("agent away")["away"] and doc("agent status")["away_since"]
    doc("agent back")

    assert set(docs) == set(SCHEMAS)
    # an empty list or object checks nothing of its items: the scenario fills each
    assert all(docs[c] for c, spec in SCHEMAS.items() if isinstance(spec, list))
    assert docs["doctor"]["accounts"] and docs["customers list"][0]["identities"]
    assert docs["report"]["by_channel"] and docs["report"]["by_agent"]
    found = {command: mismatches(docs[command], SCHEMAS[command]) for command in SCHEMAS}
    assert {command: problems for command, problems in found.items() if problems} == {}


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("customers", "show", "999"), 1),
        (("outbox", "retry", "999"), 1),
        (("report", "--channel", "fax"), 2),  # found by the parser, before the command runs
    ],
)
def test_a_failed_command_prints_the_error_document(
    run: Run, args: tuple[str, ...], code: int
) -> None:
    assert mismatches(json.loads(run(*args, code=code).stdout), ERROR) == []


def test_doctor_prints_its_schema_when_a_secret_cannot_be_read(db_url: str, tmp_path: Path) -> None:
    tg = '[[accounts]]\nname = "tg"\nkind = "telegram"\nbot_token_env = "NO_SUCH_TOKEN"\n'
    result = cli_runner(write_config(tmp_path, tg), db_url)("doctor", "--json", code=1)
    report = json.loads(result.stdout)
    assert mismatches(report, DOCTOR) == []
    (account,) = report["accounts"]
    assert (account["ok"], account["secrets"], account["check"]) == (False, {}, None)


def test_doctor_prints_its_schema_when_the_store_cannot_be_opened(tmp_path: Path) -> None:
    # SQLite only: a PostgreSQL URL cannot point at a file that is not a database
    junk = tmp_path / "notes.txt"
    junk.write_bytes(b"shopping list: milk, eggs\n" * 200)
    result = cli_runner(write_config(tmp_path), f"sqlite:///{junk}")("doctor", "--json", code=1)
    report = json.loads(result.stdout)
    assert mismatches(report, DOCTOR) == []
    assert (report["database"]["ok"], report["database"]["revision"]) == (False, None)
    assert report["accounts"][0]["last_success_at"] is None
