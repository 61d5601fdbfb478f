"""Files sent on chat channels, end to end: read from disk, queued with the
message, uploaded to the Telegram test server and a real Synapse with the same
bytes (also after a retry); a file over the channel's bound is refused before
anything is queued or asked of the server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from omnitui import services
from omnitui.services import AccountInfo, Extras, InvalidRequest, outbox
from omnitui.services.outgoing_files import read_files
from omnitui.services.sync import sync_once
from providers.matrix import MatrixProvider
from providers.settings import MatrixSettings
from providers.telegram import TelegramProvider
from storage.db import Store
from storage.models import attachment_t, conversation_t, message_t
from tests.helpers import cli_runner, write_config
from tests.peers.synapse import MAX_UPLOAD, Client, SynapseServer
from tests.peers.synapse import bot_for as matrix_bot
from tests.peers.telegram import TOKEN, TelegramServer
from tests.peers.telegram import bot_for as telegram_bot

ANN = 4242
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 80
PNG = b"\x89PNG\r\n\x1a\n" + bytes(reversed(range(256))) * 40


def _files(tmp_path: Path) -> list[Path]:
    pdf, png = tmp_path / "Rechnung März.pdf", tmp_path / "label.png"
    pdf.write_bytes(PDF)
    png.write_bytes(PNG)
    return [pdf, png]


def _queued(store: Store) -> tuple[int, int]:
    with store.read() as s:
        return (
            s.execute(select(func.count()).select_from(message_t)).scalar_one(),
            s.execute(select(func.count()).select_from(attachment_t)).scalar_one(),
        )


def _only_conversation(store: Store, thread: str | None = None) -> int:
    """The conversation of the store (of chat ``thread``: the shared Synapse's
    bot is in the rooms of other tests too)."""
    query = select(conversation_t.c.id)
    if thread is not None:
        query = query.where(conversation_t.c.thread_key == thread)
    with store.read() as s:
        return int(s.execute(query).scalar_one())


# -- Telegram ------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[TelegramServer]:
    s = TelegramServer()
    s.start()
    yield s
    s.stop()


@pytest.fixture
def telegram(server: TelegramServer) -> Iterator[TelegramProvider]:
    p = telegram_bot(server)
    yield p
    p.close()


def test_telegram_receives_the_files_bytes_and_a_retry_sends_them_again(
    store: Store, tmp_path: Path, server: TelegramServer, telegram: TelegramProvider
) -> None:
    server.user_says(ANN, "Can I have the invoice?")
    sync_once(store, telegram)
    files = read_files(_files(tmp_path))
    for path in _files(tmp_path):
        path.write_bytes(b"edited later")  # the stored bytes are what goes
    queued = services.reply(
        store,
        {"tg": AccountInfo.from_provider(telegram)},
        _only_conversation(store),
        "Here it is.",
        "bob",
        extras=Extras(files=files),
    )
    server.fail_next(429, "Too Many Requests", retry_after=1, method="sendDocument")
    assert outbox.deliver(store, telegram, queued).state == "failed"
    assert server.uploads == []
    assert outbox.deliver(store, telegram, queued).state == "sent"
    assert [(u.filename, u.data) for u in server.uploads] == [
        ("Rechnung März.pdf", PDF),
        ("label.png", PNG),
    ]
    assert server.uploads[0].params["caption"] == "Here it is."


def test_an_empty_file_is_refused_for_telegram_before_queuing(
    store: Store, tmp_path: Path, server: TelegramServer, telegram: TelegramProvider
) -> None:
    """The Bot API answers an empty upload "file must be non-empty": after the
    text went out that would leave the customer half a message; refused first."""
    server.user_says(ANN, "Can I have the invoice?")
    sync_once(store, telegram)
    empty = tmp_path / "invoice.pdf"
    empty.write_bytes(b"")
    before = _queued(store)
    with pytest.raises(InvalidRequest, match=r"invoice\.pdf is empty") as refused:
        services.reply(
            store,
            {"tg": AccountInfo.from_provider(telegram)},
            _only_conversation(store),
            "Here it is.",
            "bob",
            extras=Extras(files=read_files([*_files(tmp_path), empty])),
        )
    assert "nothing was queued" in str(refused.value).lower()
    assert _queued(store) == before and server.uploads == []


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
signature = "never on telegram: {{agent.name}}"
""",
    )


