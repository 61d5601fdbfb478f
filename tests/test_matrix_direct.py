"""Starting a Matrix conversation from here: ``omnitui send --to @user:server``
with no room shared makes one direct room (``is_direct``, the user invited,
``trusted_private_chat``), stores it as the conversation's thread before the
message goes, and the answer in it is the same conversation and customer; a
room the bot already shares with the user is reused. A send to a room
(``--to '!room:server'``) and the answer in it are one customer. Invalid
Matrix ids are refused before anything is queued.

Each test has a bot of its own on the shared Synapse, so its rooms are the
test's alone (no ``rooms`` filter needed, which a direct room would miss)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from omnitui import services
from omnitui.services import AccountInfo, outbox
from omnitui.services.sync import sync_once
from providers.base import OutboundMessage
from providers.matrix import MatrixProvider
from providers.settings import MatrixSettings
from storage.db import Store
from storage.models import Conversation, Customer, Message, conversation_t, identity_t
from tests.helpers import Run, cli_runner, message, write_config
from tests.peers.synapse import Client, SynapseServer

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "test-password-1"  # test-only accounts on the test homeserver


def _account(synapse: SynapseServer, prefix: str) -> Client:
    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    synapse.register(name, PASSWORD)
    return Client(synapse, name, PASSWORD)


@pytest.fixture
def bot(synapse: SynapseServer) -> Client:
    """This test's support bot (its own rooms only), seen from its own client."""
    return _account(synapse, "bot")


@pytest.fixture
def ann(synapse: SynapseServer) -> Client:
    client = _account(synapse, "ann")
    client.set_name("Ann Example")
    return client


@pytest.fixture
def provider(synapse: SynapseServer, bot: Client) -> Iterator[MatrixProvider]:
    p = _provider(synapse, bot)
    yield p
    p.close()


def _provider(synapse: SynapseServer, bot: Client) -> MatrixProvider:
    settings = MatrixSettings(
        name="mx", homeserver=synapse.url, user_id=bot.user_id, password_env="UNUSED"
    )
    return MatrixProvider("mx", settings, {"password": PASSWORD})


def _cli(
    tmp_path: Path, db_url: str, synapse: SynapseServer, bot: Client, mp: pytest.MonkeyPatch
) -> Run:
    mp.setenv("TEST_MX_PASSWORD", PASSWORD)
    config = f"""
[agent]
name = "bob"

[[accounts]]
name = "mx"
kind = "matrix"
homeserver = "{synapse.url}"
user_id = "{bot.user_id}"
password_env = "TEST_MX_PASSWORD"
"""
    return cli_runner(write_config(tmp_path, config), db_url)


def _send(run: Run, to: str, body: str) -> dict[str, Any]:
    sent = json.loads(
        run("send", "--channel", "matrix", "--to", to, "--body", body, "--json").stdout
    )
    assert sent["status"] == "sent", sent
    return dict(sent)


def _said(client: Client, room: str, sender: str) -> list[str]:
    """What ``sender`` said in ``room``, oldest first."""
    return [m["content"]["body"] for m in reversed(client.messages(room)) if m["sender"] == sender]


def _customers(run: Run) -> list[dict[str, Any]]:
    return list(json.loads(run("customers", "list", "--json").stdout))


def _conversations(run: Run) -> list[dict[str, Any]]:
    return list(json.loads(run("conversations", "list", "--status", "all", "--json").stdout))


def _timeline(run: Run, conversation_id: int) -> list[tuple[str, str]]:
    shown = json.loads(run("conversations", "show", str(conversation_id), "--json").stdout)
    return [(e["direction"], e["body"]) for e in shown["timeline"]]


def _direct_room(bot: Client, ann: Client) -> str:
    """The one room the bot and Ann are in: made by the bot, Ann invited to
    it as a direct chat, with a trusted private chat's rules."""
    assert len(bot.joined_rooms()) == 1, bot.joined_rooms()
    rooms = ann.rooms()
    assert list(rooms.values()) == ["invite"], rooms
    room = next(iter(rooms))
    assert bot.joined_rooms() == [room]
    invite = ann.invite_event(room)
    assert invite["sender"] == bot.user_id and invite["content"]["is_direct"] is True
    assert bot.state(room, "m.room.join_rules")["join_rule"] == "invite"
    # trusted_private_chat: the invited user has the creator's power (room
    # version 12 names them among the creators, older ones give them 100)
    creators = bot.state(room, "m.room.create").get("additional_creators", [])
    powers = bot.state(room, "m.room.power_levels").get("users", {})
    assert ann.user_id in creators or powers.get(ann.user_id) == 100
    return room


