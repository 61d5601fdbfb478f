"""A conversation started here (``omnitui send --to``) and the customer's
answer to it are one conversation on every channel, and it carries our own
side's address as ingest would give it: Telegram's bot, the Matrix user, our
number on SMS and WhatsApp, our mailbox on e-mail."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from omnitui import services
from omnitui.services import AccountInfo
from omnitui.services.ingest import ingest
from providers.settings import TelegramSettings
from storage.db import Store
from storage.models import Conversation, Message, conversation_t, message_t
from tests.helpers import Run, batch, cli_runner, email, opened, write_config
from tests.peers.synapse import BOT_PASSWORD, Client, SynapseServer
from tests.peers.telegram import TOKEN, TelegramServer
from tests.peers.telegram import bot_for as telegram_bot
from tests.peers.twilio import TwilioServer

BOT = "bot" + TOKEN.split(":", 1)[0]  # what the test peer's bot is called (test data)
OURS = "+14155550199"
WA = "+14155550188"
ANN = "+14155550100"
HELLO = "HX" + "a" * 32


@pytest.fixture
def telegram() -> Iterator[TelegramServer]:
    s = TelegramServer()
    s.start()
    yield s
    s.stop()


@pytest.fixture
def twilio() -> Iterator[TwilioServer]:
    s = TwilioServer()
    s.start()
    yield s
    s.stop()


def _stored(db_url: str, tmp_path: Path) -> tuple[list[Conversation], list[Message]]:
    with opened(db_url, tmp_path / "data-dir") as store, store.read() as s:
        convs = list(s.execute(select(Conversation).order_by(conversation_t.c.id)).scalars())
        msgs = list(s.execute(select(Message).order_by(message_t.c.id)).scalars())
    return convs, msgs


def _one_conversation(run: Run, ours: str) -> dict[str, Any]:
    """The only conversation, as ``conversations show --json`` gives it, with
    our side's address on both of its messages."""
    listed = json.loads(run("conversations", "list", "--status", "all", "--json").stdout)
    assert len(listed) == 1, listed
    shown = json.loads(run("conversations", "show", str(listed[0]["id"]), "--json").stdout)
    by_direction = {e["direction"]: e for e in shown["timeline"]}
    assert len(shown["timeline"]) == 2 and set(by_direction) == {"out", "in"}
    out, answer = by_direction["out"], by_direction["in"]
    assert (out["from_address"], answer["to_address"]) == (ours, ours)
    return dict(shown)


# -- Telegram ------------------------------------------------------------------------


def _telegram_config(tmp_path: Path, server: TelegramServer) -> Path:
    return write_config(
        tmp_path,
        f"""
[agent]
name = "bob"

[[accounts]]
name = "tg"
kind = "telegram"
bot_token_env = "TEST_TG_TOKEN"
api_base = "{server.url}"
""",
    )


