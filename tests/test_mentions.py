"""@mentions: which names a note mentions (team names in any case, never an
e-mail address, punctuation ends a name, escape sequences are no disguise),
the rows written with the note, and the CLI that lists and marks them, on
both engines (the ``store`` / ``db_url`` fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omnitui import services
from omnitui.services import mentions
from omnitui.services.ingest import ingest
from storage.db import Store
from storage.queries.mentions import list_mentions, unread_mentions
from tests.helpers import DEMO_CONFIG, batch, cli_runner, email, write_config
from tests.test_cli_json_schema import MENTION, mismatches

TEAM = ["alice", "bob", "Ann Lee", "bob.smith", "Zoë"]


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("@bob can you look?", ["bob"]),
        ("ask @BOB and @Alice", ["bob", "alice"]),  # any case; the team's spelling
        ("@bob, @bob! (@bob)", ["bob"]),  # once each; punctuation ends a name
        ("thanks @bob.", ["bob"]),
        ("@ann lee knows", ["Ann Lee"]),  # the longest team name wins
        ("@bob.smith has it", ["bob.smith"]),
        ("@zoË", ["Zoë"]),
        ("write to ann@example.com or bob@example.com", []),  # e-mail addresses
        ("x@bob and bob@alice", []),  # an @ inside a word
        ("@bobby and @bob_x and @bob-y", []),  # longer names are not bob
        ("@bob@example.com", []),
        ("@carol and @nobody", []),  # not on the team
        ("@", []),
        ("\x1b[31m@bob\x1b[0m and \x1b]0;@alice\x07", ["bob"]),  # escapes removed first
        ("@\x1b[2Jbob", ["bob"]),
        # a possessive ends a name, with either apostrophe; never a shorter name
        ("ask @bob's team", ["bob"]),
        ("ask @bob\u2019s team", ["bob"]),
        ("@ann lee's reply", ["Ann Lee"]),
        ("@bob'sy", []),
        # an @ in a link is a profile's address, not a mention
        ("see https://mastodon.social/@bob and www.example.com/@alice", []),
        ("x/@alice, then @bob", ["bob"]),
        # a name typed with a combining accent (NFD) is the team's name
        ("@Zoe\u0308 please", ["Zoë"]),
    ],
)
def test_which_names_a_note_mentions(body: str, names: list[str]) -> None:
    assert mentioned(body) == names


def mentioned(body: str) -> list[str]:
    return mentions.mentioned(body, TEAM)


def test_a_name_with_escape_sequences_cannot_be_mentioned() -> None:
    assert mentions.mentioned("@evil here", ["evil\x1b[2J"]) == []
    assert mentions.mentioned("@omnitui @seed", ["omnitui", "seed"]) == []  # machines


def test_completions_offer_the_team_names_with_the_prefix() -> None:
    assert mentions.completions("b", TEAM) == ["bob", "bob.smith"]
    assert mentions.completions("AN", TEAM) == ["Ann Lee"]
    assert mentions.completions("", TEAM)[:2] == ["alice", "Ann Lee"]
    assert mentions.completions("x", TEAM) == []


def _conversation(store: Store) -> int:
    ingest(store, "shop", batch(email("m1")))
    with store.read() as session:
        from storage import queries

        (conv,) = queries.list_conversations(session, view="all")
    return conv.id


def test_a_note_writes_one_mention_per_agent_but_none_for_its_author(store: Store) -> None:
    conv = _conversation(store)
    note = services.add_note(
        store, "alice", "@bob and @carol, also @alice and @BOB", conversation_id=conv,
        team=("bob", "carol"),
    )  # fmt: skip
    with store.read() as session:
        rows = list_mentions(session)
        assert unread_mentions(session, "bob") == 1
    assert sorted((r.agent, r.note_id, r.author) for r in rows) == [
        ("bob", note, "alice"),
        ("carol", note, "alice"),
    ]
    assert rows[0].conversation_id == conv and rows[0].customer_name == "Ann Example"


def test_the_team_the_store_knows_is_mentionable_without_config(store: Store) -> None:
    conv = _conversation(store)
    services.assign(store, conv, "dave", "alice")  # dave is seen at work now
    services.add_note(store, "alice", "@Dave please", conversation_id=conv)
    services.add_note(store, "alice", "@erin please", conversation_id=conv)  # nobody
    with store.read() as session:
        assert [r.agent for r in list_mentions(session)] == ["dave"]


def test_mentions_are_listed_newest_first_and_marked_read(store: Store) -> None:
    conv = _conversation(store)
    first = services.add_note(store, "alice", "@bob one", conversation_id=conv, team=("bob",))
    second = services.add_note(store, "alice", "@bob two", conversation_id=conv, team=("bob",))
    with store.read() as session:
        rows = list_mentions(session, agent="bob")
    assert [r.note_id for r in rows] == [second, first]
    assert mentions.mark_read(store, "bob", [rows[1].id]) == [rows[1].id]
    with store.read() as session:
        assert [r.note_id for r in list_mentions(session, agent="bob", unread=True)] == [second]
        assert unread_mentions(session, "bob") == 1
    with pytest.raises(services.NotFound):
        mentions.mark_read(store, "carol", [rows[0].id])  # not carol's
    with pytest.raises(services.NotFound):
        mentions.mark_read(store, "bob", [2**70])
    assert mentions.mark_all_read(store, "bob") == [rows[0].id]
    assert mentions.mark_all_read(store, "bob") == []


def test_cli_lists_mentions_and_marks_them_read(store: Store, db_url: str, tmp_path: Path) -> None:
    conv = _conversation(store)
    config = DEMO_CONFIG.replace('name = "alice"', 'name = "alice"\nteam = ["bob"]', 1)
    run = cli_runner(write_config(tmp_path, config), db_url)  # the agent is alice
    run("notes", "add", "--conversation", str(conv), "--body", "@bob have a look")
    services.add_note(store, "bob", "@alice done, see \x1b[31mred", conversation_id=conv)
    services.add_note(store, "bob", "@alice and another", conversation_id=conv)

    mine = json.loads(run("mentions", "--json").stdout)
    assert [m["preview"] for m in mine] == ["@alice and another", "@alice done, see \x1b[31mred"]
    assert [mismatches(m, MENTION) for m in mine] == [[], []]
    bobs = json.loads(run("mentions", "--agent", "bob", "--json").stdout)
    assert [m["author"] for m in bobs] == ["alice"]

    table = run("mentions", columns=120).stdout
    assert "\x1b" not in table and "Mentions of alice" in table and "*" in table
    marked = json.loads(run("mentions", "read", str(mine[0]["id"]), "--json").stdout)
    assert marked == {"agent": "alice", "read": [mine[0]["id"]]}
    unread = json.loads(run("mentions", "--unread", "--json").stdout)
    assert [m["id"] for m in unread] == [mine[1]["id"]]

    refused = run("mentions", "read", str(bobs[0]["id"]), code=1)  # bob's, not alice's
    assert "no mention" in refused.stderr
    run("mentions", "read", code=2)  # neither ids nor --all
    run("mentions", "read", "--all")
    assert json.loads(run("mentions", "--unread", "--json").stdout) == []


def test_cli_agent_away_and_back(db_url: str, tmp_path: Path) -> None:
    run = cli_runner(write_config(tmp_path), db_url)
    assert json.loads(run("agent", "status", "--json").stdout) == {
        "agent": "alice",
        "away": False,
        "away_since": None,
    }
    away = json.loads(run("agent", "away", "--json").stdout)
    assert away["away"] is True and away["away_since"]
    again = json.loads(run("agent", "away", "--json").stdout)
    assert again["away_since"] == away["away_since"]  # since the first time
    assert "is away since" in run("agent", "status").stdout
    assert json.loads(run("agent", "back", "--json").stdout)["away"] is False
