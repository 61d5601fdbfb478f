"""A person's decisions about an unsent message: discard, edit, re-address
(and retry), each a conditional change that cannot race a send, each audited."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from omnitui import services
from omnitui.services import AccountInfo, outbox
from omnitui.services.ingest import ingest
from storage import queries
from storage.db import Store
from storage.models import Conversation, Identity, conversation_t, identity_t
from tests.helpers import ScriptedProvider, batch, cli_runner, email, sms, write_config
from tests.helpers import message as _msg


def _audit(store: Store, action: str) -> list[queries.AuditRow]:
    with store.read() as s:
        return [e for e in queries.audit_events(s, limit=50) if e.action == action]


def _failed(store: Store, provider: ScriptedProvider, *, channel: str = "sms") -> int:
    """A reply the provider refused (a failure a person has to decide on)."""
    ingest(store, "shop", batch(sms("SM1"), email("e1", minutes=1)))
    with store.read() as s:
        conv = s.execute(
            select(Conversation).where(conversation_t.c.channel == channel)
        ).scalar_one()
    accounts = {provider.account: AccountInfo.from_provider(provider)}
    mid = services.reply(store, accounts, conv.id or 0, "Typed with care", "alice")
    provider.outcomes.append("permanent")
    assert outbox.deliver(store, provider, mid).state == "failed"
    return mid


def test_a_discarded_message_is_never_sent_nor_counted(store: Store) -> None:
    provider = ScriptedProvider()
    mid = _failed(store, provider)
    outbox.discard(store, mid, "bob")
    assert _msg(store, mid).outbox_state == "discarded"
    with store.read() as s:
        assert queries.outbox(s) == []
        assert queries.account_health(s, ["shop"])[0].outbox == {}
        assert queries.change_marker(s).outbox_pending == 0
        line = [e for e in queries.timeline(s, _msg(store, mid).customer_id) if e.id == mid]
    assert line[0].status == "discarded"
    assert outbox.due(store) == []
    with pytest.raises(outbox.OutboxError, match="discarded, not queued"):
        outbox.deliver(store, provider, mid)
    with pytest.raises(outbox.OutboxError, match="only failed or unconfirmed"):
        outbox.retry(store, mid)
    with pytest.raises(outbox.OutboxError, match="discarded; only queued"):
        outbox.edit(store, mid, "again", "bob")
    (event,) = _audit(store, "outbox.discard")
    assert (event.actor, event.detail["message"], event.detail["before"]) == ("bob", mid, "failed")
    assert len(provider.sent) == 1


def test_an_edit_goes_out_as_a_new_message_on_the_same_row(store: Store) -> None:
    provider = ScriptedProvider()
    mid = _failed(store, provider, channel="email")
    before = _msg(store, mid)
    first_key = outbox.idempotency_key(before)
    outbox.edit(store, mid, "Typed with more care", "bob")
    edited = _msg(store, mid)
    assert (edited.outbox_state, edited.body_text, edited.error) == (
        "queued",
        "Typed with more care",
        None,
    )
    # a new attempt: another idempotency key and Message-ID, so no service
    # takes it for the first one
    assert outbox.idempotency_key(edited) != first_key
    assert edited.email_message_id != before.email_message_id
    assert outbox.deliver(store, provider, mid).state == "sent"
    assert provider.sent[-1].body_text == "Typed with more care"
    assert provider.sent[-1].message_id == edited.email_message_id
    (event,) = _audit(store, "outbox.edit")
    assert (event.actor, event.detail["message"]) == ("bob", mid)
    with pytest.raises(outbox.OutboxError, match="sent; only queued"):
        outbox.edit(store, mid, "too late", "bob")
    with pytest.raises(outbox.OutboxError, match="empty"):
        outbox.edit(store, mid, "  ", "bob")


def test_a_message_being_sent_cannot_be_changed(store: Store) -> None:
    provider = ScriptedProvider()
    mid = _failed(store, provider)
    outbox.retry(store, mid)
    outbox.claim(store, mid)  # a worker has it now
    for change in (
        lambda: outbox.discard(store, mid, "bob"),
        lambda: outbox.edit(store, mid, "new", "bob"),
        lambda: outbox.readdress(store, mid, "+14155550111", "bob"),
    ):
        with pytest.raises(outbox.OutboxError, match="sending; only queued"):
            change()
    assert _msg(store, mid).outbox_state == "sending"


def test_readdress_moves_an_sms_to_the_other_number(store: Store) -> None:
    provider = ScriptedProvider()
    mid = _failed(store, provider)
    old = _msg(store, mid)
    to = outbox.readdress(store, mid, "(415) 555-0111", "bob", default_region="US")
    assert to == "+14155550111"
    moved = _msg(store, mid)
    assert (moved.outbox_state, moved.to_address) == ("queued", to)
    with store.read() as s:
        new_conv = s.get(Conversation, moved.conversation_id)
        old_conv = s.get(Conversation, old.conversation_id)
        idents = s.execute(select(Identity).where(identity_t.c.address == to)).scalars().all()
    assert new_conv is not None and old_conv is not None
    assert new_conv.id != old_conv.id
    assert (new_conv.their_address, new_conv.customer_id) == (to, old.customer_id)
    assert (new_conv.message_count, old_conv.message_count) == (1, 1)
    assert [i.customer_id for i in idents] == [old.customer_id]  # replies from it land here
    assert outbox.deliver(store, provider, mid).state == "sent"
    assert provider.sent[-1].to_address == to
    (event,) = _audit(store, "outbox.readdress")
    assert (event.detail["old_to"], event.detail["to"]) == ("+14155550100", to)


def test_readdress_refuses_a_bad_or_another_customers_address(store: Store) -> None:
    provider = ScriptedProvider()
    mid = _failed(store, provider)
    ingest(store, "shop", batch(sms("SM9", "+14155550177", minutes=5), cursor="c2"))
    with pytest.raises(outbox.OutboxError, match="not a valid phone number"):
        outbox.readdress(store, mid, "+1 555", "bob")
    with pytest.raises(outbox.OutboxError, match="belongs to customer"):
        outbox.readdress(store, mid, "+14155550177", "bob")
    with pytest.raises(outbox.OutboxError, match="already goes to"):
        outbox.readdress(store, mid, "+14155550100", "bob")
    assert _msg(store, mid).outbox_state == "failed"
    assert _audit(store, "outbox.readdress") == []


def test_retry_by_a_person_is_audited(store: Store) -> None:
    mid = _failed(store, ScriptedProvider())
    outbox.retry_by(store, mid, "bob")
    assert _msg(store, mid).outbox_state == "queued"
    assert [e.actor for e in _audit(store, "outbox.retry")] == ["bob"]


@pytest.fixture
def cli(tmp_path: Path, db_url: str) -> Any:
    invoke = cli_runner(write_config(tmp_path), db_url)

    def run(*args: str, code: int = 0) -> Any:
        result = invoke(*args, code=code)
        return json.loads(result.stdout) if "--json" in args else result

    return run


def test_cli_outbox_discard_edit_readdress(cli: Any) -> None:
    # the demo provider refuses addresses with "fail" in them; e-mail can carry that
    cli(
        "send", "--channel", "email", "--to", "will.fail@example.com", "--subject", "Hi",
        "--body", "Text", "--json", code=1,
    )  # fmt: skip
    (row,) = cli("outbox", "list", "--json")
    assert row["customer_name"] and row["customer_id"]
    edited = cli("outbox", "edit", str(row["id"]), "--body", "Better text", "--json", code=1)
    assert (edited["status"], edited["attempts"]) == ("failed", 1)
    sent = cli("outbox", "readdress", str(row["id"]), "--to", "Will@Example.com", "--json")
    assert (sent["status"], sent["to"]) == ("sent", "will@example.com")
    assert cli("outbox", "list", "--json") == []
    cli(
        "send", "--channel", "email", "--to", "also.fail@example.com", "--subject", "Hi",
        "--body", "Text", "--json", code=1,
    )  # fmt: skip
    (second,) = cli("outbox", "list", "--json")
    gone = cli("outbox", "discard", str(second["id"]), "--json")
    assert gone["status"] == "discarded"
    assert cli("outbox", "list", "--json") == []
    again = cli("outbox", "discard", str(second["id"]), code=1)
    assert "discarded; only queued" in again.stderr
    bad = cli("outbox", "readdress", str(row["id"]), "--to", "nobody", code=1)
    assert "sent; only queued" in bad.stderr
    shown = cli("customers", "show", str(second["customer_id"]), "--json")
    assert [e["status"] for e in shown["timeline"]] == ["discarded"]
