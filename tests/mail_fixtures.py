"""E-mail peers as fixtures: one Dovecot per test process, an SMTP peer per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.dovecot import DovecotServer, DovecotUnavailable
from tests.smtp_peer import SmtpPeer


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
