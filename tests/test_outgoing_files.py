"""Files an agent sends: read from paths (never hanging on a FIFO), checked
against the channel before anything is queued, kept as blobs so a retry sends
the same bytes, and the "missing attachment?" warning."""

from __future__ import annotations

import email
import hashlib
import os
import threading
import time
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from omnitui import services
from omnitui.services import AccountInfo, Extras, InvalidRequest, outbox
from omnitui.services.ingest import ingest
from omnitui.services.outgoing_files import (
    MAX_FILE_BYTES,
    MAX_FILES,
    content_type_for,
    mentions_attachment,
    missing_attachment,
    read_file,
    read_files,
)
from providers.base import OutboundAttachment
from storage.db import Store
from storage.models import attachment_t, blob_t, conversation_t, identity_t, message_t
from tests.helpers import (
    SCRIPTED_MAX_FILE,
    ScriptedProvider,
    as_json,
    batch,
    cli_runner,
    sms,
    write_config,
)
from tests.helpers import email as mail
from tests.mail_fixtures import SUPPORT, smtp_config
from tests.peers.smtp import SmtpPeer

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 64


def _refused(path: Path | str) -> str:
    """The refusal of ``path``, read in a thread so a read that blocks fails
    the test instead of hanging it."""
    outcome: list[BaseException | object] = []
    worker = threading.Thread(target=lambda: outcome.append(_try(path)), daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert outcome, f"reading {path} blocked"
    assert isinstance(outcome[0], InvalidRequest), outcome
    message = str(outcome[0])
    assert "\n" not in message and "nothing was queued" in message
    return message


def _try(path: Path | str) -> BaseException | object:
    try:
        return read_file(path)
    except BaseException as exc:  # handed to the test thread
        return exc


# -- reading files -------------------------------------------------------------------


def test_a_file_is_read_whole_typed_by_its_name(tmp_path: Path) -> None:
    path = tmp_path / "Rechnung März.pdf"
    path.write_bytes(PDF)
    [file] = read_files([path])
    assert file == OutboundAttachment("Rechnung März.pdf", "application/pdf", PDF)
    assert content_type_for("photo.JPG") == "image/jpeg"
    assert content_type_for("logs.tar.gz") == "application/gzip"  # not the tar inside
    assert content_type_for("README") == "application/octet-stream"
    assert content_type_for("data.weird-ext") == "application/octet-stream"


def test_a_fifo_is_refused_at_once_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert "not a regular file" in _refused(fifo)


def test_directories_devices_missing_and_huge_files_are_refused(tmp_path: Path) -> None:
    assert "directory" in _refused(tmp_path)
    assert "not a regular file" in _refused("/dev/null")
    assert "no such file" in _refused(tmp_path / "gone.pdf")
    huge = tmp_path / "huge.iso"
    with huge.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing is written
    assert "100 MB" in _refused(huge)


def test_an_unreadable_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.pdf"
    path.write_bytes(PDF)
    path.chmod(0)
    if os.geteuid() == 0:  # root reads every file: the refusal the kernel gives others
        opened = os.open

        def refused(name: Any, *args: Any) -> int:
            if os.fspath(name) == str(path):
                raise PermissionError(13, "Permission denied")
            return opened(name, *args)

        monkeypatch.setattr(os, "open", refused)
    assert "Permission denied" in _refused(path)


def test_a_name_with_escape_sequences_reaches_nobody(tmp_path: Path) -> None:
    nasty = "in\x1b[31mvoice\x1b]0;owned\x07\u202efdp.exe\x07.pdf"
    path = tmp_path / nasty
    path.write_bytes(PDF)
    [file] = read_files([path])
    assert file.filename.isprintable() and "\x1b" not in file.filename
    assert "\u202e" not in file.filename and file.filename.endswith(".pdf")
    missing = _refused(tmp_path / f"gone{nasty}")
    assert "\x1b" not in missing and "\u202e" not in missing and "\x07" not in missing


def test_the_same_file_given_twice_is_attached_once(tmp_path: Path) -> None:
    """``--attach a.pdf --attach ./a.pdf`` (a busy agent's repeated option) sends
    one copy, as the console's prompt does; another file with the same bytes
    is another file."""
    (tmp_path / "sub").mkdir()
    path, twin = tmp_path / "label.pdf", tmp_path / "copy.pdf"
    path.write_bytes(PDF)
    twin.write_bytes(PDF)
    again = tmp_path / "sub" / ".." / "label.pdf"
    files = read_files([path, twin, again, str(path)])
    assert [f.filename for f in files] == ["label.pdf", "copy.pdf"]


def test_too_many_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("a")
    with pytest.raises(InvalidRequest, match=f"at most {MAX_FILES}"):
        read_files([path] * (MAX_FILES + 1))


# -- the missing-attachment warning ----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Please find the invoice attached.",
        "See the attachment",
        "I attach the form",
        "Die Rechnung anbei.",
        "Ich habe die Datei angehängt",
        "Le document ci-joint",
        "Voir la pièce jointe",
        "Te envío el archivo adjunto",
        "la factura adjunta",
    ],
)
def test_words_that_promise_a_file_are_noticed(text: str) -> None:
    assert mentions_attachment(text)
    assert missing_attachment(text, ()) is not None
    assert missing_attachment(text, [object()]) is None


