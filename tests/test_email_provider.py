"""The imap provider against a real Dovecot and an aiosmtpd peer."""

from __future__ import annotations

import email
import json
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from omnitui import services
from omnitui.services import AccountInfo, outbox
from omnitui.services.ingest import load_cursors
from omnitui.services.sync import sync_once
from providers.base import (
    OutboundAttachment,
    OutboundMessage,
    PermanentError,
    PollBatch,
    TransientError,
    UnconfirmedError,
)
from providers.email import EmailProvider
from providers.settings import ImapSettings
from storage.db import Store
from storage.models import Conversation, SyncState, attachment_t, syncstate_t
from storage.queries import list_conversations
from tests.helpers import cli_runner, write_config
from tests.mail_fixtures import SUPPORT, Mailbox, raw, stored
from tests.peers.dovecot import DovecotServer
from tests.peers.smtp import SmtpPeer


def test_initial_and_incremental_sync(
    store: Store, mailbox: Mailbox, provider: EmailProvider
) -> None:
    for n in range(3):
        mailbox.deliver(raw(n, subject=f"Question {n}"))
    report = sync_once(store, provider)
    assert (report.ok, report.stored) == (True, 3)
    mailbox.deliver(raw(3, reply_to=0, subject="Re: Question 0"))
    assert sync_once(store, provider).stored == 1
    msgs = stored(store)
    assert [m.email_message_id for m in msgs][-1] == "<m3@example.com>"
    assert msgs[0].conversation_id == msgs[-1].conversation_id  # threaded
    assert load_cursors(store, "mail")["INBOX"].endswith(":4")


