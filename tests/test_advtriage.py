"""Adversarial checks of today's triage changes (bulk on PostgreSQL in one
statement, read marks and the change marker, views naming an agent), on
both engines: each test failed on the code before its fix."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from omnitui.services import bulk
from omnitui.services.bulk import BulkChange, bulk_update
from omnitui.services.ingest import ingest
from omnitui.services.tags import add_tags, remove_tags
from omnitui.services.views import View, count_views, list_view, team_spelled
from storage import queries
from storage.db import Store, StoreUnavailable
from storage.models import audit_t, conversation_t
from tests.helpers import T0, batch, email


def two_conversations(store: Store) -> list[int]:
    ingest(store, "shop", batch(email("a1", minutes=0), email("b1", "bo@example.com", minutes=1)))
    with store.read() as s:
        return [r.id for r in queries.list_conversations(s, view="all")]


def tag_details(store: Store, conversation_id: int) -> list[tuple[str, str]]:
    """The conversation's tag audit rows as stored: (action, detail text)."""
    a = audit_t.c
    with store.read() as s:
        rows = s.execute(
            select(a.action, a.detail)
            .where(a.conversation_id == conversation_id, a.action.in_(("tag", "untag")))
            .order_by(a.id)
        )
        return [(r[0], r[1]) for r in rows]


def test_a_bulk_tag_in_another_script_is_audited_as_a_single_change_writes_it(
    store: Store,
) -> None:
    # before: PostgreSQL's one statement wrote jsonb's text, ["café", "日本"],
    # where a single change (and SQLite's bulk) writes ["caf\u00e9", ...]
    single, bulk = two_conversations(store)
    tags = ["café", "日本", "𠀀x", "b"]  # a letter beyond the BMP: a surrogate pair in JSON
    add_tags(store, "carol", tags, conversation_id=single)
    remove_tags(store, "carol", ["日本", "zz", "café"], conversation_id=single)
    bulk_update(store, "carol", [bulk], BulkChange(tag=tuple(tags)))
    bulk_update(store, "carol", [bulk], BulkChange(untag=("日本", "zz", "café")))
    assert tag_details(store, bulk) == tag_details(store, single)
    assert tag_details(store, bulk)[1] == (
        "untag",
        '{"on": "conversation", "tags": ["\\u65e5\\u672c", "caf\\u00e9"]}',
    )


# -- views naming an agent who left ------------------------------------------------


@pytest.fixture
def store_with_zoe(store: Store) -> Store:
    """Zoe (spelled with a capital) left: 200 agents whose names sort before
    hers are assigned a conversation each, so the team's list of people
    (``queries.people``, at most 200) ends before her; only her conversation
    says she was here."""
    ingest(
        store, "shop", batch(*(email(f"m{n}", f"c{n}@example.com", minutes=n) for n in range(201)))
    )
    with store.write() as session:
        ids = sorted(session.execute(select(conversation_t.c.id)).scalars())
        c = conversation_t.c
        session.execute(conversation_t.update().where(c.id == ids[0]).values(assignee="Zoe"))
        for n, conversation_id in enumerate(ids[1:]):
            session.execute(
                conversation_t.update()
                .where(c.id == conversation_id)
                .values(assignee=f"Agent{n:03}")
            )
    with store.read() as session:
        assert "Zoe" not in queries.people(session)
    return store


@pytest.mark.parametrize("typed", ["zoe", "ZOE", "Zoe"])
def test_an_agent_who_left_is_found_in_any_case_as_one_on_the_team_is(
    store_with_zoe: Store, typed: str
) -> None:
    # before: "assignee:zoe" was refused ("nobody on the team is called
    # 'zoe'") though Zoe has a conversation, and "assignee:bob" finds Bob
    # when he is on the team: the store was asked for the name as typed or
    # in lower case only
    view = View("Zoes", None, f"assignee:{typed} status:all")
    now = T0 + timedelta(days=1)
    counted = count_views(store_with_zoe, [view], agent="alice", now=now)
    assert (counted.counts, counted.problems) == ({"Zoes": 1}, {})
    tree = team_spelled(store_with_zoe, view.tree, me="alice")
    assert len(list_view(store_with_zoe, tree, agent="alice", now=now)) == 1


