"""Tags on conversations and customers, on SQLite and PostgreSQL: normalized,
idempotent, audited, counted, carried by a merge, and from the command line
with the bad paths (bad tags, escape sequences, unknown and too-big ids)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from omnitui import services
from omnitui.events import describe_event
from omnitui.query import parse_query
from omnitui.services import InvalidRequest, NotFound
from omnitui.services.ingest import ingest
from omnitui.services.tags import TagCount, add_tags, list_tags, remove_tags
from omnitui.services.views import list_view
from omnitui.tagnames import MAX_TAG_LENGTH, TagError, normalize_tag
from storage import queries
from storage.db import Store
from storage.models import audit_t
from tests.helpers import DEMO_CONFIG, Run, as_json, batch, cli_runner, email, sms, write_config


@pytest.fixture
def ids(store: Store) -> tuple[int, int, int, int]:
    """(ann's e-mail conversation, ann, the sms conversation, its customer)."""
    ingest(store, "shop", batch(email("a1"), sms("S1", minutes=1)))
    with store.read() as s:
        rows = {r.channel: r for r in queries.list_conversations(s, view="all")}
    return rows["email"].id, rows["email"].customer_id, rows["sms"].id, rows["sms"].customer_id


def audit(store: Store) -> list[tuple[str, str, int | None, int | None, dict[str, object]]]:
    a = audit_t.c
    with store.read() as s:
        rows = s.execute(
            select(a.action, a.actor, a.customer_id, a.conversation_id, a.detail)
            .where(a.action.in_(("tag", "untag")))
            .order_by(a.id)
        ).all()
    return [(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]


@pytest.mark.parametrize(
    ("raw", "tag"),
    [
        ("billing", "billing"),
        ("  VIP ", "vip"),
        ("team:sales", "team:sales"),
        ("a/b.c_d-e", "a/b.c_d-e"),
        ("Größe", "größe"),
        # full width and ligatures are the plain letters: one tag, not two lookalikes
        ("\uff22\uff29\uff2c\uff2c\uff29\uff2e\uff27", "billing"),
        ("\ufb01nance", "finance"),
    ],
)
def test_a_tag_is_normalized(raw: str, tag: str) -> None:
    assert normalize_tag(raw) == tag


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("", "cannot be empty"),
        ("two words", "cannot hold U+0020"),
        ("x" * (MAX_TAG_LENGTH + 1), f"at most {MAX_TAG_LENGTH}"),
        ("-vip", 'cannot start with "-"'),
        ("a\x1b[31mb", "cannot hold U+001B"),
        ('say"', "cannot hold '\"'"),
        ("a\u202eb", "cannot hold U+202E"),
    ],
)
def test_a_bad_tag_is_refused_with_the_reason(raw: str, words: str) -> None:
    with pytest.raises(TagError) as caught:
        normalize_tag(raw)
    assert words in str(caught.value)
    assert "\x1b" not in str(caught.value) and "\u202e" not in str(caught.value)


def test_tags_are_added_once_removed_once_and_audited(
    store: Store, ids: tuple[int, int, int, int]
) -> None:
    conv, ann, _, _ = ids
    done = add_tags(store, "alice", ["Billing", "vip", "billing"], conversation_id=conv)
    assert (done.target, done.id, done.added, done.tags) == (
        "conversation",
        conv,
        ("billing", "vip"),
        ("billing", "vip"),
    )
    again = add_tags(store, "bob", ["vip"], conversation_id=conv)
    assert again.added == () and again.tags == ("billing", "vip")
    gone = remove_tags(store, "bob", ["vip", "never-there"], conversation_id=conv)
    assert gone.removed == ("vip",) and gone.tags == ("billing",)
    assert remove_tags(store, "bob", ["vip"], conversation_id=conv).removed == ()
    assert audit(store) == [
        ("tag", "alice", ann, conv, {"tags": ["billing", "vip"], "on": "conversation"}),
        ("untag", "bob", ann, conv, {"tags": ["vip"], "on": "conversation"}),
    ]
    assert describe_event("tag", audit(store)[0][4]) == "tagged the conversation: billing, vip"
    with store.read() as s:
        assert any(e.action == "tag" for e in queries.audit_events(s, customer_id=ann))