@pytest.mark.parametrize(
    "text",
    [
        "The cable was detached.",
        "Thanks!\n> see the attachment\n> bye",
        "Thanks!\n-- \nAttachments welcome at support@shop.example",
    ],
)
def test_other_words_quotes_and_signatures_are_not(text: str) -> None:
    assert not mentions_attachment(text)


# -- checked before anything is queued (both engines) ------------------------------


def _counts(store: Store) -> tuple[int, int, int]:
    with store.read() as s:
        return tuple(
            s.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (message_t, attachment_t, blob_t)
        )


def _scripted(store: Store) -> tuple[ScriptedProvider, dict[str, AccountInfo]]:
    provider = ScriptedProvider()
    ingest(store, provider.account, batch(mail("m1"), sms("SM1")))
    return provider, {provider.account: AccountInfo.from_provider(provider)}


def _conversation(store: Store, channel: str) -> int:
    with store.read() as s:
        return int(
            s.execute(
                select(conversation_t.c.id).where(conversation_t.c.channel == channel)
            ).scalar_one()
        )


def test_sms_and_whatsapp_refuse_files_and_say_why(store: Store) -> None:
    provider, accounts = _scripted(store)
    before = _counts(store)
    files = (OutboundAttachment("a.pdf", "application/pdf", PDF),)
    with pytest.raises(InvalidRequest, match="public URL") as refused:
        services.reply(
            store, accounts, _conversation(store, "sms"), "Here", "bob", extras=Extras(files=files)
        )
    assert "Nothing was queued" in str(refused.value) and "\n" not in str(refused.value)
    with pytest.raises(InvalidRequest, match=r"whatsapp.*public URL"):
        services.send_new(
            store,
            accounts,
            channel="whatsapp",
            to="+14155550111",
            body="Here",
            author="bob",
            extras=Extras(files=files),
        )
    assert _counts(store) == before and provider.sent == []


def test_an_email_switched_to_sms_with_files_is_refused(store: Store) -> None:
    _provider, accounts = _scripted(store)

    with store.write() as s:  # Ann also has the number
        customer = s.execute(
            select(conversation_t.c.customer_id).where(conversation_t.c.channel == "email")
        ).scalar_one()
        s.execute(
            identity_t.insert().values(customer_id=customer, channel="sms", address="+14155550123")
        )
    before = _counts(store)
    files = (OutboundAttachment("a.pdf", "application/pdf", PDF),)
    with pytest.raises(InvalidRequest, match="public URL"):
        services.reply(
            store,
            accounts,
            _conversation(store, "email"),
            "Here",
            "bob",
            channel="sms",
            extras=Extras(files=files),
        )
    assert _counts(store) == before


def test_a_file_over_the_accounts_bound_is_refused_before_queuing(store: Store) -> None:
    provider, accounts = _scripted(store)
    before = _counts(store)
    big = OutboundAttachment("big.bin", "application/octet-stream", b"x" * (SCRIPTED_MAX_FILE + 1))
    with pytest.raises(
        InvalidRequest,
        match=r"big\.bin is 1,048,577 bytes; .* up to 1 MB \(1,048,576 bytes\)\. Nothing",
    ):
        services.reply(
            store,
            accounts,
            _conversation(store, "email"),
            "Here",
            "bob",
            extras=Extras(files=(big,)),
        )
    assert _counts(store) == before and provider.sent == []


