"""Ingest: one transaction per batch, idempotent, normalized, threaded."""

from __future__ import annotations

import pytest
from sqlalchemy import Table, func, select

from omnitui.services import ingest as ingest_module
from omnitui.services import set_status
from omnitui.services.ingest import ingest, load_cursors
from providers.base import InboundAttachment, PollBatch, StatusUpdate
from storage.blobs import read_blob
from storage.db import Store
from storage.models import (
    Attachment,
    Conversation,
    Customer,
    Identity,
    Message,
    attachment_t,
    customer_t,
    message_t,
)
from storage.queries import search
from tests.helpers import batch, email, sms


def count(store: Store, table: Table) -> int:
    with store.read() as s:
        return int(s.execute(select(func.count()).select_from(table)).scalar_one())


def test_same_batch_twice_stores_nothing_new(store: Store) -> None:
    b = batch(email("a1"), email("a2", minutes=5, subject="Re: Refund please"), sms("SM1"))
    first = ingest(store, "shop", b)
    second = ingest(store, "shop", b)
    assert (first.stored, first.new_customers, first.new_conversations) == (3, 2, 2)
    assert (second.stored, second.duplicates, second.new_customers) == (0, 3, 0)
    assert count(store, message_t) == 3
    assert count(store, customer_t) == 2


def test_duplicates_inside_one_batch_are_stored_once(store: Store) -> None:
    result = ingest(store, "shop", batch(sms("SM1"), sms("SM1")))
    assert (result.stored, result.duplicates) == (1, 1)


def test_same_external_id_on_two_accounts_is_two_messages(store: Store) -> None:
    ingest(store, "shop", batch(sms("SM1")))
    ingest(store, "other", batch(sms("SM1")))
    assert count(store, message_t) == 2


def test_identities_are_normalized_and_name_comes_from_display_name(store: Store) -> None:
    ingest(
        store,
        "shop",
        batch(
            email("a1", "Ann.Example@Example.COM", name="Ann Example"),
            email("a2", "ann.example@example.com", minutes=1, name=None),
            sms("SM1", "+1 (415) 555-0100"),
            sms("SM2", "+14155550100", minutes=1),
            sms("WA1", "whatsapp:+14155550100", channel="whatsapp"),
        ),
    )
    with store.read() as s:
        idents = {(i.channel, i.address) for i in s.execute(select(Identity)).scalars()}
        names = sorted(c.name for c in s.execute(select(Customer)).scalars())
    assert idents == {
        ("email", "ann.example@example.com"),
        ("sms", "+14155550100"),
        ("whatsapp", "+14155550100"),
    }
    assert names == ["+14155550100", "+14155550100", "Ann Example"]


def test_cursor_is_stored_with_the_batch(store: Store) -> None:
    ingest(store, "shop", batch(sms("SM1"), cursor="after-SM1"))
    assert load_cursors(store, "shop") == {"": "after-SM1"}
    ingest(store, "shop", PollBatch(cursors={"INBOX": "v1:7", "Sent": "v1:2"}))
    assert load_cursors(store, "shop") == {"": "after-SM1", "INBOX": "v1:7", "Sent": "v1:2"}


def test_a_failed_write_stores_nothing_and_keeps_the_cursor(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(store, "shop", batch(sms("SM1"), cursor="c1"))

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest_module, "_insert_attachments", broken)
    with pytest.raises(RuntimeError):
        ingest(store, "shop", batch(sms("SM2", "+14155550111", minutes=3), cursor="c2"))
    assert load_cursors(store, "shop") == {"": "c1"}
    assert count(store, message_t) == 1
    assert count(store, customer_t) == 1


def test_email_threads_by_references_then_subject(store: Store) -> None:
    ingest(
        store,
        "shop",
        batch(
            email("r1", subject="Order 1234 broken"),
            email(
                "r2",
                minutes=10,
                subject="Re: Order 1234 broken",
                in_reply_to="<r1@mail.example.com>",
                references=("<r1@mail.example.com>",),
            ),
            # a client that dropped the headers: found by subject and customer
            email("r3", minutes=20, subject="AW: RE: order 1234  broken"),
            # same subject, another customer: a thread of its own
            email("r4", "bo@example.com", minutes=21, subject="Re: Order 1234 broken", name="Bo"),
            email("r5", minutes=30, subject="New question"),
        ),
    )
    # a later poll continues the thread by In-Reply-To alone
    ingest(
        store,
        "shop",
        batch(email("r6", minutes=40, subject="whatever", in_reply_to="<r3@mail.example.com>")),
    )
    with store.read() as s:
        by_ext = {m.external_id: m.conversation_id for m in s.execute(select(Message)).scalars()}
    thread = by_ext["<r1@mail.example.com>"]
    assert by_ext["<r2@mail.example.com>"] == thread
    assert by_ext["<r3@mail.example.com>"] == thread
    assert by_ext["<r6@mail.example.com>"] == thread
    assert by_ext["<r4@mail.example.com>"] != thread
    assert by_ext["<r5@mail.example.com>"] not in (thread, by_ext["<r4@mail.example.com>"])