# -- a bulk action whose PostgreSQL session is terminated ---------------------------


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_bulk_action_whose_backend_is_terminated_stops_cleanly(
    store: Store, db_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """pg_terminate_backend from another session before the third of four
    conversations: StoreUnavailable, the two before done with their audit
    rows, nothing of the others written, and nothing else said. Before, the
    dead connection went back to the pool as if alive (the one statement
    runs on the driver's cursor, which SQLAlchemy does not watch): the pool's
    reset failed and it logged "Exception during reset or similar" with a
    traceback, which the CLI (no logging set up) printed above its one line."""
    ingest(
        store, "shop", batch(*(email(f"m{n}", f"c{n}@example.com", minutes=n) for n in range(4)))
    )
    with store.read() as s:
        ids = [r.id for r in queries.list_conversations(s, view="all")]
    real, calls = bulk._apply, []

    def terminated_before_the_third(*args: Any) -> Any:
        calls.append(args)
        if len(calls) == 3:
            with store.engine.connect() as other:
                other.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
        return real(*args)

    monkeypatch.setattr(bulk, "_apply", terminated_before_the_third)
    change = BulkChange(assign="bob", tag=("x",))
    with caplog.at_level(logging.WARNING), pytest.raises(StoreUnavailable) as stopped:
        bulk_update(store, "alice", ids, change)
    assert stopped.value.reason == "unreachable"
    assert [r.getMessage() for r in caplog.records] == []
    a = audit_t.c
    with store.read() as s:
        rows = {r.id: (r.assignee, r.tags) for r in queries.list_conversations(s, view="all")}
        audited = s.execute(select(a.conversation_id, a.action).where(a.actor == "alice")).all()
    assert [rows[i] for i in ids] == [("bob", ("x",))] * 2 + [(None, ())] * 2
    assert sorted(audited) == sorted((i, x) for i in ids[:2] for x in ("assign", "tag"))
    monkeypatch.setattr(bulk, "_apply", real)  # the next action finishes the rest
    again = bulk_update(store, "alice", ids, change)
    assert [r.outcome for r in again] == ["unchanged"] * 2 + ["changed"] * 2


@pytest.mark.parametrize(
    "typed",
    ["Jose\u0301", "JOSE\u0301", "\uff2a\uff4f\uff53\u00e9"],  # decomposed (a Mac's), full width
    ids=["nfd", "nfd-upper", "full-width"],
)
@pytest.mark.parametrize("on_team", [True, False], ids=["on-team", "left"])
def test_a_name_typed_in_another_unicode_form_is_the_same_agent(
    store: Store, typed: str, on_team: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # before: "assignee:José" typed decomposed (e + U+0301) or in full width
    # was refused ("nobody on the team is called 'José'") beside José's own
    # conversation: names were compared by casefold alone, unnormalized
    one, _ = two_conversations(store)
    with store.write() as session:
        c = conversation_t.c
        session.execute(conversation_t.update().where(c.id == one).values(assignee="Jos\u00e9"))
    team = ("Jos\u00e9",) if on_team else ()
    if not on_team:  # left: only the conversation says so
        monkeypatch.setattr(queries, "people", lambda session, **_: [])
    view = View("Jose", None, f"assignee:{typed} status:all")
    now = T0 + timedelta(days=1)
    counted = count_views(store, [view], agent="alice", now=now, configured=team)
    assert (counted.counts, counted.problems) == ({"Jose": 1}, {})
    tree = team_spelled(store, view.tree, configured=team, me="alice")
    assert len(list_view(store, tree, agent="alice", now=now)) == 1


def test_an_agent_who_left_can_be_assigned_by_the_name_a_view_finds(
    store_with_zoe: Store,
) -> None:
    # before: a view "assignee:zoe" found Zoe's conversation, yet assigning
    # one more to "zoe" was refused ("nobody on the team is called 'zoe'"):
    # the assign check read the team without the agents who left
    from omnitui.services.team import assign_checked

    with store_with_zoe.read() as s:
        free = next(
            r.id
            for r in queries.list_conversations(s, view="all", limit=500)
            if r.assignee is None or r.assignee.startswith("Agent")
        )
    conv = assign_checked(store_with_zoe, free, "zoe", "alice")
    assert conv.assignee == "Zoe"  # as spelled on her conversations, not a second person
