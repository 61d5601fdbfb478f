"""aiosmtpd as the SMTP peer: records what it receives, can refuse on demand
and require a login."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    #: RCPT TO addresses always answered with the reply given
    refused_addresses: dict[str, str] = field(default_factory=dict)
    #: seconds the next DATA answers are held back after the mail was taken
    #: (a slow server: the client's timeout runs out first)
    slow_answers: list[float] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refusals:
            return self.refusals.pop(0)
        if address in self.refused_addresses:
            return self.refused_addresses[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        )
        if self.slow_answers:
            await asyncio.sleep(self.slow_answers.pop(0))
        return "250 Message accepted for delivery"


class SmtpPeer:
    host = "127.0.0.1"

    def __init__(self, username: str | None = None, password: str | None = None) -> None:
        self.handler = Handler()
        self.port = _free_port()
        self.username, self.password = username, password
        #: logins tried (every send with a username logs in first): 0 means
        #: no send was attempted
        self.logins = 0
        kwargs: dict[str, Any] = {}
        if username is not None:
            kwargs = {
                "authenticator": self._authenticate,
                "auth_required": True,
                "auth_require_tls": False,
            }
        self.controller = Controller(
            self.handler, hostname=self.host, port=self.port, server_hostname="localhost", **kwargs
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        self.logins += 1
        ok = isinstance(data, LoginPassword) and (
            data.login.decode() == self.username and data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def refuse_next(self, reply: str) -> None:
        """Answer the next RCPT with ``reply`` (e.g. "550 5.1.1 mailbox unavailable")."""
        self.handler.refusals.append(reply)

    def refuse_address(self, address: str, reply: str) -> None:
        """Answer every RCPT TO ``address`` with ``reply``; the others are taken."""
        self.handler.refused_addresses[address] = reply

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
