"""The triage commands from the command line, on both engines: ``conversations
list --query/--view``, ``views``, and the config's ``[[views]]``, with the
bad paths (malformed queries with a caret, unknown views and agents, ids
beyond any column, escape sequences)."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnitui.config import ConfigError, load_config
from omnitui.services.ingest import ingest
from storage.db import Store
from tests.helpers import DEMO_CONFIG, Run, as_json, batch, cli_runner, email, sms, write_config

VIEWS_CONFIG = (
    DEMO_CONFIG
    + """
[[views]]
name = "Billing"
key = "b"
query = "tag:billing OR invoice"

[[views]]
name = "Texts"
query = "channel:sms status:all"
sort = "waiting"
"""
)


@pytest.fixture
def run(store: Store, db_url: str, tmp_path: Path) -> Run:
    ingest(
        store,
        "shop",
        batch(
            email("a1", subject="Invoice missing", body="Where is my invoice?"),
            sms("S1", minutes=5),
        ),
    )
    return cli_runner(write_config(tmp_path, VIEWS_CONFIG), db_url)


def test_list_by_query_and_view(run: Run) -> None:
    rows = as_json(run("conversations", "list", "--query", "channel:email", "--json"))
    assert [r["channel"] for r in rows] == ["email"]
    assert rows[0]["tags"] == [] and rows[0]["customer_tags"] == []
    rows = as_json(run("conversations", "list", "--view", "billing", "--json"))
    assert [r["subject"] for r in rows] == ["Invoice missing"]
    both = as_json(run("conversations", "list", "--view", "Texts", "-q", "invoice", "--json"))
    assert both == []
    assert len(as_json(run("conversations", "list", "--view", "all", "--json"))) == 2
    out = run("conversations", "list", "--query", "status:all", columns=200).stdout
    assert "Conversations (status:all)" in out and "Invoice missing" in out


def test_a_malformed_query_is_one_line_and_a_caret(run: Run) -> None:
    result = run("conversations", "list", "--query", "tag:x status:opn", code=2)
    lines = result.stderr.splitlines()
    assert lines[0] == (
        'omnitui: error: --query: unknown status "opn" at column 14: use open, pending, '
        "snoozed, resolved, all"
    )
    assert lines[1:] == ["  tag:x status:opn", "               ^^^"]
    assert result.stdout == ""
    doc = as_json(run("conversations", "list", "--query", "(a", "--json", code=2))
    assert doc["error"]["kind"] == "usage" and "never closed" in doc["error"]["message"]


def test_escape_sequences_in_a_query_are_never_echoed(run: Run) -> None:
    result = run("conversations", "list", "--query", "status:\x1b[2Jopen", code=2)
    assert "\x1b" not in result.stderr
    assert len(result.stderr.splitlines()) == 1  # no caret under a text that cannot be shown


def test_bad_paths(run: Run) -> None:
    err = run("conversations", "list", "--view", "nope", code=2).stderr
    assert "there is no view 'nope'" in err and "Billing" in err
    err = run("conversations", "list", "--query", "assignee:bobb", code=2).stderr
    assert "assignee:bobb at column 1: nobody on the team is called 'bobb'" in err
    err = run("conversations", "list", "--status", "open", "--query", "x", code=2).stderr
    assert "not both" in err
    err = run("conversations", "list", "--query", "x", "--sort", "oldest", code=2).stderr
    assert "unknown sort 'oldest'" in err
    rows = as_json(run("conversations", "list", "-q", "customer:9223372036854775808", "--json"))
    assert rows == []
    run("conversations", "list", "--query", "a" * 1001, code=2)


def test_views_lists_every_view_with_its_count(run: Run) -> None:
    views = as_json(run("views", "--json"))
    assert [v["name"] for v in views] == [
        "open",
        "mine",
        "unassigned",
        "pending",
        "snoozed",
        "resolved",
        "all",
        "Billing",
        "Texts",
    ]
    counts = {v["name"]: v["count"] for v in views}
    assert counts["open"] == 2 and counts["all"] == 2 and counts["Billing"] == 1
    assert views[0] == {
        "name": "open",
        "key": "1",
        "query": "status:open",
        "sort": "activity",
        "builtin": True,
        "count": 2,
        "problem": None,
    }
    assert "Billing" in run("views", columns=120).stdout


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ('name = "X"\nquery = "status:opn"', "views[0].query: view 'X': unknown status \"opn\""),
        ('name = "X"', "view 'X' needs a query"),
        ('query = "tag:a"', "a view needs a name"),
        ('name = "open"\nquery = "tag:a"', "the built-in view has this name"),
        ('name = "X"\nkey = "1"\nquery = "tag:a"', "the key '1' already shows the built-in"),
        ('name = "X"\nquery = "tag:a"\nsort = "oldest"', "unknown sort 'oldest'"),
        ('name = "X"\nquery = "tag:a"\ncolour = "red"', "views[0].colour: unknown key"),
        ('name = "X"\nkey = "a b"\nquery = "tag:a"', "a key is a key name"),
    ],
)
def test_a_bad_view_in_the_config_is_a_located_error(
    tmp_path: Path, table: str, words: str
) -> None:
    path = write_config(tmp_path, DEMO_CONFIG + "\n[[views]]\n" + table + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"{path}, line ")


def test_two_views_of_one_name_or_key_are_refused(tmp_path: Path) -> None:
    twice = '\n[[views]]\nname = "A"\nkey = "8"\nquery = "tag:a"\n'
    path = write_config(tmp_path, DEMO_CONFIG + twice + twice.replace('"A"', '"a"'))
    with pytest.raises(ConfigError, match="views\\[0\\] has this name"):
        load_config(path)
    path = write_config(tmp_path, DEMO_CONFIG + twice + twice.replace('"A"', '"B"'))
    with pytest.raises(ConfigError, match="the key '8' already shows the view 'A'"):
        load_config(path)


def test_a_malformed_view_in_the_config_exits_2(tmp_path: Path) -> None:
    path = write_config(tmp_path, DEMO_CONFIG + '\n[[views]]\nname = "X"\nquery = "(a"\n')
    result = cli_runner(path)("views", code=2)
    assert "view 'X'" in result.stderr and "never closed" in result.stderr


def test_a_views_count_spells_names_as_its_list_does(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    # "assignee:Bob" lists bob's conversations: its count must say so too,
    # not 0; a view naming nobody on the team has no count, as its list is
    # refused (tests/test_views_agents.py)
    from omnitui import services

    ingest(store, "shop", batch(email("a1", subject="Invoice missing")))
    services.assign(store, 1, "bob", "alice")
    config = DEMO_CONFIG + (
        '\n[[views]]\nname = "Bobs"\nquery = "assignee:Bob"\n'
        '\n[[views]]\nname = "Ghosts"\nquery = "assignee:ghost OR assignee:bob"\n'
    )
    run = cli_runner(write_config(tmp_path, config), db_url)
    counts = {v["name"]: v["count"] for v in as_json(run("views", "--json"))}
    assert len(as_json(run("conversations", "list", "--view", "Bobs", "--json"))) == 1
    assert counts["Bobs"] == 1
    assert counts["Ghosts"] is None  # not bob's 1: its list is refused
