"""A view naming an agent (``assignee:NAME``) is counted by the rule its list
follows (omnitui.services.views.team_spelled), on SQLite and PostgreSQL: an
agent on the team, one who left (not configured, not among the people the
store lists, yet with conversations assigned) and a name nobody has. The
first two are counted as listed; the third is refused by both, the count
giving the list's reason instead of a 0 that looks like an empty view; and
the CLI says so in one line (exit 2), ``omnitui views`` in its document."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from omnitui import services
from omnitui.services.ingest import ingest
from omnitui.services.team import UnknownAgent
from omnitui.services.views import View, count_views, list_view, team_spelled
from storage import queries
from storage.db import Store
from storage.models import conversation_t
from tests.helpers import DEMO_CONFIG, T0, Run, as_json, batch, cli_runner, email, write_config

NOW = T0 + timedelta(days=1)

#: more distinct assignees than the team's list of people holds, all before "zoe"
OTHERS = 200
ON_TEAM = View("Bobs", "8", "assignee:Bob")  # bob, in [agent] team, typed in another case
LEFT = View("Zoes", "9", "assignee:Zoe status:all")  # zoe left: only her conversations say so
TYPO = View("Typo", "0", "assignee:alcie")
PART = View("Ghosts", None, "assignee:ghost OR assignee:bob")  # one name of two unknown
VIEWS = (ON_TEAM, LEFT, TYPO, PART)
TEAM = ("bob",)

CONFIG = DEMO_CONFIG.replace('name = "alice"\n', 'name = "alice"\nteam = ["bob"]\n') + "".join(
    f'\n[[views]]\nname = "{v.name}"\n'
    + (f'key = "{v.key}"\n' if v.key else "")
    + f'query = "{v.query}"\n'
    for v in VIEWS
)


@pytest.fixture
def store_with_zoe(store: Store) -> Store:
    """Bob's conversation, and zoe's: she left the team, and so many agents
    came and went before her that the team's list of people ends before
    her name (``queries.people`` lists at most 200)."""
    ingest(
        store,
        "shop",
        batch(
            *(
                email(f"m{n}", f"c{n}@example.com", subject=f"Question {n}", minutes=n)
                for n in range(OTHERS + 2)
            )
        ),
    )
    with store.read() as session:
        ids = sorted(r.id for r in queries.list_conversations(session, view="all", limit=500))
    services.assign(store, ids[0], "bob", "alice")
    with store.write() as session:  # assigned long ago: no recent work of theirs
        session.execute(
            conversation_t.update().where(conversation_t.c.id == ids[1]).values(assignee="zoe")
        )
        for n, conversation_id in enumerate(ids[2:]):
            session.execute(
                conversation_t.update()
                .where(conversation_t.c.id == conversation_id)
                .values(assignee=f"agent{n:03}")
            )
    with store.read() as session:
        assert "zoe" not in queries.people(session)  # the list the team was read from
    return store


def listed(store: Store, view: View) -> int:
    tree = team_spelled(store, view.tree, configured=TEAM, me="alice")
    return len(list_view(store, tree, agent="alice", now=NOW, limit=1000))


def test_an_agent_on_the_team_is_counted_as_listed(store_with_zoe: Store) -> None:
    counted = count_views(store_with_zoe, [ON_TEAM], agent="alice", now=NOW, configured=TEAM)
    assert counted.counts == {"Bobs": 1} == {"Bobs": listed(store_with_zoe, ON_TEAM)}
    assert counted.problems == {}


def test_an_agent_who_left_is_listed_and_counted(store_with_zoe: Store) -> None:
    # before: her view's list was refused ("nobody on the team is called
    # 'Zoe'") and its count said 0, with her conversation in the store
    counted = count_views(store_with_zoe, [LEFT], agent="alice", now=NOW, configured=TEAM)
    assert listed(store_with_zoe, LEFT) == 1
    assert counted.counts == {"Zoes": 1} and counted.problems == {}
    exact = View("zoe", None, "assignee:zoe status:all")
    assert listed(store_with_zoe, exact) == 1


@pytest.mark.parametrize("view", [TYPO, PART], ids=["typo", "one-of-two"])
def test_a_name_nobody_has_is_refused_by_the_count_as_by_the_list(
    store_with_zoe: Store, view: View
) -> None:
    # before: the count said 0 (or bob's 1 for "ghost OR bob") while the
    # list was refused: now the count is refused too, with the list's reason
    with pytest.raises(UnknownAgent) as refused:
        listed(store_with_zoe, view)
    counted = count_views(
        store_with_zoe, [*VIEWS[:2], view], agent="alice", now=NOW, configured=TEAM
    )
    assert view.name not in counted.counts
    assert counted.problems == {view.name: str(refused.value)}
    assert counted.counts == {"Bobs": 1, "Zoes": 1}  # the others counted as ever


def test_a_typo_is_named_with_the_name_it_is_likely_a_typo_of(store_with_zoe: Store) -> None:
    counted = count_views(store_with_zoe, [TYPO], agent="alice", now=NOW, configured=TEAM)
    assert counted.problems["Typo"].startswith(
        "assignee:alcie at column 1: nobody on the team is called 'alcie' (the team: "
    )
    assert counted.problems["Typo"].endswith(" and 190 more). Did you mean 'alice'?")


# -- the CLI ---------------------------------------------------------------------


@pytest.fixture
def run(store_with_zoe: Store, db_url: str, tmp_path: Path) -> Run:
    return cli_runner(write_config(tmp_path, CONFIG), db_url)


def test_views_and_conversations_list_agree(run: Run) -> None:
    views = {v["name"]: v for v in as_json(run("views", "--json"))}
    for name in ("Bobs", "Zoes"):
        rows = as_json(run("conversations", "list", "--view", name, "--json"))
        assert views[name]["count"] == len(rows) == 1, name
        assert views[name]["problem"] is None
    for name in ("Typo", "Ghosts"):
        assert views[name]["count"] is None, name  # before: 0, and bob's 1
        assert "nobody on the team is called" in views[name]["problem"]
        run("conversations", "list", "--view", name, code=2)


def test_a_view_naming_nobody_is_one_line_and_exit_2(run: Run, tmp_path: Path) -> None:
    result = run("conversations", "list", "--view", "typo", code=2)
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "omnitui: error: view 'Typo': assignee:alcie at column 1: "
        "nobody on the team is called 'alcie'"
    )
    assert "Did you mean 'alice'?" in line
    assert line.endswith(f"Fix its query in {tmp_path / 'config.toml'}.")
    doc = as_json(run("conversations", "list", "--view", "Typo", "--json", code=2))
    assert doc["error"]["kind"] == "config" and "view 'Typo'" in doc["error"]["message"]
    # the typed query's names are its own: its column is a column of what was typed
    err = run("conversations", "list", "--view", "Bobs", "-q", "assignee:bobb", code=2).stderr
    assert err.startswith("omnitui: error: --query: assignee:bobb at column 1: nobody")


def test_views_marks_a_view_it_cannot_count_and_says_why(run: Run) -> None:
    result = run("views", columns=160)
    row = next(line for line in result.stdout.splitlines() if "Typo" in line)
    assert [c.strip() for c in row.split("│")][2:4] == ["Typo", "!"]  # not 0
    warnings = [line for line in result.stderr.splitlines() if "view 'Typo'" in line]
    assert len(warnings) == 1 and warnings[0].startswith("omnitui: warning: view 'Typo': ")