# -- a user with no shared room ---------------------------------------------------


def test_send_to_a_user_makes_one_direct_room_and_the_answer_is_the_same_conversation(
    db_url: str,
    tmp_path: Path,
    synapse: SynapseServer,
    bot: Client,
    ann: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = _cli(tmp_path, db_url, synapse, bot, monkeypatch)
    _send(run, ann.user_id, "Hello from support")
    room = _direct_room(bot, ann)
    assert bot.account_data("m.direct") == {ann.user_id: [room]}
    ann.join(room)
    assert _said(ann, room, bot.user_id) == ["Hello from support"]
    ann.say(room, "Thanks, got it")
    run("sync", "--once")
    (conv,) = _conversations(run)
    assert _timeline(run, conv["id"]) == [("out", "Hello from support"), ("in", "Thanks, got it")]
    (customer,) = _customers(run)
    assert customer["id"] == conv["customer_id"]
    # a second send goes to the same room, in the same conversation
    _send(run, ann.user_id, "One more thing")
    assert bot.joined_rooms() == [room] and list(ann.rooms()) == [room]
    assert _said(ann, room, bot.user_id) == ["Hello from support", "One more thing"]
    assert [c["id"] for c in _conversations(run)] == [conv["id"]]
    assert len(_customers(run)) == 1


def test_a_direct_room_in_the_bots_m_direct_is_reused_by_a_store_that_knows_nothing(
    store: Store, bot: Client, ann: Client, provider: MatrixProvider, synapse: SynapseServer
) -> None:
    accounts = {"mx": AccountInfo.from_provider(provider)}
    first = services.send_new(
        store, accounts, channel="matrix", to=ann.user_id, body="first", author="bob"
    )
    assert outbox.deliver(store, provider, first).state == "sent"
    room = _direct_room(bot, ann)
    # another process with a new login, and a store with no conversation
    # (the room would have been forgotten): m.direct names the room
    other = _provider(synapse, bot)
    try:
        outbound = OutboundMessage(channel="matrix", to_address=ann.user_id, body_text="x")
        assert other.open_thread(outbound) == room
    finally:
        other.close()
    assert bot.joined_rooms() == [room]


def test_a_room_with_just_the_two_of_them_is_reused(
    store: Store, bot: Client, ann: Client, provider: MatrixProvider
) -> None:
    room = ann.create_room(invite=[bot.user_id])  # Ann's direct chat (her m.direct, not ours)
    bot.join(room)
    accounts = {"mx": AccountInfo.from_provider(provider)}
    mid = services.send_new(
        store, accounts, channel="matrix", to=ann.user_id, body="Hello", author="bob"
    )
    assert outbox.deliver(store, provider, mid).state == "sent"
    assert bot.joined_rooms() == [room] and list(ann.rooms()) == [room]
    assert _said(ann, room, bot.user_id) == ["Hello"]
    with store.read() as s:
        assert s.execute(select(conversation_t.c.thread_key)).scalars().all() == [room]


def test_a_user_who_does_not_exist_fails_before_any_room_is_made(
    store: Store, bot: Client, provider: MatrixProvider
) -> None:
    accounts = {"mx": AccountInfo.from_provider(provider)}
    mid = services.send_new(
        store, accounts, channel="matrix", to="@nobody-here:localhost", body="Hi", author="bob"
    )
    delivery = outbox.deliver(store, provider, mid)
    assert delivery.state == "failed" and "@nobody-here:localhost" in (delivery.error or "")
    assert bot.joined_rooms() == []


def test_an_account_reading_only_listed_rooms_makes_no_room_it_would_never_read(
    store: Store, synapse: SynapseServer, bot: Client, ann: Client
) -> None:
    settings = MatrixSettings(
        name="mx",
        homeserver=synapse.url,
        user_id=bot.user_id,
        password_env="UNUSED",
        rooms=["!elsewhere:localhost"],
    )
    provider = MatrixProvider("mx", settings, {"password": PASSWORD})
    try:
        accounts = {"mx": AccountInfo.from_provider(provider)}
        mid = services.send_new(
            store, accounts, channel="matrix", to=ann.user_id, body="Hi", author="bob"
        )
        delivery = outbox.deliver(store, provider, mid)
    finally:
        provider.close()
    assert delivery.state == "failed" and "`rooms`" in (delivery.error or "")
    assert bot.joined_rooms() == [] and ann.rooms() == {}


def test_a_direct_room_the_store_has_as_a_room_conversation_gets_the_message(
    store: Store, bot: Client, ann: Client, provider: MatrixProvider
) -> None:
    room = ann.create_room(invite=[bot.user_id])
    bot.join(room)
    accounts = {"mx": AccountInfo.from_provider(provider)}
    to_room = services.send_new(
        store, accounts, channel="matrix", to=room, body="To the room", author="bob"
    )
    assert outbox.deliver(store, provider, to_room).state == "sent"
    to_ann = services.send_new(
        store, accounts, channel="matrix", to=ann.user_id, body="To Ann", author="bob"
    )
    assert outbox.deliver(store, provider, to_ann).state == "sent"
    assert _said(ann, room, bot.user_id) == ["To the room", "To Ann"]
    with store.read() as s:
        room_conv = s.execute(
            select(conversation_t.c.id).where(conversation_t.c.thread_key == room)
        ).scalar_one()
    assert message(store, to_ann).conversation_id == message(store, to_room).conversation_id
    assert message(store, to_ann).conversation_id == room_conv


# -- kill -9 between making the room and sending ------------------------------------

CHILD = """
import os, sys
from pathlib import Path
from omnitui.services import outbox
from providers.matrix import MatrixProvider
from providers.settings import MatrixSettings
from storage.db import open_store

url, data, homeserver, user_id, message_id, window = sys.argv[1:]
store = open_store(url, Path(data))
settings = MatrixSettings(name="mx", homeserver=homeserver, user_id=user_id, password_env="UNUSED")
provider = MatrixProvider("mx", settings, {"password": os.environ["TEST_MX_PASSWORD"]})


def stop_here(what):
    print(what, flush=True)
    sys.stdin.read()  # the test kills this process here
    raise SystemExit("not killed")


if window == "made":  # the homeserver made the room; nothing is stored yet
    create = provider._create_direct_room

    def hooked(user):
        stop_here(create(user))

    provider._create_direct_room = hooked
else:  # the room is the conversation's thread; the message has not gone
    provider.send = lambda outbound: stop_here(outbound.thread_id)
outbox.deliver(store, provider, int(message_id))
"""


@pytest.mark.parametrize("window", ["made", "stored"])
@pytest.mark.parametrize("retry", ["reconcile", "person"])
def test_kill_9_between_the_room_and_the_send_then_a_retry_makes_one_room_and_one_message(
    store: Store,
    db_url: str,
    tmp_path: Path,
    synapse: SynapseServer,
    bot: Client,
    ann: Client,
    provider: MatrixProvider,
    window: str,
    retry: str,
) -> None:
    accounts = {"mx": AccountInfo.from_provider(provider)}
    mid = services.send_new(
        store, accounts, channel="matrix", to=ann.user_id, body="Only once", author="bob"
    )
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            db_url,
            str(tmp_path / "data"),
            synapse.url,
            bot.user_id,
            str(mid),
            window,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TEST_MX_PASSWORD": PASSWORD},
    )
    try:
        assert child.stdout is not None
        room = child.stdout.readline().strip()  # the child stopped at the point
        assert room.startswith("!"), child.communicate(timeout=30)
        with store.read() as s:
            key = s.execute(select(conversation_t.c.thread_key)).scalar_one()
        assert key == (ann.user_id if window == "made" else room)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.communicate(timeout=30)
    assert message(store, mid).outbox_state == "sending"
    if retry == "reconcile":
        assert outbox.recover_interrupted(store) == [mid]  # its sender is gone
        assert sync_once(store, provider).sent == 1  # asked, found nothing, sent it
    else:
        outbox.retry(store, mid)  # unconfirmed first, then queued again
        assert outbox.deliver(store, provider, mid).state == "sent"
    assert _direct_room(bot, ann) == room
    ann.join(room)
    assert _said(ann, room, bot.user_id) == ["Only once"]
    sent = message(store, mid)
    assert sent.outbox_state == "sent" and (sent.external_id or "").startswith("$")
    with store.read() as s:
        assert s.execute(select(conversation_t.c.thread_key)).scalars().all() == [room]


