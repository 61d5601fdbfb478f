"""Bulk actions on SQLite and PostgreSQL: one transaction and its audit
events per conversation, conflicts reported per conversation with nothing
overwritten, dry runs that write nothing, merges of the customers, and the
command line with its bad paths."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from omnitui import services
from omnitui.query import parse_query
from omnitui.services import InvalidRequest
from omnitui.services.bulk import BulkChange, BulkResult, bulk_merge, bulk_update, targets
from omnitui.services.ingest import ingest
from omnitui.services.tags import add_tags
from storage import queries
from storage.db import Store
from storage.models import audit_t, customer_t
from tests.helpers import (
    DEMO_CONFIG,
    Run,
    as_json,
    batch,
    cli_runner,
    email,
    opened,
    sms,
    write_config,
)

FAR = datetime(2100, 1, 1, tzinfo=UTC)


@pytest.fixture
def convs(store: Store) -> list[int]:
    """Three conversations of three customers, newest first."""
    ingest(
        store,
        "shop",
        batch(
            email("a1", minutes=0),
            email("b1", "bo@example.com", minutes=1, name="Bo"),
            sms("S1", minutes=2),
        ),
    )
    with store.read() as s:
        return [r.id for r in queries.list_conversations(s, view="all")]


def audit_count(store: Store) -> int:
    with store.read() as s:
        return int(s.execute(select(func.count()).select_from(audit_t)).scalar_one())


def row(store: Store, conv: int) -> queries.ConversationRow:
    with store.read() as s:
        found = queries.get_conversation(s, conv)
    assert found is not None
    return found


def test_assign_status_and_tags_each_conversation_audited(store: Store, convs: list[int]) -> None:
    change = BulkChange(assign="bob", status="pending", tag=("Billing",))
    results = bulk_update(store, "alice", convs, change)
    assert results == [
        BulkResult(
            c, "changed", ("assigned to bob", "status: pending", "tagged the conversation: billing")
        )
        for c in convs
    ]
    for c in convs:
        r = row(store, c)
        assert (r.assignee, r.status, r.tags, r.version) == ("bob", "pending", ("billing",), 2)
        with store.read() as s:
            actions = [e.action for e in queries.audit_events(s, customer_id=r.customer_id)]
        assert sorted(actions) == ["assign", "status", "tag"]
    # again: already so, nothing written
    before = audit_count(store)
    again = bulk_update(store, "alice", convs, change)
    assert [r.outcome for r in again] == ["unchanged"] * 3, again
    assert audit_count(store) == before
    assert row(store, convs[0]).version == 2


def test_snooze_untag_and_unassign(store: Store, convs: list[int]) -> None:
    bulk_update(store, "alice", convs, BulkChange(assign="bob", tag=("a", "b")))
    results = bulk_update(
        store,
        "alice",
        convs[:2],
        BulkChange(unassign=True, status="snoozed", snoozed_until=FAR, untag=("a",)),
    )
    assert all(r.outcome == "changed" for r in results)
    r = row(store, convs[0])
    assert (r.assignee, r.status, r.snoozed_until, r.tags) == (None, "snoozed", FAR, ("b",))
    assert row(store, convs[2]).tags == ("a", "b")


def test_a_conversation_changed_meanwhile_is_a_conflict_and_left_alone(
    store: Store, convs: list[int]
) -> None:
    seen = {c: row(store, c).version for c in convs}
    services.assign(store, convs[1], "carol", "carol")  # someone else, after we looked
    results = bulk_update(
        store, "alice", convs, BulkChange(assign="bob", tag=("x",)), versions=seen
    )
    assert [r.outcome for r in results] == ["changed", "conflict", "changed"]
    assert results[1].detail is not None and "changed by carol" in results[1].detail
    assert "Nothing was overwritten" in results[1].detail
    kept = row(store, convs[1])
    assert (kept.assignee, kept.tags) == ("carol", ())  # not even the tag


def raw_audit(store: Store, conv: int) -> list[tuple[str, str, str]]:
    """The conversation's audit rows as stored: (actor, action, detail text), oldest first."""
    a = audit_t.c
    with store.read() as s:
        rows = s.execute(
            select(a.actor, a.action, a.detail).where(a.conversation_id == conv).order_by(a.id)
        )
        return [(r[0], r[1], r[2]) for r in rows]


