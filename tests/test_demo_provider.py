"""The demo provider: believable, deterministic, idempotent, with failure paths."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from omnitui.services.ingest import ingest, load_cursors
from providers.base import OutboundMessage, PermanentError, Provider, TransientError
from providers.demo import DemoProvider
from storage.db import Store
from storage.queries import list_conversations, list_customers


def demo(**settings: object) -> DemoProvider:
    return DemoProvider("demo", SimpleNamespace(**settings), {})


def test_it_is_a_provider() -> None:
    assert isinstance(demo(), Provider)


def test_first_poll_is_a_backlog_on_every_channel() -> None:
    batch = demo().poll({})
    channels = {m.channel for m in batch.messages}
    assert channels == {"email", "sms", "whatsapp", "telegram"}
    assert len(batch.messages) >= 100
    assert all(m.sent_at.tzinfo is not None for m in batch.messages)
    assert {m.direction for m in batch.messages} == {"in", "out"}
    ids = {m.message_id for m in batch.messages if m.channel == "email"}
    assert all(m.in_reply_to in ids for m in batch.messages if m.in_reply_to)
    assert any("[bold]" in (m.subject or "") for m in batch.messages)
    assert any("\x1b[" in m.body_text for m in batch.messages)


def test_same_seed_and_cursor_give_the_same_messages() -> None:
    first, again = demo(seed=3).poll({}), demo(seed=3).poll({})
    assert [m.external_id for m in first.messages] == [m.external_id for m in again.messages]
    later = demo(seed=3).poll(first.cursors)
    assert not {m.external_id for m in later.messages} & {m.external_id for m in first.messages}
    assert len(later.messages) == 3
    assert [m.external_id for m in demo(seed=3).poll(first.cursors).messages] == [
        m.external_id for m in later.messages
    ]


def test_sends_fail_on_purpose() -> None:
    provider = demo()
    ok = provider.send(OutboundMessage(channel="sms", to_address="+14155550100", body_text="hi"))
    assert ok.delivery_state == "sent" and ok.external_id
    with pytest.raises(PermanentError, match="fail"):
        provider.send(
            OutboundMessage(channel="email", to_address="x.fail@example.com", body_text="x")
        )
    with pytest.raises(TransientError):
        provider.send(
            OutboundMessage(channel="email", to_address="flaky@example.com", body_text="x")
        )


def test_ingested_demo_traffic_makes_customers_and_threads(store: Store) -> None:
    provider = demo()
    batch = provider.poll({})
    result = ingest(store, "demo", batch)
    assert result.stored == len(batch.messages) and result.duplicates == 0
    assert ingest(store, "demo", provider.poll({})).stored == 0  # same cursor: nothing new
    ingest(store, "demo", provider.poll(load_cursors(store, "demo")))
    with store.read() as s:
        customers = list_customers(s, limit=500)
        convs = list_conversations(s, view="all", limit=500)
    assert 10 <= len(customers) <= 30
    assert any(c.message_count >= 3 for c in convs)
    names = [c.name for c in customers]
    assert len(names) > len(set(names))  # some people write on two channels: merge candidates
