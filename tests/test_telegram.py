"""The telegram provider against a local Bot API server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from omnitui import services
from omnitui.services import AccountInfo, outbox
from omnitui.services import ingest as ingest_module
from omnitui.services.ingest import ingest, load_cursors
from omnitui.services.sync import sync_once
from providers import telegram
from providers.base import (
    AuthError,
    OutboundAttachment,
    OutboundMessage,
    PermanentError,
    TransientError,
    UnconfirmedError,
)
from providers.settings import TelegramSettings
from providers.telegram import TelegramProvider
from storage.blobs import read_blob
from storage.db import Store
from storage.models import Customer, Message, attachment_t, message_t, syncstate_t
from tests.peers.lost_answer import LostAnswerProxy
from tests.peers.telegram import TOKEN, TelegramServer
from tests.peers.telegram import bot_for as telegram_bot

ANN = 4242


@pytest.fixture
def server() -> Iterator[TelegramServer]:
    s = TelegramServer()
    s.start()
    yield s
    s.stop()


@pytest.fixture
def provider(server: TelegramServer) -> Iterator[TelegramProvider]:
    p = telegram_bot(server)
    yield p
    p.close()


def stored(store: Store) -> list[Message]:
    with store.read() as s:
        return list(s.execute(select(Message).order_by(message_t.c.id)).scalars())


def test_private_messages_become_one_conversation_per_chat(
    store: Store, server: TelegramServer, provider: TelegramProvider
) -> None:
    server.user_says(ANN, "Hi, my order is late")
    server.user_says(ANN, "Order 1234")
    server.user_says(77, "In a group", chat_type="group")
    server.user_says(
        88,
        first="Bo",
        last=None,
        username=None,
        photo=[{"width": 90, "height": 90}, {"width": 1280, "height": 720}],
    )
    assert sync_once(store, provider).stored == 3
    msgs = stored(store)
    assert [m.body_text for m in msgs] == ["Hi, my order is late", "Order 1234", "[photo 1280x720]"]
    assert msgs[0].conversation_id == msgs[1].conversation_id != msgs[2].conversation_id
    with store.read() as s:
        names = sorted(c.name for c in s.execute(select(Customer)).scalars())
    assert names == ["Ann Example @ann_ex", "Bo"]


def test_offset_acknowledges_only_what_was_stored(
    store: Store,
    server: TelegramServer,
    provider: TelegramProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.user_says(ANN, "first")
    sync_once(store, provider)
    server.user_says(ANN, "second")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest_module, "_insert_attachments", broken)
    with pytest.raises(RuntimeError):
        ingest(store, "tg", provider.poll(load_cursors(store, "tg")))
    monkeypatch.undo()
    report = sync_once(store, provider)  # the same update again: Telegram still has it
    assert report.stored == 1
    assert [m.body_text for m in stored(store)] == ["first", "second"]
    assert sync_once(store, provider).stored == 0  # no duplicates across polls
    assert server.offsets[-1] == int(load_cursors(store, "tg")[""])


def test_edits_and_documents(
    store: Store, server: TelegramServer, provider: TelegramProvider
) -> None:
    mid = server.user_says(ANN, "Invoice attached?")
    server.user_edits(ANN, mid, "Invoice attached!")
    server.user_says(ANN, caption="here", document={"file_name": "invoice.pdf", "file_size": 20480})
    sync_once(store, provider)
    assert [m.body_text for m in stored(store)] == [
        "Invoice attached?",
        "(edited) Invoice attached!",
        "[document invoice.pdf, 20 KB] here",
    ]


def test_reply_goes_to_the_chat_answering_the_last_message(
    store: Store, server: TelegramServer, provider: TelegramProvider
) -> None:
    mid = server.user_says(ANN, "hello?")
    sync_once(store, provider)
    conv = stored(store)[0].conversation_id
    out = services.reply(store, {"tg": AccountInfo.from_provider(provider)}, conv, "Hi Ann!", "bob")
    delivery = outbox.deliver(store, provider, out)
    assert delivery.state == "sent"
    sent = server.sent[-1]
    assert (sent["chat_id"], sent["text"]) == (str(ANN), "Hi Ann!")
    assert sent["reply_parameters"]["message_id"] == mid


@pytest.mark.parametrize(
    ("code", "error", "match"),
    [(429, TransientError, "429"), (409, PermanentError, "webhook"), (502, TransientError, "502")],
)
def test_errors_are_typed(
    server: TelegramServer,
    provider: TelegramProvider,
    code: int,
    error: type[Exception],
    match: str,
) -> None:
    server.fail_next(
        code,
        "Conflict" if code == 409 else "Too Many Requests: retry after 7",
        retry_after=7 if code == 429 else None,
    )
    with pytest.raises(error, match=match) as info:
        provider.poll({})
    if code == 429:
        assert isinstance(info.value, TransientError) and info.value.retry_after == 7


def test_bad_token_is_an_auth_error_without_the_token(server: TelegramServer) -> None:
    settings = TelegramSettings(name="tg", bot_token_env="UNUSED", api_base=server.url)
    provider = TelegramProvider("tg", settings, {"bot_token": "999:wrong-secret"})
    with pytest.raises(AuthError) as info:
        provider.check()
    assert "wrong-secret" not in str(info.value)


def test_a_dead_server_does_not_leak_the_token(provider: TelegramProvider) -> None:
    provider.settings = provider.settings.model_copy(update={"api_base": "http://127.0.0.1:1"})
    with pytest.raises(TransientError) as info:
        provider.poll({})
    assert TOKEN.split(":")[1] not in str(info.value)


def test_check(provider: TelegramProvider) -> None:
    assert provider.check() == "Telegram ok (@shop_bot)"


def attachments_of(store: Store) -> list[tuple[str, str, int, bytes]]:
    with store.read() as s:
        rows = s.execute(
            select(
                attachment_t.c.filename,
                attachment_t.c.content_type,
                attachment_t.c.size,
                attachment_t.c.sha256,
            )
        ).all()
    return [(name, ctype, size, read_blob(store.data_dir, sha)) for name, ctype, size, sha in rows]


def test_photos_and_documents_are_fetched_and_stored(
    store: Store, server: TelegramServer, provider: TelegramProvider
) -> None:
    jpeg = b"\xff\xd8\xff" + bytes(range(256)) * 40
    small = {**server.add_file("thumb", b"tiny"), "width": 90, "height": 90}
    big = {**server.add_file("full", jpeg), "width": 1280, "height": 720}
    server.user_says(ANN, caption="the box", photo=[small, big])
    pdf = {**server.add_file("inv", b"%PDF-1.4 invoice"), "file_name": "../invoice 7.pdf"}
    server.user_says(ANN, document={**pdf, "mime_type": "application/pdf"})
    assert sync_once(store, provider).stored == 2
    bodies = [m.body_text for m in stored(store)]
    assert bodies == ["[photo 1280x720] the box", "[document ../invoice 7.pdf, 1 KB]"]
    files = attachments_of(store)
    assert files[0] == ("photo-ufull.jpg", "image/jpeg", len(jpeg), jpeg)  # the biggest size
    assert files[1][1:] == ("application/pdf", 16, b"%PDF-1.4 invoice")
    assert "/" not in files[1][0] and files[1][0].endswith("invoice 7.pdf")


def test_a_file_too_big_for_bots_stays_a_placeholder_and_is_not_fetched(
    store: Store, server: TelegramServer, provider: TelegramProvider
) -> None:
    video = {"file_id": "huge", "file_size": 300 * 1024 * 1024, "file_name": "tour.mp4"}
    server.user_says(ANN, caption="see", document=video)
    assert sync_once(store, provider).stored == 1
    assert (
        stored(store)[0].body_text == "[document tour.mp4, 307200 KB, too big to fetch: 300 MB] see"
    )
    assert server.file_requests == [] and attachments_of(store) == []


def test_a_failed_download_is_tried_again_and_a_vanished_file_is_said(
    store: Store, server: TelegramServer, provider: TelegramProvider
) -> None:
    voice = server.add_file("v1", b"OggS voice")
    server.user_says(ANN, voice=voice)
    server.file_failures.append(503)
    report = sync_once(store, provider)
    assert report.error_kind == "transient" and stored(store) == []
    assert TOKEN not in (report.error or "")
    assert sync_once(store, provider).stored == 1  # the update was not acknowledged
    assert attachments_of(store)[0][:2] == ("voice.ogg", "audio/ogg")
    server.user_says(ANN, voice={"file_id": "gone", "file_size": 10})
    assert sync_once(store, provider).stored == 1
    assert stored(store)[-1].body_text == "[voice, the file could not be fetched]"


def test_a_rate_limited_poll_reports_how_long_to_wait(
    store: Store, server: TelegramServer, provider: TelegramProvider
) -> None:
    server.fail_next(429, "Too Many Requests: retry after 9", retry_after=9)
    report = sync_once(store, provider)
    assert report.error_kind == "transient" and report.retry_after == 9.0


def test_many_files_are_taken_a_few_per_batch(
    store: Store,
    server: TelegramServer,
    provider: TelegramProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(telegram, "MAX_BATCH_BYTES", 10)  # one file fills a batch
    for n in range(3):
        server.user_says(ANN, document=server.add_file(f"d{n}", b"x" * 20))
    assert sync_once(store, provider).stored == 3  # three batches in one round
    assert len(server.offsets) >= 3 and len(attachments_of(store)) == 3


# -- files sent to the customer ------------------------------------------------------

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 64 + b"\xff\xd9"
PDF = b"%PDF-1.4\n" + bytes(reversed(range(256))) * 100


def outbound(text: str, *files: OutboundAttachment, reply_to: str | None = None) -> OutboundMessage:
    return OutboundMessage(
        channel="telegram",
        to_address=str(ANN),
        thread_id=str(ANN),
        body_text=text,
        attachments=files,
        reply_to_external_id=reply_to,
    )


def test_files_are_uploaded_as_photo_and_document_with_the_text_as_caption(
    server: TelegramServer, provider: TelegramProvider
) -> None:
    result = provider.send(
        outbound(
            "Here is your invoice — and the parcel.",
            OutboundAttachment("parcel.jpg", "image/jpeg", JPEG),
            OutboundAttachment("Rechnung März 42.pdf", "application/pdf", PDF),
            reply_to=f"{ANN}:7",
        )
    )
    assert server.send_order == ["sendPhoto", "sendDocument"] and server.sent == []
    photo, document = server.uploads
    assert (photo.field, photo.filename, photo.content_type) == (
        "photo",
        "parcel.jpg",
        "image/jpeg",
    )
    assert (document.field, document.filename) == ("document", "Rechnung März 42.pdf")
    assert document.content_type == "application/pdf"
    assert (photo.data, document.data) == (JPEG, PDF)
    assert photo.params["caption"] == "Here is your invoice — and the parcel."
    assert (
        photo.params["chat_id"] == str(ANN) and photo.params["reply_parameters"]["message_id"] == 7
    )
    assert "caption" not in document.params and "reply_parameters" not in document.params
    assert result.external_id.startswith(f"{ANN}:")


def test_a_text_too_long_for_a_caption_goes_first_then_the_files(
    server: TelegramServer, provider: TelegramProvider
) -> None:
    text = "é" * 1025
    provider.send(outbound(text, OutboundAttachment("notes.txt", "text/plain", b"line\n" * 9)))
    assert server.send_order == ["sendMessage", "sendDocument"]
    assert server.sent[0]["text"] == text
    assert "caption" not in server.uploads[0].params
    assert server.uploads[0].data == b"line\n" * 9


def test_pictures_sendphoto_cannot_take_go_as_documents(
    server: TelegramServer, provider: TelegramProvider
) -> None:
    big = b"\xff\xd8" + b"\x00" * (10 * 1024 * 1024)  # over the 10 MB for photos
    provider.send(
        outbound(
            "",
            OutboundAttachment("anim.gif", "image/gif", b"GIF89a\x01\x00"),
            OutboundAttachment("huge.jpg", "image/jpeg", big),
        )
    )
    assert server.send_order == ["sendDocument", "sendDocument"] and server.sent == []
    assert [u.data for u in server.uploads] == [b"GIF89a\x01\x00", big]


def test_a_file_over_the_bot_upload_limit_is_refused_before_anything_is_posted(
    server: TelegramServer, provider: TelegramProvider
) -> None:
    assert provider.limits("telegram").max_attachment_bytes == 50 * 1024 * 1024
    too_big = OutboundAttachment("video.mp4", "video/mp4", b"\x00" * (50 * 1024 * 1024 + 1))
    with pytest.raises(PermanentError, match="50 MB"):
        provider.send(outbound("see the video", too_big))
    assert server.send_order == []


def test_a_part_refused_after_the_text_went_out_is_unconfirmed_not_failed(
    server: TelegramServer, provider: TelegramProvider
) -> None:
    # A failed message may be retried, and the text would be posted twice.
    server.fail_next(400, "Bad Request: file is empty", method="sendDocument")
    with pytest.raises(UnconfirmedError, match=r"posted 1 of 2 parts.*file is empty"):
        provider.send(outbound("x" * 2000, OutboundAttachment("a.pdf", "application/pdf", PDF)))
    assert server.send_order == ["sendMessage"]


def test_an_upload_refused_first_is_a_plain_error(
    server: TelegramServer, provider: TelegramProvider
) -> None:
    server.fail_next(429, "Too Many Requests", retry_after=3, method="sendPhoto")
    with pytest.raises(TransientError, match="429"):
        provider.send(outbound("hi", OutboundAttachment("p.png", "image/png", b"\x89PNG")))
    assert server.send_order == []


def test_an_upload_whose_answer_is_lost_is_unconfirmed(server: TelegramServer) -> None:
    host, port = server.httpd.server_address[:2]
    proxy = LostAnswerProxy(str(host), int(port)).start()
    settings = TelegramSettings(name="tg", bot_token_env="UNUSED", api_base=proxy.url)
    provider = TelegramProvider("tg", settings, {"bot_token": TOKEN})
    try:
        proxy.lose_next_answers = 1
        with pytest.raises(UnconfirmedError) as info:
            provider.send(outbound("hi", OutboundAttachment("a.pdf", "application/pdf", PDF)))
        assert TOKEN.split(":")[1] not in str(info.value)
        assert [u.data for u in server.uploads] == [PDF]  # it did arrive
    finally:
        provider.close()
        proxy.stop()


@pytest.mark.parametrize("damaged", ["not a number", "-5"])
def test_an_unreadable_stored_offset_starts_over_without_duplicates(
    store: Store, server: TelegramServer, provider: TelegramProvider, damaged: str
) -> None:
    server.user_says(ANN, "first")
    assert sync_once(store, provider).stored == 1
    with store.write() as session:
        session.execute(
            syncstate_t.update().where(syncstate_t.c.account == "tg").values(cursor=damaged)
        )
    server.user_says(ANN, "second")
    report = sync_once(store, provider)
    assert (report.ok, report.stored) == (True, 1)
    assert [m.body_text for m in stored(store)] == ["first", "second"]
