"""WhatsApp's 24-hour window and templates: the service refuses free-form text
outside the window before queuing, sends templates by Content SID, and a
refusal by Twilio itself (63016, clocks apart) ends the message failed with
the reason. Against the Twilio test server, on both engines."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from omnitui import services
from omnitui.config import ConfigError, load_config
from omnitui.services import AccountInfo, Extras, InvalidRequest, outbox, whatsapp_window
from omnitui.services.ingest import ingest
from providers.settings import TwilioSettings
from providers.twilio import TwilioProvider
from storage.db import Store
from storage.models import Message, audit_t, conversation_t, identity_t, message_t, utcnow
from tests.helpers import as_json, batch, cli_runner, sms, write_config
from tests.peers.twilio import TwilioServer

OURS = "+14155550199"
WA = "+14155550188"
ANN = "+14155550100"
SHIPPED = "HX" + "b5" * 16
HELLO = "HX" + "a1" * 16
TEMPLATES = [
    {
        "name": "shipped",
        "content_sid": SHIPPED,
        "variables": ["name", "order"],
        "text": "Hello {{name}}, your order {{order}} has shipped.",
    },
    {"name": "hello", "content_sid": HELLO},
]


@pytest.fixture
def server() -> Iterator[TwilioServer]:
    s = TwilioServer()
    s.add_template(SHIPPED, "Hello {{name}}, your order {{order}} has shipped.")
    s.add_template(HELLO, "Hello! Reply to continue.")
    s.start()
    yield s
    s.stop()


@pytest.fixture
def settings(server: TwilioServer) -> TwilioSettings:
    return TwilioSettings.model_validate(
        {
            "name": "wa",
            "account_sid": server.account_sid,
            "auth_token_env": "UNUSED",
            "phone_number": OURS,
            "whatsapp_number": f"whatsapp:{WA}",
            "api_base": server.url,
            "templates": TEMPLATES,
        }
    )


@pytest.fixture
def provider(server: TwilioServer, settings: TwilioSettings) -> TwilioProvider:
    return TwilioProvider("wa", settings, {"auth_token": server.auth_token})


@pytest.fixture
def accounts(settings: TwilioSettings) -> dict[str, AccountInfo]:
    return {"wa": AccountInfo.from_settings(settings)}


def customer_wrote(store: Store, server: TwilioServer, hours_ago: float) -> int:
    """Ann's WhatsApp message ``hours_ago``, at Twilio and in the store; the conversation id."""
    at = datetime.now(UTC) - timedelta(hours=hours_ago)
    server.add_inbound(f"whatsapp:{ANN}", f"whatsapp:{WA}", "Where is my parcel?", at=at)
    inbound = sms(f"SMwa{hours_ago}", f"whatsapp:{ANN}", channel="whatsapp", ours=f"whatsapp:{WA}")
    ingest(store, "wa", batch(replace(inbound, sent_at=at)))
    with store.read() as s:
        return int(
            s.execute(select(message_t.c.conversation_id).where(message_t.c.direction == "in"))
            .scalars()
            .one()
        )


def outbound(store: Store) -> list[Message]:
    with store.read() as s:
        return list(
            s.execute(
                select(Message).where(message_t.c.direction == "out").order_by(message_t.c.id)
            ).scalars()
        )


def test_free_form_outside_the_window_is_refused_before_anything_is_queued(
    store: Store, server: TwilioServer, accounts: dict[str, AccountInfo]
) -> None:
    conv = customer_wrote(store, server, hours_ago=26.5)
    with pytest.raises(InvalidRequest) as refused:
        services.reply(store, accounts, conv, "Are you still there?", "alice")
    text = str(refused.value)
    assert "more than 24 hours since the customer's last WhatsApp message" in text
    assert "the window closed 2 h 30 min ago" in text
    assert "--template NAME" in text and "templates: shipped, hello" in text
    assert outbound(store) == []
    assert server.posts() == 0
    state = whatsapp_window.conversation_window(store, conv)
    assert state is not None and not state.open


def test_free_form_inside_the_window_is_sent_as_text(
    store: Store, server: TwilioServer, provider: TwilioProvider, accounts: dict[str, AccountInfo]
) -> None:
    conv = customer_wrote(store, server, hours_ago=21)
    state = whatsapp_window.conversation_window(store, conv)
    assert state is not None and state.open
    assert 2.9 * 3600 < state.left().total_seconds() <= 3 * 3600
    mid = services.reply(store, accounts, conv, "It left the warehouse today.", "alice")
    assert outbox.deliver(store, provider, mid).state == "sent"
    [sent] = [m for m in server.messages if m["direction"] != "inbound"]
    assert sent["body"] == "It left the warehouse today." and "_content_sid" not in sent


