"""At most once: an outcome that may have reached the service is
``unconfirmed`` and never sent again by itself; where the service can tell,
the outbox asks it (Twilio's list in tests/test_twilio.py, Matrix
transaction ids here) instead of a person.

The peers are real (aiosmtpd, the local Bot API, Synapse); a proxy that
loses the answer after the request reached the peer plays the network."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from omnitui import services
from omnitui.services import AccountInfo, outbox
from omnitui.services.ingest import ingest
from omnitui.services.sync import sync_once
from providers import email as email_module
from providers.base import (
    OutboundMessage,
    PermanentError,
    SendResult,
    TransientError,
    UnconfirmedError,
)
from providers.email import EmailProvider
from providers.matrix import MatrixProvider
from providers.settings import ImapSettings, MatrixSettings, TelegramSettings
from providers.telegram import TelegramProvider
from storage.db import Store
from storage.models import Conversation, Message, conversation_t, message_t, utcnow
from tests.helpers import SHOP_EMAIL as SUPPORT
from tests.helpers import ScriptedProvider, batch, message, sms
from tests.peers.lost_answer import LostAnswerProxy
from tests.peers.smtp import SmtpPeer
from tests.peers.synapse import BOT_PASSWORD, Client, SynapseServer
from tests.peers.telegram import TelegramServer


def first_conversation_id(store: Store) -> int:
    with store.read() as s:
        return int(s.execute(select(message_t.c.conversation_id).limit(1)).scalar_one())


# -- the outbox's rule, on both engines ---------------------------------------------


def test_an_unanswered_send_is_unconfirmed_and_never_retried_by_itself(store: Store) -> None:
    provider = ScriptedProvider(outcomes=["unconfirmed"])
    ingest(store, "shop", batch(sms("SM1")))
    accounts = {"shop": AccountInfo.from_provider(provider)}
    mid = services.reply(store, accounts, first_conversation_id(store), "Refund sent", "alice")
    delivery = outbox.deliver(store, provider, mid)
    assert delivery.state == "unconfirmed"
    row = message(store, mid)
    assert (row.outbox_state, row.attempts) == ("unconfirmed", 1)
    assert row.sending_since is not None  # when the attempt began, for the check
    for _ in range(3):
        sync_once(store, provider)  # rounds deliver what is due: not this one
    assert len(provider.sent) == 1 and outbox.due(store) == []
    with pytest.raises(outbox.OutboxError, match="retry"):
        outbox.deliver(store, provider, mid)
    outbox.retry(store, mid)  # a person decides it did not arrive
    assert outbox.deliver(store, provider, mid).state == "sent"
    assert len(provider.sent) == 2


def test_only_failures_before_the_service_took_anything_are_retried(store: Store) -> None:
    provider = ScriptedProvider(outcomes=["transient"])
    ingest(store, "shop", batch(sms("SM1")))
    accounts = {"shop": AccountInfo.from_provider(provider)}
    mid = services.reply(store, accounts, first_conversation_id(store), "Hi", "alice")
    assert outbox.deliver(store, provider, mid).state == "failed"
    with store.write() as s:
        s.execute(update(message_t).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    assert outbox.due(store) == [mid]


def test_every_attempt_at_a_message_carries_one_idempotency_key(store: Store) -> None:
    provider = ScriptedProvider(outcomes=["transient", "ok"])
    ingest(store, "shop", batch(sms("SM1")))
    accounts = {"shop": AccountInfo.from_provider(provider)}
    conv = first_conversation_id(store)
    mid = services.reply(store, accounts, conv, "Hi", "alice")
    other = services.reply(store, accounts, conv, "Hi", "alice")
    assert outbox.deliver(store, provider, mid).state == "failed"
    with store.write() as s:
        s.execute(update(message_t).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    outbox.deliver(store, provider, mid)
    outbox.deliver(store, provider, other)
    keys = [m.idempotency_key for m in provider.sent]
    assert keys[0] == keys[1] and keys[0] != keys[2] and keys[0]


# -- SMTP: after the end of DATA the outcome is unknown -----------------------------


@pytest.fixture
def smtp_only(smtp_peer: SmtpPeer) -> Iterator[EmailProvider]:
    settings = ImapSettings(
        name="mail",
        host="127.0.0.1",
        port=1,
        security="none",
        username="support",
        password_env="UNUSED",
        from_address=f"Shop Support <{SUPPORT}>",
        smtp_host=smtp_peer.host,
        smtp_port=smtp_peer.port,
        smtp_security="none",
        smtp_username="mailer",
    )
    p = EmailProvider("mail", settings, {"password": "x", "smtp_password": "smtp-secret"})
    yield p
    p.close()


def test_smtp_answer_after_the_timeout_is_unconfirmed(
    smtp_peer: SmtpPeer, smtp_only: EmailProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(email_module, "TIMEOUT", 0.5)
    smtp_peer.handler.slow_answers.append(2.0)  # took the mail, answers too late
    mail = OutboundMessage(
        channel="email", to_address="ann@example.com", body_text="Hello", subject="Refund"
    )
    with pytest.raises(UnconfirmedError, match="may have accepted"):
        smtp_only.send(mail)
    assert len(smtp_peer.handler.received) == 1


def test_smtp_refusal_before_data_ends_is_not_unconfirmed(
    smtp_peer: SmtpPeer, smtp_only: EmailProvider
) -> None:
    smtp_peer.refuse_next("451 4.3.0 try again later")
    mail = OutboundMessage(
        channel="email", to_address="ann@example.com", body_text="Hello", subject="Refund"
    )
    with pytest.raises(TransientError, match="451"):
        smtp_only.send(mail)
    assert smtp_peer.handler.received == []


# -- Telegram: a lost answer is unconfirmed (the Bot API cannot be asked) -----------


@pytest.fixture
def telegram() -> Iterator[tuple[TelegramServer, LostAnswerProxy]]:
    server = TelegramServer()
    server.start()
    host, port = server.httpd.server_address[:2]
    proxy = LostAnswerProxy(str(host), int(port)).start()
    yield server, proxy
    proxy.stop()
    server.stop()


def test_telegram_lost_answer_is_unconfirmed_and_posted_once(
    store: Store, telegram: tuple[TelegramServer, LostAnswerProxy]
) -> None:
    server, proxy = telegram
    settings = TelegramSettings(name="tg", bot_token_env="UNUSED", api_base=proxy.url)
    provider = TelegramProvider("tg", settings, {"bot_token": server.token})
    server.user_says(4242, "hello?")
    sync_once(store, provider)
    accounts = {"tg": AccountInfo.from_provider(provider)}
    mid = services.reply(store, accounts, first_conversation_id(store), "Hi!", "bob")
    proxy.lose_next_answers = 1
    assert outbox.deliver(store, provider, mid).state == "unconfirmed"
    assert proxy.lost == 1
    for _ in range(2):
        sync_once(store, provider)
    assert [m["text"] for m in server.sent] == ["Hi!"]
    assert message(store, mid).outbox_state == "unconfirmed"
    provider.close()


# -- Matrix: the transaction id tells ----------------------------------------------


def test_matrix_lost_answer_is_reconciled_by_transaction_id(
    store: Store, synapse: SynapseServer
) -> None:
    name = f"ann{uuid.uuid4().hex[:8]}"
    synapse.register(name, "ann-password")
    customer = Client(synapse, name, "ann-password")
    proxy = LostAnswerProxy("127.0.0.1", synapse.port).start()
    settings = MatrixSettings(
        name="mx",
        homeserver=proxy.url,
        user_id="@supportbot:localhost",
        password_env="UNUSED",
        accept_invites=True,
        device_id=f"TEST{uuid.uuid4().hex[:12].upper()}",  # see tests.peers.synapse.bot_for
    )
    provider = MatrixProvider("mx", settings, {"password": BOT_PASSWORD})
    try:
        room = customer.create_room(invite=["@supportbot:localhost"])
        sync_once(store, provider)
        customer.say(room, "Where is my order?")
        sync_once(store, provider)
        with store.read() as s:
            conv = s.execute(
                select(Conversation).where(conversation_t.c.thread_key == room)
            ).scalar_one()
        accounts = {"mx": AccountInfo.from_provider(provider)}
        mid = services.reply(store, accounts, conv.id or 0, "It left today", "bob")
        # the send's answer (before it, the provider asks for the bot's m.direct)
        proxy.losing = lambda line: line.startswith(b"PUT ") and b"/send/" in line
        proxy.lose_next_answers = 1
        assert outbox.deliver(store, provider, mid).state == "unconfirmed"
        assert proxy.lost == 1
        report = sync_once(store, provider)  # asks the homeserver by transaction id
        assert report.sent == 1
        row = message(store, mid)
        assert row.outbox_state == "sent" and (row.external_id or "").startswith("$")
        ours = [m for m in customer.messages(room) if m["content"]["body"] == "It left today"]
        assert [m["event_id"] for m in ours] == [row.external_id]
    finally:
        provider.close()
        proxy.stop()


def test_a_poll_that_stores_our_message_mid_send_leaves_one_row(store: Store) -> None:
    """Another process's poll may see the service's copy of our SMS between the
    create and our write of its id: that copy becomes our row, not a second one."""

    class PolledMidSend(ScriptedProvider):
        def send(self, message: OutboundMessage) -> SendResult:
            result = super().send(message)
            copy = sms(result.external_id, direction="out", body=message.body_text, minutes=1)
            ingest(store, "shop", batch(copy, cursor="c2"))  # the other poller's batch
            return result

    provider = PolledMidSend()
    ingest(store, "shop", batch(sms("SM1")))
    accounts = {"shop": AccountInfo.from_provider(provider)}
    conv = first_conversation_id(store)
    mid = services.reply(store, accounts, conv, "On its way", "alice")
    assert outbox.deliver(store, provider, mid).state == "sent"
    with store.read() as s:
        out = s.execute(select(Message).where(message_t.c.direction == "out")).scalars().all()
        count = s.execute(
            select(conversation_t.c.message_count).where(conversation_t.c.id == conv)
        ).scalar_one()
    assert [(m.id, m.outbox_state, m.external_id) for m in out] == [(mid, "sent", "SM0001")]
    assert count == 2


def test_a_provider_bug_mid_send_leaves_the_message_unconfirmed(store: Store) -> None:
    class Broken(ScriptedProvider):
        def send(self, message: OutboundMessage) -> SendResult:
            super().send(message)
            raise KeyError("event_id")  # e.g. an answer without the field we read

    provider = Broken()
    ingest(store, "shop", batch(sms("SM1")))
    accounts = {"shop": AccountInfo.from_provider(provider)}
    mid = services.reply(store, accounts, first_conversation_id(store), "Hi", "alice")
    delivery = outbox.deliver(store, provider, mid)
    assert delivery.state == "unconfirmed" and "KeyError" in (delivery.error or "")
    assert message(store, mid).outbox_state == "unconfirmed"
    assert outbox.due(store) == []


def test_an_smtp_header_the_mail_policy_refuses_fails_before_anything_is_sent(
    smtp_peer: SmtpPeer, smtp_only: EmailProvider
) -> None:
    mail = OutboundMessage(
        channel="email", to_address="ann@example.com", body_text="x", subject="a\r\nBcc: x@y"
    )
    with pytest.raises(PermanentError, match="cannot be written"):
        smtp_only.send(mail)
    assert smtp_peer.handler.received == []