# -- a send to a room, then the answer ---------------------------------------------


def _counts(store: Store) -> tuple[int, int, int]:
    with store.read() as s:
        return (
            s.execute(select(func.count()).select_from(Customer)).scalar_one(),
            s.execute(select(func.count()).select_from(Conversation)).scalar_one(),
            s.execute(select(func.count()).select_from(Message)).scalar_one(),
        )


def test_a_send_to_a_room_then_the_answer_is_one_customer(
    db_url: str,
    tmp_path: Path,
    synapse: SynapseServer,
    bot: Client,
    ann: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    room = ann.create_room(invite=[bot.user_id])
    bot.join(room)
    run = _cli(tmp_path, db_url, synapse, bot, monkeypatch)
    _send(run, room, "Hello room")
    ann.say(room, "Hi, it's Ann")
    run("sync", "--once")
    (customer,) = _customers(run)
    (conv,) = _conversations(run)
    assert conv["customer_id"] == customer["id"]
    assert customer["name"] == "Ann Example"  # the placeholder took the sender's name
    assert _timeline(run, conv["id"]) == [("out", "Hello room"), ("in", "Hi, it's Ann")]
    # Ann is that customer now: a send to her user id goes to the same room
    _send(run, ann.user_id, "Following up")
    assert [c["id"] for c in _conversations(run)] == [conv["id"]]
    assert len(_customers(run)) == 1 and bot.joined_rooms() == [room]


def test_a_send_to_a_room_whose_conversation_exists_joins_its_customer(
    store: Store, bot: Client, ann: Client, provider: MatrixProvider
) -> None:
    room = ann.create_room(invite=[bot.user_id])
    bot.join(room)
    ann.say(room, "Where is my parcel?")
    sync_once(store, provider)
    assert _counts(store) == (1, 1, 1)
    accounts = {"mx": AccountInfo.from_provider(provider)}
    mid = services.send_new(store, accounts, channel="matrix", to=room, body="Today", author="bob")
    assert outbox.deliver(store, provider, mid).state == "sent"
    assert _counts(store) == (1, 1, 2)
    with store.read() as s:
        identities = s.execute(select(identity_t.c.address)).scalars().all()
    assert identities == [ann.user_id]


def test_a_second_person_in_the_room_is_a_customer_of_their_own(
    store: Store, synapse: SynapseServer, bot: Client, ann: Client, provider: MatrixProvider
) -> None:
    room = ann.create_room(invite=[bot.user_id])
    bot.join(room)
    ben = _account(synapse, "ben")
    ann._call("POST", f"/rooms/{room}/invite", json={"user_id": ben.user_id})
    ben.join(room)
    accounts = {"mx": AccountInfo.from_provider(provider)}
    mid = services.send_new(store, accounts, channel="matrix", to=room, body="Hi", author="bob")
    assert outbox.deliver(store, provider, mid).state == "sent"
    ann.say(room, "Ann here")
    ben.say(room, "Ben here")
    sync_once(store, provider)
    with store.read() as s:
        owner = s.execute(select(conversation_t.c.customer_id)).scalar_one()
        by_address = {
            address: customer
            for address, customer in s.execute(
                select(identity_t.c.address, identity_t.c.customer_id)
            )
        }
    assert by_address[room] == by_address[ann.user_id] == owner
    assert by_address[ben.user_id] != owner
    assert _counts(store) == (2, 1, 3)


# -- invalid ids ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("to", "why"),
    [
        ("@nocolon", "not a Matrix user id"),
        ("@ann:", "not a Matrix user id"),
        ("@:localhost", "not a Matrix user id"),
        ("ann:localhost", "not a Matrix id"),
        ("#support:localhost", "room alias"),
        ("@ann:local\x1b[31mhost", "control character"),
        ("@ann\nx:localhost", "control character"),
        ("@ann bob:localhost", "space"),
        ("@" + "a" * 300 + ":localhost", "at most 255"),
    ],
)
def test_an_invalid_matrix_id_is_refused_before_anything_is_queued(
    db_url: str,
    tmp_path: Path,
    synapse: SynapseServer,
    bot: Client,
    monkeypatch: pytest.MonkeyPatch,
    to: str,
    why: str,
) -> None:
    run = _cli(tmp_path, db_url, synapse, bot, monkeypatch)
    result = run("send", "--channel", "matrix", "--to", to, "--body", "Hi", code=2)
    error = result.stderr.strip()
    assert why in error and "\n" not in error and "\x1b" not in error and len(error) < 300
    assert json.loads(run("outbox", "list", "--json").stdout) == []
    assert _customers(run) == []
    assert bot.joined_rooms() == []


@pytest.mark.parametrize("to", ["@ann:localhost", "@a.b_c=d-e/f+g:example.org:8448", "!abc:[::1]"])
def test_valid_matrix_ids_are_kept_as_given(to: str) -> None:
    from omnitui.addresses import normalize_address

    assert normalize_address("matrix", f"  {to} ") == to
