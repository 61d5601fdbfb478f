"""The stale-send guard's service (omnitui.services.staleness) on both
engines: what a customer's timeline gained since an entry was seen, and the
entry ids both faces write."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from omnitui import services
from omnitui.services import InvalidRequest, NotFound, outbox, staleness
from omnitui.services.entries import EntryId
from omnitui.services.ingest import ingest
from storage.db import Store
from storage.models import conversation_t
from tests.helpers import T0, batch, email, sms
from tests.test_services import ACCOUNTS

ANN1 = "<a1@mail.example.com>"


def ann(store: Store) -> tuple[int, int]:
    """Ann on e-mail and SMS, merged: (e-mail conversation, SMS conversation)."""
    ingest(store, "shop", batch(email("a1"), sms("SM1", minutes=3)))
    with store.read() as session:
        rows = session.execute(
            select(conversation_t.c.id, conversation_t.c.customer_id, conversation_t.c.channel)
        ).all()
    by = {r.channel: r for r in rows}
    services.merge_customers(store, by["email"].customer_id, by["sms"].customer_id, "seed")
    return by["email"].id, by["sms"].id


def mail_later(store: Store, ext: str, minutes: float, body: str = "Any news?") -> None:
    ingest(
        store,
        "shop",
        batch(email(ext, minutes=minutes, body=body, in_reply_to=ANN1, references=(ANN1,))),
    )


def test_the_latest_entry_has_nothing_newer(store: Store) -> None:
    mail_conv, sms_conv = ann(store)
    latest = staleness.latest_entry(store, mail_conv)
    assert latest is not None and latest.kind == "message"
    assert staleness.latest_entry(store, sms_conv) == latest  # one timeline per customer
    assert staleness.newer_entries(store, mail_conv, latest) == []
    staleness.require_latest(store, mail_conv, latest)  # passes


def test_new_messages_replies_and_notes_are_newer_in_order(store: Store) -> None:
    mail_conv, sms_conv = ann(store)
    seen = staleness.latest_entry(store, mail_conv)
    mail_later(store, "a2", 60, "Where is my refund?\nthanks")
    queued = services.reply(store, ACCOUNTS, sms_conv, "On its way", "bob")
    note = services.add_note(store, "carol", "Called her", conversation_id=mail_conv)
    newer = staleness.newer_entries(store, mail_conv, seen)
    assert [(e.kind, e.who, e.preview) for e in newer] == [
        ("message", "Ann Example", "Where is my refund?"),
        ("message", "bob", "On its way"),
        ("note", "carol", "Called her"),
    ]
    assert newer[1].id == queued and newer[1].status == "queued" and newer[1].direction == "out"
    assert newer[0].at == T0 + timedelta(minutes=60)
    assert staleness.latest_entry(store, mail_conv) == EntryId("note", note)
    # seen the reply: only the note is newer
    assert [e.entry for e in staleness.newer_entries(store, mail_conv, newer[1].entry_id)] == [
        f"note:{note}"
    ]


def test_a_mail_arriving_late_with_an_old_date_is_still_newer(store: Store) -> None:
    mail_conv, _ = ann(store)
    seen = staleness.latest_entry(store, mail_conv)
    mail_later(store, "late", -600, "Sent yesterday, arrived now")
    assert [e.preview for e in staleness.newer_entries(store, mail_conv, seen)] == [
        "Sent yesterday, arrived now"
    ]
    latest = staleness.latest_entry(store, mail_conv)
    assert latest is not None and staleness.newer_entries(store, mail_conv, latest) == []


def test_a_note_seen_still_flags_messages_after_it(store: Store) -> None:
    mail_conv, _ = ann(store)
    note = services.add_note(store, "carol", "VIP", conversation_id=mail_conv)
    seen = staleness.latest_entry(store, mail_conv)
    assert seen == EntryId("note", note)
    queued = services.reply(store, ACCOUNTS, mail_conv, "Hello Ann", "bob")
    assert [e.id for e in staleness.newer_entries(store, mail_conv, seen)] == [queued]


def test_a_discarded_reply_is_not_newer(store: Store) -> None:
    mail_conv, _ = ann(store)
    seen = staleness.latest_entry(store, mail_conv)
    queued = services.reply(store, ACCOUNTS, mail_conv, "Oops", "bob")
    outbox.discard(store, queued, "bob")
    assert staleness.newer_entries(store, mail_conv, seen) == []
    assert staleness.latest_entry(store, mail_conv) == seen


def test_require_latest_says_what_is_newer(store: Store) -> None:
    mail_conv, _ = ann(store)
    seen = staleness.latest_entry(store, mail_conv)
    assert seen is not None
    mail_later(store, "a2", 60)
    with pytest.raises(staleness.Stale) as raised:
        staleness.require_latest(store, mail_conv, seen)
    stale = raised.value
    assert stale.seen == seen and stale.latest == staleness.latest_entry(store, mail_conv)
    assert [e.preview for e in stale.newer] == ["Any news?"]
    assert f"--if-latest {stale.latest}" in str(stale)


def test_an_entry_of_another_customer_or_conversation_is_refused(store: Store) -> None:
    mail_conv, _ = ann(store)
    ingest(store, "shop", batch(sms("SM-bob", "+14155550177", minutes=5)))
    with store.read() as session:
        bob_conv = max(session.execute(select(conversation_t.c.id)).scalars())
    bobs = staleness.latest_entry(store, bob_conv)
    assert bobs is not None
    with pytest.raises(InvalidRequest, match="not on the timeline"):
        staleness.newer_entries(store, mail_conv, bobs)
    with pytest.raises(InvalidRequest, match="not on the timeline"):
        staleness.newer_entries(store, mail_conv, EntryId("note", 999))
    with pytest.raises(NotFound):
        staleness.newer_entries(store, 12345, bobs)
    with pytest.raises(NotFound):
        staleness.latest_entry(store, 2**70)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "message",
        "message:",
        "message:0",
        "msg:1",
        "note:-1",
        "note:1x",
        "m12",
        "note:" + "9" * 20,
    ],
)
def test_a_malformed_entry_id_is_refused(text: str) -> None:
    with pytest.raises(InvalidRequest, match="message:ID or note:ID"):
        EntryId.parse(text)
    assert EntryId.maybe(text) is None


def test_entry_ids_read_back_as_written() -> None:
    assert str(EntryId.parse("message:123")) == "message:123"
    assert EntryId.parse(" note:45 ") == EntryId("note", 45)


def test_the_seen_mark_is_the_newest_entry_shown() -> None:
    shown = [
        ("message", 8, T0 + timedelta(minutes=10)),
        ("message", 9, T0),  # arrived last, dated earlier
        ("event", 3, T0 + timedelta(minutes=20)),
        ("note", 2, T0 + timedelta(minutes=5)),
    ]
    assert staleness.seen_mark(shown) == EntryId("message", 9)
    assert staleness.seen_mark([("event", 1, T0)]) is None