@pytest.mark.parametrize("hours_ago", [30, 2])  # a template goes in or out of the window
def test_a_template_is_queued_rendered_and_sent_by_content_sid(
    store: Store,
    server: TwilioServer,
    provider: TwilioProvider,
    accounts: dict[str, AccountInfo],
    hours_ago: float,
) -> None:
    conv = customer_wrote(store, server, hours_ago=hours_ago)
    extras = Extras(template="shipped", variables=(("order", "#1234"), ("name", "Ann")))
    mid = services.reply(store, accounts, conv, "", "alice", extras=extras)
    [row] = outbound(store)
    assert row.body_text == "Hello Ann, your order #1234 has shipped."  # what the customer reads
    assert json.loads(row.template or "") == {
        "name": "shipped",
        "content_sid": SHIPPED,
        "variables": {"name": "Ann", "order": "#1234"},
    }
    assert outbox.deliver(store, provider, mid).state == "sent"
    [sent] = [m for m in server.messages if m["direction"] != "inbound"]
    assert sent["_content_sid"] == SHIPPED
    assert json.loads(sent["_content_variables"]) == {"name": "Ann", "order": "#1234"}
    assert sent["body"] == "Hello Ann, your order #1234 has shipped."  # rendered by the peer


def test_a_template_without_wording_is_shown_by_name(
    store: Store, server: TwilioServer, provider: TwilioProvider, accounts: dict[str, AccountInfo]
) -> None:
    conv = customer_wrote(store, server, hours_ago=48)
    mid = services.reply(store, accounts, conv, "", "alice", extras=Extras(template="hello"))
    assert outbound(store)[0].body_text == "[WhatsApp template hello]"
    assert outbox.deliver(store, provider, mid).state == "sent"
    assert server.messages[-1]["_content_sid"] == HELLO


