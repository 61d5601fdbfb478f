"""The matrix provider against a real Synapse homeserver."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from unittest.mock import ANY

import pytest
from sqlalchemy import select

from omnitui import services
from omnitui.services import AccountInfo, outbox
from omnitui.services import ingest as ingest_module
from omnitui.services.ingest import ingest, load_cursors
from omnitui.services.sync import sync_once
from providers import matrix
from providers.base import (
    AuthError,
    OutboundAttachment,
    OutboundMessage,
    PermanentError,
    SendResult,
    TransientError,
)
from providers.matrix import MatrixProvider
from providers.settings import MatrixSettings
from storage.blobs import read_blob
from storage.db import Store
from storage.models import (
    Conversation,
    Message,
    attachment_t,
    conversation_t,
    message_t,
)
from tests.peers.lost_answer import LostAnswerProxy
from tests.peers.synapse import BOT_PASSWORD, MAX_UPLOAD, Client, SynapseServer
from tests.peers.synapse import bot_for as matrix_bot


@pytest.fixture
def customer(synapse: SynapseServer) -> Client:
    name = f"ann{uuid.uuid4().hex[:8]}"
    synapse.register(name, "ann-password")
    client = Client(synapse, name, "ann-password")
    client.set_name("Ann Example")
    return client


@pytest.fixture
def provider(synapse: SynapseServer) -> Iterator[MatrixProvider]:
    p = matrix_bot(synapse)
    yield p
    p.close()


def room_messages(store: Store, room: str) -> list[Message]:
    with store.read() as s:
        conv = s.execute(
            select(Conversation).where(conversation_t.c.thread_key == room)
        ).scalar_one()
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
        conv = s.execute(
            select(Conversation).where(conversation_t.c.thread_key == room)
        ).scalar_one()
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
            select(attachment_t.c.filename, attachment_t.c.content_type, attachment_t.c.sha256)
            .where(attachment_t.c.message_id.in_(ids))
            .order_by(attachment_t.c.id)
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


# -- files sent to the customer ------------------------------------------------------


def _joined_room(store: Store, customer: Client, provider: MatrixProvider) -> str:
    room = customer.create_room(invite=["@supportbot:localhost"])
    sync_once(store, provider)
    return room


def _reply(room: str, text: str, *files: OutboundAttachment, key: str) -> OutboundMessage:
    return OutboundMessage(
        channel="matrix",
        to_address=room,
        thread_id=room,
        body_text=text,
        attachments=files,
        idempotency_key=key,
    )


def test_files_are_uploaded_then_posted_after_the_text_and_download_whole(
    store: Store, customer: Client, provider: MatrixProvider
) -> None:
    room = _joined_room(store, customer, provider)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 50
    pdf = b"%PDF-1.4\n" + bytes(reversed(range(256))) * 70
    key = f"out-{uuid.uuid4().hex[:8]}"
    message = _reply(
        room,
        "Here is the label and the receipt.",
        OutboundAttachment("label.png", "image/png", png),
        OutboundAttachment("Quittung März.pdf", "application/pdf", pdf),
        key=key,
    )
    result = provider.send(message)
    events = list(reversed(customer.messages(room)))[-3:]
    assert [e["content"]["msgtype"] for e in events] == ["m.text", "m.image", "m.file"]
    assert events[0]["event_id"] == result.external_id
    assert events[0]["content"]["body"] == "Here is the label and the receipt."
    image, file = events[1]["content"], events[2]["content"]
    assert (image["body"], image["info"]) == (
        "label.png",
        {"mimetype": "image/png", "size": len(png)},
    )
    assert (file["body"], file["info"]["mimetype"], file["info"]["size"]) == (
        "Quittung März.pdf",
        "application/pdf",
        len(pdf),
    )
    assert customer.download(image["url"]) == png
    assert customer.download(file["url"]) == pdf
    # each part has its own stable transaction id: sending again posts nothing new
    count = len(customer.messages(room))
    provider.send(message)
    assert len(customer.messages(room)) == count
    assert [e["event_id"] for e in reversed(customer.messages(room))][-3:] == [
        e["event_id"] for e in events
    ]
    mine = provider._request("GET", f"/rooms/{room}/messages", params={"dir": "b", "limit": "3"})
    assert [e["unsigned"]["transaction_id"] for e in reversed(mine["chunk"])] == [
        key,
        f"{key}-f1",
        f"{key}-f2",
    ]
    assert provider.find_sent(message, result.sent_at or datetime.now(UTC)) == SendResult(
        external_id=result.external_id, delivery_state="sent", sent_at=ANY
    )


def test_files_without_text_post_only_the_files(
    store: Store, customer: Client, provider: MatrixProvider
) -> None:
    room = _joined_room(store, customer, provider)
    before = len(customer.messages(room))
    provider.send(_reply(room, "", OutboundAttachment("a.txt", "text/plain", b"hi\n"), key="k1"))
    [event] = customer.messages(room)[: len(customer.messages(room)) - before]
    assert event["content"]["msgtype"] == "m.file"
    assert customer.download(event["content"]["url"]) == b"hi\n"


def test_the_upload_bound_is_the_homeservers(
    synapse: SynapseServer, provider: MatrixProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert provider.limits("matrix").max_attachment_bytes == MAX_UPLOAD
    older = MatrixProvider("mx", provider.settings, {"password": BOT_PASSWORD})
    monkeypatch.setattr(
        matrix,
        "MEDIA_CONFIG_PATHS",
        ("/_matrix/client/v1/media/nowhere", "/_matrix/media/v3/config"),
    )
    try:
        assert older.limits("matrix").max_attachment_bytes == MAX_UPLOAD  # the older endpoint
    finally:
        older.close()
    gone = MatrixProvider(
        "mx",
        provider.settings.model_copy(update={"homeserver": "http://127.0.0.1:1"}),
        {"password": BOT_PASSWORD},
    )
    assert gone.limits("matrix") == gone.settings.send_limits("matrix")  # no bound known
    gone.close()


def test_a_file_over_the_bound_is_refused_before_anything_is_posted(
    store: Store, customer: Client, provider: MatrixProvider
) -> None:
    room = _joined_room(store, customer, provider)
    before = len(customer.messages(room))
    big = OutboundAttachment("big.bin", "application/octet-stream", b"\x00" * (MAX_UPLOAD + 1))
    with pytest.raises(PermanentError, match="8 MB"):
        provider.send(_reply(room, "the file", big, key="k2"))
    assert len(customer.messages(room)) == before


def test_an_upload_whose_answer_is_lost_posts_nothing_and_may_be_retried(
    store: Store, synapse: SynapseServer, customer: Client
) -> None:
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
        room = _joined_room(store, customer, provider)
        provider.limits("matrix")  # asked once, kept
        before = len(customer.messages(room))
        message = _reply(room, "hi", OutboundAttachment("a.txt", "text/plain", b"x"), key="k3")
        proxy.lose_next_answers = 1
        with pytest.raises(TransientError):  # only the media repository has it
            provider.send(message)
        assert proxy.lost == 1 and len(customer.messages(room)) == before
        provider.send(message)
        assert len(customer.messages(room)) == before + 2
    finally:
        provider.close()
        proxy.stop()
