"""E-mail peers as fixtures: one Dovecot per test process, an SMTP peer per test,
and an imap provider on both (with the mail builder the tests deliver)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from providers.email import EmailProvider
from providers.settings import ImapSettings
from storage.db import Store
from storage.models import Message, message_t
from tests.peers.dovecot import DovecotServer, DovecotUnavailable
from tests.peers.smtp import SmtpPeer


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    try:
        server = DovecotServer()
        server.start()
    except DovecotUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Dovecot is required in CI and could not be started: {exc}")
        pytest.skip(f"Dovecot not available: {exc}")
    try:
        yield server
    finally:
        server.cleanup()


@dataclass
class Mailbox:
    server: DovecotServer
    user: str
    password: str

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        self.server.deliver(self.user, raw, folder)


@pytest.fixture
def mailbox(dovecot: DovecotServer) -> Mailbox:
    """A fresh user of its own, so tests never see each other's mail."""
    user = f"u{uuid.uuid4().hex[:10]}"
    dovecot.add_user(user, "secret-" + user)
    return Mailbox(dovecot, user, "secret-" + user)


@pytest.fixture
def smtp_peer() -> Iterator[SmtpPeer]:
    peer = SmtpPeer(username="mailer", password="smtp-secret")
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()


SUPPORT = "support@shop.example"


def raw(
    n: int,
    *,
    sender: str = "ann@example.com",
    subject: str = "Order help",
    reply_to: int | None = None,
    body: str = "Hello there",
    extra: str = "",
) -> bytes:
    headers = [
        f"From: Ann Example <{sender}>",
        f"To: {SUPPORT}",
        f"Subject: {subject}",
        f"Message-ID: <m{n}@example.com>",
        "Date: Mon, 02 Mar 2026 09:00:00 +0000",
    ]
    if reply_to is not None:
        headers += [
            f"In-Reply-To: <m{reply_to}@example.com>",
            f"References: <m{reply_to}@example.com>",
        ]
    return ("\r\n".join(headers) + extra + "\r\n\r\n" + body + "\r\n").encode()


@pytest.fixture
def provider(mailbox: Mailbox, smtp_peer: SmtpPeer) -> Iterator[EmailProvider]:
    settings = ImapSettings(
        name="mail",
        host=mailbox.server.host,
        port=mailbox.server.port,
        security="none",
        username=mailbox.user,
        password_env="UNUSED",
        folders=["INBOX"],
        sent_folder="Sent",
        from_address=f"Shop Support <{SUPPORT}>",
        smtp_host=smtp_peer.host,
        smtp_port=smtp_peer.port,
        smtp_security="none",
        smtp_username="mailer",
    )
    mailbox.server.create_folder(mailbox.user, "Sent")
    p = EmailProvider(
        "mail", settings, {"password": mailbox.password, "smtp_password": "smtp-secret"}
    )
    yield p
    p.close()


def stored(store: Store) -> list[Message]:
    with store.read() as s:
        return list(s.execute(select(Message).order_by(message_t.c.id)).scalars())


def smtp_config(tmp_path: Path, peer: SmtpPeer, *, max_message_bytes: int, extra: str = "") -> Path:
    """A config with one e-mail account that sends to the SMTP test ``peer``
    (IMAP unused: port 1), ``extra`` lines added to the account."""
    from tests.helpers import write_config

    return write_config(
        tmp_path,
        f"""
[agent]
name = "alice"

[[accounts]]
name = "mail"
kind = "imap"
host = "127.0.0.1"
port = 1
security = "none"
username = "support"
password_env = "TEST_IMAP_PASSWORD"
from_address = "Support <{SUPPORT}>"
smtp_host = "{peer.host}"
smtp_port = {peer.port}
smtp_security = "none"
smtp_username = "mailer"
smtp_password_env = "TEST_SMTP_PASSWORD"
max_message_bytes = {max_message_bytes}
{extra}
""",
    )
