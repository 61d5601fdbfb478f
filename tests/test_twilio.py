"""The twilio provider: the real SDK against a local Messages API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from omnitui import services
from omnitui.services import AccountInfo, outbox
from omnitui.services.ingest import ingest, load_cursors
from omnitui.services.sync import sync_once
from providers.base import (
    AuthError,
    OutboundAttachment,
    OutboundMessage,
    OutboundTemplate,
    OutsideWindowError,
    PermanentError,
    TransientError,
    UnconfirmedError,
)
from providers.settings import TwilioSettings
from providers.twilio import TwilioProvider
from storage.db import Store
from storage.models import Identity, Message, message_t, syncstate_t
from tests.peers.twilio import TwilioServer

OURS = "+14155550199"
WA = "+14155550188"
ANN = "+14155550100"


@pytest.fixture
def server() -> Iterator[TwilioServer]:
    s = TwilioServer()
    s.start()
    yield s
    s.stop()


@pytest.fixture
def provider(server: TwilioServer) -> TwilioProvider:
    settings = TwilioSettings(
        name="sms",
        account_sid=server.account_sid,
        auth_token_env="UNUSED",
        phone_number=OURS,
        whatsapp_number=f"whatsapp:{WA}",
        api_base=server.url,
    )
    return TwilioProvider("sms", settings, {"auth_token": server.auth_token})


def messages(store: Store) -> list[Message]:
    with store.read() as s:
        return list(s.execute(select(Message).order_by(message_t.c.id)).scalars())


def test_paging_over_several_pages_and_overlap_dedupe(
    store: Store, server: TwilioServer, provider: TwilioProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    import providers.twilio as module

    monkeypatch.setattr(module, "PAGE_SIZE", 50)
    t0 = datetime.now(UTC) - timedelta(hours=1)
    for n in range(120):
        server.add_inbound(ANN, OURS, f"message {n}", at=t0 + timedelta(seconds=n))
    assert sync_once(store, provider).stored == 120
    pages = [p for method, p in server.requests if method == "GET" and "Page=" in p]
    assert len(pages) >= 2  # followed next_page_uri
    server.add_inbound(ANN, OURS, "one more", at=t0 + timedelta(seconds=119))  # same second
    report = sync_once(store, provider)
    assert (report.stored, report.duplicates >= 1) == (1, True)
    assert len(messages(store)) == 121


def test_inbound_echo_status_updates_and_numbers(
    store: Store, server: TwilioServer, provider: TwilioProvider
) -> None:
    server.add_inbound(ANN, OURS, "Where is my order?")
    server.add_outbound(OURS, ANN, "Sent from the web console")  # another tool
    sync_once(store, provider)
    stored = messages(store)
    assert [(m.direction, m.channel) for m in stored] == [("in", "sms"), ("out", "sms")]
    with store.read() as s:
        conv_id = stored[0].conversation_id
        assert {i.address for i in s.execute(select(Identity)).scalars()} == {ANN}
    mid = services.reply(
        store, {"sms": AccountInfo.from_provider(provider)}, conv_id, "On its way", "alice"
    )
    delivery = outbox.deliver(store, provider, mid)
    assert (delivery.state, delivery.delivery_state) == ("sent", "queued")
    assert delivery.external_id
    server.set_status(delivery.external_id, "sent")
    sync_once(store, provider)
    assert len(messages(store)) == 3  # our reply came back: not a duplicate
    server.set_status(delivery.external_id, "delivered")
    sync_once(store, provider)
    with store.read() as s:
        sent = s.get(Message, mid)
    assert sent is not None
    assert (sent.outbox_state, sent.delivery_state) == ("sent", "delivered")
    assert delivery.external_id not in load_cursors(store, "sms")[""]  # final: no longer watched


def test_undelivered_keeps_twilios_error(
    store: Store, server: TwilioServer, provider: TwilioProvider
) -> None:
    server.add_inbound(ANN, OURS, "hi")
    sync_once(store, provider)
    conv_id = messages(store)[0].conversation_id
    mid = services.reply(store, {"sms": AccountInfo.from_provider(provider)}, conv_id, "x", "a")
    sid = outbox.deliver(store, provider, mid).external_id
    assert sid is not None
    server.set_status(sid, "undelivered", error_code=30003)
    sync_once(store, provider)
    with store.read() as s:
        sent = s.get(Message, mid)
    assert sent is not None
    assert (sent.outbox_state, sent.delivery_state) == ("sent", "undelivered")
    assert "30003" in (sent.delivery_error or "") and sent.error is None


def test_whatsapp_both_ways(store: Store, server: TwilioServer, provider: TwilioProvider) -> None:
    server.add_inbound(f"whatsapp:{ANN}", f"whatsapp:{WA}", "Hola")
    sync_once(store, provider)
    m = messages(store)[0]
    assert (m.channel, m.from_address) == ("whatsapp", ANN)
    mid = services.reply(
        store, {"sms": AccountInfo.from_provider(provider)}, m.conversation_id, "Hi!", "alice"
    )
    outbox.deliver(store, provider, mid)
    created = server.messages[-1]
    assert (created["from"], created["to"]) == (f"whatsapp:{WA}", f"whatsapp:{ANN}")


@pytest.mark.parametrize(
    ("status", "code", "error", "match"),
    [
        (400, 21211, PermanentError, "21211"),
        (429, 20429, TransientError, "429"),
        (500, 20500, TransientError, "500"),
    ],
)
def test_send_errors_are_typed(
    server: TwilioServer,
    provider: TwilioProvider,
    status: int,
    code: int,
    error: type[Exception],
    match: str,
) -> None:
    server.fail_next(status, code, "Refused by the test server")
    with pytest.raises(error, match=match):
        provider.send(OutboundMessage(channel="sms", to_address=ANN, body_text="x"))


def test_wrong_token_is_an_auth_error_without_the_token(
    server: TwilioServer, provider: TwilioProvider
) -> None:
    provider._token = "very-wrong-token"
    with pytest.raises(AuthError) as info:
        provider.poll({})
    assert "very-wrong-token" not in str(info.value) and "401" in str(info.value)


def test_a_dead_server_is_transient(provider: TwilioProvider) -> None:
    provider.settings = provider.settings.model_copy(update={"api_base": "http://127.0.0.1:1"})
    provider._api = None
    with pytest.raises(TransientError):
        provider.poll({})


def test_failed_send_then_retry_from_the_outbox(
    store: Store, server: TwilioServer, provider: TwilioProvider
) -> None:
    server.add_inbound(ANN, OURS, "hi")
    ingest(store, "sms", provider.poll({}))
    conv_id = messages(store)[0].conversation_id
    server.fail_next(500, 20500, "Internal error")
    mid = services.reply(store, {"sms": AccountInfo.from_provider(provider)}, conv_id, "kept", "a")
    assert outbox.deliver(store, provider, mid).state == "failed"
    outbox.retry(store, mid)
    assert outbox.deliver(store, provider, mid).state == "sent"
    assert server.messages[-1]["body"] == "kept"


def test_invalid_number_is_refused_before_sending(
    store: Store, server: TwilioServer, provider: TwilioProvider
) -> None:
    with pytest.raises(services.ServiceError, match="not a valid phone number"):
        services.send_new(
            store,
            {"sms": AccountInfo.from_provider(provider)},
            channel="sms",
            body="x",
            author="a",
            to="+1 555 12",
        )
    assert not [r for r in server.requests if r[0] == "POST"]


def test_check(provider: TwilioProvider) -> None:
    assert provider.check() == "Twilio ok (account Test account)"


def test_a_rate_limit_says_how_long_to_wait(server: TwilioServer, provider: TwilioProvider) -> None:
    server.fail_next(429, 20429, "Too Many Requests", **{"Retry-After": "7"})
    with pytest.raises(TransientError) as info:
        provider.send(OutboundMessage(channel="sms", to_address=ANN, body_text="x"))
    assert info.value.retry_after == 7.0


# -- at most once: Twilio's "queued" is not ours, an unanswered create is not resent


def _conversation_with_ann(store: Store, server: TwilioServer, provider: TwilioProvider) -> int:
    server.add_inbound(ANN, OURS, "hi")
    sync_once(store, provider)
    return messages(store)[0].conversation_id


def test_a_message_twilio_keeps_queued_is_posted_once(
    store: Store, server: TwilioServer, provider: TwilioProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    import providers.twilio as module

    monkeypatch.setattr(module, "OVERLAP", timedelta(0))  # later polls see it only as pending
    conv_id = _conversation_with_ann(store, server, provider)
    mid = services.reply(
        store, {"sms": AccountInfo.from_provider(provider)}, conv_id, "Your parcel left", "alice"
    )
    for _ in range(5):  # a long code working through its queue: "queued" for five polls
        sync_once(store, provider)
        assert server.posts() == 1
        assert len(messages(store)) == 2
        sent = next(m for m in messages(store) if m.id == mid)
        assert (sent.outbox_state, sent.delivery_state) == ("sent", "queued")
    assert sent.external_id is not None
    server.set_status(sent.external_id, "delivered")
    sync_once(store, provider)
    assert server.posts() == 1
    rows = messages(store)
    assert len(rows) == 2
    assert (rows[-1].outbox_state, rows[-1].delivery_state) == ("sent", "delivered")


@pytest.mark.parametrize("status", ["queued", "scheduled", "accepted"])
def test_another_tools_queued_or_scheduled_message_is_stored_never_posted(
    store: Store, server: TwilioServer, provider: TwilioProvider, status: str
) -> None:
    later = datetime.now(UTC) + timedelta(days=7)
    server.add_outbound(OURS, ANN, "Reminder: your appointment", status=status, at=later)
    server.add_outbound(OURS, ANN, "Sent by the web console", status="queued")
    for _ in range(3):
        sync_once(store, provider)
    assert server.posts() == 0
    stored = [m for m in messages(store) if m.direction == "out"]
    assert len(stored) == 2
    assert {m.outbox_state for m in stored} == {None}
    assert outbox.due(store) == []


def test_a_create_answered_after_the_timeout_is_unconfirmed_then_reconciled(
    store: Store, server: TwilioServer, provider: TwilioProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    import providers.twilio as module

    monkeypatch.setattr(module, "TIMEOUT", 0.5)
    conv_id = _conversation_with_ann(store, server, provider)
    server.slow_creates.append(2.0)  # Twilio stores it, the answer comes after our timeout
    mid = services.reply(
        store, {"sms": AccountInfo.from_provider(provider)}, conv_id, "Refund approved", "alice"
    )
    delivery = outbox.deliver(store, provider, mid)
    assert delivery.state == "unconfirmed"
    assert outbox.due(store) == []  # never retried by itself
    report = sync_once(store, provider)  # polls (sees the SMS), then asks Twilio's list
    assert report.sent == 1
    assert server.posts() == 1
    rows = [m for m in messages(store) if m.direction == "out"]
    assert len(rows) == 1  # the polled copy became our row, not a second one
    assert rows[0].id == mid and rows[0].outbox_state == "sent"
    assert rows[0].external_id == server.messages[-1]["sid"]
    for _ in range(2):
        sync_once(store, provider)
    assert server.posts() == 1


def test_a_dropped_connection_after_the_create_is_unconfirmed(
    store: Store, server: TwilioServer, provider: TwilioProvider
) -> None:
    conv_id = _conversation_with_ann(store, server, provider)
    server.dropped_creates = 1
    mid = services.reply(
        store, {"sms": AccountInfo.from_provider(provider)}, conv_id, "See you", "alice"
    )
    assert outbox.deliver(store, provider, mid).state == "unconfirmed"
    sync_once(store, provider)
    assert server.posts() == 1
    rows = [m for m in messages(store) if m.direction == "out"]
    assert [(r.id, r.outbox_state) for r in rows] == [(mid, "sent")]


def test_unconfirmed_not_found_at_twilio_waits_for_a_person(
    store: Store, server: TwilioServer, provider: TwilioProvider
) -> None:
    conv_id = _conversation_with_ann(store, server, provider)
    mid = services.reply(
        store, {"sms": AccountInfo.from_provider(provider)}, conv_id, "Lost", "alice"
    )
    # as if a process died mid-send before Twilio got anything
    with store.write() as s:
        s.execute(
            message_t.update()
            .where(message_t.c.id == mid)
            .values(
                outbox_state="unconfirmed",
                sending_since=datetime.now(UTC) - timedelta(minutes=2),
                next_attempt_at=datetime.now(UTC) - timedelta(seconds=1),
            )
        )
    sync_once(store, provider)
    assert server.posts() == 0
    with store.read() as s:
        row = s.get(Message, mid)
    assert row is not None and row.outbox_state == "unconfirmed"
    assert row.next_attempt_at is not None  # looked for again later, never resent


def test_a_refused_connection_is_transient_not_unconfirmed(provider: TwilioProvider) -> None:
    provider.settings = provider.settings.model_copy(update={"api_base": "http://127.0.0.1:1"})
    provider._api = None
    with pytest.raises(TransientError):
        provider.send(OutboundMessage(channel="sms", to_address=ANN, body_text="x"))


def test_a_read_timeout_on_send_is_unconfirmed(
    server: TwilioServer, provider: TwilioProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    import providers.twilio as module

    monkeypatch.setattr(module, "TIMEOUT", 0.3)
    server.slow_creates.append(1.0)
    with pytest.raises(UnconfirmedError):
        provider.send(OutboundMessage(channel="sms", to_address=ANN, body_text="x"))


# -- WhatsApp's 24-hour window and templates -------------------------------------------

TEMPLATE_SID = "HX" + "b5" * 16


def whatsapp(text: str, template: OutboundTemplate | None = None) -> OutboundMessage:
    return OutboundMessage(channel="whatsapp", to_address=ANN, body_text=text, template=template)


def test_free_form_whatsapp_after_24_hours_is_outside_the_window(
    server: TwilioServer, provider: TwilioProvider
) -> None:
    server.add_inbound(
        f"whatsapp:{ANN}", f"whatsapp:{WA}", "Hola", at=datetime.now(UTC) - timedelta(hours=25)
    )
    with pytest.raises(OutsideWindowError) as info:
        provider.send(whatsapp("Are you still there?"))
    assert isinstance(info.value, PermanentError)
    assert "more than 24 hours since the customer's last message" in str(info.value)
    assert "--template NAME" in str(info.value)
    assert [m for m in server.messages if m["direction"] != "inbound"] == []
    # within the window, and on SMS, free-form text goes
    server.add_inbound(f"whatsapp:{ANN}", f"whatsapp:{WA}", "Still here", at=None)
    provider.send(whatsapp("Good news"))
    provider.send(OutboundMessage(channel="sms", to_address=ANN, body_text="SMS is not WhatsApp"))


def test_a_template_is_sent_by_content_sid_outside_the_window(
    server: TwilioServer, provider: TwilioProvider
) -> None:
    server.add_template(TEMPLATE_SID, "Hello {{1}}, your order {{2}} has shipped.")
    template = OutboundTemplate(TEMPLATE_SID, {"1": "Ann", "2": "#1234"})
    result = provider.send(whatsapp("Hello Ann, your order #1234 has shipped.", template))
    [created] = [m for m in server.messages if m["sid"] == result.external_id]
    assert created["_content_sid"] == TEMPLATE_SID
    assert created["body"] == "Hello Ann, your order #1234 has shipped."
    assert (created["from"], created["to"]) == (f"whatsapp:{WA}", f"whatsapp:{ANN}")


def test_the_window_closed_after_the_create_reads_clearly_in_the_delivery_error(
    store: Store, server: TwilioServer, provider: TwilioProvider
) -> None:
    # Twilio may take the create and fail the message with 63016 later.
    sid = server.add_outbound(f"whatsapp:{WA}", f"whatsapp:{ANN}", "Hi", status="failed")
    server.set_status(sid, "failed", error_code=63016)
    sync_once(store, provider)
    [row] = messages(store)
    assert row.delivery_state == "failed"
    assert (row.delivery_error or "").startswith("63016 more than 24 hours since")


def test_twilio_takes_no_files(server: TwilioServer, provider: TwilioProvider) -> None:
    limits = provider.limits("whatsapp")
    assert not limits.can_attach
    assert limits.why_not == (
        "Twilio MMS needs a public URL for each file; omnitui does not host files"
    )
    assert limits.refusal([("a.pdf", 10)]) == limits.why_not
    photo = OutboundAttachment("a.jpg", "image/jpeg", b"\xff\xd8")
    with pytest.raises(PermanentError, match="public URL"):
        provider.send(
            OutboundMessage(channel="sms", to_address=ANN, body_text="x", attachments=(photo,))
        )
    assert server.posts() == 0


def _settings(**extra: object) -> TwilioSettings:
    return TwilioSettings.model_validate(
        {
            "name": "wa",
            "account_sid": "AC" + "0" * 32,
            "auth_token_env": "X",
            "phone_number": OURS,
            "whatsapp_number": f"whatsapp:{WA}",
            **extra,
        }
    )


def test_templates_in_the_settings_are_checked_and_filled() -> None:
    settings = _settings(
        templates=[
            {
                "name": "shipped",
                "content_sid": TEMPLATE_SID,
                "variables": ["1", "2"],
                "text": "Hello {{1}}, your order {{2}} has shipped.",
            },
            {"name": "hello", "content_sid": "HX" + "a1" * 16},
        ]
    )
    shipped = settings.template("shipped")
    assert shipped.fill({"1": "Ann", "2": "#7"}) == OutboundTemplate(
        TEMPLATE_SID, {"1": "Ann", "2": "#7"}
    )
    assert shipped.render({"1": "Ann", "2": "#7"}) == "Hello Ann, your order #7 has shipped."
    assert settings.template("hello").render({}) is None
    with pytest.raises(ValueError, match="missing 2"):
        shipped.fill({"1": "Ann"})
    with pytest.raises(ValueError, match="unknown 3"):
        shipped.fill({"1": "Ann", "2": "#7", "3": "x"})
    with pytest.raises(KeyError, match="shipped, hello"):
        settings.template("nope")
    with pytest.raises(ValidationError, match="template names must be unique: hello"):
        _settings(
            templates=[
                {"name": "hello", "content_sid": TEMPLATE_SID},
                {"name": "hello", "content_sid": "HX" + "a1" * 16},
            ]
        )
    with pytest.raises(ValidationError, match='starts with "HX"'):
        _settings(templates=[{"name": "x", "content_sid": "MG" + "a1" * 16}])
    with pytest.raises(ValidationError, match="each variable is named once"):
        _settings(templates=[{"name": "x", "content_sid": TEMPLATE_SID, "variables": ["1", "1"]}])


@pytest.mark.parametrize(
    "damaged", ["not json", "[1, 2]", '{"since": "yesterday"}', '{"since": "2026-01-01T00:00:00"}']
)
def test_an_unreadable_stored_cursor_starts_over_without_duplicates(
    store: Store, server: TwilioServer, provider: TwilioProvider, damaged: str
) -> None:
    server.add_inbound(ANN, OURS, "hello", at=datetime.now(UTC) - timedelta(minutes=5))
    assert sync_once(store, provider).stored == 1
    with store.write() as session:
        session.execute(
            syncstate_t.update()
            .where(syncstate_t.c.account == provider.account)
            .values(cursor=damaged)
        )
    server.add_inbound(ANN, OURS, "again", at=datetime.now(UTC) - timedelta(minutes=1))
    report = sync_once(store, provider)
    assert (report.ok, report.stored) == (True, 1)
    assert [m.body_text for m in messages(store)] == ["hello", "again"]