def test_clocks_apart_twilio_refuses_with_63016_and_the_message_fails_with_the_reason(
    store: Store,
    server: TwilioServer,
    provider: TwilioProvider,
    accounts: dict[str, AccountInfo],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conv = customer_wrote(store, server, hours_ago=25)
    # our clock two hours behind Twilio's: the service sees the window open
    behind = datetime.now(UTC) - timedelta(hours=2)
    monkeypatch.setattr(whatsapp_window, "utcnow", lambda: behind)
    mid = services.reply(store, accounts, conv, "Still there?", "alice")
    delivery = outbox.deliver(store, provider, mid)
    assert delivery.state == "failed"
    assert "more than 24 hours since the customer's last message" in (delivery.error or "")
    assert "63016" in (delivery.error or "")
    [row] = outbound(store)
    assert row.outbox_state == "failed" and "63016" in (row.error or "")
    assert server.posts() == 1


def test_template_choices_are_checked_before_queuing(
    store: Store, server: TwilioServer, accounts: dict[str, AccountInfo]
) -> None:
    conv = customer_wrote(store, server, hours_ago=30)

    def reply(chosen: Extras) -> int:
        return services.reply(store, accounts, conv, "", "alice", extras=chosen)

    with pytest.raises(InvalidRequest, match=r"no template 'nope' in account wa \(shipped, hel"):
        reply(Extras(template="nope"))
    with pytest.raises(InvalidRequest, match="takes the variables name, order; missing order"):
        reply(Extras(template="shipped", variables=(("name", "Ann"),)))
    with pytest.raises(InvalidRequest, match="unknown colour"):
        reply(
            Extras(template="shipped", variables=(("name", "A"), ("order", "1"), ("colour", "red")))
        )
    with pytest.raises(InvalidRequest, match="give a value for order"):
        reply(Extras(template="shipped", variables=(("name", "Ann"), ("order", " "))))
    with pytest.raises(InvalidRequest, match="variables fill a template"):
        reply(Extras(variables=(("name", "Ann"),)))
    assert outbound(store) == []
    assert server.posts() == 0


@pytest.mark.parametrize(
    "value",
    ["line one\nline two", "tab\there", "\x1b[2Jwiped", "NUL\x00", "five     spaces", "x" * 1025],
    ids=["newline", "tab", "escape", "nul", "spaces", "long"],
)
def test_a_template_value_whatsapp_refuses_is_refused_before_queuing(
    store: Store, server: TwilioServer, accounts: dict[str, AccountInfo], value: str
) -> None:
    """WhatsApp refuses a template parameter with a line break, a tab or more
    than four spaces in a row (and a control character has no place on a
    customer's phone): refused here, with nothing queued, not failed later."""
    conv = customer_wrote(store, server, hours_ago=30)
    chosen = Extras(template="shipped", variables=(("name", value), ("order", "1")))
    with pytest.raises(InvalidRequest, match="template shipped: the value of name") as refused:
        services.reply(store, accounts, conv, "", "alice", extras=chosen)
    assert "\n" not in str(refused.value) and "\x1b" not in str(refused.value)
    assert outbound(store) == []
    assert server.posts() == 0


def test_a_template_value_with_json_breaking_characters_goes_intact(
    store: Store, server: TwilioServer, accounts: dict[str, AccountInfo], provider: TwilioProvider
) -> None:
    conv = customer_wrote(store, server, hours_ago=30)
    hostile = 'Ann "}\\ {{order}} \u00e9'
    chosen = Extras(template="shipped", variables=(("name", hostile), ("order", "7")))
    queued = services.reply(store, accounts, conv, "", "alice", extras=chosen)
    (row,) = outbound(store)
    assert row.body_text == f"Hello {hostile}, your order 7 has shipped."
    assert json.loads(row.template or "")["variables"] == {"name": hostile, "order": "7"}
    assert outbox.deliver(store, provider, queued).state == "sent"


def test_a_template_off_whatsapp_is_refused(store: Store, accounts: dict[str, AccountInfo]) -> None:
    ingest(store, "wa", batch(sms("SM1", ANN, ours=OURS)))
    with store.read() as s:
        conv = s.execute(select(message_t.c.conversation_id)).scalars().one()
    with pytest.raises(InvalidRequest, match="templates are for WhatsApp; this conversation is on"):
        services.reply(store, accounts, conv, "", "a", extras=Extras(template="hello"))
    assert services.reply(store, accounts, conv, "SMS has no window", "a")  # free-form goes


# -- the CLI ----------------------------------------------------------------------------


def _config(tmp_path: Path, server: TwilioServer) -> Path:
    return write_config(
        tmp_path,
        f"""
[agent]
name = "alice"

[[accounts]]
name = "wa"
kind = "twilio"
account_sid = "{server.account_sid}"
auth_token_env = "WA_TEST_TOKEN"
phone_number = "{OURS}"
whatsapp_number = "whatsapp:{WA}"
api_base = "{server.url}"

[[accounts.templates]]
name = "shipped"
content_sid = "{SHIPPED}"
variables = ["name", "order"]
text = "Hello {{{{name}}}}, your order {{{{order}}}} has shipped."

[[accounts.templates]]
name = "hello"
content_sid = "{HELLO}"
""",
    )


def test_cli_reply_with_a_template_and_the_window_in_conversations_show(
    store: Store, server: TwilioServer, db_url: str, tmp_path: Path
) -> None:
    conv = customer_wrote(store, server, hours_ago=25)
    run = cli_runner(_config(tmp_path, server), db_url)
    env = {"WA_TEST_TOKEN": server.auth_token}
    shown = as_json(run("conversations", "show", str(conv), "--json"))
    window = shown["whatsapp_window"]
    assert (shown["id"], shown["channel"], window["open"]) == (conv, "whatsapp", False)
    assert datetime.fromisoformat(window["until"]) < datetime.now(UTC) - timedelta(minutes=59)
    assert "window closed 1 h ago" in run("conversations", "show", str(conv)).stdout

    refused = run("reply", str(conv), "--body", "Hi?", code=2, env=env)
    assert "WhatsApp refuses free-form text now" in refused.stderr
    assert server.posts() == 0
    for bad in ("order", "=x"):  # not NAME=VALUE
        run("reply", str(conv), "--template", "shipped", "--var", bad, code=2, env=env)
    run("reply", str(conv), "--var", "order=1", "--body", "x", code=2, env=env)
    run("reply", str(conv), "--template", "shipped", "--var", "name=Ann", code=2, env=env)
    assert server.posts() == 0 and outbound(store) == []

    doc = as_json(
        run(
            "reply", str(conv), "--template", "shipped", "--var", "name=Ann",
            "--var", "order=#1234", "--json", env=env,
        )
    )  # fmt: skip
    assert (doc["outbox_state"], doc["channel"], doc["deferred"]) == ("sent", "whatsapp", None)
    assert doc["template"] == {
        "name": "shipped",
        "content_sid": SHIPPED,
        "variables": {"name": "Ann", "order": "#1234"},
    }
    assert server.messages[-1]["body"] == "Hello Ann, your order #1234 has shipped."


def test_cli_send_to_someone_who_never_wrote_takes_a_template(
    store: Store, server: TwilioServer, db_url: str, tmp_path: Path
) -> None:
    run = cli_runner(_config(tmp_path, server), db_url)
    env = {"WA_TEST_TOKEN": server.auth_token}
    new = ["send", "--channel", "whatsapp", "--to", "+14155550123"]
    refused = run(*new, "--body", "Hello!", code=2, env=env)
    assert "the customer has not written on WhatsApp yet" in refused.stderr
    assert server.posts() == 0 and outbound(store) == []
    doc = as_json(run(*new, "--template", "hello", "--json", env=env))
    assert doc["template"]["name"] == "hello" and doc["outbox_state"] == "sent"
    assert server.messages[-1]["_content_sid"] == HELLO


def test_conversations_show_has_no_window_off_whatsapp(
    store: Store, server: TwilioServer, db_url: str, tmp_path: Path
) -> None:
    ingest(store, "wa", batch(sms("SM1", ANN, ours=OURS)))
    run = cli_runner(_config(tmp_path, server), db_url)
    assert as_json(run("conversations", "show", "1", "--json"))["whatsapp_window"] is None
    run("conversations", "show", "99", code=1)


# -- config ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("templates", "error"),
    [
        ('[{ name = "x", content_sid = "MGabc" }]', 'starts with "HX"'),
        ('[{ name = "x", content_sid = "HX1" }, { name = "x", content_sid = "HX2" }]', "unique: x"),
        ('[{ name = "x", content_sid = "HX1", variables = ["1", "1"] }]', "named once"),
        ('[{ name = "x y", content_sid = "HX1" }]', "templates.0.name"),
        ('[{ name = "x", content_sid = "HX1", text = "Hi {{2}}", variables = ["1"] }]', "{{2}}"),
        ('[{ name = "x", content_sid = "HX1", vars = ["1"] }]', "vars"),
    ],
)
def test_bad_templates_in_the_config_are_config_errors(
    tmp_path: Path, templates: str, error: str
) -> None:
    path = write_config(
        tmp_path,
        f"""
[[accounts]]
name = "wa"
kind = "twilio"
account_sid = "AC1"
auth_token_env = "X"
phone_number = "{OURS}"
whatsapp_number = "whatsapp:{WA}"
templates = {templates}
""",
    )
    with pytest.raises(ConfigError, match=error.replace("{", r"\{").replace("}", r"\}")):
        load_config(path)


