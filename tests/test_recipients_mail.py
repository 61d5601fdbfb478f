"""Reply-all, Bcc and forward against a real Dovecot and the SMTP peer: the
MIME tree the server receives and the copy kept in Sent."""

from __future__ import annotations

import base64
import email
from email.message import EmailMessage
from email.policy import default as default_policy

from omnitui import services
from omnitui.services import AccountInfo, Extras, outbox
from omnitui.services.forward import SEPARATOR, forward
from omnitui.services.recipients import reply_all_for
from omnitui.services.sync import sync_once
from providers.email import EmailProvider
from storage.db import Store
from storage.queries import list_conversations
from tests.mail_fixtures import SUPPORT, Mailbox, stored
from tests.peers.smtp import SmtpPeer

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 30


def _mail(*headers: str, body: str = "Hello team", files: bytes | None = None) -> bytes:
    head = [
        "From: Ann Example <ann@example.com>",
        "Message-ID: <rm1@example.com>",
        "Subject: Order help",
        "Date: Mon, 02 Mar 2026 09:00:00 +0000",
        *headers,
    ]
    if files is None:
        return ("\r\n".join(head) + "\r\n\r\n" + body + "\r\n").encode()
    encoded = base64.encodebytes(files).decode().replace("\n", "\r\n")
    head += ["MIME-Version: 1.0", "Content-Type: multipart/mixed; boundary=b1"]
    parts = (
        f"--b1\r\nContent-Type: text/plain\r\n\r\n{body}\r\n"
        "--b1\r\nContent-Type: application/pdf\r\n"
        'Content-Disposition: attachment; filename="invoice.pdf"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n--b1--\r\n"
    )
    return ("\r\n".join(head) + "\r\n\r\n" + parts).encode()


def _sent_folder(mailbox: Mailbox) -> list[bytes]:
    conn = mailbox.server.imap(mailbox.user)
    try:
        conn.select("Sent")
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


def _parsed(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_reply_all_with_bcc_reaches_the_server_as_computed(
    store: Store, mailbox: Mailbox, provider: EmailProvider, smtp_peer: SmtpPeer
) -> None:
    mailbox.deliver(
        _mail(
            f"To: Support <{SUPPORT}>, Bo <bo@example.com>",
            "Cc: carl@example.com, Ann <ANN@example.com>",
        )
    )
    sync_once(store, provider)
    (got,) = stored(store)
    assert got.cc_addresses is not None and "carl@example.com" in got.cc_addresses
    accounts = {"mail": AccountInfo.from_provider(provider)}
    with store.read() as s:
        (conv,) = list_conversations(s, view="all")
    found = reply_all_for(store, accounts, conv.id)
    assert (found.to, found.cc) == (("ann@example.com",), ("bo@example.com", "carl@example.com"))
    mid = services.reply(
        store,
        accounts,
        conv.id,
        "Sorted, everyone.",
        "alice",
        extras=Extras(to=found.to, cc=found.cc, bcc=("boss@shop.example",)),
    )
    assert outbox.deliver(store, provider, mid).state == "sent"
    [received] = smtp_peer.received
    assert received.rcpt_tos == [
        "ann@example.com",
        "bo@example.com",
        "carl@example.com",
        "boss@shop.example",
    ]
    copies = _sent_folder(mailbox)
    assert len(copies) == 1
    for data in (received.data, *copies):
        assert b"bcc:" not in data.lower() and b"boss@shop.example" not in data
        sent = _parsed(data)
        assert [a.addr_spec for a in sent["To"].addresses] == ["ann@example.com"]
        assert [a.addr_spec for a in sent["Cc"].addresses] == ["bo@example.com", "carl@example.com"]
        assert sent["In-Reply-To"] == "<rm1@example.com>"
    # the stored copy polled back from Sent is ours already: no second row, no Bcc shown
    sync_once(store, provider)
    assert [m.id for m in stored(store)] == [got.id, mid]


def test_a_forward_carries_the_original_and_its_file(
    store: Store, mailbox: Mailbox, provider: EmailProvider, smtp_peer: SmtpPeer
) -> None:
    mailbox.deliver(
        _mail(f"To: {SUPPORT}", "Cc: bo@example.com", body="Invoice attached.", files=PDF)
    )
    sync_once(store, provider)
    (got,) = stored(store)
    accounts = {"mail": AccountInfo.from_provider(provider)}
    mid = forward(
        store,
        accounts,
        got.id or 0,
        "accounts@example.org",
        "alice",
        note="Please check this invoice.",
        cc=("lead@example.org",),
    )
    assert outbox.deliver(store, provider, mid).state == "sent"
    [received] = smtp_peer.received
    assert received.rcpt_tos == ["accounts@example.org", "lead@example.org"]
    sent = _parsed(received.data)
    assert sent["Subject"] == "Fwd: Order help"
    assert [a.addr_spec for a in sent["To"].addresses] == ["accounts@example.org"]
    assert sent.get_content_type() == "multipart/mixed"
    text, *files = sent.iter_parts()
    body = text.get_content()
    assert body.startswith("Please check this invoice.")
    block = body[body.index(SEPARATOR) :]
    for line in (
        "From: Ann Example <ann@example.com>",
        "Subject: Order help",
        f"To: {SUPPORT}",
        "Cc: bo@example.com",
        "Invoice attached.",
    ):
        assert line in block
    assert [(f.get_filename(), f.get_payload(decode=True)) for f in files] == [("invoice.pdf", PDF)]
    (copy,) = _sent_folder(mailbox)
    assert [p.get_payload(decode=True) for p in list(_parsed(copy).iter_parts())[1:]] == [PDF]
