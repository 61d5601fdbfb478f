"""A direct room found among the bot's joined rooms must be one only the bot
and the user control: a room a third person made (and left) with the two of
them alone is still that person's (they can open it, rejoin it or read it),
so a message to the user never goes there; a new direct room is made."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from omnitui import services
from omnitui.services import AccountInfo, outbox
from omnitui.services.sync import sync_once
from providers.matrix import MatrixProvider
from providers.settings import MatrixSettings
from storage.db import Store
from storage.models import conversation_t
from tests.helpers import message
from tests.peers.synapse import Client, SynapseServer

PASSWORD = "test-password-1"  # test-only accounts on the test homeserver


def _account(synapse: SynapseServer, prefix: str) -> Client:
    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    synapse.register(name, PASSWORD)
    return Client(synapse, name, PASSWORD)


@pytest.fixture
def bot(synapse: SynapseServer) -> Client:
    return _account(synapse, "bot")


@pytest.fixture
def provider(synapse: SynapseServer, bot: Client) -> Iterator[MatrixProvider]:
    settings = MatrixSettings(
        name="mx", homeserver=synapse.url, user_id=bot.user_id, password_env="UNUSED"
    )
    p = MatrixProvider("mx", settings, {"password": PASSWORD})
    yield p
    p.close()


@pytest.mark.parametrize(
    "rules",
    [
        {"preset": "public_chat"},  # anyone may join and read it
        {  # invite only, but anyone may read it without joining
            "preset": "private_chat",
            "initial_state": [
                {
                    "type": "m.room.history_visibility",
                    "state_key": "",
                    "content": {"history_visibility": "world_readable"},
                }
            ],
        },
    ],
    ids=["public", "world-readable"],
)
def test_a_room_a_third_person_made_with_the_two_of_them_alone_is_not_their_direct_room(
    store: Store,
    synapse: SynapseServer,
    bot: Client,
    provider: MatrixProvider,
    rules: dict[str, object],
) -> None:
    ann = _account(synapse, "ann")
    mallory = _account(synapse, "mallory")
    trap = mallory._call(
        "POST", "/createRoom", json={**rules, "invite": [bot.user_id, ann.user_id]}
    )["room_id"]
    bot.join(trap)  # as accept_invites does
    mallory._call("POST", f"/rooms/{trap}/leave", json={})
    accounts = {"mx": AccountInfo.from_provider(provider)}
    mid = services.send_new(
        store, accounts, channel="matrix", to=ann.user_id, body="Your order", author="bob"
    )
    assert outbox.deliver(store, provider, mid).state == "sent"
    with store.read() as s:
        (room,) = s.execute(select(conversation_t.c.thread_key)).scalars().all()
    assert room != trap
    said = [m["content"]["body"] for m in bot.messages(trap) if m["sender"] == bot.user_id]
    assert said == []
    assert bot.state(room, "m.room.create") and set(ann.rooms()) == {trap, room}


def test_a_send_to_a_user_whose_conversation_is_a_room_with_others_goes_to_their_direct_room(
    store: Store, synapse: SynapseServer, bot: Client, provider: MatrixProvider
) -> None:
    """Ann wrote first in a room she shares with Ben (so she is its customer):
    a message to Ann herself is not for Ben's eyes; it goes to a direct room,
    a conversation of its own, and the room's conversation stays the room's."""
    ann = _account(synapse, "ann")
    ben = _account(synapse, "ben")
    group = ann.create_room(invite=[bot.user_id, ben.user_id])
    bot.join(group)
    ben.join(group)
    ann.say(group, "Hi all, Ann here")
    sync_once(store, provider)
    accounts = {"mx": AccountInfo.from_provider(provider)}
    mid = services.send_new(
        store, accounts, channel="matrix", to=ann.user_id, body="Your reset code", author="bob"
    )
    assert outbox.deliver(store, provider, mid).state == "sent"
    assert [m["content"]["body"] for m in ben.messages(group)] == ["Hi all, Ann here"]
    with store.read() as s:
        keys = s.execute(select(conversation_t.c.id, conversation_t.c.thread_key)).all()
    by_key = {key: conv for conv, key in keys}
    assert group in by_key and len(by_key) == 2
    (direct,) = set(by_key) - {group}
    assert message(store, mid).conversation_id == by_key[direct]
    said = [m["content"]["body"] for m in bot.messages(direct) if m["sender"] == bot.user_id]
    assert said == ["Your reset code"] and ann.rooms()[direct] == "invite"


def test_sends_to_a_user_whose_direct_room_is_a_conversation_leave_no_empty_one(
    store: Store, synapse: SynapseServer, bot: Client, provider: MatrixProvider
) -> None:
    ann = _account(synapse, "ann")
    room = ann.create_room(invite=[bot.user_id])
    bot.join(room)
    ann.say(room, "Hello?")
    sync_once(store, provider)
    accounts = {"mx": AccountInfo.from_provider(provider)}
    for body in ("First", "Second"):
        mid = services.send_new(
            store, accounts, channel="matrix", to=ann.user_id, body=body, author="bob"
        )
        assert outbox.deliver(store, provider, mid).state == "sent"
    with store.read() as s:
        rows = s.execute(select(conversation_t.c.thread_key, conversation_t.c.message_count))
        assert rows.all() == [(room, 3)]


@pytest.mark.parametrize(
    "direct",
    [
        {"ANN": "!not-a-list:localhost", "@x:localhost": [1, None, {"a": 1}]},
        {"ANN": ["!gone\x1b[31m:localhost", "!never-joined:localhost", 7]},
        {"ANN": {"!room:localhost": True}, "\x1b]0;title\x07": ["\u202e!x:localhost"]},
    ],
    ids=["not-lists", "rooms-not-ours", "hostile-keys"],
)
def test_a_malformed_or_hostile_m_direct_still_opens_one_direct_room(
    store: Store,
    synapse: SynapseServer,
    bot: Client,
    provider: MatrixProvider,
    direct: dict[str, object],
) -> None:
    ann = _account(synapse, "ann")
    content = {(ann.user_id if k == "ANN" else k): v for k, v in direct.items()}
    bot._call("PUT", f"/user/{bot.user_id}/account_data/m.direct", json=content)
    accounts = {"mx": AccountInfo.from_provider(provider)}
    mid = services.send_new(
        store, accounts, channel="matrix", to=ann.user_id, body="Hello", author="bob"
    )
    assert outbox.deliver(store, provider, mid).state == "sent"
    (room,) = bot.joined_rooms()
    assert list(ann.rooms()) == [room]
    assert room in bot.account_data("m.direct")[ann.user_id]


def test_a_reply_in_a_direct_room_the_user_left_fails_saying_so_instead_of_posting_to_nobody(
    store: Store, synapse: SynapseServer, bot: Client, provider: MatrixProvider
) -> None:
    ann = _account(synapse, "ann")
    accounts = {"mx": AccountInfo.from_provider(provider)}
    first = services.send_new(
        store, accounts, channel="matrix", to=ann.user_id, body="Hello", author="bob"
    )
    assert outbox.deliver(store, provider, first).state == "sent"
    (room,) = bot.joined_rooms()
    ann._call("POST", f"/rooms/{room}/leave", json={})  # she rejects the invite
    conversation = message(store, first).conversation_id
    again = services.reply(store, accounts, conversation, "Are you there?", "bob")
    delivery = outbox.deliver(store, provider, again)
    assert delivery.state == "failed", delivery
    assert ann.user_id in (delivery.error or "") and "left" in (delivery.error or "")
    said = [m["content"]["body"] for m in bot.messages(room) if m["sender"] == bot.user_id]
    assert said == ["Hello"]
    # a new message to her opens another direct room
    new = services.send_new(
        store, accounts, channel="matrix", to=ann.user_id, body="Hello again", author="bob"
    )
    assert outbox.deliver(store, provider, new).state == "sent"
    assert message(store, new).conversation_id != conversation
    assert list(ann.rooms()) != [] and room not in ann.rooms()