def test_templates_reach_the_services_without_secrets(tmp_path: Path) -> None:
    settings = TwilioSettings.model_validate(
        {
            "name": "wa",
            "account_sid": "AC1",
            "auth_token_env": "NOT_SET_ANYWHERE",
            "phone_number": OURS,
            "whatsapp_number": f"whatsapp:{WA}",
            "templates": TEMPLATES,
        }
    )
    info = AccountInfo.from_settings(settings)
    assert [(t.name, t.content_sid) for t in info.templates] == [
        ("shipped", SHIPPED),
        ("hello", HELLO),
    ]
    with pytest.raises(ValidationError):
        TwilioSettings.model_validate({**settings.model_dump(), "templates": [{"name": "x"}]})


def test_a_failed_template_can_be_retried_but_not_edited(
    store: Store, server: TwilioServer, provider: TwilioProvider, accounts: dict[str, AccountInfo]
) -> None:
    conv = customer_wrote(store, server, hours_ago=30)
    mid = services.reply(store, accounts, conv, "", "alice", extras=Extras(template="hello"))
    server.fail_next(400, 21655, "The ContentSid is Invalid")
    assert outbox.deliver(store, provider, mid).state == "failed"
    with pytest.raises(outbox.OutboxError, match="approved wording"):
        outbox.edit(store, mid, "Something else", "alice")
    outbox.retry_by(store, mid, "alice")
    assert outbox.deliver(store, provider, mid).state == "sent"
    assert outbound(store)[0].body_text == "[WhatsApp template hello]"


# -- a person putting an unsent message back in the queue (outbox retry, edit, re-address) --

OTHER = "+14155550177"  # another number of Ann's, from which she never wrote


