"""The rules both faces call, tested at the service (on both engines): the
customer a merged id means, sending right after queuing, one sync round,
the subject a new e-mail thread needs."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from omnitui import services
from omnitui.config import SecretUnavailable
from omnitui.services import AccountInfo, InvalidRequest, leases, outbox, sync
from omnitui.services.customers import live_customer_id
from omnitui.services.ingest import ingest
from providers.base import Provider
from storage.db import Store
from storage.models import Conversation, Customer, Message, Note, conversation_t, customer_t
from tests.helpers import ScriptedProvider, batch, email, sms

ACCOUNTS = {"shop": AccountInfo.from_provider(ScriptedProvider())}


def seed(store: Store) -> tuple[int, int]:
    """Ann on e-mail and on SMS, two customers. Returns their ids."""
    ingest(store, "shop", batch(email("e1", name="Ann Example"), sms("SM1", minutes=3)))
    with store.read() as s:
        ids = {c.name: c.id or 0 for c in s.execute(select(Customer)).scalars()}
    return ids["Ann Example"], ids["+14155550100"]


def conversation_on(store: Store, channel: str) -> int:
    with store.read() as s:
        conv = s.execute(
            select(Conversation).where(conversation_t.c.channel == channel)
        ).scalar_one()
        return conv.id or 0


def state_of(store: Store, message_id: int) -> str | None:
    with store.read() as s:
        message = s.get(Message, message_id)
        assert message is not None
        return message.outbox_state


def test_a_merged_id_means_the_customer_that_remains(store: Store) -> None:
    ann, phone = seed(store)
    with store.read() as s:
        assert live_customer_id(s, phone) == phone
    services.merge_customers(store, ann, phone, "alice")
    with store.read() as s:
        assert live_customer_id(s, phone) == ann
        assert live_customer_id(s, ann) == ann
        assert live_customer_id(s, 999) is None
        assert live_customer_id(s, 2**63) is None  # beyond the id column: no such row
    note = services.add_note(store, "alice", "called", customer_id=phone)
    with store.read() as s:
        assert s.execute(select(customer_t.c.id)).scalars().all()  # nothing deleted
        kept = s.get(Note, note)
        assert kept is not None and kept.customer_id == ann


def test_deliver_now_sends_or_leaves_it_queued_for_the_poller(store: Store) -> None:
    seed(store)
    conv = conversation_on(store, "sms")
    provider = ScriptedProvider()

    def with_secret(account: str) -> Provider:
        assert account == "shop"
        return provider

    def without_secret(account: str) -> Provider:
        raise SecretUnavailable(f"{account}: auth_token_env: the variable TOKEN is not set")

    sent = services.reply(store, ACCOUNTS, conv, "On its way", "alice")
    delivery = outbox.deliver_now(store, with_secret, sent)
    assert isinstance(delivery, outbox.Delivery) and delivery.state == "sent"
    assert state_of(store, sent) == "sent" and len(provider.sent) == 1
    waiting = services.reply(store, ACCOUNTS, conv, "Later", "alice")
    deferred = outbox.deliver_now(store, without_secret, waiting)
    assert isinstance(deferred, outbox.Deferred) and "TOKEN is not set" in deferred.reason
    assert state_of(store, waiting) == "queued" and len(provider.sent) == 1
    with pytest.raises(outbox.OutboxError):  # sent already: nothing is sent twice
        outbox.deliver_now(store, with_secret, sent)
    with pytest.raises(outbox.OutboxNotFound):
        outbox.deliver_now(store, with_secret, 999)


def test_one_sync_round_polls_sends_and_gives_the_lease_back(store: Store) -> None:
    seed(store)
    queued = services.reply(store, ACCOUNTS, conversation_on(store, "sms"), "Hi", "alice")
    provider = ScriptedProvider(batches=[batch(sms("SM2", minutes=9), cursor="c2")])
    (report,) = sync.sync_round(store, [provider])
    assert (report.ok, report.stored, report.sent) == (True, 1, 1)
    assert state_of(store, queued) == "sent"
    assert leases.holders(store, ["shop"], owner="someone else") == {}


def test_a_reply_switched_to_email_names_its_new_thread(store: Store) -> None:
    ann, phone = seed(store)
    services.merge_customers(store, ann, phone, "alice")
    mail, text = conversation_on(store, "email"), conversation_on(store, "sms")
    services.set_status(store, mail, "resolved", "alice")  # no open e-mail thread
    assert services.reply_target(store, ACCOUNTS, text, "email").conversation_id is None
    with pytest.raises(InvalidRequest, match="a new e-mail needs a subject"):
        services.reply(store, ACCOUNTS, text, "By mail", "alice", channel="email")
    with pytest.raises(InvalidRequest, match="a new e-mail needs a subject"):
        services.reply(store, ACCOUNTS, text, "By mail", "alice", channel="email", subject="\n")
    mid = services.reply(store, ACCOUNTS, text, "By mail", "alice", channel="email", subject="Hi")
    with store.read() as s:
        message = s.get(Message, mid)
        assert message is not None and (message.channel, message.subject) == ("email", "Hi")


def test_one_parser_reads_snooze_times_for_both_faces() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from omnitui.when import read_time, wake_time

    now = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    cet = timezone(timedelta(hours=1))
    assert read_time("2026-04-01T09:00:00", now, UTC) == datetime(2026, 4, 1, 9, tzinfo=UTC)
    assert read_time("2026-04-01 09:00:00", now, cet) == datetime(2026, 4, 1, 8, tzinfo=UTC)
    assert read_time("2026-04-01T09:00+02:00", now, cet) == datetime(2026, 4, 1, 7, tzinfo=UTC)
    assert read_time("2026-04-01T09:00:00Z", now, cet) == datetime(2026, 4, 1, 9, tzinfo=UTC)
    assert read_time("2026-04-01", now, UTC) == datetime(2026, 4, 1, 9, tzinfo=UTC)
    assert read_time("tomorrow", now, UTC) == datetime(2026, 3, 3, 9, tzinfo=UTC)
    assert read_time("2001-01-01", now, UTC) == datetime(2001, 1, 1, 9, tzinfo=UTC)  # read
    with pytest.raises(ValueError, match="not in the future"):  # but no snooze then
        wake_time("2001-01-01", now, UTC)
    for text in ("soon", "2026-13-01T09:00", "25:00", ""):
        with pytest.raises(ValueError, match="not a time omnitui understands"):
            read_time(text, now, UTC)