def test_cli_reply_attach_over_telegram_and_a_file_over_50_mb_refused(
    db_url: str,
    tmp_path: Path,
    server: TelegramServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_TG_TOKEN", TOKEN)
    run = cli_runner(_telegram_config(tmp_path, server), db_url)
    server.user_says(ANN, "The invoice please")
    run("sync", "--once")
    conversation = json.loads(run("conversations", "list", "--json").stdout)[0]["id"]
    pdf, _png = _files(tmp_path)
    doc = json.loads(
        run(
            "reply",
            str(conversation),
            "--body",
            "Invoice attached.",
            "--attach",
            str(pdf),
            "--json",
        ).stdout
    )
    assert doc["status"] == "sent" and [f["filename"] for f in doc["files"]] == [pdf.name]
    [upload] = server.uploads
    assert upload.data == PDF and upload.params["caption"] == "Invoice attached."
    huge = tmp_path / "video.mp4"
    with huge.open("wb") as f:
        f.truncate(50 * 1024 * 1024 + 1)
    sends = list(server.send_order)
    refused = run("reply", str(conversation), "--body", "the video", "--attach", str(huge), code=2)
    assert "video.mp4 is 52,428,801 bytes; this channel takes files up to 50 MB" in refused.stderr
    assert "Nothing was queued" in refused.stderr
    assert server.send_order == sends  # no request reached the server
    listed = json.loads(run("outbox", "list", "--all", "--json").stdout)
    assert [m["id"] for m in listed] == [doc["id"]]


# -- Matrix (a real Synapse) ---------------------------------------------------------


@pytest.fixture
def customer(synapse: SynapseServer) -> Client:
    name = f"ann{uuid.uuid4().hex[:8]}"
    synapse.register(name, "ann-password")
    return Client(synapse, name, "ann-password")


@pytest.fixture
def matrix(synapse: SynapseServer) -> Iterator[MatrixProvider]:
    p = matrix_bot(synapse)
    yield p
    p.close()


def test_synapse_receives_the_files_bytes_as_image_and_file(
    store: Store, tmp_path: Path, customer: Client, matrix: MatrixProvider
) -> None:
    room = customer.create_room(invite=["@supportbot:localhost"])
    sync_once(store, matrix)
    customer.say(room, "Where is my label?")
    sync_once(store, matrix)
    queued = services.reply(
        store,
        {"mx": AccountInfo.from_provider(matrix)},
        _only_conversation(store, room),
        "Label and invoice attached.",
        "bob",
        extras=Extras(files=read_files(_files(tmp_path))),
    )
    assert outbox.deliver(store, matrix, queued).state == "sent"
    events = list(reversed(customer.messages(room)))[-3:]
    assert [e["content"]["msgtype"] for e in events] == ["m.text", "m.file", "m.image"]
    assert [customer.download(e["content"]["url"]) for e in events[1:]] == [PDF, PNG]
    assert [e["content"]["body"] for e in events[1:]] == ["Rechnung März.pdf", "label.png"]


def test_a_file_over_the_homeservers_bound_is_refused_before_queuing(
    store: Store, tmp_path: Path, customer: Client, matrix: MatrixProvider
) -> None:
    room = customer.create_room(invite=["@supportbot:localhost"])
    sync_once(store, matrix)
    customer.say(room, "Send me the video")
    sync_once(store, matrix)
    big = tmp_path / "video.bin"
    big.write_bytes(b"\x00" * (MAX_UPLOAD + 1))
    before, events = _queued(store), len(customer.messages(room))
    with pytest.raises(InvalidRequest, match=r"video\.bin is 8,388,609 bytes; .* up to 8 MB"):
        services.reply(
            store,
            {"mx": AccountInfo.from_provider(matrix)},
            _only_conversation(store, room),
            "the video",
            "bob",
            extras=Extras(files=read_files([big])),
        )
    assert _queued(store) == before and len(customer.messages(room)) == events


def test_the_configured_upload_bound_needs_no_secret() -> None:
    settings = MatrixSettings(
        name="mx",
        homeserver="http://127.0.0.1:1",
        user_id="@bot:localhost",
        access_token_env="UNUSED",
        max_upload_bytes=1024,
    )
    assert settings.send_limits("matrix").refusal([("a.bin", 1025)]) is not None
    unbounded = settings.model_copy(update={"max_upload_bytes": None})
    assert unbounded.send_limits("matrix").refusal([("a.bin", 10**8)]) is None