def test_files_are_kept_with_the_message_and_a_retry_sends_the_same_bytes(
    store: Store, tmp_path: Path
) -> None:
    provider, accounts = _scripted(store)
    path = tmp_path / "label.pdf"
    path.write_bytes(PDF)
    provider.outcomes = ["transient", "ok"]
    queued = services.reply(
        store,
        accounts,
        _conversation(store, "email"),
        "The label is attached.",
        "bob",
        extras=Extras(files=read_files([path])),
    )
    path.write_bytes(b"changed since")  # what was queued is what goes
    assert outbox.deliver(store, provider, queued).state == "failed"
    assert outbox.deliver(store, provider, queued).state == "sent"
    first, second = (sent.attachments for sent in provider.sent)
    assert first == second == (OutboundAttachment("label.pdf", "application/pdf", PDF),)


def _lock_waits(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "select count(*) from pg_stat_activity"
                    " where datname = current_database() and wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )


def test_two_agents_queuing_the_same_file_at_once_both_queue_it(store: Store) -> None:
    """Agent A's transaction has stored a file's blob and not yet committed when
    agent B queues the same bytes: B's insert waits for A's row, and must not
    then fail on the duplicate key (it is the same content)."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: the two cannot overlap")
    _provider, accounts = _scripted(store)
    conv = _conversation(store, "email")
    digest = hashlib.sha256(PDF).hexdigest()
    outcome: list[object] = []

    def agent_b() -> None:
        try:
            outcome.append(
                services.reply(
                    store,
                    accounts,
                    conv,
                    "The label.",
                    "bob",
                    extras=Extras(files=(OutboundAttachment("label.pdf", "application/pdf", PDF),)),
                )
            )
        except Exception as exc:
            outcome.append(exc)

    worker = threading.Thread(target=agent_b, daemon=True)
    with store.write() as agent_a:
        agent_a.execute(blob_t.insert().values(sha256=digest, size=len(PDF), data=PDF))
        worker.start()
        deadline = time.monotonic() + 30
        while _lock_waits(store) == 0 and worker.is_alive():  # B waits on A's row
            assert time.monotonic() < deadline, "agent B never reached the blob insert"
            time.sleep(0.02)
    worker.join(timeout=30)
    assert outcome and isinstance(outcome[0], int), outcome
    with store.read() as s:
        assert s.execute(
            select(blob_t.c.size).where(blob_t.c.sha256 == digest)
        ).scalar_one() == len(PDF)
        assert (
            s.execute(
                select(attachment_t.c.sha256).where(attachment_t.c.message_id == outcome[0])
            ).scalar_one()
            == digest
        )


# -- the CLI, to a real SMTP peer -------------------------------------------------------


def _mail_config(tmp_path: Path, smtp_peer: SmtpPeer, extra: str = "") -> Path:
    return smtp_config(tmp_path, smtp_peer, max_message_bytes=1048576, extra=extra)


@pytest.fixture
def mail_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "unused")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "smtp-secret")


def test_cli_attach_sends_a_mime_tree_with_the_files_bytes(
    db_url: str, tmp_path: Path, smtp_peer: SmtpPeer, mail_env: None
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00\xff" * 3000)
    pdf = tmp_path / "Quittung.pdf"
    pdf.write_bytes(PDF)
    run = cli_runner(_mail_config(tmp_path, smtp_peer), db_url)
    args = ["send", "--channel", "email", "--to", "bo@example.com", "--subject", "Receipt"]
    result = run(
        *args, "--body", "Both files.", "--attach", str(pdf), "--attach", str(photo), "--json"
    )
    doc = as_json(result)
    assert doc["status"] == "sent" and result.stderr == ""
    assert [(f["filename"], f["content_type"], f["size"]) for f in doc["files"]] == [
        ("Quittung.pdf", "application/pdf", len(PDF)),
        ("photo.png", "image/png", photo.stat().st_size),
    ]
    assert doc["files"][0]["sha256"] == hashlib.sha256(PDF).hexdigest()
    [received] = smtp_peer.received
    sent = email.message_from_bytes(received.data, policy=default_policy)
    assert sent.get_content_type() == "multipart/mixed"
    text, *files = sent.iter_parts()
    assert text.get_content().strip() == "Both files."
    assert [(f.get_filename(), f.get_payload(decode=True)) for f in files] == [
        ("Quittung.pdf", PDF),
        ("photo.png", photo.read_bytes()),
    ]
    plain = run(*args, "--body", "Again", "--attach", str(pdf))
    assert "sent" in plain.stdout


def test_cli_refuses_an_oversized_file_with_no_network_call(
    db_url: str, tmp_path: Path, smtp_peer: SmtpPeer, mail_env: None
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(900_000))  # over the 1 MB mail's share for files
    run = cli_runner(_mail_config(tmp_path, smtp_peer), db_url)
    result = run(
        "send", "--channel", "email", "--to", "bo@example.com", "--subject", "Big",
        "--body", "x", "--attach", str(big), code=2,
    )  # fmt: skip
    assert "big.bin" in result.stderr and "Nothing was queued" in result.stderr
    assert result.stderr.count("\n") == 1
    assert smtp_peer.received == [] and smtp_peer.logins == 0
    assert as_json(run("outbox", "list", "--all", "--json")) == []


def test_cli_refuses_a_fifo_and_a_directory(
    db_url: str, tmp_path: Path, smtp_peer: SmtpPeer, mail_env: None
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    run = cli_runner(_mail_config(tmp_path, smtp_peer), db_url)
    for path, why in ((fifo, "not a regular file"), (tmp_path, "directory")):
        result = run(
            "send", "--channel", "email", "--to", "bo@example.com", "--subject", "F",
            "--body", "x", "--attach", str(path), code=2,
        )  # fmt: skip
        assert why in result.stderr
    assert smtp_peer.received == []


def test_cli_warns_when_the_text_promises_a_file_and_none_is_attached(
    db_url: str, tmp_path: Path, smtp_peer: SmtpPeer, mail_env: None
) -> None:
    run = cli_runner(_mail_config(tmp_path, smtp_peer), db_url)
    args = ["send", "--channel", "email", "--to", "bo@example.com", "--subject", "Inv"]
    result = run(*args, "--body", "The invoice is attached.", "--json")
    assert "warning: the text mentions an attachment" in result.stderr
    assert "--attach FILE" in result.stderr
    assert as_json(result)["status"] == "sent"  # a warning: the message still goes
    quiet = run(*args, "--body", "Thanks, all sorted.")
    assert quiet.stderr == ""


def _sms_config(tmp_path: Path) -> Path:
    return write_config(
        tmp_path,
        """
[[accounts]]
name = "phone"
kind = "twilio"
account_sid = "AC123"
auth_token_env = "TEST_TWILIO_TOKEN_UNSET"
phone_number = "+14155550199"
""",
    )


def test_cli_sms_with_a_file_is_refused_before_queuing(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    path.write_bytes(PDF)
    run = cli_runner(_sms_config(tmp_path), db_url)
    result = run(
        "send", "--channel", "sms", "--to", "+14155550100", "--body", "x",
        "--attach", str(path), "--json", code=2,
    )  # fmt: skip
    assert "Twilio MMS needs a public URL" in result.stderr
    assert as_json(result)["error"]["kind"] == "usage"
    assert as_json(run("outbox", "list", "--all", "--json")) == []


def test_a_retry_after_a_refused_send_gives_the_smtp_peer_the_same_bytes(
    store: Store, tmp_path: Path, smtp_peer: SmtpPeer
) -> None:
    from providers.email import EmailProvider
    from providers.settings import ImapSettings

    settings = ImapSettings(
        name="shop",
        host="127.0.0.1",
        port=1,
        security="none",
        username="support",
        password_env="UNUSED",
        from_address=f"Support <{SUPPORT}>",
        smtp_host=smtp_peer.host,
        smtp_port=smtp_peer.port,
        smtp_security="none",
        smtp_username="mailer",
        smtp_password_env="UNUSED",
    )
    provider = EmailProvider("shop", settings, {"password": "x", "smtp_password": "smtp-secret"})
    ingest(store, "shop", batch(mail("m1", ours=SUPPORT)))
    path = tmp_path / "label.pdf"
    path.write_bytes(PDF)
    queued = services.reply(
        store,
        {"shop": AccountInfo.from_provider(provider)},
        _conversation(store, "email"),
        "The label.",
        "bob",
        extras=Extras(files=read_files([path])),
    )
    path.unlink()  # the bytes are in the store now
    smtp_peer.refuse_next("451 4.3.0 try again later")
    try:
        assert outbox.deliver(store, provider, queued).state == "failed"
        assert smtp_peer.received == []
        assert outbox.deliver(store, provider, queued).state == "sent"
    finally:
        provider.close()
    [received] = smtp_peer.received
    sent = email.message_from_bytes(received.data, policy=default_policy)
    [file] = list(sent.iter_attachments())
    assert (file.get_filename(), file.get_payload(decode=True)) == ("label.pdf", PDF)
