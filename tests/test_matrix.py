"""The matrix provider against a real Synapse homeserver."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from omnitui import services
from omnitui.services import AccountInfo, outbox
from omnitui.services import ingest as ingest_module
from omnitui.services.ingest import ingest, load_cursors
from omnitui.services.sync import sync_once
from providers import matrix
from providers.base import AuthError
from providers.matrix import MatrixProvider
from providers.settings import MatrixSettings
from storage.blobs import read_blob
from storage.db import Store
from storage.models import Attachment, Conversation, Message, message_t
from tests.peers.synapse import Client, SynapseServer, SynapseUnavailable

BOT_PASSWORD = "bot-password-1"


@pytest.fixture(scope="module")
def synapse() -> Iterator[SynapseServer]:
    try:
        server = SynapseServer()
        server.start()
    except SynapseUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Synapse is required in CI and could not be started: {exc}")
        pytest.skip(f"Synapse not available: {exc}")
    server.register("supportbot", BOT_PASSWORD)
    yield server
    server.cleanup()


@pytest.fixture
def customer(synapse: SynapseServer) -> Client:
    name = f"ann{uuid.uuid4().hex[:8]}"
    synapse.register(name, "ann-password")
    client = Client(synapse, name, "ann-password")
    client.set_name("Ann Example")
    return client


@pytest.fixture
def provider(synapse: SynapseServer) -> Iterator[MatrixProvider]:
    settings = MatrixSettings(
        name="mx",
        homeserver=synapse.url,
        user_id="@supportbot:localhost",
        password_env="UNUSED",
        accept_invites=True,
    )
    p = MatrixProvider("mx", settings, {"password": BOT_PASSWORD})
    yield p
    p.close()


def room_messages(store: Store, room: str) -> list[Message]:
    with store.read() as s:
        conv = s.execute(select(Conversation).where(Conversation.thread_key == room)).scalar_one()  # type: ignore[arg-type]
        return list(
            s.execute(
                select(Message)
                .where(message_t.c.conversation_id == conv.id)
                .order_by(message_t.c.id)
            ).scalars()
        )


def test_invite_inbound_reply_and_no_echo(
    store: Store, customer: Client, provider: MatrixProvider
) -> None:
    room = customer.create_room(invite=["@supportbot:localhost"])
    sync_once(store, provider)  # accepts the invite
    customer.say(room, "Hello, my order is late")
    customer.say(room, "Order 1234")
    sync_once(store, provider)
    msgs = room_messages(store, room)
    assert [m.body_text for m in msgs] == ["Hello, my order is late", "Order 1234"]
    with store.read() as s:
        conv = s.execute(select(Conversation).where(Conversation.thread_key == room)).scalar_one()  # type: ignore[arg-type]
    mid = services.reply(
        store, {"mx": AccountInfo.from_provider(provider)}, conv.id or 0, "Looking into it!", "bob"
    )
    assert outbox.deliver(store, provider, mid).state == "sent"
    assert customer.messages(room)[0]["content"]["body"] == "Looking into it!"
    report = sync_once(store, provider)  # our own message comes back: ignored
    assert report.stored == 0
    assert len(room_messages(store, room)) == 3  # two in, our one reply


def test_customer_named_from_display_name(
    store: Store, customer: Client, provider: MatrixProvider
) -> None:
    room = customer.create_room(invite=["@supportbot:localhost"])
    sync_once(store, provider)
    customer.say(room, "hi")
    sync_once(store, provider)
    from storage.models import Customer

    with store.read() as s:
        names = {c.name for c in s.execute(select(Customer)).scalars()}
    assert "Ann Example" in names


def test_survives_a_homeserver_restart(
    store: Store, synapse: SynapseServer, customer: Client, provider: MatrixProvider
) -> None:
    room = customer.create_room(invite=["@supportbot:localhost"])
    sync_once(store, provider)
    customer.say(room, "before")
    sync_once(store, provider)
    synapse.restart()
    customer.say(room, "after")
    report = sync_once(store, provider)
    assert report.ok, report.error
    assert [m.body_text for m in room_messages(store, room)] == ["before", "after"]


def test_nothing_lost_when_the_store_write_fails(
    store: Store, customer: Client, provider: MatrixProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = customer.create_room(invite=["@supportbot:localhost"])
    sync_once(store, provider)
    customer.say(room, "must not be lost")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest_module, "_insert_attachments", broken)
    with pytest.raises(RuntimeError):
        ingest(store, "mx", provider.poll(load_cursors(store, "mx")))
    monkeypatch.undo()
    sync_once(store, provider)
    sync_once(store, provider)
    assert [m.body_text for m in room_messages(store, room)] == ["must not be lost"]


def test_wrong_password_is_an_auth_error(synapse: SynapseServer) -> None:
    settings = MatrixSettings(
        name="mx", homeserver=synapse.url, user_id="@supportbot:localhost", password_env="UNUSED"
    )
    provider = MatrixProvider("mx", settings, {"password": "not-the-password"})
    with pytest.raises(AuthError) as info:
        provider.poll({})
    assert "not-the-password" not in str(info.value)


def test_switching_to_matrix_replies_in_the_customers_room(
    store: Store, customer: Client, provider: MatrixProvider
) -> None:
    room = customer.create_room(invite=["@supportbot:localhost"])
    sync_once(store, provider)
    customer.say(room, "write me here")
    sync_once(store, provider)
    from tests.helpers import batch, email

    ingest(store, "mail", batch(email("m1", "ann@example.com")))
    with store.read() as s:
        convs = {
            c.channel: c
            for c in s.execute(select(Conversation)).scalars()
            if c.channel == "email" or c.thread_key == room
        }
    services.merge_customers(store, convs["matrix"].customer_id, convs["email"].customer_id, "bob")
    accounts = {"mx": AccountInfo.from_provider(provider)}
    mid = services.reply(
        store, accounts, convs["email"].id or 0, "Answering on Matrix", "bob", channel="matrix"
    )
    assert outbox.deliver(store, provider, mid).state == "sent"
    assert customer.messages(room)[0]["content"]["body"] == "Answering on Matrix"


def test_images_and_files_are_fetched_and_stored(
    store: Store, customer: Client, provider: MatrixProvider
) -> None:
    room = customer.create_room(invite=["@supportbot:localhost"])
    sync_once(store, provider)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    customer.send_file(room, png, "broken-box.png", "m.image", "image/png")
    customer.send_file(room, b"%PDF-1.4 receipt", "receipt.pdf", "m.file", "application/pdf")
    assert sync_once(store, provider).stored == 2
    assert [m.body_text for m in room_messages(store, room)] == [
        "[image] broken-box.png",
        "[file] receipt.pdf",
    ]
    ids = [m.id for m in room_messages(store, room)]  # the bot also sees earlier tests' rooms
    with store.read() as s:
        rows = s.execute(
            select(Attachment.filename, Attachment.content_type, Attachment.sha256)
            .where(Attachment.message_id.in_(ids))  # type: ignore[attr-defined]
            .order_by(Attachment.id)  # type: ignore[arg-type]
        ).all()
    assert [(name, ctype) for name, ctype, _ in rows] == [
        ("broken-box.png", "image/png"),
        ("receipt.pdf", "application/pdf"),
    ]
    assert read_blob(store.data_dir, rows[0][2]) == png


def test_a_busy_room_loses_nothing_between_polls(
    store: Store, customer: Client, provider: MatrixProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matrix, "TIMELINE_LIMIT", 3)  # /sync sends only the newest 3
    room = customer.create_room(invite=["@supportbot:localhost"])
    sync_once(store, provider)
    sync_once(store, provider)  # joined: the cursor is after the join
    for n in range(8):
        customer.say(room, f"message {n}")
    sync_once(store, provider)
    assert [m.body_text for m in room_messages(store, room)] == [f"message {n}" for n in range(8)]