def test_telegram_send_to_a_new_chat_then_the_answer_is_one_conversation_with_our_bot(
    db_url: str, tmp_path: Path, telegram: TelegramServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_TG_TOKEN", TOKEN)
    run = cli_runner(_telegram_config(tmp_path, telegram), db_url)
    sent = json.loads(
        run("send", "--channel", "telegram", "--to", "4242", "--body", "Hello", "--json").stdout
    )
    assert sent["status"] == "sent" and telegram.sent[0]["chat_id"] == "4242"
    telegram.user_says(4242, "Thanks, got it")
    run("sync", "--once")
    shown = _one_conversation(run, BOT)
    assert shown["their_address"] == "4242"
    convs, _msgs = _stored(db_url, tmp_path)
    assert [c.our_address for c in convs] == [BOT]


def test_telegram_queued_without_the_token_gets_our_bot_from_the_poller_that_sends_it(
    db_url: str, tmp_path: Path, telegram: TelegramServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agent's console cannot read the bot's token, so it cannot know the
    bot: the message waits queued, and the poller, which has the token, sends
    it and names the bot on it and on its conversation."""
    monkeypatch.delenv("TEST_TG_TOKEN", raising=False)
    run = cli_runner(_telegram_config(tmp_path, telegram), db_url)
    queued = run("send", "--channel", "telegram", "--to", "4242", "--body", "Hello", "--json")
    assert json.loads(queued.stdout)["outbox_state"] == "queued" and telegram.sent == []
    poller = {"TEST_TG_TOKEN": TOKEN}
    run("sync", "--once", env=poller)  # sends the queued message
    assert [m["chat_id"] for m in telegram.sent] == ["4242"]
    convs, msgs = _stored(db_url, tmp_path)
    assert [c.our_address for c in convs] == [BOT] and [m.from_address for m in msgs] == [BOT]
    telegram.user_says(4242, "Thanks, got it")
    run("sync", "--once", env=poller)
    _one_conversation(run, BOT)


def test_telegram_the_first_poll_names_our_bot_on_a_conversation_started_without_it(
    store: Store, telegram: TelegramServer
) -> None:
    """The customer answers before the poller has sent (or while the message
    waits for a person): the answer joins the conversation and names the bot."""
    settings = TelegramSettings(name="tg", bot_token_env="UNUSED", api_base=telegram.url)
    accounts = {"tg": AccountInfo.from_settings(settings)}  # no secret read
    mid = services.send_new(
        store, accounts, channel="telegram", body="Hello", author="bob", to="4242"
    )
    telegram.user_says(4242, "Hi, here I am")
    provider = telegram_bot(telegram)
    try:
        ingest(store, "tg", provider.poll({}))
    finally:
        provider.close()
    with store.read() as s:
        convs = list(s.execute(select(Conversation)).scalars())
        queued = s.get(Message, mid)
    assert [(c.our_address, c.message_count) for c in convs] == [(BOT, 2)]
    assert queued is not None and queued.conversation_id == convs[0].id


# -- Matrix --------------------------------------------------------------------------


def test_matrix_send_to_a_new_room_then_the_answer_is_one_conversation_with_our_user(
    db_url: str, tmp_path: Path, synapse: SynapseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"ann{uuid.uuid4().hex[:8]}"
    synapse.register(name, "ann-password")
    customer = Client(synapse, name, "ann-password")
    room = customer.create_room(invite=["@supportbot:localhost"])
    monkeypatch.setenv("TEST_MX_PASSWORD", BOT_PASSWORD)
    # a device of its own: Synapse keeps a device's answer to /sync for a
    # while, so the shared bot's device would not see this test's invite yet
    device = f"TEST{uuid.uuid4().hex[:12].upper()}"
    config = f"""
[agent]
name = "bob"

[[accounts]]
name = "mx"
kind = "matrix"
homeserver = "{synapse.url}"
user_id = "@supportbot:localhost"
password_env = "TEST_MX_PASSWORD"
accept_invites = true
rooms = ["{room}"]
device_id = "{device}"
"""
    run = cli_runner(write_config(tmp_path, config), db_url)
    # the bot joins the room (only this one: the homeserver is shared by the
    # tests); nobody has said anything in it yet
    run("sync", "--once")
    sent = json.loads(
        run("send", "--channel", "matrix", "--to", room, "--body", "Hello", "--json").stdout
    )
    assert sent["status"] == "sent"
    customer.say(room, "Thanks, got it")
    run("sync", "--once")
    _one_conversation(run, "@supportbot:localhost")


# -- SMS and WhatsApp ------------------------------------------------------------------


def _twilio_config(tmp_path: Path, server: TwilioServer) -> Path:
    return write_config(
        tmp_path,
        f"""
[agent]
name = "bob"

[[accounts]]
name = "tw"
kind = "twilio"
account_sid = "{server.account_sid}"
auth_token_env = "TEST_TW_TOKEN"
phone_number = "{OURS}"
whatsapp_number = "whatsapp:{WA}"
api_base = "{server.url}"

[[accounts.templates]]
name = "hello"
content_sid = "{HELLO}"
text = "Hello from the shop."
""",
    )


@pytest.mark.parametrize(
    ("channel", "ours", "wire"), [("sms", OURS, ""), ("whatsapp", WA, "whatsapp:")]
)
def test_twilio_send_to_a_new_number_then_the_answer_is_one_conversation_with_our_number(
    db_url: str,
    tmp_path: Path,
    twilio: TwilioServer,
    monkeypatch: pytest.MonkeyPatch,
    channel: str,
    ours: str,
    wire: str,
) -> None:
    monkeypatch.setenv("TEST_TW_TOKEN", twilio.auth_token)
    run = cli_runner(_twilio_config(tmp_path, twilio), db_url)
    twilio.add_template(HELLO, "Hello from the shop.")
    # WhatsApp starts a chat only with a template; SMS takes any text
    words = ["--template", "hello"] if channel == "whatsapp" else ["--body", "Hello"]
    to = ["--to", "(415) 555-0100"]
    sent = json.loads(run("send", "--channel", channel, *to, *words, "--json").stdout)
    assert sent["outbox_state"] == "sent"
    twilio.add_inbound(f"{wire}{ANN}", f"{wire}{ours}", "Thanks, got it")
    run("sync", "--once")
    _one_conversation(run, ours)


# -- e-mail --------------------------------------------------------------------------


def test_email_send_to_a_new_address_then_the_answer_is_one_conversation_with_our_mailbox(
    db_url: str, tmp_path: Path
) -> None:
    config = """
[agent]
name = "bob"

[[accounts]]
name = "mail"
kind = "imap"
host = "127.0.0.1"
username = "support"
password_env = "NO_SUCH_PASSWORD"
from_address = "Shop Support <Support@Shop.example>"
smtp_host = "127.0.0.1"
"""
    run = cli_runner(write_config(tmp_path, config), db_url)
    run(
        "send",
        "--channel",
        "email",
        "--to",
        "Ann@Example.com",
        "--subject",
        "Your order",
        "--body",
        "Hello",
        "--json",
    )
    _convs, msgs = _stored(db_url, tmp_path)
    (queued,) = msgs
    with opened(db_url, tmp_path / "data-dir") as store:
        ingest(
            store,
            "mail",
            batch(
                email(
                    "answer",
                    subject="Re: Your order",
                    in_reply_to=queued.email_message_id,
                    references=(queued.email_message_id or "",),
                    ours="support@shop.example",
                )
            ),
        )
    _one_conversation(run, "support@shop.example")