def test_the_audit_rows_are_those_a_single_change_writes(store: Store, convs: list[int]) -> None:
    """Byte for byte, on both engines (PostgreSQL builds the tag event's
    detail in its one statement): the tags really added or removed, in the
    order asked, and the fields' before and after."""
    single, bulk = convs[0], convs[1]
    for conv in (single, bulk):
        add_tags(store, "alice", ["b"], conversation_id=conv)
    start = {conv: len(raw_audit(store, conv)) for conv in (single, bulk)}
    # the same changes, once through the single-change services
    services.assign(store, single, "bob", "carol")
    add_tags(store, "carol", ["c", "b", "a"], conversation_id=single)
    services.set_status(store, single, "pending", "carol")
    from omnitui.services.tags import remove_tags

    remove_tags(store, "carol", ["a", "zz", "c"], conversation_id=single)
    # and through two bulk actions
    first = bulk_update(
        store, "carol", [bulk], BulkChange(assign="bob", status="pending", tag=("c", "b", "a"))
    )
    assert first[0].changes == (
        "assigned to bob",
        "status: pending",
        "tagged the conversation: c, a",
    )
    second = bulk_update(store, "carol", [bulk], BulkChange(untag=("a", "zz", "c")))
    assert second[0].changes == ("untagged the conversation: a, c",)
    by_single = raw_audit(store, single)[start[single] :]
    by_bulk = raw_audit(store, bulk)[start[bulk] :]
    assert [r[1] for r in by_bulk] == ["assign", "status", "tag", "untag"]
    assert sorted(by_bulk) == sorted(by_single)
    assert ("carol", "tag", '{"on": "conversation", "tags": ["c", "a"]}') in by_bulk
    assert row(store, bulk).tags == ("b",)


