"""Who is on the team: the store's people and the config's ``[agent] team``;
a name nobody has is refused unless confirmed, in the service and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from omnitui import services
from omnitui.services import AccountInfo, outbox, team
from omnitui.services.ingest import ingest
from storage.db import Store
from storage.models import Conversation, conversation_t
from tests.helpers import Run, ScriptedProvider, batch, cli_runner, email, sms, write_config


def _conversations(store: Store) -> list[int]:
    with store.read() as s:
        return [
            c.id or 0
            for c in s.execute(select(Conversation).order_by(conversation_t.c.id)).scalars()
        ]


@pytest.fixture
def convs(store: Store) -> list[int]:
    ingest(store, "shop", batch(email("e1"), sms("SM1", minutes=1)))
    return _conversations(store)


def test_the_team_is_everyone_the_store_has_seen_at_work(store: Store, convs: list[int]) -> None:
    provider = ScriptedProvider()
    services.assign(store, convs[0], "dana", "erin")  # dana assigned; erin in the audit trail
    services.add_note(store, "fred", "called back", conversation_id=convs[0])
    accounts = {provider.account: AccountInfo.from_provider(provider)}
    services.reply(store, accounts, convs[1], "On its way", "gina")
    services.set_status(store, convs[1], "pending", "omnitui")  # omnitui itself: not a person
    names = team.team(store, configured=("hal",), me="alice")
    assert names == ["alice", "dana", "erin", "fred", "gina", "hal"]


def test_an_unknown_name_is_refused_unless_confirmed(store: Store, convs: list[int]) -> None:
    services.assign(store, convs[0], "bob", "alice")
    with pytest.raises(team.UnknownAgent, match=r"'bbo'.*Did you mean 'bob'"):
        team.assign_checked(store, convs[1], "bbo", "alice")
    with store.read() as s:
        unassigned = s.get(Conversation, convs[1])
    assert unassigned is not None and unassigned.assignee is None
    assert team.assign_checked(store, convs[1], "Bob", "alice").assignee == "bob"
    assert team.assign_checked(store, convs[1], "me", "alice").assignee == "alice"
    assert team.assign_checked(store, convs[1], "carol", "alice", configured=("carol",)).assignee
    assert team.assign_checked(store, convs[1], "zed", "alice", allow_new=True).assignee == "zed"
    assert team.assign_checked(store, convs[1], None, "alice").assignee is None


CONFIG = """
[agent]
name = "alice"
team = ["bob"]

[[accounts]]
name = "demo"
kind = "demo"
poll_interval = 30
"""


@pytest.fixture
def cli(tmp_path: Path, db_url: str) -> Run:
    return cli_runner(write_config(tmp_path, CONFIG), db_url)


def test_cli_assign_knows_the_team_and_me(cli: Any) -> None:
    cli("sync", "--once", "--json")
    convs = json.loads(cli("conversations", "list", "--status", "all", "--json").stdout)
    first, second = convs[0]["id"], convs[1]["id"]
    refused = cli("conversations", "assign", str(first), "bbo", code=2)
    assert "'bbo'" in refused.stderr and "bob" in refused.stderr and "--new" in refused.stderr
    assert refused.stdout == ""
    assert (
        json.loads(cli("conversations", "assign", str(first), "bob", "--json").stdout)["assignee"]
        == "bob"
    )
    new = cli("conversations", "assign", str(second), "newbie", "--new", "--json")
    assert json.loads(new.stdout)["assignee"] == "newbie"
    cli("conversations", "assign", str(first), "newbie")  # known now: the store has seen them
    cli("conversations", "assign", str(second), "me")
    mine = json.loads(
        cli("conversations", "list", "--assignee", "me", "--status", "all", "--json").stdout
    )
    assert [c["id"] for c in mine] == [second]


def test_outbox_actions_name_their_actor(store: Store, convs: list[int]) -> None:
    """What a person decided in the outbox puts them in the team too."""
    provider = ScriptedProvider(outcomes=["permanent"])
    accounts = {provider.account: AccountInfo.from_provider(provider)}
    mid = services.reply(store, accounts, convs[1], "Hi", "omnitui")
    outbox.deliver(store, provider, mid)
    outbox.discard(store, mid, "ivy")
    assert "ivy" in team.team(store)
