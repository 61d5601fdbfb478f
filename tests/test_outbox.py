"""The outbox state machine: queued -> sending -> sent | failed | unconfirmed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from omnitui import services
from omnitui.services import AccountInfo, outbox
from omnitui.services.ingest import ingest
from storage.db import Store
from storage.models import Conversation, conversation_t, message_t, utcnow
from tests.helpers import ScriptedProvider, batch, email, message, sms


@pytest.fixture
def provider() -> ScriptedProvider:
    return ScriptedProvider()


def accounts(p: ScriptedProvider) -> dict[str, AccountInfo]:
    return {p.account: AccountInfo.from_provider(p)}


def first_conversation(store: Store) -> Conversation:
    with store.read() as s:
        first: Conversation | None = (
            s.execute(select(Conversation).order_by(conversation_t.c.id)).scalars().first()
        )
    assert first is not None
    return first


def test_reply_is_queued_before_any_network_call(store: Store, provider: ScriptedProvider) -> None:
    ingest(store, "shop", batch(sms("SM1")))
    conv = first_conversation(store)
    mid = services.reply(store, accounts(provider), conv.id or 0, "On its way!", "alice")
    queued = message(store, mid)
    assert (queued.outbox_state, queued.attempts, queued.author) == ("queued", 0, "alice")
    assert provider.sent == []
    assert outbox.due(store) == [mid]


def test_delivery_records_the_provider_id(store: Store, provider: ScriptedProvider) -> None:
    ingest(store, "shop", batch(sms("SM1")))
    mid = services.reply(
        store, accounts(provider), first_conversation(store).id or 0, "Hi", "alice"
    )
    result = outbox.deliver(store, provider, mid)
    sent = message(store, mid)
    assert result.state == "sent"
    assert (sent.outbox_state, sent.external_id, sent.attempts) == ("sent", "SM0001", 1)
    assert provider.sent[0].to_address == "+14155550100"
    assert outbox.due(store) == []


def test_email_reply_headers(store: Store, provider: ScriptedProvider) -> None:
    ingest(
        store,
        "shop",
        batch(
            email("e1"),
            email(
                "e2",
                minutes=5,
                subject="Re: Refund please",
                in_reply_to="<e1@mail.example.com>",
                references=("<e1@mail.example.com>",),
            ),
        ),
    )
    mid = services.reply(
        store, accounts(provider), first_conversation(store).id or 0, "Done.", "bob"
    )
    outbox.deliver(store, provider, mid)
    out = provider.sent[0]
    assert out.subject == "Re: Refund please"
    assert out.in_reply_to == "<e2@mail.example.com>"
    assert out.references == ("<e1@mail.example.com>", "<e2@mail.example.com>")
    assert out.message_id and out.message_id.endswith("@shop.example>")
    assert message(store, mid).external_id == out.message_id


def test_permanent_failure_keeps_text_and_error_and_is_not_retried_alone(
    store: Store, provider: ScriptedProvider
) -> None:
    ingest(store, "shop", batch(sms("SM1")))
    provider.outcomes = ["permanent", "ok"]
    mid = services.reply(
        store, accounts(provider), first_conversation(store).id or 0, "Typed text", "alice"
    )
    assert outbox.deliver(store, provider, mid).state == "failed"
    failed = message(store, mid)
    assert (failed.outbox_state, failed.attempts, failed.body_text) == ("failed", 1, "Typed text")
    assert failed.error is not None and "550" in failed.error
    assert failed.next_attempt_at is None
    assert outbox.due(store) == []
    with pytest.raises(outbox.OutboxError, match="retry"):
        outbox.deliver(store, provider, mid)
    outbox.retry(store, mid)
    assert outbox.deliver(store, provider, mid).state == "sent"
    assert message(store, mid).attempts == 2


def test_transient_failure_is_retried_after_backoff(
    store: Store, provider: ScriptedProvider
) -> None:
    ingest(store, "shop", batch(sms("SM1")))
    provider.outcomes = ["transient"]
    mid = services.reply(
        store, accounts(provider), first_conversation(store).id or 0, "Hi", "alice"
    )
    outbox.deliver(store, provider, mid)
    failed = message(store, mid)
    assert failed.outbox_state == "failed" and failed.next_attempt_at is not None
    assert failed.next_attempt_at > utcnow()
    assert outbox.due(store) == []
    with store.write() as s:
        s.execute(
            update(message_t)
            .where(message_t.c.id == mid)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
    assert outbox.due(store) == [mid]
    assert outbox.deliver(store, provider, mid).state == "sent"


def test_a_message_is_claimed_only_once(store: Store, provider: ScriptedProvider) -> None:
    ingest(store, "shop", batch(sms("SM1")))
    mid = services.reply(
        store, accounts(provider), first_conversation(store).id or 0, "Hi", "alice"
    )
    outbox.claim(store, mid)
    with pytest.raises(outbox.OutboxError, match="sending"):
        outbox.claim(store, mid)


def test_a_dead_sender_leaves_unconfirmed_never_resent(
    store: Store, provider: ScriptedProvider
) -> None:
    ingest(store, "shop", batch(sms("SM1")))
    mid = services.reply(
        store, accounts(provider), first_conversation(store).id or 0, "Hi", "alice"
    )
    with store.write() as s:  # as a process that died after claiming, ten minutes ago
        s.execute(
            update(message_t)
            .where(message_t.c.id == mid)
            .values(
                outbox_state="sending",
                attempts=1,
                sending_owner="host:1:dead",
                sending_since=utcnow() - timedelta(minutes=10),
            )
        )
    assert outbox.recover_interrupted(store) == [mid]
    stuck = message(store, mid)
    assert stuck.outbox_state == "unconfirmed" and "may or may not" in (stuck.error or "")
    assert outbox.due(store) == []
    with pytest.raises(outbox.OutboxError):
        outbox.deliver(store, provider, mid)
    assert provider.sent == []
    outbox.retry(store, mid)  # a person decides
    assert outbox.deliver(store, provider, mid).state == "sent"


def test_own_sending_message_is_not_recovered(store: Store, provider: ScriptedProvider) -> None:
    ingest(store, "shop", batch(sms("SM1")))
    mid = services.reply(
        store, accounts(provider), first_conversation(store).id or 0, "Hi", "alice"
    )
    outbox.claim(store, mid)
    assert outbox.recover_interrupted(store, older_than=timedelta(0)) == []


def test_empty_text_is_refused(store: Store, provider: ScriptedProvider) -> None:
    ingest(store, "shop", batch(sms("SM1")))
    with pytest.raises(services.ServiceError, match="empty"):
        services.reply(store, accounts(provider), first_conversation(store).id or 0, "  \n", "a")


def test_echo_of_a_sent_email_is_not_a_duplicate(store: Store, provider: ScriptedProvider) -> None:
    ingest(store, "shop", batch(email("e1")))
    mid = services.reply(store, accounts(provider), first_conversation(store).id or 0, "Ok", "bob")
    outbox.deliver(store, provider, mid)
    sent_id = message(store, mid).external_id
    assert sent_id is not None
    echo = email("x", direction="out", minutes=9)
    echo = type(echo)(
        **{
            **{f: getattr(echo, f) for f in echo.__slots__},
            "external_id": sent_id,
            "message_id": sent_id,
        }
    )
    result = ingest(store, "shop", batch(echo))
    assert (result.stored, result.duplicates) == (0, 1)