def test_a_conversation_changed_between_read_and_write_gets_no_tag_and_no_audit_row(
    store: Store, convs: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the version check is for: another agent changes the
    conversation after the action read it and before it writes. Its UPDATE
    matches nothing, and neither its tags nor its audit rows are written."""
    from omnitui.services import bulk
    from storage.queries.triage import ConversationState
    from storage.queries.triage import conversation_states as read  # what bulk calls

    target = convs[0]
    add_tags(store, "alice", ["old"], conversation_id=target)

    def read_then_someone_else_assigns(
        session: Session, ids: Sequence[int]
    ) -> dict[int, ConversationState]:
        states = read(session, ids)
        services.assign(store, target, "carol", "carol")
        return states

    monkeypatch.setattr(bulk, "conversation_states", read_then_someone_else_assigns)
    before = raw_audit(store, target)
    results = bulk_update(
        store, "alice", [target], BulkChange(status="resolved", tag=("new",), untag=("old",))
    )
    assert [r.outcome for r in results] == ["conflict"]
    assert results[0].detail is not None and "changed by carol" in results[0].detail
    assert [r[:2] for r in raw_audit(store, target)[len(before) :]] == [("carol", "assign")]
    kept = row(store, target)
    assert (kept.assignee, kept.status, kept.tags) == ("carol", "open", ("old",))


def test_unknown_and_too_big_ids_are_reported_not_raised(store: Store, convs: list[int]) -> None:
    results = bulk_update(store, "alice", [convs[0], 999, 2**70], BulkChange(tag=("x",)))
    assert [r.outcome for r in results] == ["changed", "not_found", "not_found"]
    assert results[1].detail == "there is no conversation 999"


def test_dry_run_writes_nothing(store: Store, convs: list[int]) -> None:
    add_tags(store, "alice", ["x"], conversation_id=convs[0])
    before = audit_count(store)
    results = bulk_update(
        store, "alice", convs, BulkChange(status="resolved", tag=("x",)), dry_run=True
    )
    assert results[0] == BulkResult(convs[0], "would_change", ("status: resolved",))
    assert results[1].changes == ("status: resolved", "tagged the conversation: x")
    assert audit_count(store) == before
    assert row(store, convs[1]).status == "open"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (BulkChange(), "nothing to do"),
        (BulkChange(status="closed"), "unknown status 'closed'"),
        (BulkChange(status="snoozed"), "needs a time"),
        (
            BulkChange(status="snoozed", snoozed_until=datetime(2000, 1, 1, tzinfo=UTC)),
            "not in the future",
        ),
        (BulkChange(tag=("bad tag",)), "cannot hold"),
        (BulkChange(tag=("a",), untag=("a",)), "tag and untag a at once"),
        (BulkChange(assign="bob", unassign=True), "not both"),
    ],
)
def test_a_bad_request_changes_nothing(
    store: Store, convs: list[int], change: BulkChange, words: str
) -> None:
    before = audit_count(store)
    with pytest.raises(InvalidRequest, match=words):
        bulk_update(store, "alice", convs, change)
    assert audit_count(store) == before


def test_merge_makes_the_customers_one(store: Store, convs: list[int]) -> None:
    keep = row(store, convs[0]).customer_id
    planned = bulk_merge(store, "alice", convs, dry_run=True)
    assert [r.outcome for r in planned] == ["unchanged", "would_change", "would_change"]
    results = bulk_merge(store, "alice", convs)
    assert [r.outcome for r in results] == ["unchanged", "changed", "changed"]
    assert {row(store, c).customer_id for c in convs} == {keep}
    assert "merged into customer" in results[1].changes[0]
    assert [r.outcome for r in bulk_merge(store, "alice", convs)] == ["unchanged"] * 3


def test_targets_of_a_query(store: Store, convs: list[int]) -> None:
    now = datetime.now(UTC)
    assert targets(store, parse_query("channel:email"), agent="alice", now=now) == convs[1:]
    with pytest.raises(InvalidRequest, match="more than 2 conversations"):
        targets(store, parse_query("status:all"), agent="alice", now=now, limit=2)


# -- the command line -------------------------------------------------------------


@pytest.fixture
def run(convs: list[int], db_url: str, tmp_path: Path) -> Run:
    return cli_runner(write_config(tmp_path, DEMO_CONFIG), db_url)


def test_bulk_from_the_command_line(run: Run, convs: list[int]) -> None:
    doc = as_json(
        run("conversations", "bulk", "-q", "channel:email", "--assign", "me", "--tag", "vip",
            "--dry-run", "--json")
    )  # fmt: skip
    assert doc["dry_run"] is True and doc["counts"] == {"would_change": 2}
    assert [r["conversation_id"] for r in doc["results"]] == convs[1:]
    doc = as_json(run("conversations", "bulk", "-q", "channel:email", "--assign", "me", "--json"))
    assert doc["counts"] == {"changed": 2}
    assert doc["results"][0] == {
        "conversation_id": convs[1],
        "outcome": "changed",
        "changes": ["assigned to alice"],
        "detail": None,
    }
    out = run("conversations", "bulk", str(convs[0]), "--snooze", "2h", columns=120).stdout
    assert "status: snoozed" in out and "1 conversations: 1 changed." in out
    rows = as_json(run("conversations", "list", "-q", "assignee:me", "--json"))
    assert sorted(r["id"] for r in rows) == sorted(convs[1:])


def test_bulk_exit_codes_and_bad_paths(run: Run, convs: list[int]) -> None:
    result = run("conversations", "bulk", str(convs[0]), "424242", "--tag", "x", "--json", code=1)
    doc = as_json(result)
    assert doc["counts"] == {"changed": 1, "not_found": 1}
    assert "1 of 2 conversations were not changed" in result.stderr
    assert (
        "give conversation ids, --query or --view"
        in run("conversations", "bulk", "--tag", "x", code=2).stderr
    )
    err = run("conversations", "bulk", "-q", "status:nope", "--tag", "x", code=2).stderr
    assert 'unknown status "nope"' in err
    err = run("conversations", "bulk", str(convs[0]), "--assign", "bobb", code=2).stderr
    assert "nobody on the team is called 'bobb'" in err
    err = run("conversations", "bulk", str(convs[0]), "--tag", "a\x1b[2Jb", code=2).stderr
    assert "\x1b" not in err and "cannot hold" in err
    run("conversations", "bulk", str(convs[0]), "--status", "snoozed", code=2)
    run("conversations", "bulk", str(convs[0]), "--snooze", "yesterday-ish", code=2)
    run("conversations", "bulk", str(convs[0]), code=2)  # nothing to do
    run("conversations", "bulk", str(convs[0]), "--merge", "--tag", "x", code=2)
    doc = as_json(
        run("conversations", "bulk", "99999999999999999999", "--tag", "x", "--json", code=1)
    )
    assert doc["counts"] == {"not_found": 1}


def test_a_snooze_too_far_away_is_a_usage_error(run: Run, convs: list[int]) -> None:
    # the wake-up time overflows Python's datetime: said in one line, exit 2
    for far in ("99999999d", "9999999999w"):
        result = run("conversations", "bulk", str(convs[0]), "--snooze", far, code=2)
        assert "is too far away" in result.stderr and len(result.stderr.splitlines()) == 1
    result = run(
        "conversations", "status", str(convs[0]), "snoozed", "--until", "99999999d", code=2
    )
    assert "is too far away" in result.stderr


def test_a_conversation_changed_after_the_query_matched_it_is_a_conflict(
    store: Store, run: Run, convs: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `bulk --query assignee:none --assign me`: carol takes one of them between
    # the query's match and the change; hers stays, it is reported
    from omnitui.services import bulk

    states = bulk._states

    def carol_first(on: Store, ids: list[int]) -> object:
        services.assign(on, convs[1], "carol", "carol")
        return states(on, ids)

    monkeypatch.setattr(bulk, "_states", carol_first)
    result = run("conversations", "bulk", "-q", "assignee:none", "--assign", "me", "--json", code=1)
    by_id = {r["conversation_id"]: r["outcome"] for r in as_json(result)["results"]}
    assert by_id == {convs[0]: "changed", convs[1]: "conflict", convs[2]: "changed"}
    assert row(store, convs[1]).assignee == "carol"


def test_two_merges_of_the_same_customers_at_once_make_no_cycle(
    store: Store, db_url: str, tmp_path: Path, convs: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # alice merges Bo into Ann while bob merges Ann into Bo, from another
    # process: one wins, the other is told it is too late; never Ann -> Bo -> Ann
    from omnitui.services import tags

    inside, go = threading.Event(), threading.Event()
    move = tags.move_customer_tags

    def first_waits(session: Session, from_id: int, to_id: int) -> list[str]:
        if not inside.is_set():
            inside.set()
            go.wait(5)  # alice's merge is half done; bob's runs meanwhile (or waits for it)
        return move(session, from_id, to_id)

    monkeypatch.setattr(tags, "move_customer_tags", first_waits)
    ann, bo = convs[2], convs[1]  # the conversations of two e-mail customers
    outcomes: dict[str, list[BulkResult]] = {}

    def merge(who: str, on: Store, order: list[int]) -> None:
        outcomes[who] = bulk_merge(on, who, order)

    with opened(db_url, tmp_path / "other") as other:
        alice = threading.Thread(target=merge, args=("alice", store, [ann, bo]))
        alice.start()
        assert inside.wait(10)
        bob = threading.Thread(target=merge, args=("bob", other, [bo, ann]))
        bob.start()
        bob.join(3)  # done at once when nothing holds it back
        go.set()
        alice.join(10)
        bob.join(10)
    won = sorted(who for who, results in outcomes.items() if results[1].outcome == "changed")
    lost = [r for results in outcomes.values() for r in results if r.outcome == "conflict"]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert lost[0].detail is not None and "already merged" in lost[0].detail
    with store.read() as s:
        merged = s.execute(
            select(customer_t.c.id, customer_t.c.merged_into_id).where(
                customer_t.c.merged_into_id.is_not(None)
            )
        ).all()
    assert len(merged) == 1  # one pointer, no cycle


def test_a_conversation_locked_by_another_session_makes_the_store_unavailable(
    convs: list[int], store: Store, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bulk action that waits on another writer gives up as every write
    does: StoreUnavailable("locked"), the conversations before it done, the
    locked one and those after it left as they were. (On PostgreSQL its
    statements run on the driver's own cursor: their errors must still read
    as a store fault.)"""
    from storage.db import StoreUnavailable, open_store
    from tests.faults import short_lock_timeout, write_lock

    short_lock_timeout(monkeypatch)
    fresh = open_store(db_url, tmp_path / "data")
    first, locked, last = convs
    try:
        if fresh.dialect == "sqlite":
            with (
                write_lock(Path(db_url.removeprefix("sqlite:///"))),
                pytest.raises(StoreUnavailable) as info,
            ):
                bulk_update(fresh, "alice", convs, BulkChange(assign="bob", tag=("late",)))
        else:
            import psycopg

            admin = db_url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(admin) as other:
                other.execute("UPDATE conversation SET subject = subject WHERE id = %s", (locked,))
                with pytest.raises(StoreUnavailable) as info:
                    bulk_update(fresh, "alice", convs, BulkChange(assign="bob", tag=("late",)))
                other.rollback()
    finally:
        fresh.close()
    assert info.value.reason == "locked"
    assert row(store, locked).assignee is None and row(store, last).assignee is None
    if store.dialect == "postgresql":
        assert row(store, first).assignee == "bob"
