"""Stored text reaches a terminal as text: the CLI's tables and lines show it
literally (no markup, no emoji codes, no escapes, no invisible characters),
and ``--json`` keeps it whole but escapes what a terminal would act on."""

from __future__ import annotations

import json
import re
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from omnitui.cli.output import dumps
from omnitui.services.ingest import ingest
from omnitui.text import INVISIBLE, clean_text
from tests.helpers import batch, cli_runner, email, opened, write_config

ZERO_WIDTH = "pa\u200by\u200cp\u200da\u2060l\ufeff\u00ad\u061c"
BIDI = "\u202etxt.exe\u202c \u2066iso\u2069 \u200emark\u200f \u202a\u202b\u202d"
HOSTILE = f":skull: [bold]x[/] [/] \x1b[31mred\x1b[0m \x9b2J{ZERO_WIDTH} {BIDI} \x1b]0;title\x07"
SUBJECT = f"Subject :skull: [red]s[/red] \x9b31m{ZERO_WIDTH}"
BODY = f"zebracorn :skull: [bold]b[/] \x1b[2J \u202eevil {ZERO_WIDTH}"

#: What no terminal may be sent raw: C0 (but newline), DEL, C1, invisible and bidi format chars.
UNSAFE = re.compile(f"[\\x00-\\x09\\x0b-\\x1f\\x7f-\\x9f{INVISIBLE}]")


@pytest.fixture
def cli(tmp_path: Path, db_url: str) -> Any:
    hostile = email("h1", "mallory@example.com", name=HOSTILE, subject=SUBJECT, body=BODY)
    with opened(db_url, tmp_path / "data") as store:
        ingest(store, "demo", batch(hostile))
    run = cli_runner(write_config(tmp_path), db_url)
    return partial(run, columns=400)


def _customer_id(cli: Any) -> str:
    rows = json.loads(cli("customers", "list", "--json").stdout)
    return str(rows[0]["id"])


COMMANDS = [
    ("customers", "list"),
    ("customers", "show", "{id}"),
    ("conversations", "list"),
    ("search", "zebracorn"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_text_output_shows_stored_text_literally(cli: Any, command: tuple[str, ...]) -> None:
    args = [part.format(id=_customer_id(cli)) for part in command]
    out = cli(*args).stdout
    assert not UNSAFE.search(out), sorted({hex(ord(c)) for c in UNSAFE.findall(out)})
    assert "\U0001f480" not in out  # :skull: not turned into an emoji
    assert ":skull:" in out
    assert "paypal" in out  # the zero-width characters are gone, the word is whole
    if command[0] != "search":
        assert "[bold]x[/] [/]" in out  # markup printed, not applied


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_json_escapes_controls_and_round_trips(cli: Any, command: tuple[str, ...]) -> None:
    args = [part.format(id=_customer_id(cli)) for part in command]
    result = cli(*args, "--json")
    raw = result.stdout_bytes.decode("utf-8")
    assert not UNSAFE.search(raw), sorted({hex(ord(c)) for c in UNSAFE.findall(raw)})
    doc = json.loads(raw)
    if command[0] == "customers" and command[1] == "list":
        assert doc[0]["name"] == HOSTILE
    elif command[0] == "customers":
        assert doc["name"] == HOSTILE
        assert doc["timeline"][0]["body"] == BODY
        assert doc["conversations"][0]["subject"] == SUBJECT
    elif command[0] == "conversations":
        assert (doc[0]["customer_name"], doc[0]["subject"]) == (HOSTILE, SUBJECT)
    else:
        assert doc[0]["customer_name"] == HOSTILE


def test_the_serializer_escapes_every_unsafe_character_and_nothing_else() -> None:
    value = {
        "s": '\x00\x1b\x7f\x85\x9b\u2028\u202e\u200b\U000e0041\ud800 é 💀 "\\',
        "k\u202e": [1, None],
    }
    text = dumps(value)
    assert not UNSAFE.search(text) and "\u2028" not in text and "\ud800" not in text
    assert "é 💀" in text  # ordinary non-ASCII stays readable
    assert json.loads(text) == value


def test_clean_text_removes_invisible_and_bidi_characters() -> None:
    assert clean_text(ZERO_WIDTH) == "paypal"
    assert clean_text(BIDI, single_line=True) == "txt.exe iso mark"
    assert clean_text("a\u2028b\u2029c") == "a\nb\nc"
    assert clean_text("bad \udcff byte") == "bad \ufffd byte"