def test_sms_and_whatsapp_are_threads_per_number_pair(store: Store) -> None:
    ingest(
        store,
        "shop",
        batch(
            sms("SM1"),
            sms("SM2", minutes=1),
            sms("SM3", "+14155550111", minutes=2),
            sms("WA1", channel="whatsapp", minutes=3),
        ),
    )
    with store.read() as s:
        convs = s.execute(select(Conversation)).scalars().all()
    assert sorted((c.channel, c.message_count) for c in convs) == [
        ("sms", 1),
        ("sms", 2),
        ("whatsapp", 1),
    ]


@pytest.mark.parametrize("before", ["resolved", "pending"])
def test_new_inbound_reopens_a_resolved_or_pending_conversation(store: Store, before: str) -> None:
    # pending means "waiting for the customer": their answer puts it back in front of us
    ingest(store, "shop", batch(sms("SM1")))
    with store.read() as s:
        conv = s.execute(select(Conversation)).scalar_one()
    assert conv.id is not None and conv.waiting_since is not None
    set_status(store, conv.id, before, "alice")
    ingest(store, "shop", batch(sms("SM2", minutes=60)))
    with store.read() as s:
        again = s.get(Conversation, conv.id)
    assert again is not None
    assert again.status == "open"
    assert again.message_count == 2
    assert again.version > conv.version


def test_our_own_outbound_clears_waiting_and_status_updates_apply(store: Store) -> None:
    ingest(store, "shop", batch(sms("SM1"), sms("SM2", direction="out", minutes=5)))
    with store.read() as s:
        conv = s.execute(select(Conversation)).scalar_one()
    assert conv.waiting_since is None
    result = ingest(store, "shop", PollBatch(status_updates=(StatusUpdate("SM2", "delivered"),)))
    assert result.status_updates == 1
    with store.read() as s:
        out = s.execute(select(Message).where(message_t.c.external_id == "SM2")).scalar_one()
    assert (out.delivery_state, out.outbox_state) == ("delivered", None)


def test_attachments_are_content_addressed_with_safe_names(store: Store) -> None:
    data = b"%PDF-1.4 invoice"
    msg = email(
        "att",
        attachments=(
            InboundAttachment("../../etc/passwd", "text/plain", b"root:x"),
            InboundAttachment("invoice.pdf", "application/pdf", data),
            InboundAttachment("copy.pdf", "application/pdf", data),
        ),
    )
    ingest(store, "shop", batch(msg))
    with store.read() as s:
        atts = s.execute(select(Attachment).order_by(attachment_t.c.id)).scalars().all()
    assert [a.filename for a in atts] == ["passwd", "invoice.pdf", "copy.pdf"]
    assert atts[1].sha256 == atts[2].sha256
    assert read_blob(store.data_dir, atts[1].sha256) == data


def test_a_problem_message_is_stored_with_its_reason(store: Store) -> None:
    ingest(
        store,
        "shop",
        batch(email("bad", problem="unknown charset x-klingon; shown with replacements")),
    )
    with store.read() as s:
        m = s.execute(select(Message)).scalar_one()
    assert m.error is not None and "x-klingon" in m.error


def test_full_text_search_finds_subject_body_and_prefix(store: Store) -> None:
    ingest(
        store,
        "shop",
        batch(
            email("s1", subject="Invoice question", body="Is VAT included?"),
            sms("SM1", body="Die Lieferung ist beschädigt"),
        ),
    )
    with store.read() as s:
        assert [h.kind for h in search(s, "invoice")] == ["message"]
        assert len(search(s, "invo")) == 1
        assert len(search(s, "lieferung beschädigt")) == 1
        assert search(s, "vat included")[0].subject == "Invoice question"
        assert search(s, "nothing-like-this") == []
        assert search(s, "\"'*)(") == []


def test_new_inbound_wakes_a_snoozed_conversation(store: Store) -> None:
    from datetime import timedelta

    from storage.models import utcnow

    ingest(store, "shop", batch(sms("SM1")))
    with store.read() as s:
        conv = s.execute(select(Conversation)).scalar_one()
    set_status(store, conv.id or 0, "snoozed", "alice", snoozed_until=utcnow() + timedelta(days=2))
    ingest(store, "shop", batch(sms("SM2", minutes=60)))
    with store.read() as s:
        again = s.get(Conversation, conv.id)
    assert again is not None and (again.status, again.snoozed_until) == ("open", None)


def test_replies_go_to_reply_to_but_the_customer_is_the_sender(store: Store) -> None:
    ingest(
        store,
        "shop",
        batch(email("rt", "ann@example.com", reply_to="Billing <Billing@Example.com>")),
    )
    with store.read() as s:
        conv = s.execute(select(Conversation)).scalar_one()
        ident = s.execute(select(Identity)).scalar_one()
    assert conv.their_address == "billing@example.com"
    assert ident.address == "ann@example.com"
