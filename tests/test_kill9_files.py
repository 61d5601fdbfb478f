"""kill -9 of the process sending a message with files, at each step of the
send: after the claim (connected, nothing of the message sent), in the
middle of the transfer of a large file, between parts, and after the peer
took it all but before our side recorded it. Afterwards nothing went twice
by itself, the message is ``unconfirmed`` at once (its sender is gone), a
person's retry gives the peer byte-identical files, and the files' blob
rows are all still there, each named by the message's attachment rows (none
lost, none orphaned; kept once the message is sent, as forwarding needs
them).

E-mail (the SMTP peer), Telegram (the Bot API test server) and Matrix (a
real Synapse behind a proxy that holds a request). The sender is
``omnitui send|reply --attach`` in a subprocess, killed for real (SIGKILL)
when the peer holds at the step (tests/peers/gates.py); the "restart" is
what a person runs next: ``omnitui outbox list``, the poller's ``omnitui
sync --once``, ``omnitui outbox retry``.
"""

from __future__ import annotations

import email
import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import make_url, select

from omnitui import services
from omnitui.services import AccountInfo, Extras, outbox, senders
from omnitui.services.attachments import save_attachment
from omnitui.services.ingest import ingest
from providers.base import OutboundAttachment
from storage import queries
from storage.db import Store
from storage.models import attachment_t, blob_t, conversation_t, message_t
from tests.helpers import ScriptedProvider, as_json, batch, cli_runner, write_config
from tests.helpers import email as mail_in
from tests.mail_fixtures import SUPPORT, smtp_config
from tests.peers.holding_proxy import HoldingProxy
from tests.peers.smtp import SmtpPeer
from tests.peers.synapse import BOT_PASSWORD, Client, SynapseServer
from tests.peers.telegram import TOKEN, TelegramServer

ROOT = Path(__file__).resolve().parent.parent
#: Bigger than the sockets between the two processes hold (the client's send
#: buffer grows to 4 MB, the peer's receive buffer stays small while it does
#: not read): killed at the "data" gate, the sender has not written the end.
LARGE = 12 * 1024 * 1024
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 64


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Files:
    large: Path
    small: Path
    digests: dict[str, str]  # file name -> sha256 of its bytes


@pytest.fixture
def files(tmp_path: Path) -> Files:
    large, small = tmp_path / "capture.bin", tmp_path / "Rechnung.pdf"
    large.write_bytes(os.urandom(LARGE))
    small.write_bytes(PDF)
    digests = {p.name: sha(p.read_bytes()) for p in (large, small)}
    return Files(large, small, digests)


def mail_config(tmp_path: Path, peer: SmtpPeer) -> Path:
    return smtp_config(tmp_path, peer, max_message_bytes=33554432)


@pytest.fixture
def mail_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "unused")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "smtp-secret")


