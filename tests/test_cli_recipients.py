"""`reply --all/--cc/--bcc`, `send --cc/--bcc`, `forward` and `conversations
show` on the command line, with their refusals, on both engines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from omnitui.services.ingest import ingest
from providers.demo import OUR_EMAIL
from providers.email_parse import parse_message
from storage.db import Store
from storage.models import Conversation, Message, message_t
from tests.helpers import Run, as_json, batch, cli_runner, message, sms, write_config


def mail(n: int, *headers: str, body: str = "Hello there") -> bytes:
    head = [
        "From: Ann Example <ann@example.com>",
        f"Message-ID: <c{n}@example.com>",
        "Subject: Order help",
        "Date: Mon, 02 Mar 2026 09:00:00 +0000",
        *headers,
    ]
    return ("\r\n".join(head) + "\r\n\r\n" + body + "\r\n").encode()


@pytest.fixture
def cli(store: Store, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setenv("OMNITUI_DATA_DIR", str(store.data_dir))
    return cli_runner(write_config(tmp_path), db_url)


def thread(store: Store, *headers: str) -> Message:
    """A mail to the demo account's address, stored; returns it."""
    raw = mail(1, f"To: Support <{OUR_EMAIL}>, Bo <bo@example.com>", *headers)
    ingest(store, "demo", batch(parse_message(raw, account_key="demo").message))
    with store.read() as s:
        stored: Message = s.execute(select(Message)).scalars().one()
    return stored


def test_reply_all_with_cc_and_bcc(store: Store, cli: Run) -> None:
    got = thread(store, "Cc: carl@example.com, Carl <CARL@example.com>")
    doc = as_json(
        cli(
            "reply", str(got.conversation_id), "--all", "--cc", "Dee <dee@example.com>",
            "--bcc", "boss@example.org", "--bcc", "BOSS@example.org", "--body", "Done.", "--json",
        )
    )  # fmt: skip
    assert doc["to"] == "ann@example.com" and doc["status"] == "sent"
    assert doc["cc"] == ["bo@example.com", "carl@example.com", "dee@example.com"]
    assert doc["bcc"] == ["boss@example.org"]
    stored = message(store, doc["id"])
    assert json.loads(stored.bcc_addresses or "") == ["boss@example.org"]


def test_plain_reply_has_no_cc_and_cc_adds_one(store: Store, cli: Run) -> None:
    got = thread(store, "Cc: carl@example.com")
    doc = as_json(cli("reply", str(got.conversation_id), "--body", "Hi", "--json"))
    assert (doc["to"], doc["cc"], doc["bcc"]) == ("ann@example.com", [], [])
    doc = as_json(
        cli("reply", str(got.conversation_id), "--cc", "x@example.org", "--body", "Hi", "--json")
    )
    assert doc["cc"] == ["x@example.org"]


def test_send_with_cc_and_bcc(cli: Run) -> None:
    doc = as_json(
        cli(
            "send", "--channel", "email", "--to", "new@example.com", "--subject", "Hello",
            "--cc", "a@example.com,b@example.com", "--bcc", "c@example.com",
            "--body", "Hi", "--json",
        )
    )  # fmt: skip
    assert doc["cc"] == ["a@example.com", "b@example.com"] and doc["bcc"] == ["c@example.com"]


@pytest.mark.parametrize(
    "bad",
    ["not-an-address", "ann@example.com\nBcc: evil@example.com", "\x1b[2J@example.com", "a@b"],
)
def test_a_bad_address_exits_2_naming_it_and_queues_nothing(
    store: Store, cli: Run, bad: str
) -> None:
    got = thread(store)
    for args in (
        ("reply", str(got.conversation_id), "--cc", bad),
        ("reply", str(got.conversation_id), "--bcc", bad),
        ("send", "--channel", "email", "--to", "n@example.com", "--subject", "S", "--cc", bad),
        ("forward", str(got.id), "--to", bad),
    ):
        result = cli(*args, "--body", "Hi", code=2)
        assert "address" in result.stderr and "\x1b" not in result.stderr
        assert "\nBcc" not in result.stderr
    with store.read() as s:
        assert s.execute(select(Message).where(message_t.c.direction == "out")).first() is None


