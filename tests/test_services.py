"""Notes, assignment, status, merge and channel switching."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from omnitui import services
from omnitui.events import describe_event
from omnitui.services import (
    AccountInfo,
    ConflictError,
    InvalidRequest,
    ServiceError,
    readmarks,
    sync,
)
from omnitui.services.ingest import ingest
from omnitui.services.snoozes import WAKE_ACTOR, wake_due_snoozes
from omnitui.threads import reply_subject
from storage import queries
from storage.db import Store, utc
from storage.models import Conversation, Customer, Message, conversation_t, message_t, utcnow
from tests.helpers import ScriptedProvider, batch, email, sms

ACCOUNTS = {"shop": AccountInfo.from_provider(ScriptedProvider())}


def seed(store: Store) -> tuple[int, int]:
    """Ann on e-mail and on SMS: two customers until merged. Returns their ids."""
    ingest(store, "shop", batch(email("e1", name="Ann Example"), sms("SM1", minutes=3)))
    with store.read() as s:
        ids = {c.name: c.id for c in s.execute(select(Customer)).scalars()}
    return ids["Ann Example"] or 0, ids["+14155550100"] or 0


def conv_of(store: Store, customer_id: int, channel: str) -> Conversation:
    with store.read() as s:
        conv: Conversation = s.execute(
            select(Conversation).where(
                conversation_t.c.customer_id == customer_id,
                conversation_t.c.channel == channel,
            )
        ).scalar_one()
    return conv


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
    readmarks.mark_read(store, "alice", conv.id or 0)
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
    # (the WhatsApp customer wrote just now: WhatsApp takes free-form text for 24 hours)
    wrote = replace(sms("WA1", "whatsapp:+14155550101", channel="whatsapp"), sent_at=utcnow())
    ingest(store, "shop", batch(sms("SM1", "+14155550100"), wrote))
    services.send_new(
        store, ACCOUNTS, channel="sms", body="Hi", author="alice", to="+1 (415) 555-0100"
    )
    services.send_new(
        store, ACCOUNTS, channel="whatsapp", body="Hi", author="alice", to="415 555 0101"
    )
    with store.read() as s:
        assert len(queries.list_customers(s)) == 2
        assert {c.message_count for c in queries.list_conversations(s, view="all")} == {2}


@pytest.mark.parametrize("big", [2**31, 2**63, 10**23, -(2**63) - 1])
def test_an_id_beyond_the_id_column_names_nothing(store: Store, big: int) -> None:
    """SQLite's driver overflows beyond 64 bits, PostgreSQL's integer column
    beyond 32: either way the answer is "there is none", never a crash."""
    ann, _ = seed(store)
    calls: dict[str, list[Callable[[], object]]] = {
        "conversation": [
            lambda: services.reply(store, ACCOUNTS, big, "hi", "a"),
            lambda: services.assign(store, big, "bob", "a"),
            lambda: services.set_status(store, big, "resolved", "a"),
            lambda: services.add_note(store, "a", "n", conversation_id=big),
        ],
        "customer": [
            lambda: services.add_note(store, "a", "n", customer_id=big),
            lambda: services.merge_customers(store, ann, big, "a"),
            lambda: services.merge_customers(store, big, ann, "a"),
            lambda: services.send_new(
                store, ACCOUNTS, channel="sms", body="x", author="a", customer_id=big
            ),
        ],
    }
    for noun, tries in calls.items():
        for call in tries:
            with pytest.raises(ServiceError, match=f"there is no {noun} {big}$") as info:
                call()
            assert not isinstance(info.value, InvalidRequest)
    with store.read() as s:
        assert queries.get_customer(s, big) is None
        assert queries.get_attachment(s, big) is None
        assert not queries.id_fits(s, big) if big >= 2**63 else True


def _outbound(store: Store) -> list[Message]:
    with store.read() as s:
        return list(s.execute(select(Message).where(message_t.c.direction == "out")).scalars())


def test_a_subject_with_line_breaks_is_folded_to_one_line(store: Store) -> None:
    services.send_new(
        store,
        ACCOUNTS,
        channel="email",
        body="Hi",
        author="a",
        to="x@y.org",
        subject="Your order\r\nBcc: everyone@example.com\n\t(2)\x00",
    )
    ingest(store, "shop", batch(email("e9", "z@y.org", subject="Broken\r\nX-Injected: 1")))
    with store.read() as s:
        (conv,) = [
            c
            for c in queries.list_conversations(s, view="all")
            if c.subject == ("Broken\r\nX-Injected: 1")
        ]
    services.reply(store, ACCOUNTS, conv.id, "Answer", "a")
    services.reply(store, ACCOUNTS, conv.id, "Answer", "a", subject="Re:\rmine\u2028too")
    subjects = [m.subject for m in _outbound(store)]
    assert subjects == [
        "Your order Bcc: everyone@example.com (2)",
        "Re: Broken X-Injected: 1",
        "Re: mine too",
    ]
    with pytest.raises(InvalidRequest, match="needs a subject"):
        services.send_new(
            store, ACCOUNTS, channel="email", body="Hi", author="a", to="x@y.org", subject="\r\n"
        )


def test_snoozing_into_the_past_and_a_wake_time_without_snooze_are_refused(store: Store) -> None:
    ann, _ = seed(store)
    conv = conv_of(store, ann, "email")
    past = utcnow() - timedelta(minutes=1)
    with pytest.raises(InvalidRequest, match="not in the future"):
        services.set_status(store, conv.id or 0, "snoozed", "a", snoozed_until=past)
    with pytest.raises(InvalidRequest, match="snoozed only, not with resolved"):
        services.set_status(
            store, conv.id or 0, "resolved", "a", snoozed_until=utcnow() + timedelta(hours=1)
        )
    with pytest.raises(InvalidRequest, match="unknown status"):
        services.set_status(store, conv.id or 0, "closed", "a")
    # the caller's clock decides what "the future" is (the console's, in its tests)
    woken = services.set_status(
        store, conv.id or 0, "snoozed", "a", snoozed_until=past, now=past - timedelta(hours=1)
    )
    assert woken.status == "snoozed"
    with store.read() as s:
        assert queries.get_customer(s, ann) is not None
        assert [e.action for e in queries.audit_events(s, conversation_id=conv.id)] == ["status"]


CHAT = AccountInfo(
    name="chat",
    channels=("telegram", "matrix"),
    addresses={"telegram": "bot", "matrix": "@bot:example.org"},
)


@pytest.mark.parametrize(
    ("channel", "to", "most", "unit"),
    [
        ("sms", "+14155550100", 1600, "characters"),
        ("whatsapp", "+14155550100", 1600, "characters"),
        ("telegram", "42", 4096, "characters"),
        ("matrix", "@ann:example.org", 60_000, "bytes"),
        ("email", "ann@example.com", 10 * 1024 * 1024, "bytes"),
    ],
)
def test_a_body_too_long_for_its_channel_is_refused_before_queuing(
    store: Store, channel: str, to: str, most: int, unit: str
) -> None:
    accounts = {**ACCOUNTS, "chat": CHAT}
    if channel == "whatsapp":  # the customer wrote just now: inside WhatsApp's 24-hour window
        wrote = sms("WA0", f"whatsapp:{to}", channel="whatsapp", ours="whatsapp:+14155550199")
        ingest(store, "shop", batch(replace(wrote, sent_at=utcnow())))

    def send(body: str) -> int:
        return services.send_new(
            store, accounts, channel=channel, body=body, author="a", to=to, subject="S"
        )

    send("x" * most)  # the limit itself is fine
    with pytest.raises(InvalidRequest, match=f"{most + 1:,} {unit}, at most {most:,}"):
        send("x" * (most + 1))
    if unit == "characters":  # counted as the services count: an emoji is two
        with pytest.raises(InvalidRequest, match="too long"):
            send("\U0001f600" * (most // 2 + 1))
    assert len(_outbound(store)) == 1  # nothing of the refused ones was queued
    conv = _outbound(store)[0].conversation_id
    with pytest.raises(InvalidRequest, match="too long"):
        services.reply(store, accounts, conv, "y" * (most + 1), "a")
    assert len(_outbound(store)) == 1


def test_unknown_channels_and_accounts_are_usage_errors(store: Store) -> None:
    ann, _ = seed(store)
    conv = conv_of(store, ann, "email")
    with pytest.raises(InvalidRequest, match="unknown channel 'fax'"):
        services.reply(store, ACCOUNTS, conv.id or 0, "hi", "a", channel="fax")
    with pytest.raises(InvalidRequest, match="unknown channel 'fax'"):
        services.send_new(store, ACCOUNTS, channel="fax", body="x", author="a", to="1")
    with pytest.raises(InvalidRequest, match="no account named 'nope'"):
        services.send_new(
            store, ACCOUNTS, channel="sms", body="x", author="a", to="+14155550100", account="nope"
        )
    with pytest.raises(InvalidRequest, match="into itself"):
        services.merge_customers(store, ann, ann, "a")


def test_text_that_no_store_or_channel_takes_is_refused_on_both_engines(store: Store) -> None:
    ann, _ = seed(store)
    conv = conv_of(store, ann, "email")
    for body, why in (("a\x00b", "NUL"), ("bad \udcff byte", "not valid UTF-8")):
        with pytest.raises(InvalidRequest, match=why):
            services.reply(store, ACCOUNTS, conv.id or 0, body, "a")
        with pytest.raises(InvalidRequest, match=why):
            services.add_note(store, "a", body, customer_id=ann)
    assert _outbound(store) == []


def test_due_snoozes_wake_up_open_and_audited(store: Store) -> None:
    ann, phone = seed(store)
    now = utcnow()
    soon, later = conv_of(store, ann, "email"), conv_of(store, phone, "sms")
    for conv, minutes in ((soon, 1), (later, 60)):
        services.set_status(
            store, conv.id or 0, "snoozed", "alice", snoozed_until=now + timedelta(minutes=minutes)
        )
    assert wake_due_snoozes(store, now + timedelta(seconds=30)) == []
    # 90 s after "snooze for 1 minute": open again, in the store, for everyone
    assert wake_due_snoozes(store, now + timedelta(seconds=90)) == [soon.id]
    assert wake_due_snoozes(store, now + timedelta(seconds=91)) == []  # once only
    woken = conv_of(store, ann, "email")
    assert (woken.status, woken.snoozed_until, woken.version) == ("open", None, soon.version + 2)
    assert conv_of(store, phone, "sms").status == "snoozed"
    with store.read() as s:
        events = queries.audit_events(s, conversation_id=soon.id)
        entries = queries.timeline(s, ann, with_events=True)
        listed = [c.id for c in queries.list_conversations(s, view="open")]
    assert (events[0].actor, events[0].action) == (WAKE_ACTOR, "wake")
    assert events[0].detail["after"] == {"status": "open", "snoozed_until": None}
    assert [
        (e.kind, e.author, describe_event(e.action or "", e.detail))
        for e in entries
        if e.kind == "event"
    ][-1] == ("event", WAKE_ACTOR, "woke up: the snooze ended, open again")
    assert soon.id in listed


def test_a_wake_up_never_overwrites_a_change_made_meanwhile(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann, _ = seed(store)
    now = utcnow()
    conv = conv_of(store, ann, "email")
    services.set_status(
        store, conv.id or 0, "snoozed", "alice", snoozed_until=now + timedelta(minutes=1)
    )
    write = store.write

    @contextmanager
    def agent_resnoozes_first() -> Iterator[Any]:
        # between the waker's read and its write, an agent snoozes it for a day more
        monkeypatch.setattr(store, "write", write)
        services.set_status(
            store, conv.id or 0, "snoozed", "bob", snoozed_until=now + timedelta(days=1)
        )
        with write() as session:
            yield session

    monkeypatch.setattr(store, "write", agent_resnoozes_first)
    assert wake_due_snoozes(store, now + timedelta(minutes=5)) == []
    kept = conv_of(store, ann, "email")
    assert kept.status == "snoozed" and kept.snoozed_until is not None
    assert utc(kept.snoozed_until) == now + timedelta(days=1)


def test_the_pollers_round_wakes_due_snoozes(store: Store) -> None:
    # `omnitui sync --watch` on a server, no console open: the round does it
    ann, _ = seed(store)
    conv = conv_of(store, ann, "email")
    services.set_status(
        store, conv.id or 0, "snoozed", "alice", snoozed_until=utcnow() + timedelta(minutes=1)
    )
    with store.write() as s:  # ... and the minute has passed
        s.execute(
            update(conversation_t)
            .where(conversation_t.c.id == conv.id)
            .values(snoozed_until=utcnow() - timedelta(seconds=30))
        )
    report = sync.sync_once(store, ScriptedProvider())
    assert conv_of(store, ann, "email").status == "open"
    assert conv.id in report.conversation_ids


def test_a_switch_to_email_continues_the_customers_open_email_thread(store: Store) -> None:
    ann, phone = seed(store)
    services.merge_customers(store, ann, phone, "alice")
    mail, text = conv_of(store, ann, "email"), conv_of(store, ann, "sms")
    target = services.reply_target(store, ACCOUNTS, text.id or 0, "email")
    assert (target.conversation_id, target.address) == (mail.id, "ann@example.com")
    mid = services.reply(store, ACCOUNTS, text.id or 0, "Details by mail", "alice", channel="email")
    with store.read() as s:
        (out,) = [e for e in queries.timeline(s, ann) if e.id == mid and e.kind == "message"]
    assert out.conversation_id == mail.id == target.conversation_id
    assert out.subject == reply_subject(mail.subject)
    assert conv_of(store, ann, "email").message_count == 2  # no second e-mail thread


def test_a_switch_to_email_with_no_open_thread_starts_one(store: Store) -> None:
    ann, phone = seed(store)
    services.merge_customers(store, ann, phone, "alice")
    mail, text = conv_of(store, ann, "email"), conv_of(store, ann, "sms")
    services.set_status(store, mail.id or 0, "resolved", "alice")
    target = services.reply_target(store, ACCOUNTS, text.id or 0, "email")
    assert target.conversation_id is None
    services.reply(
        store, ACCOUNTS, text.id or 0, "New topic", "alice", channel="email", subject="Hello"
    )
    with store.read() as s:
        emails = [c for c in queries.list_conversations(s, view="all") if c.channel == "email"]
    assert len(emails) == 2


def test_reply_target_on_sms_names_the_thread_reply_joins(store: Store) -> None:
    ann, phone = seed(store)
    services.merge_customers(store, ann, phone, "alice")
    mail, text = conv_of(store, ann, "email"), conv_of(store, ann, "sms")
    target = services.reply_target(store, ACCOUNTS, mail.id or 0, "sms")
    mid = services.reply(store, ACCOUNTS, mail.id or 0, "Texting", "alice", channel="sms")
    with store.read() as s:
        (out,) = [e for e in queries.timeline(s, ann) if e.id == mid and e.kind == "message"]
    assert target.conversation_id == text.id == out.conversation_id