def failed_reply(
    store: Store,
    server: TwilioServer,
    provider: TwilioProvider,
    accounts: dict[str, AccountInfo],
    monkeypatch: pytest.MonkeyPatch,
    *,
    hours_ago: float,
) -> int:
    """A reply to Ann (who wrote ``hours_ago``) that failed at Twilio: queued
    while our clock was behind (so the window looked open), then refused with
    63016 once the window is closed at Twilio's clock; inside the window, an
    error of Twilio's own. Our clock is right again afterwards."""
    conv = customer_wrote(store, server, hours_ago=hours_ago)
    if hours_ago >= 24:
        monkeypatch.setattr(whatsapp_window, "utcnow", lambda: utcnow() - timedelta(hours=10))
    else:
        server.fail_next(400, 21610, "Attempt to send to unsubscribed recipient")
    mid = services.reply(store, accounts, conv, "Your parcel left today.", "alice")
    monkeypatch.setattr(whatsapp_window, "utcnow", utcnow)
    assert outbox.deliver(store, provider, mid).state == "failed"
    assert server.posts() == 1
    return mid


def row_and_effects(store: Store, mid: int) -> tuple[object, ...]:
    """What a refused action must leave as it was: the message's row, the
    audit trail, the conversations and the identities."""
    with store.read() as s:
        row = s.get(Message, mid)
        assert row is not None
        audit = s.execute(select(func.count()).select_from(audit_t)).scalar_one()
        c, i = conversation_t.c, identity_t.c
        convs = [tuple(r) for r in s.execute(select(c.id, c.message_count))]
        ids = [tuple(r) for r in s.execute(select(i.channel, i.address))]
        return (
            row.outbox_state, row.body_text, row.to_address, row.conversation_id, row.sent_at,
            row.error, row.attempts, row.next_attempt_at, audit, sorted(convs), sorted(ids),
        )  # fmt: skip


@pytest.mark.parametrize("action", ["retry", "edit", "readdress"])
def test_a_free_form_message_out_of_the_window_is_not_put_back_in_the_queue(
    store: Store,
    server: TwilioServer,
    provider: TwilioProvider,
    accounts: dict[str, AccountInfo],
    monkeypatch: pytest.MonkeyPatch,
    action: str,
) -> None:
    mid = failed_reply(store, server, provider, accounts, monkeypatch, hours_ago=30)
    before = row_and_effects(store, mid)
    assert before[0] == "failed" and "63016" in str(before[5])
    decide: Callable[[], object] = {
        "retry": lambda: outbox.retry_by(store, mid, "bob", accounts=accounts),
        "edit": lambda: outbox.edit(store, mid, "Still there?", "bob", accounts=accounts),
        "readdress": lambda: outbox.readdress(store, mid, OTHER, "bob", accounts=accounts),
    }[action]
    with pytest.raises(InvalidRequest) as refused:  # the class of the reply's refusal
        decide()
    text = str(refused.value)
    assert "WhatsApp refuses free-form text now" in text
    if action == "readdress":  # Ann never wrote from the other number
        assert text.startswith(f"message {mid} to {OTHER}: "), text
        assert "the customer has not written on WhatsApp yet" in text
    else:
        assert text.startswith(f"message {mid} to {ANN}: "), text
        assert "the window closed 6 h ago" in text, text
    assert "Nothing was changed" in text and "templates: shipped, hello" in text, text
    assert "\n" not in text
    assert row_and_effects(store, mid) == before
    assert outbox.due(store) == []
    assert server.posts() == 1  # the one attempt that failed, nothing since