def test_cc_on_sms_is_refused(store: Store, cli: Run) -> None:
    ingest(store, "demo", batch(sms("SM1", ours="+14155550199")))
    with store.read() as s:
        conv = s.execute(select(Conversation)).scalars().one()
    result = cli("reply", str(conv.id), "--cc", "bo@example.com", "--body", "Hi", code=2)
    assert "e-mail only" in result.stderr
    result = cli("reply", str(conv.id), "--all", "--body", "Hi", code=2)
    assert "reply-all is for e-mail" in result.stderr
    result = cli(
        "send", "--channel", "sms", "--to", "+14155550100", "--bcc", "b@example.com",
        "--body", "Hi", "--json", code=2,
    )  # fmt: skip
    assert "e-mail only" in as_json(result)["error"]["message"]


def test_forward_with_a_cover_note_from_stdin_and_the_link_back(store: Store, cli: Run) -> None:
    got = thread(store, "Cc: carl@example.com")
    doc = as_json(
        cli("forward", str(got.id), "--to", "ops@example.org", "--cc", "lead@example.org",
            "--json", input="FYI, see below.\n")
    )  # fmt: skip
    assert doc["to"] == "ops@example.org" and doc["cc"] == ["lead@example.org"]
    assert doc["forwarded_from_id"] == got.id and doc["status"] == "sent"
    sent = message(store, doc["id"])
    assert sent.body_text.startswith("FYI, see below.\n\n---------- Forwarded message ----------")
    assert "Cc: carl@example.com" in sent.body_text and sent.subject == "Fwd: Order help"
    shown = as_json(cli("customers", "show", str(got.customer_id), "--json"))
    [entry] = [e for e in shown["timeline"] if e["id"] == got.id]
    assert [(f["to"], f["author"]) for f in entry["forwards"]] == [("ops@example.org", "alice")]
    text = cli("customers", "show", str(got.customer_id), columns=400).stdout
    assert "forwarded to ops@example.org by alice" in text
    text = cli("conversations", "show", str(got.conversation_id), columns=80).stdout
    assert f"To: {OUR_EMAIL}, bo@example.com  Cc: carl@example.com" in text
    assert "forwarded to ops@example.org by alice" in text


def test_forward_refusals(cli: Run) -> None:
    assert "no message 999" in cli("forward", "999", "--to", "a@example.com", code=1).stderr
    for beyond in ("99999999999999999999", "9223372036854775808", "0"):
        result = cli("forward", beyond, "--to", "a@example.com", "--json", code=1)
        assert as_json(result)["error"]["kind"] == "not_found"
        result = cli("reply", beyond, "--all", "--body", "Hi", "--json", code=1)
        assert as_json(result)["error"]["kind"] == "not_found"
    assert "Missing option '--to'" in cli("forward", "1", code=2).stderr
    assert "No such option: -1" in cli("forward", "-1", "--to", "a@example.com", code=2).stderr


def test_conversations_show_lists_to_and_cc_and_bcc_only_for_its_author(
    store: Store, cli: Run, tmp_path: Path
) -> None:
    got = thread(store, "Cc: carl@example.com")
    cli("reply", str(got.conversation_id), "--all", "--bcc", "boss@example.org", "--body", "Ok")
    doc = as_json(cli("conversations", "show", str(got.conversation_id), "--json"))
    assert doc["id"] == got.conversation_id and doc["latest_entry"]
    first, reply = doc["timeline"]
    assert first["to_addresses"] == [OUR_EMAIL, "bo@example.com"]
    assert first["cc_addresses"] == ["carl@example.com"]
    assert reply["cc_addresses"] == ["bo@example.com", "carl@example.com"]
    assert reply["bcc_addresses"] == ["boss@example.org"]  # alice wrote it
    text = cli("conversations", "show", str(got.conversation_id), columns=400).stdout
    assert "Bcc: boss@example.org" in text
    bob = write_config(tmp_path, '[agent]\nname = "bob"\n', name="bob.toml")
    doc = as_json(
        cli("--config", str(bob), "conversations", "show", str(got.conversation_id), "--json")
    )
    assert "boss@example.org" not in json.dumps(doc)
    assert cli("conversations", "show", "424242", code=1).stderr


@pytest.mark.parametrize(
    "to",
    [
        "ann@example.com,bob@example.com",
        "ann@example.com; bob@example.com",
        "ann@example.com\r\nBcc: evil@example.com",
    ],
)
def test_send_to_two_addresses_is_refused_not_half_sent(cli: Run, to: str) -> None:
    """``--to a,b`` sent to a alone and said "sent": b never heard of it. One
    To, as a reply's: the others go in --cc; nothing is queued."""
    result = cli("send", "--channel", "email", "--to", to, "--subject", "Hi", "--body", "x", code=2)
    assert "nothing was queued" in result.stderr and result.stderr.count("\n") == 1
    assert "\x1b" not in result.stderr
    assert cli("outbox", "list", "--json").stdout.count('"id"') == 0