@pytest.fixture
def sender(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """The sending processes a test starts; any still running at the end is killed."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def start_cli(
    started: list[subprocess.Popen[bytes]], tmp_path: Path, config: Path, db_url: str, *args: str
) -> subprocess.Popen[bytes]:
    """``omnitui --config --db ARGS`` in a process of its own (output to files,
    so a full pipe never blocks it)."""
    log = tmp_path / f"cli-{len(started)}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "omnitui.cli", "--config", str(config), "--db", db_url, *args],
        stdin=subprocess.DEVNULL,
        stdout=log.with_suffix(".out").open("wb"),
        stderr=log.with_suffix(".err").open("wb"),
        cwd=ROOT,
        env={**os.environ},
    )
    started.append(proc)
    return proc


def kill_9(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)  # no handler, no finally, nothing of it runs again
    assert proc.wait(10) == -signal.SIGKILL


def parts(raw: bytes) -> tuple[str, dict[str, str]]:
    """(Message-ID, file name -> sha256 of the bytes) of a mail the peer took."""
    mail = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(mail, EmailMessage)
    found = {}
    for part in mail.iter_attachments():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found[str(part.get_filename())] = sha(payload)
    return str(mail["Message-ID"]), found


def blob_check(store: Store, message_id: int) -> tuple[set[str], set[str], set[str]]:
    """(the message's attachments' sha256, blob rows, blob rows no attachment names)."""
    a, b = attachment_t.c, blob_t.c
    with store.read() as s:
        named = set(s.execute(select(a.sha256).where(a.message_id == message_id)).scalars())
        blobs = set(s.execute(select(b.sha256)).scalars())
        orphans = set(
            s.execute(
                select(b.sha256).where(~b.sha256.in_(select(a.sha256).scalar_subquery()))
            ).scalars()
        )
    return named, blobs, orphans


def only_message(store: Store) -> tuple[int, str]:
    with store.read() as s:
        [(mid, state)] = s.execute(select(message_t.c.id, message_t.c.outbox_state)).all()
    return int(mid), str(state)


@pytest.mark.parametrize(
    ("step", "taken"),
    [("rcpt", 0), ("data", 0), ("accepted", 1)],
    ids=["after-claim", "mid-data", "accepted-unrecorded"],
)
def test_kill_9_while_mailing_two_files_sends_nothing_twice_and_a_retry_sends_the_same_bytes(
    store: Store,
    db_url: str,
    tmp_path: Path,
    smtp_peer: SmtpPeer,
    mail_env: None,
    files: Files,
    sender: list[subprocess.Popen[bytes]],
    step: str,
    taken: int,
) -> None:
    config = mail_config(tmp_path, smtp_peer)
    gate = smtp_peer.hold(step, after_bytes=256 * 1024)
    args = ["send", "--channel", "email", "--to", "bo@example.com", "--subject", "Your files"]
    args += ["--body", "Both files, as promised."]
    args += ["--attach", str(files.large), "--attach", str(files.small)]
    proc = start_cli(sender, tmp_path, config, db_url, *args)
    gate.wait_reached()
    kill_9(proc)
    gate.release()  # the peer goes on: with the sender gone, there is no more mail to take
    gate.wait_done()
    assert len(smtp_peer.received) == taken

    mid, state = only_message(store)
    assert state == "sending"  # as the dead process left it
    for path in (files.large, files.small):
        path.unlink()  # the bytes are in the store: a retry needs no file
    run = cli_runner(config, db_url)
    [row] = as_json(run("outbox", "list", "--json"))
    assert (row["id"], row["status"]) == (mid, "unconfirmed")  # at once: its sender is dead
    assert "stopped before the provider answered" in row["error"]
    run("sync", "--once", code=None)  # the poller's round (its IMAP is down): sends nothing
    assert len(smtp_peer.received) == taken
    assert only_message(store) == (mid, "unconfirmed")
    named, blobs, orphans = blob_check(store, mid)
    assert named == blobs == set(files.digests.values()) and not orphans

    retried = as_json(run("outbox", "retry", str(mid), "--json"))  # a person decides
    assert retried["status"] == "sent"
    assert len(smtp_peer.received) == taken + 1
    mails = [parts(r.data) for r in smtp_peer.received]
    assert all(found == files.digests for _id, found in mails)  # byte-identical files
    assert len({message_id for message_id, _ in mails}) == 1  # one Message-ID: a copy, no new mail
    named, blobs, orphans = blob_check(store, mid)
    assert named == blobs == set(files.digests.values()) and not orphans  # kept once sent


# -- Telegram: two uploads, one message ---------------------------------------------

TELEGRAM_CONFIG = """
[agent]
name = "bob"

[[accounts]]
name = "tg"
kind = "telegram"
bot_token_env = "TEST_TG_TOKEN"
api_base = "{url}"
"""


@pytest.fixture
def telegram_server() -> Iterator[TelegramServer]:
    server = TelegramServer()
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("point", "skip", "posted"),
    [("request", 0, 0), ("body", 0, 0), ("posted", 0, 1), ("posted", 1, 2)],
    ids=["after-claim", "mid-upload", "first-posted-unanswered", "all-posted-unrecorded"],
)
def test_kill_9_while_uploading_two_files_to_telegram_posts_nothing_again_by_itself(
    store: Store,
    db_url: str,
    tmp_path: Path,
    telegram_server: TelegramServer,
    files: Files,
    sender: list[subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
    point: str,
    skip: int,
    posted: int,
) -> None:
    monkeypatch.setenv("TEST_TG_TOKEN", TOKEN)
    config = write_config(tmp_path, TELEGRAM_CONFIG.format(url=telegram_server.url))
    run = cli_runner(config, db_url)
    telegram_server.user_says(4242, "The capture and the invoice, please")
    run("sync", "--once")
    [conversation] = as_json(run("conversations", "list", "--json"))
    gate = telegram_server.hold(point, skip=skip, after_bytes=256 * 1024)
    args = ["reply", str(conversation["id"]), "--body", "Both files."]
    args += ["--attach", str(files.large), "--attach", str(files.small)]
    proc = start_cli(sender, tmp_path, config, db_url, *args)
    gate.wait_reached()
    kill_9(proc)
    gate.release()
    gate.wait_done()
    uploads = telegram_server.uploads
    assert len(uploads) == posted

    with store.read() as s:
        mid = s.execute(select(message_t.c.id).where(message_t.c.direction == "out")).scalar_one()
    [row] = as_json(run("outbox", "list", "--json"))
    assert (row["id"], row["status"]) == (mid, "unconfirmed")
    run("sync", "--once")  # the poller: nothing is posted again by itself
    assert len(uploads) == posted
    named, blobs, orphans = blob_check(store, mid)
    assert named == blobs == set(files.digests.values()) and not orphans

    for path in (files.large, files.small):
        path.unlink()
    assert as_json(run("outbox", "retry", str(mid), "--json"))["status"] == "sent"
    assert [(u.filename, sha(u.data)) for u in uploads[posted:]] == list(files.digests.items())
    assert uploads[posted].params["caption"] == "Both files."
    named, blobs, orphans = blob_check(store, mid)
    assert named == blobs == set(files.digests.values()) and not orphans


# -- which senders are gone -----------------------------------------------------------


def test_a_sender_is_gone_only_when_its_process_on_this_machine_ended() -> None:
    host, _pid, _nonce, namespace = senders.SENDER_ID.rsplit(":", 3)

    def owner(pid: int, *, on: str = host, ns: str = namespace) -> str:
        return f"{on}:{pid}:0123abcd:{ns}"

    running = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                               stdin=subprocess.PIPE)  # fmt: skip
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        assert not senders.gone(senders.SENDER_ID)  # this process, sending right now
        assert not senders.gone(owner(running.pid))
        assert not senders.gone(owner(running.pid, on="another-host"))
        assert not senders.gone(owner(running.pid, ns="ns1"))
        ended_pid = ended.pid
        assert os.waitid(os.P_PID, ended_pid, os.WEXITED | os.WNOWAIT) is not None  # a zombie
        assert senders.gone(owner(ended_pid))  # not reaped yet, and ended all the same
        ended.wait()
        assert senders.gone(owner(ended_pid))
        assert senders.gone(owner(os.getpid()))  # our pid with another nonce: a process before us
        assert not senders.gone(owner(ended_pid, on="another-host"))  # cannot be asked
        assert not senders.gone("host:1:dead") and not senders.gone(None)
    finally:
        assert running.stdin is not None
        running.stdin.close()
        running.wait(10)


# -- Matrix: uploads, then one event per part (a real Synapse) ------------------------

MATRIX_CONFIG = """
[agent]
name = "bob"

[[accounts]]
name = "{account}"
kind = "matrix"
homeserver = "{url}"
user_id = "@supportbot:localhost"
password_env = "TEST_MX_PASSWORD"
accept_invites = true
max_upload_bytes = 8388608
"""
#: Under the test homeserver's 8 MB upload bound, and more than the sockets
#: between the sender and the proxy hold while the proxy does not read.
MATRIX_LARGE = 7 * 1024 * 1024 + 512 * 1024


@pytest.fixture
def proxy(synapse: SynapseServer) -> Iterator[HoldingProxy]:
    held = HoldingProxy("127.0.0.1", synapse.port).start()
    yield held
    held.stop()


@pytest.mark.parametrize(
    ("point", "method", "path", "skip"),
    [
        ("body", "POST", "/media/v3/upload", 0),
        ("body", "PUT", "/send/m.room.message/", 0),
        ("answer", "PUT", "/send/m.room.message/", 0),
        ("answer", "PUT", "/send/m.room.message/", 2),
    ],
    ids=["mid-upload", "uploaded-no-event", "text-posted-unanswered", "all-posted-unrecorded"],
)
def test_kill_9_while_posting_files_to_matrix_posts_each_part_once(
    store: Store,
    db_url: str,
    tmp_path: Path,
    synapse: SynapseServer,
    proxy: HoldingProxy,
    sender: list[subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
    point: str,
    method: str,
    path: str,
    skip: int,
) -> None:
    """Matrix can tell: the poller's next round finds the dead send's events
    by transaction id and posts only what is missing. Files uploaded before
    the kill are uploaded again (the media repository keeps the first copy,
    which no event names); no event is posted twice."""
    monkeypatch.setenv("TEST_MX_PASSWORD", BOT_PASSWORD)
    large, small = tmp_path / "capture.bin", tmp_path / "Rechnung.pdf"
    large.write_bytes(os.urandom(MATRIX_LARGE))
    small.write_bytes(PDF)
    digests = {p.name: sha(p.read_bytes()) for p in (large, small)}
    name = f"ann{uuid.uuid4().hex[:8]}"
    synapse.register(name, "ann-password")
    customer = Client(synapse, name, "ann-password")
    room = customer.create_room(invite=["@supportbot:localhost"])
    # an account of its own: its device (the default, one per account) is this test's
    account = f"mx-{uuid.uuid4().hex[:8]}"
    config = write_config(tmp_path, MATRIX_CONFIG.format(url=proxy.url, account=account))
    run = cli_runner(config, db_url)
    run("sync", "--once")  # joins
    customer.say(room, "The capture and the invoice, please")
    run("sync", "--once")
    with store.read() as s:  # the shared Synapse's bot is in other tests' rooms too
        conversation = s.execute(
            select(conversation_t.c.id).where(conversation_t.c.thread_key == room)
        ).scalar_one()
    gate = proxy.hold(point, method, path, skip=skip, after_bytes=64 * 1024)
    args = ["reply", str(conversation), "--body", "Both files."]
    args += ["--attach", str(large), "--attach", str(small)]
    proc = start_cli(sender, tmp_path, config, db_url, *args)
    gate.wait_reached()
    kill_9(proc)
    gate.release()
    gate.wait_done()
    large.unlink()
    small.unlink()

    with store.read() as s:
        mid = s.execute(
            select(message_t.c.id).where(
                message_t.c.direction == "out", message_t.c.conversation_id == conversation
            )
        ).scalar_one()
    run("sync", "--once")  # the poller: the dead send is unconfirmed, then asked of Synapse
    run("sync", "--once")
    ours = [e for e in reversed(customer.messages(room)) if e["sender"] == "@supportbot:localhost"]
    assert [e["content"]["body"] for e in ours] == ["Both files.", *digests]  # each part once
    assert {
        e["content"]["body"]: sha(customer.download(e["content"]["url"])) for e in ours[1:]
    } == (digests)
    [row] = [r for r in as_json(run("outbox", "list", "--all", "--json")) if r["id"] == mid]
    assert row["status"] == "sent"
    named, blobs, orphans = blob_check(store, mid)
    assert named == blobs == set(digests.values()) and not orphans


# -- the blobs of sent and discarded messages ----------------------------------------


def test_the_files_of_sent_and_discarded_messages_are_kept_and_can_be_saved(
    store: Store, tmp_path: Path
) -> None:
    """Kept, not cleaned up: a sent or discarded message stays in the timeline
    with its files listed, and the store holds the only copy of what omnitui
    sent (no data directory has it), which saving and forwarding read."""
    provider = ScriptedProvider()
    ingest(store, "shop", batch(mail_in("m1")))
    with store.read() as s:
        conversation = s.execute(select(message_t.c.conversation_id)).scalar_one()
    accounts = {"shop": AccountInfo.from_provider(provider)}
    label = OutboundAttachment("label.pdf", "application/pdf", PDF)
    photo = OutboundAttachment("photo.png", "image/png", b"\x89PNG\r\n\x1a\n" + os.urandom(2048))

    def queue(*files: OutboundAttachment) -> int:
        return services.reply(
            store, accounts, conversation, "Files.", "bob", extras=Extras(files=files)
        )

    sent, dropped = queue(label, photo), queue(label)  # the label's bytes are one blob
    assert outbox.deliver(store, provider, sent).state == "sent"
    outbox.discard(store, dropped, "bob")
    digests = {sha(label.data), sha(photo.data)}
    for mid in (sent, dropped):
        named, blobs, orphans = blob_check(store, mid)
        assert named <= blobs == digests and not orphans
    with store.read() as s:
        rows = queries.attachments_of(s, [sent, dropped])
    for mid, expected in ((sent, [label, photo]), (dropped, [label])):
        saved = [save_attachment(store, row, tmp_path / str(mid)) for row in rows[mid]]
        assert [(p.name, p.read_bytes()) for p in saved] == [(f.filename, f.data) for f in expected]


# -- killed while queuing: the message and its files are one transaction -------------


def waiting_backend(admin: psycopg.Connection[Any], database: str) -> int | None:
    """The pid of the backend on ``database`` that waits for a lock."""
    row = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
        (database,),
    ).fetchone()
    return int(row[0]) if row else None


def backend_ended(admin: psycopg.Connection[Any], pid: int) -> bool:
    return admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone() is None


def until(found: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    """``found()``'s first true value, looked for again until ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (value := found()):
        assert time.monotonic() < deadline, f"{what}: not in {timeout} s"
        time.sleep(0.01)
    return value


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_kill_9_while_queuing_files_leaves_neither_message_nor_blob(
    store: Store,
    db_url: str,
    tmp_path: Path,
    smtp_peer: SmtpPeer,
    mail_env: None,
    files: Files,
    sender: list[subprocess.Popen[bytes]],
) -> None:
    """The sender is stopped inside the transaction that queues the message:
    another session holds the conversation's row (for an update: the foreign
    keys' checks still pass), so the queue's last write, the conversation's
    counters, waits, with the message, its attachment rows and its blobs written and
    not committed. Killed there, none of it is kept."""
    ingest(store, "mail", batch(mail_in("m1", ours=SUPPORT)))
    with store.read() as s:
        conversation = int(s.execute(select(conversation_t.c.id)).scalar_one())
    config = mail_config(tmp_path, smtp_peer)
    name = str(make_url(db_url).database)
    dsn = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    args = ["reply", str(conversation), "--body", "Both files."]
    args += ["--attach", str(files.large), "--attach", str(files.small)]
    with psycopg.connect(dsn) as holder, psycopg.connect(dsn, autocommit=True) as admin:
        holder.execute(
            "SELECT id FROM conversation WHERE id = %s FOR NO KEY UPDATE", (conversation,)
        )
        proc = start_cli(sender, tmp_path, config, db_url, *args)
        pid = until(lambda: waiting_backend(admin, name), "the queue waiting")
        writing = {
            str(table)
            for (table,) in admin.execute(
                "SELECT relation::regclass FROM pg_locks WHERE pid = %s AND granted"
                " AND mode = 'RowExclusiveLock'",
                (pid,),
            )
        }
        assert {"message", "attachment", "blob"} <= writing  # all written, none committed
        kill_9(proc)
        holder.rollback()  # the waiting write goes on, and finds its client gone
        until(lambda: backend_ended(admin, pid), "the backend ending")
    with store.read() as s:
        outgoing = s.execute(select(message_t.c.id).where(message_t.c.direction == "out")).all()
        kept = s.execute(select(blob_t.c.sha256)).all()
        named = s.execute(select(attachment_t.c.id)).all()
    assert outgoing == [] and kept == [] and named == []
    assert smtp_peer.received == [] and smtp_peer.logins == 0
    run = cli_runner(config, db_url)
    assert as_json(run(*args, "--json"))["status"] == "sent"  # the files are still on disk
    [received] = smtp_peer.received
    assert parts(received.data)[1] == files.digests
