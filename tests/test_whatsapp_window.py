"""WhatsApp's 24-hour window and templates: the service refuses free-form text
outside the window before queuing, sends templates by Content SID, and a
refusal by Twilio itself (63016, clocks apart) ends the message failed with
the reason. Against the Twilio test server, on both engines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from omnitui import services
from omnitui.config import ConfigError, load_config
from omnitui.services import AccountInfo, Extras, InvalidRequest, outbox, whatsapp_window
from omnitui.services.ingest import ingest
from providers.settings import TwilioSettings
from providers.twilio import TwilioProvider
from storage.db import Store
from storage.models import Message, message_t
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

    def reply(**extras: object) -> int:
        chosen = Extras(**extras)  # type: ignore[arg-type]
        return services.reply(store, accounts, conv, "", "alice", extras=chosen)

    with pytest.raises(InvalidRequest, match=r"no template 'nope' in account wa \(shipped, hel"):
        reply(template="nope")
    with pytest.raises(InvalidRequest, match="takes the variables name, order; missing order"):
        reply(template="shipped", variables=(("name", "Ann"),))
    with pytest.raises(InvalidRequest, match="unknown colour"):
        reply(template="shipped", variables=(("name", "A"), ("order", "1"), ("colour", "red")))
    with pytest.raises(InvalidRequest, match="give a value for order"):
        reply(template="shipped", variables=(("name", "Ann"), ("order", " ")))
    with pytest.raises(InvalidRequest, match="variables fill a template"):
        reply(variables=(("name", "Ann"),))
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
