"""Notes, assignment, status, merge and channel switching."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from omnitui import services
from omnitui.ingest import ingest
from omnitui.services import AccountInfo, ConflictError, ServiceError
from storage import queries
from storage.db import Store
from storage.models import Conversation, Customer, utcnow
from tests.helpers import ScriptedProvider, batch, email, sms

ACCOUNTS = {"shop": AccountInfo.from_provider(ScriptedProvider())}  # type: ignore[arg-type]


def seed(store: Store) -> tuple[int, int]:
    """Ann on e-mail and on SMS: two customers until merged. Returns their ids."""
    ingest(store, "shop", batch(email("e1", name="Ann Example"), sms("SM1", minutes=3)))
    with store.read() as s:
        ids = {c.name: c.id for c in s.execute(select(Customer)).scalars()}
    return ids["Ann Example"] or 0, ids["+14155550100"] or 0


def conv_of(store: Store, customer_id: int, channel: str) -> Conversation:
    with store.read() as s:
        return s.execute(
            select(Conversation).where(
                Conversation.customer_id == customer_id,  # type: ignore[arg-type]
                Conversation.channel == channel,
            )  # type: ignore[arg-type]
        ).scalar_one()


def test_merge_moves_everything_and_keeps_a_pointer(store: Store) -> None:
    ann, phone = seed(store)
    services.add_note(store, "alice", "called her", customer_id=phone)
    services.merge_customers(store, ann, phone, "alice")
    with store.read() as s:
        kept = queries.get_customer(s, ann)
        gone = queries.get_customer(s, phone)
        listed = queries.list_customers(s)
        entries = queries.timeline(s, ann)
        audit = queries.audit_events(s, customer_id=ann)
    assert kept is not None and gone is not None
    assert {(i.channel, i.address) for i in kept.identities} == {
        ("email", "ann@example.com"),
        ("sms", "+14155550100"),
    }
    assert kept.open_conversations == 2
    assert gone.merged_into_id == ann and gone.identities == ()
    assert [c.id for c in listed] == [ann]
    assert [e.kind for e in entries] == ["message", "message", "note"]
    assert audit[0].action == "merge" and audit[0].detail["merged"] == phone
    # and it stays one customer: new SMS from that number lands on Ann
    ingest(store, "shop", batch(sms("SM2", minutes=60)))
    with store.read() as s:
        assert len(queries.timeline(s, ann)) == 4


def test_merge_refuses_nonsense(store: Store) -> None:
    ann, phone = seed(store)
    with pytest.raises(ServiceError, match="itself"):
        services.merge_customers(store, ann, ann, "alice")
    with pytest.raises(ServiceError, match="no customer"):
        services.merge_customers(store, ann, 999, "alice")
    services.merge_customers(store, ann, phone, "alice")
    with pytest.raises(ServiceError, match="already merged"):
        services.merge_customers(store, ann, phone, "alice")


def test_reply_on_another_channel_continues_the_customers_timeline(store: Store) -> None:
    ann, phone = seed(store)
    services.merge_customers(store, ann, phone, "alice")
    conv = conv_of(store, ann, "email")
    mid = services.reply(
        store, ACCOUNTS, conv.id or 0, "Texting you instead", "alice", channel="sms"
    )
    with store.read() as s:
        entries = queries.timeline(s, ann)
    last = entries[-1]
    assert (last.id, last.channel, last.direction, last.status) == (mid, "sms", "out", "queued")
    assert conv_of(store, ann, "sms").message_count == 2  # joined the existing SMS thread


def test_reply_on_a_channel_the_customer_lacks_says_what_to_do(store: Store) -> None:
    ann, _ = seed(store)
    conv = conv_of(store, ann, "email")
    with pytest.raises(ServiceError, match="no whatsapp address"):
        services.reply(store, ACCOUNTS, conv.id or 0, "hi", "alice", channel="whatsapp")


def test_send_new_normalizes_and_rejects_bad_numbers(store: Store) -> None:
    mid = services.send_new(
        store, ACCOUNTS, channel="sms", body="Hi", author="alice", to="+1 (415) 555-0100"
    )
    with store.read() as s:
        assert queries.outbox(s)[0].to == "+14155550100"
        assert queries.outbox(s)[0].id == mid
    with pytest.raises(ServiceError, match="not a valid phone number"):
        services.send_new(store, ACCOUNTS, channel="sms", body="Hi", author="a", to="+1 555")
    with pytest.raises(ServiceError, match="subject"):
        services.send_new(store, ACCOUNTS, channel="email", body="Hi", author="a", to="x@y.org")
    with pytest.raises(ServiceError, match="no configured account carries telegram"):
        services.send_new(store, ACCOUNTS, channel="telegram", body="Hi", author="a", to="42")


def test_assign_and_status_use_versions_and_leave_audit(store: Store) -> None:
    ann, _ = seed(store)
    conv = conv_of(store, ann, "email")
    done = services.assign(store, conv.id or 0, "bob", "alice", expected_version=conv.version)
    assert done.assignee == "bob" and done.version == conv.version + 1
    with pytest.raises(ConflictError, match="alice") as info:
        services.set_status(store, conv.id or 0, "resolved", "carol", expected_version=conv.version)
    assert "assigned to bob" in str(info.value)
    resolved = services.set_status(
        store, conv.id or 0, "resolved", "carol", expected_version=done.version
    )
    assert resolved.status == "resolved"
    with store.read() as s:
        actions = [(a.actor, a.action) for a in queries.audit_events(s, conversation_id=conv.id)]
    assert actions == [("carol", "status"), ("alice", "assign")]


def test_snooze_needs_a_time_and_lists_by_view(store: Store) -> None:
    ann, _ = seed(store)
    conv = conv_of(store, ann, "email")
    with pytest.raises(ServiceError, match="wake"):
        services.set_status(store, conv.id or 0, "snoozed", "a")
    services.set_status(
        store, conv.id or 0, "snoozed", "a", snoozed_until=utcnow() + timedelta(hours=2)
    )
    with pytest.raises(ServiceError, match="unknown status"):
        services.set_status(store, conv.id or 0, "closed", "a")
    with store.read() as s:
        assert [c.id for c in queries.list_conversations(s, view="snoozed")] == [conv.id]
        assert conv.id not in [c.id for c in queries.list_conversations(s, view="open")]


def test_inbox_views_unread_and_mine(store: Store) -> None:
    ann, _ = seed(store)
    conv = conv_of(store, ann, "email")
    services.assign(store, conv.id or 0, "alice", "alice")
    with store.read() as s:
        mine = queries.list_conversations(s, view="mine", agent="alice")
        unassigned = queries.list_conversations(s, view="unassigned", agent="alice")
    assert [c.id for c in mine] == [conv.id] and mine[0].unread
    assert conv.id not in [c.id for c in unassigned]
    with store.write() as s:
        queries.mark_read(s, "alice", conv.id or 0)
    with store.read() as s:
        assert not queries.list_conversations(s, view="mine", agent="alice")[0].unread
    with pytest.raises(ValueError, match="unknown view"), store.read() as s:
        queries.list_conversations(s, view="bogus")


def test_notes_are_internal_and_need_a_target(store: Store) -> None:
    ann, _ = seed(store)
    conv = conv_of(store, ann, "email")
    nid = services.add_note(store, "alice", "VIP", conversation_id=conv.id)
    with store.read() as s:
        entries = queries.timeline(s, ann)
        hits = queries.search(s, "vip")
        assert queries.outbox(s) == []
    assert entries[-1].kind == "note" and entries[-1].id == nid
    assert hits[0].kind == "note"
    with pytest.raises(ServiceError):
        services.add_note(store, "alice", "x")
    with pytest.raises(ServiceError, match="empty"):
        services.add_note(store, "alice", " ", customer_id=ann)


def test_a_number_typed_by_an_agent_meets_the_one_a_service_gave(store: Store) -> None:
    # Ingest takes E.164 from services as is; a typed number is parsed: both
    # must name the same customer, also through a whatsapp: prefix.
    ingest(
        store,
        "shop",
        batch(sms("SM1", "+14155550100"), sms("WA1", "whatsapp:+14155550101", channel="whatsapp")),
    )
    services.send_new(
        store, ACCOUNTS, channel="sms", body="Hi", author="alice", to="+1 (415) 555-0100"
    )
    services.send_new(
        store, ACCOUNTS, channel="whatsapp", body="Hi", author="alice", to="415 555 0101"
    )
    with store.read() as s:
        assert len(queries.list_customers(s)) == 2
        assert {c.message_count for c in queries.list_conversations(s, view="all")} == {2}