def test_customer_tags_show_on_their_conversations_and_follow_a_merge(
    store: Store, ids: tuple[int, int, int, int]
) -> None:
    conv, ann, sms_conv, other = ids
    add_tags(store, "alice", ["vip"], customer_id=ann)
    add_tags(store, "alice", ["late", "vip"], customer_id=other)
    with store.read() as s:
        row = queries.get_conversation(s, conv)
    assert row is not None and row.customer_tags == ("vip",) and row.tags == ()
    assert audit(store)[0][2:4] == (ann, None)
    services.merge_customers(store, ann, other, "alice")
    with store.read() as s:
        moved = queries.get_conversation(s, sms_conv)
    assert moved is not None and moved.customer_tags == ("late", "vip")
    # the merged id means the customer that remains, in a query too
    rows = list_view(store, parse_query(f"customer:{other}"), agent="alice", now=datetime.now(UTC))
    assert {r.id for r in rows} == {conv, sms_conv}
    done = add_tags(store, "alice", ["x"], customer_id=other)
    assert done.id == ann and done.tags == ("late", "vip", "x")


def test_list_tags_counts_conversations_and_customers(
    store: Store, ids: tuple[int, int, int, int]
) -> None:
    conv, ann, sms_conv, _ = ids
    assert list_tags(store) == []
    add_tags(store, "alice", ["billing"], conversation_id=conv)
    add_tags(store, "alice", ["billing", "vip"], conversation_id=sms_conv)
    add_tags(store, "alice", ["vip"], customer_id=ann)
    assert list_tags(store) == [TagCount("billing", 2, 0), TagCount("vip", 1, 1)]


def test_bad_requests_change_nothing(store: Store, ids: tuple[int, int, int, int]) -> None:
    conv, ann, _, _ = ids
    with pytest.raises(InvalidRequest, match="exactly one"):
        add_tags(store, "alice", ["a"], conversation_id=conv, customer_id=ann)
    with pytest.raises(InvalidRequest, match="at least one tag"):
        add_tags(store, "alice", [], conversation_id=conv)
    with pytest.raises(InvalidRequest, match="cannot hold"):
        add_tags(store, "alice", ["good", "bad tag"], conversation_id=conv)
    with pytest.raises(NotFound, match="there is no conversation 999"):
        add_tags(store, "alice", ["a"], conversation_id=999)
    with pytest.raises(NotFound):
        add_tags(store, "alice", ["a"], conversation_id=2**70)
    with pytest.raises(NotFound, match="there is no customer"):
        remove_tags(store, "alice", ["a"], customer_id=2**63)
    assert list_tags(store) == [] and audit(store) == []


# -- the command line -------------------------------------------------------------


@pytest.fixture
def run(ids: tuple[int, int, int, int], db_url: str, tmp_path: Path) -> Run:
    return cli_runner(write_config(tmp_path, DEMO_CONFIG), db_url)


def test_tags_from_the_command_line(run: Run, ids: tuple[int, int, int, int]) -> None:
    conv, ann, _, _ = ids
    doc = as_json(run("tags", "add", "--conversation", str(conv), "Billing", "vip", "--json"))
    assert doc == {
        "target": "conversation",
        "id": conv,
        "added": ["billing", "vip"],
        "removed": [],
        "tags": ["billing", "vip"],
    }
    out = run("tags", "rm", "--conversation", str(conv), "vip").stdout
    assert f"Untagged conversation {conv}: vip." in out
    run("tags", "add", "--customer", str(ann), "gold")
    assert as_json(run("tags", "list", "--json")) == [
        {"tag": "billing", "conversations": 1, "customers": 0},
        {"tag": "gold", "conversations": 0, "customers": 1},
    ]
    assert "gold" in run("tags", "list").stdout
    rows = as_json(run("conversations", "list", "--query", "tag:gold", "--json"))
    assert [r["id"] for r in rows] == [conv] and rows[0]["customer_tags"] == ["gold"]
    assert "tags: billing gold (customer)" in run("conversations", "show", str(conv)).stdout
    shown = as_json(run("conversations", "show", str(conv), "--json"))
    assert (shown["tags"], shown["customer_tags"]) == (["billing"], ["gold"])


def test_tag_commands_refuse_bad_paths(run: Run, ids: tuple[int, int, int, int]) -> None:
    conv, ann, _, _ = ids
    err = run("tags", "add", "--conversation", str(conv), "a\x1b]0;pwned\x07", code=2).stderr
    assert "\x1b" not in err and "\x07" not in err and "cannot hold" in err
    err = run("tags", "add", "x", code=2).stderr
    assert "exactly one of --conversation ID or --customer ID" in err
    run("tags", "add", "--conversation", str(conv), "--customer", str(ann), "x", code=2)
    err = run("tags", "add", "--conversation", "99999999999999999999", "x", code=1).stderr
    assert "there is no conversation 99999999999999999999" in err
    run("tags", "rm", "--customer", "424242", "x", code=1)
    run("tags", "add", "--conversation", str(conv), code=2)  # no tag at all
    doc = as_json(run("tags", "add", "--conversation", str(conv), "-x", "--json", code=2))
    assert doc["error"]["kind"] == "usage"