def test_the_window_is_read_at_the_time_of_the_decision(
    store: Store,
    server: TwilioServer,
    provider: TwilioProvider,
    accounts: dict[str, AccountInfo],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``whatsapp_window.utcnow`` is the clock of the outbox's check too."""
    mid = failed_reply(store, server, provider, accounts, monkeypatch, hours_ago=30)
    behind = datetime.now(UTC) - timedelta(hours=7)  # our clock: the window still open
    monkeypatch.setattr(whatsapp_window, "utcnow", lambda: behind)
    outbox.retry_by(store, mid, "bob", accounts=accounts)
    assert outbound(store)[0].outbox_state == "queued"


def test_inside_the_window_a_failed_message_is_retried_and_sent(
    store: Store,
    server: TwilioServer,
    provider: TwilioProvider,
    accounts: dict[str, AccountInfo],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mid = failed_reply(store, server, provider, accounts, monkeypatch, hours_ago=2)
    outbox.retry_by(store, mid, "bob", accounts=accounts)
    assert outbox.deliver(store, provider, mid).state == "sent"
    assert server.messages[-1]["body"] == "Your parcel left today."
    assert server.posts() == 2


def test_inside_the_window_readdress_to_a_number_that_never_wrote_is_refused(
    store: Store,
    server: TwilioServer,
    provider: TwilioProvider,
    accounts: dict[str, AccountInfo],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The window is that of the conversation the message would go out on:
    Ann's own number is open, the other one never was."""
    mid = failed_reply(store, server, provider, accounts, monkeypatch, hours_ago=2)
    before = row_and_effects(store, mid)
    with pytest.raises(InvalidRequest, match="has not written on WhatsApp yet"):
        outbox.readdress(store, mid, f"whatsapp:{OTHER}", "bob", accounts=accounts)
    assert row_and_effects(store, mid) == before  # no identity, no conversation made
    outbox.edit(store, mid, "Your parcel left this morning.", "bob", accounts=accounts)
    assert outbox.deliver(store, provider, mid).state == "sent"  # on her own number it goes


def test_readdress_to_a_number_whose_window_is_open_goes(
    store: Store,
    server: TwilioServer,
    provider: TwilioProvider,
    accounts: dict[str, AccountInfo],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mid = failed_reply(store, server, provider, accounts, monkeypatch, hours_ago=30)
    at = datetime.now(UTC) - timedelta(hours=1)
    server.add_inbound(f"whatsapp:{OTHER}", f"whatsapp:{WA}", "New phone", at=at)
    inbound = sms("SMother", f"whatsapp:{OTHER}", channel="whatsapp", ours=f"whatsapp:{WA}")
    ingest(store, "wa", batch(replace(inbound, sent_at=at)))
    with store.read() as s:
        ann, other = (
            s.execute(
                select(identity_t.c.customer_id).where(identity_t.c.address == number)
            ).scalar_one()
            for number in (ANN, OTHER)
        )
    services.merge_customers(store, ann, other, "bob")
    assert outbox.readdress(store, mid, OTHER, "bob", accounts=accounts) == OTHER
    assert outbox.deliver(store, provider, mid).state == "sent"
    assert server.messages[-1]["to"] == f"whatsapp:{OTHER}"


def test_a_template_out_of_the_window_is_retried_and_readdressed(
    store: Store,
    server: TwilioServer,
    provider: TwilioProvider,
    accounts: dict[str, AccountInfo],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conv = customer_wrote(store, server, hours_ago=30)
    mid = services.reply(store, accounts, conv, "", "alice", extras=Extras(template="hello"))
    server.fail_next(400, 21655, "The ContentSid is Invalid")
    assert outbox.deliver(store, provider, mid).state == "failed"
    outbox.retry_by(store, mid, "bob", accounts=accounts)
    assert outbound(store)[0].outbox_state == "queued"
    outbox.readdress(store, mid, OTHER, "bob", accounts=accounts)  # a number that never wrote
    assert outbox.deliver(store, provider, mid).state == "sent"
    assert server.messages[-1]["_content_sid"] == HELLO


def test_cli_outbox_retry_edit_readdress_out_of_the_window_exit_as_the_reply_does(
    store: Store,
    server: TwilioServer,
    provider: TwilioProvider,
    accounts: dict[str, AccountInfo],
    monkeypatch: pytest.MonkeyPatch,
    db_url: str,
    tmp_path: Path,
) -> None:
    mid = failed_reply(store, server, provider, accounts, monkeypatch, hours_ago=30)
    before = row_and_effects(store, mid)
    run = cli_runner(_config(tmp_path, server), db_url)
    env = {"WA_TEST_TOKEN": server.auth_token}
    conv = before[3]
    reply = run("reply", str(conv), "--body", "Hi?", code=None, env=env)
    assert reply.exit_code == 2  # the reply's window refusal: the same code below
    for action in (
        ["retry", str(mid)],
        ["edit", str(mid), "--body", "Still there?"],
        ["readdress", str(mid), "--to", OTHER],
    ):
        refused = run("outbox", *action, code=reply.exit_code, env=env)
        [line] = refused.stderr.splitlines()
        assert "WhatsApp refuses free-form text now" in line, line
        assert "templates: shipped, hello" in line, line
        assert refused.stdout == ""
        assert row_and_effects(store, mid) == before, action
    assert server.posts() == 1  # no POST for any of them
    doc = as_json(run("outbox", "retry", str(mid), "--json", code=2, env=env))
    assert doc["error"]["kind"] == "usage" and "window closed" in doc["error"]["message"]