def test_nothing_new_costs_no_fetch(
    store: Store, mailbox: Mailbox, provider: EmailProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    mailbox.deliver(raw(1))
    sync_once(store, provider)
    client = provider._client()

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("searched or fetched although UIDNEXT said nothing is new")

    monkeypatch.setattr(client, "search", forbidden)
    monkeypatch.setattr(client, "fetch", forbidden)
    assert sync_once(store, provider).stored == 0


def test_peek_leaves_mail_unread(store: Store, mailbox: Mailbox, provider: EmailProvider) -> None:
    mailbox.deliver(raw(1))
    sync_once(store, provider)
    conn = mailbox.server.imap(mailbox.user)
    conn.select("INBOX")
    assert conn.search(None, "UNSEEN")[1] == [b"1"]
    conn.logout()


def test_survives_a_dovecot_restart(
    store: Store, dovecot: DovecotServer, mailbox: Mailbox, provider: EmailProvider
) -> None:
    mailbox.deliver(raw(1))
    sync_once(store, provider)
    dovecot.restart()
    mailbox.deliver(raw(2))
    report = sync_once(store, provider)
    assert report.ok and report.stored == 1


def test_uidvalidity_change_resyncs_without_duplicates(
    store: Store, dovecot: DovecotServer, mailbox: Mailbox, provider: EmailProvider
) -> None:
    for n in range(3):
        mailbox.deliver(raw(n))
    sync_once(store, provider)
    dovecot.set_uidvalidity(mailbox.user, "INBOX", 4242)
    mailbox.deliver(raw(9))
    report = sync_once(store, provider)
    assert (report.stored, report.duplicates) == (1, 3)
    assert load_cursors(store, "mail")["INBOX"].startswith("4242:")
    assert len(stored(store)) == 4


def test_malformed_mail_between_good_ones_is_kept(
    store: Store, mailbox: Mailbox, provider: EmailProvider
) -> None:
    mailbox.deliver(raw(1))
    mailbox.deliver(
        b"Subject: =?x-klingon?Q?broken?=\r\nContent-Type: multipart/mixed\r\n\r\n"
        b"--nothing\r\n\xff\xfe garbage \x00\r\n"
    )
    mailbox.deliver(raw(3))
    report = sync_once(store, provider)
    assert report.ok and report.stored == 3
    broken = [m for m in stored(store) if m.error]
    assert len(broken) == 1
    with store.read() as s:
        from storage.models import Attachment

        kept = s.execute(
            select(Attachment).where(attachment_t.c.message_id == broken[0].id)
        ).scalars()
        assert [a.filename for a in kept] == ["original.eml"]


def test_charsets_html_and_attachments(
    store: Store, mailbox: Mailbox, provider: EmailProvider
) -> None:
    mime = (
        "From: =?iso-8859-1?Q?Jos=E9_N=FA=F1ez?= <jose@example.com>\r\nTo: support@shop.example\r\n"
        "Subject: =?utf-8?B?w5xiZXJ3ZWlzdW5n?=\r\nMessage-ID: <mime@example.com>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n"
        "--b1\r\nContent-Type: text/html; charset=windows-1252\r\n\r\n"
        '<p>Gr\x9f\xdfe <b>und</b> Danke</p><img src="http://tracker.invalid/x.png">\r\n'
        '--b1\r\nContent-Type: application/pdf; name="../../rechnung.pdf"\r\n'
        'Content-Disposition: attachment; filename="../../rechnung.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n"
    ).encode("latin-1")
    mailbox.deliver(mime)
    sync_once(store, provider)
    m = stored(store)[0]
    assert m.subject == "Überweisung" and "Danke" in m.body_text and "<b>" not in m.body_text
    with store.read() as s:
        conv = s.execute(select(Conversation)).scalar_one()
        from storage.models import Attachment

        att = s.execute(select(Attachment)).scalar_one()
    assert att.filename == "rechnung.pdf" and att.size == 9
    assert conv.their_address == "jose@example.com"


def test_reply_headers_sent_folder_and_no_duplicate_echo(
    store: Store, mailbox: Mailbox, provider: EmailProvider, smtp_peer: SmtpPeer
) -> None:
    mailbox.deliver(raw(1, subject="Refund"))
    mailbox.deliver(raw(2, subject="Re: Refund", reply_to=1))
    sync_once(store, provider)
    with store.read() as s:
        conv = list_conversations(s, view="all")[0]
    accounts = {"mail": AccountInfo.from_provider(provider)}
    mid = services.reply(store, accounts, conv.id, "Refund sent — ça marche.", "alice")
    assert outbox.deliver(store, provider, mid).state == "sent"
    sent = email.message_from_bytes(smtp_peer.received[0].data, policy=default_policy)
    assert smtp_peer.received[0].rcpt_tos == ["ann@example.com"]
    assert sent["Subject"] == "Re: Refund"
    assert sent["In-Reply-To"] == "<m2@example.com>"
    assert sent["References"].split() == ["<m1@example.com>", "<m2@example.com>"]
    assert SUPPORT in sent["From"] and sent["Date"] and sent["Message-ID"]
    assert "ça marche" in sent.get_content()
    report = sync_once(store, provider)  # polls Sent: the copy is ours, already stored
    assert report.stored == 0 and report.duplicates == 1
    conn = mailbox.server.imap(mailbox.user)
    assert conn.select("Sent")[1] == [b"1"]
    conn.logout()


def test_smtp_refusal_fails_with_the_servers_words(
    store: Store, mailbox: Mailbox, provider: EmailProvider, smtp_peer: SmtpPeer
) -> None:
    mailbox.deliver(raw(1))
    sync_once(store, provider)
    with store.read() as s:
        conv = list_conversations(s, view="all")[0]
    smtp_peer.refuse_next("550 5.1.1 mailbox unavailable")
    mid = services.reply(store, {"mail": AccountInfo.from_provider(provider)}, conv.id, "Hi", "a")
    delivery = outbox.deliver(store, provider, mid)
    assert delivery.state == "failed" and "550" in (delivery.error or "")
    assert "mailbox unavailable" in (delivery.error or "")


def test_smtp_login_refused_fails_the_message(store: Store, provider: EmailProvider) -> None:
    provider._smtp_password = "not-it"
    mid = services.send_new(
        store,
        {"mail": AccountInfo.from_provider(provider)},
        channel="email",
        body="Hi",
        author="alice",
        to="x@example.com",
        subject="S",
    )
    delivery = outbox.deliver(store, provider, mid)
    assert delivery.state == "failed" and "login refused" in (delivery.error or "")
    assert "not-it" not in (delivery.error or "")


def test_new_outbound_email(store: Store, provider: EmailProvider, smtp_peer: SmtpPeer) -> None:
    mid = services.send_new(
        store,
        {"mail": AccountInfo.from_provider(provider)},
        channel="email",
        body="Welcome!",
        author="alice",
        to="New@Example.com",
        subject="Hello",
    )
    assert outbox.deliver(store, provider, mid).state == "sent"
    assert smtp_peer.received[0].rcpt_tos == ["new@example.com"]


def test_wrong_password_is_a_clear_auth_error(store: Store, provider: EmailProvider) -> None:
    # A server of its own: Dovecot slows every later login from an address
    # that failed one, which would slow the other tests down.
    server = DovecotServer()
    try:
        server.start()
        server.add_user("locked", "right")
        provider.settings = provider.settings.model_copy(
            update={"port": server.port, "username": "locked", "sent_folder": None}
        )
        provider._password = "wrong"
        report = sync_once(store, provider)
    finally:
        server.cleanup()
    assert report.error_kind == "auth" and "wrong" not in (report.error or "")
    assert "login refused" in (report.error or "")
    with store.read() as s:
        state = s.execute(select(SyncState).where(syncstate_t.c.account == "mail")).scalar_one()
    assert state.last_error and "login refused" in state.last_error


def test_host_down_is_transient(provider: EmailProvider) -> None:
    provider.settings = provider.settings.model_copy(update={"port": 1})
    with pytest.raises(TransientError, match="IMAP"):
        provider.poll({})


def test_check_logs_in_to_both(provider: EmailProvider, mailbox: Mailbox) -> None:
    mailbox.deliver(raw(1))
    assert provider.check().startswith("IMAP ok (INBOX: 1 messages), SMTP ok")


def test_poll_batch_shape(mailbox: Mailbox, provider: EmailProvider) -> None:
    mailbox.deliver(raw(1))
    batch = provider.poll({})
    assert isinstance(batch, PollBatch) and set(batch.cursors) == {"INBOX", "Sent"}
    assert batch.messages[0].channel == "email" and batch.messages[0].from_name == "Ann Example"


def test_cli_end_to_end_over_imap_and_smtp(
    db_url: str,
    tmp_path: Path,
    mailbox: Mailbox,
    smtp_peer: SmtpPeer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", mailbox.password)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "smtp-secret")
    account = f"""
[[accounts]]
name = "mail"
kind = "imap"
host = "{mailbox.server.host}"
port = {mailbox.server.port}
security = "none"
username = "{mailbox.user}"
password_env = "TEST_IMAP_PASSWORD"
from_address = "Support <{SUPPORT}>"
smtp_host = "{smtp_peer.host}"
smtp_port = {smtp_peer.port}
smtp_security = "none"
smtp_username = "mailer"
smtp_password_env = "TEST_SMTP_PASSWORD"
"""
    mailbox.deliver(raw(1))
    cli = cli_runner(write_config(tmp_path, account, "mail.toml"), db_url)

    def run(*args: str) -> Any:  # the command's JSON document
        result = cli(*args, "--json")
        assert mailbox.password not in result.stdout + result.stderr
        return json.loads(result.stdout)

    assert run("sync", "--once")[0]["stored"] == 1
    sent = run(
        "send",
        "--channel",
        "email",
        "--to",
        "bo@example.com",
        "--subject",
        "Hi",
        "--body",
        "Hello Bo",
    )
    assert sent["status"] == "sent"
    assert smtp_peer.received[-1].rcpt_tos == ["bo@example.com"]
    doctor = run("doctor")
    assert doctor["ok"] and doctor["accounts"][0]["secrets"] == {
        "password": "set (hidden)",
        "smtp_password": "set (hidden)",
    }


def test_tls_against_a_plain_server_is_a_clear_error(provider: EmailProvider) -> None:
    provider.settings = provider.settings.model_copy(update={"security": "tls"})
    with pytest.raises(TransientError, match="TLS failed"):
        provider.poll({})


def test_a_silent_server_times_out(
    provider: EmailProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    import providers.email as email_module

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts, never greets
    monkeypatch.setattr(email_module, "TIMEOUT", 0.5)
    provider.settings = provider.settings.model_copy(update={"port": silent.getsockname()[1]})
    try:
        with pytest.raises(TransientError, match="timed out"):
            provider.poll({})
    finally:
        silent.close()


def _sent_copies(mailbox: Mailbox) -> list[bytes]:
    conn = mailbox.server.imap(mailbox.user)
    try:
        conn.select("Sent", readonly=True)
        _, found = conn.search(None, "ALL")
        copies = []
        for number in found[0].split():
            _, data = conn.fetch(number, "(BODY.PEEK[])")
            envelope_and_body = data[0]
            assert isinstance(envelope_and_body, tuple)
            copies.append(bytes(envelope_and_body[1]))
        return copies
    finally:
        conn.logout()


def test_cc_bcc_and_files_reach_the_server_and_bcc_stays_in_the_envelope(
    mailbox: Mailbox, provider: EmailProvider, smtp_peer: SmtpPeer
) -> None:
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 40  # every byte value, base64 round trip
    photo = b"\x89PNG\r\n\x1a\n" + b"\x00\xff" * 3000
    outbound = OutboundMessage(
        channel="email",
        to_address="ann@example.com",
        body_text="Your invoice and the photo, as promised.",
        subject="Invoice",
        message_id="<out1@shop.example>",
        cc=("Bo Example <bo@example.com>", "carl@example.com"),
        bcc=("boss@shop.example",),
        attachments=(
            OutboundAttachment("Rechnung März.pdf", "application/pdf", pdf),
            OutboundAttachment("photo.png", "image/png", photo),
        ),
    )
    result = provider.send(outbound)
    assert result.external_id == "<out1@shop.example>"
    [received] = smtp_peer.received
    assert received.rcpt_tos == [
        "ann@example.com",
        "bo@example.com",
        "carl@example.com",
        "boss@shop.example",
    ]
    for data in (received.data, *_sent_copies(mailbox)):
        assert b"\nbcc:" not in data.lower() and b"boss@shop.example" not in data
        sent = email.message_from_bytes(data, policy=default_policy)
        assert sent["To"] == "ann@example.com"
        assert [a.addr_spec for a in sent["Cc"].addresses] == [
            "bo@example.com",
            "carl@example.com",
        ]
        assert sent.get_content_type() == "multipart/mixed"
        text, *files = sent.iter_parts()
        assert text.get_content().strip() == outbound.body_text
        assert [
            (f.get_filename(), f.get_content_type(), f["Content-Transfer-Encoding"]) for f in files
        ] == [
            ("Rechnung März.pdf", "application/pdf", "base64"),
            ("photo.png", "image/png", "base64"),
        ]
        assert [f.get_payload(decode=True) for f in files] == [pdf, photo]
    # RFC 2231 for the non-ASCII name, not an encoded word inside quotes
    assert b"filename*=utf-8''Rechnung%20M%C3%A4rz.pdf" in received.data


def test_a_mail_over_max_message_bytes_is_refused_before_the_server(
    provider: EmailProvider, smtp_peer: SmtpPeer
) -> None:
    provider.settings = provider.settings.model_copy(update={"max_message_bytes": 1024 * 1024})
    limits = provider.limits("email")
    assert limits.can_attach and limits.max_total_bytes is not None
    assert 600_000 < limits.max_total_bytes < 1024 * 1024  # room for the base64 of the files
    assert limits.refusal([("big.bin", 900_000)]) is not None
    assert limits.refusal([("ok.bin", 500_000)]) is None
    big = OutboundAttachment("big.bin", "application/octet-stream", b"x" * 900_000)
    with pytest.raises(PermanentError, match="max_message_bytes"):
        provider.send(
            OutboundMessage(
                channel="email", to_address="ann@example.com", body_text="x", attachments=(big,)
            )
        )
    assert smtp_peer.received == []
    assert EmailProvider.limits(provider, "email") == provider.settings.send_limits("email")


def test_the_default_mail_limit_is_25_mb() -> None:
    settings = ImapSettings(
        name="m", host="h", username="u", password_env="X", from_address="s@x.org", smtp_host="h"
    )
    assert settings.max_message_bytes == 25 * 1024 * 1024
    assert settings.send_limits("email").refusal([("a.pdf", 17 * 1024 * 1024)]) is None
    assert settings.send_limits("email").refusal([("a.pdf", 20 * 1024 * 1024)]) is not None


def test_inbound_to_and_cc_lists_every_recipient(mailbox: Mailbox, provider: EmailProvider) -> None:
    mailbox.deliver(
        raw(
            1,
            extra=(
                f"\r\nCc: =?utf-8?q?M=C3=BCller=2C_Bo?= <bo@example.com>, carl@example.com,"
                f"\r\n =?iso-8859-1?q?Zo=E9?= <zoe@example.com>, {SUPPORT}"
            ),
        ).replace(f"To: {SUPPORT}".encode(), f"To: {SUPPORT}, Dan <dan@example.com>".encode())
    )
    [message] = provider.poll({}).messages
    assert message.to_address == SUPPORT
    assert message.to_addresses == (SUPPORT, "dan@example.com")
    assert message.cc_addresses == (
        "bo@example.com",
        "carl@example.com",
        "zoe@example.com",
        SUPPORT,
    )
    assert message.problem is None


def test_a_cc_refused_after_the_others_took_the_mail_is_unconfirmed_not_failed(
    mailbox: Mailbox, provider: EmailProvider, smtp_peer: SmtpPeer
) -> None:
    # A failed message may be retried, and Ann would get it twice.
    smtp_peer.refuse_address("gone@example.com", "550 5.1.1 no such user")
    outbound = OutboundMessage(
        channel="email",
        to_address="ann@example.com",
        body_text="Hi",
        subject="S",
        cc=("gone@example.com",),
    )
    with pytest.raises(UnconfirmedError, match=r"1 of 2 recipients.*gone@example.com: 550"):
        provider.send(outbound)
    assert smtp_peer.received[0].rcpt_tos == ["ann@example.com"]
    assert len(_sent_copies(mailbox)) == 1


def test_an_international_domain_is_sent_in_its_ascii_form(
    mailbox: Mailbox, provider: EmailProvider, smtp_peer: SmtpPeer
) -> None:
    """ann@bücher.de passes every check (a domain may be international): the
    envelope and the headers must carry it as IDNA (xn--), which every server
    takes, not fail at send (no SMTPUTF8) or write an encoded word into the address."""
    outbound = OutboundMessage(
        channel="email",
        to_address="ann@bücher.de",
        body_text="Hi",
        subject="S",
        cc=("bo@münchen.example",),
        bcc=("boss@exämple.org",),
    )
    provider.send(outbound)
    [got] = smtp_peer.received
    assert got.rcpt_tos == [
        "ann@xn--bcher-kva.de",
        "bo@xn--mnchen-3ya.example",
        "boss@xn--exmple-cua.org",
    ]
    sent = email.message_from_bytes(got.data, policy=default_policy)
    assert (sent["To"], sent["Cc"], sent["Bcc"]) == (
        "ann@xn--bcher-kva.de",
        "bo@xn--mnchen-3ya.example",
        None,
    )


def test_a_refused_bcc_is_never_named_in_the_error_every_agent_reads(
    mailbox: Mailbox, provider: EmailProvider, smtp_peer: SmtpPeer
) -> None:
    """The error is kept on the message and shown to every agent (outbox list,
    --json): a refused Bcc recipient, and the server's words that echo it,
    must not give the hidden address away."""
    smtp_peer.refuse_address("boss@example.org", "550 5.1.1 <Boss@Example.org>: no such user")
    outbound = OutboundMessage(
        channel="email",
        to_address="ann@example.com",
        body_text="Hi",
        subject="S",
        bcc=("boss@example.org",),
    )
    with pytest.raises(UnconfirmedError, match=r"1 of 2 recipients.*a Bcc recipient") as raised:
        provider.send(outbound)
    assert "boss@" not in str(raised.value).lower()
    assert smtp_peer.received[0].rcpt_tos == ["ann@example.com"]


def test_a_fetch_answer_without_a_body_never_moves_the_cursor_past_that_mail(
    store: Store, mailbox: Mailbox, provider: EmailProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server (or a proxy) answers FETCH without BODY[] for one mail, on
    the first try and the retry: the mails before it are stored, the cursor
    stops before it, and the next poll reads it and those after it."""
    for n in range(4):
        mailbox.deliver(raw(n, subject=f"Question {n}"))
    client = provider._client()
    real_fetch = client.fetch
    answers_left = {"cut": 2}

    def cut_fetch(uids: Any, items: Any) -> dict[int, Any]:
        answer = dict(real_fetch(uids, items))
        if answers_left["cut"] and 3 in answer:
            answers_left["cut"] -= 1
            answer[3] = {k: v for k, v in answer[3].items() if k != b"BODY[]"}
        return answer

    monkeypatch.setattr(client, "fetch", cut_fetch)
    first = sync_once(store, provider)
    assert first.stored == 2
    assert load_cursors(store, "mail")["INBOX"].endswith(":2")
    second = sync_once(store, provider)
    assert second.stored == 2
    assert sorted(m.subject or "" for m in stored(store)) == [f"Question {n}" for n in range(4)]


def test_a_mail_expunged_between_search_and_fetch_is_passed_over(
    store: Store, mailbox: Mailbox, provider: EmailProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        mailbox.deliver(raw(n, subject=f"Question {n}"))
    client = provider._client()
    real_fetch, real_search = client.fetch, client.search

    def without_2(uids: Any, items: Any) -> dict[int, Any]:
        return {u: d for u, d in real_fetch(uids, items).items() if u != 2}

    def search(criteria: Any) -> list[int]:
        found = list(real_search(criteria))
        return [u for u in found if u != 2] if criteria[1] != "1:*" else found

    monkeypatch.setattr(client, "fetch", without_2)
    monkeypatch.setattr(client, "search", search)
    assert sync_once(store, provider).stored == 2
    assert load_cursors(store, "mail")["INBOX"].endswith(":3")
