"""``conversations show --json`` gives the newest entry of the customer's
timeline; ``reply --if-latest ENTRY`` refuses (exit 3, what is newer as JSON
or one line) a reply written before something newer; without the flag the
CLI sends as before. Both engines."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from omnitui import services
from omnitui.services.ingest import ingest
from storage.db import Store
from storage.models import conversation_t, message_t
from tests.helpers import Run, as_json, batch, cli_runner, email, write_config

OURS = "support@demo.omnitui.invalid"
ANN1 = "<a1@mail.example.com>"


@pytest.fixture
def run(store: Store, db_url: str, tmp_path: Path) -> Run:
    return cli_runner(write_config(tmp_path), db_url)


def thread(store: Store) -> int:
    ingest(store, "demo", batch(email("a1", ours=OURS)))
    with store.read() as session:
        return int(session.execute(select(func.max(conversation_t.c.id))).scalar() or 0)


def later(store: Store, ext: str, body: str) -> None:
    mail = email(ext, minutes=30, body=body, in_reply_to=ANN1, references=(ANN1,), ours=OURS)
    ingest(store, "demo", batch(mail, cursor="c2"))


def outbound(store: Store) -> int:
    with store.read() as session:
        q = select(func.count()).select_from(message_t).where(message_t.c.direction == "out")
        return int(session.execute(q).scalar() or 0)


def test_show_gives_the_latest_entry_and_a_reply_if_latest_passes(store: Store, run: Run) -> None:
    conv = thread(store)
    shown = as_json(run("conversations", "show", str(conv), "--json"))
    assert shown["id"] == conv and shown["latest_entry"].startswith("message:")
    assert (
        f"latest entry: {shown['latest_entry']}" in run("conversations", "show", str(conv)).stdout
    )
    sent = as_json(
        run("reply", str(conv), "--if-latest", shown["latest_entry"], "--body", "Done", "--json")
    )
    assert sent["status"] == "sent" and outbound(store) == 1
    # our own reply is now the newest entry
    again = as_json(run("conversations", "show", str(conv), "--json"))
    assert again["latest_entry"] == f"message:{sent['id']}"


def test_a_reply_written_before_a_newer_message_is_refused_with_exit_3(
    store: Store, run: Run
) -> None:
    conv = thread(store)
    seen = as_json(run("conversations", "show", str(conv), "--json"))["latest_entry"]
    later(store, "a2", "Actually, cancel the order")
    note = services.add_note(store, "bob", "She phoned too", conversation_id=conv)
    refused = run("reply", str(conv), "--if-latest", seen, "--body", "Refunded!", "--json", code=3)
    doc = as_json(refused)
    assert doc["error"]["code"] == 3 and doc["error"]["kind"] == "stale"
    assert doc["seen"] == seen and doc["latest_entry"] == f"note:{note}"
    assert [(e["kind"], e["who"], e["preview"]) for e in doc["newer"]] == [
        ("message", "Ann Example", "Actually, cancel the order"),
        ("note", "bob", "She phoned too"),
    ]
    assert doc["newer"][1]["entry"] == f"note:{note}" and doc["newer"][0]["at"]
    assert outbound(store) == 0  # nothing queued
    # without --json: one line on stderr, nothing on stdout
    plain = run("reply", str(conv), "--if-latest", seen, "--body", "Refunded!", code=3)
    assert plain.stdout == ""
    (line,) = plain.stderr.strip().splitlines()
    assert "not sent: 2 newer entries" in line and f"--if-latest note:{note}" in line
    # with the newest entry it goes
    run("reply", str(conv), "--if-latest", f"note:{note}", "--body", "Refunded!")
    assert outbound(store) == 1


def test_piped_text_refused_as_stale_is_kept(store: Store, run: Run) -> None:
    conv = thread(store)
    seen = as_json(run("conversations", "show", str(conv), "--json"))["latest_entry"]
    later(store, "a2", "Hello?")
    refused = run("reply", str(conv), "--if-latest", seen, input="typed in a pipe\n", code=3)
    assert "your text is saved in" in refused.stderr and "--body-file" in refused.stderr


@pytest.mark.parametrize("entry", ["latest", "message", "message:abc", "note:0", "event:3", ""])
def test_a_malformed_entry_is_a_usage_error(store: Store, run: Run, entry: str) -> None:
    conv = thread(store)
    result = run("reply", str(conv), "--if-latest", entry, "--body", "Hi", "--json", code=2)
    assert as_json(result)["error"]["kind"] == "usage"
    assert outbound(store) == 0


def test_without_the_flag_the_reply_is_sent_as_before(store: Store, run: Run) -> None:
    conv = thread(store)
    later(store, "a2", "Newer")
    assert as_json(run("reply", str(conv), "--body", "Hi", "--json"))["status"] == "sent"


def test_show_of_an_unknown_conversation_is_not_found(store: Store, run: Run) -> None:
    assert as_json(run("conversations", "show", "999", "--json", code=1))["error"]["kind"] == (
        "not_found"
    )


@pytest.mark.parametrize("kind", ["message", "note"])
def test_an_entry_id_past_the_id_column_is_not_on_the_timeline(
    store: Store, run: Run, kind: str
) -> None:
    # 2**31 fits EntryId (any engine's bigint) but not PostgreSQL's integer
    # id column: a clear usage error, never a driver error (exit 70)
    conv = thread(store)
    for entry in (f"{kind}:2147483648", f"{kind}:9223372036854775807"):
        result = run("reply", str(conv), "--if-latest", entry, "--body", "Hi", "--json", code=2)
        doc = as_json(result)
        assert (
            doc["error"]["kind"] == "usage" and "is not on the timeline" in doc["error"]["message"]
        )
    assert outbound(store) == 0
