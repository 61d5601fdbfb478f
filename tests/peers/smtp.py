"""aiosmtpd as the SMTP peer: records what it receives, can refuse on demand,
require a login, and stop at a step of a send until the test lets it go on
(:meth:`SmtpPeer.hold`: before the data, in the middle of it, or after the
mail was taken and before the answer)."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from tests.peers.gates import Gate, Gates


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
    gates: Gates = field(default_factory=Gates)
    #: the DATA bytes taken before the "data" gate holds
    hold_after: int = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        # the client waits for this answer: it sends nothing more before it
        await asyncio.to_thread(self.gates.hold, "rcpt", over=True)
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
        # the mail is recorded: the answer is all that is left
        await asyncio.to_thread(self.gates.hold, "accepted", over=True)
        if self.slow_answers:
            await asyncio.sleep(self.slow_answers.pop(0))
        return "250 Message accepted for delivery"


class _CountingReader:
    """The connection's reader during DATA: holds at the "data" gate once
    ``hold_after`` bytes of the mail have come in (the rest still in flight)."""

    def __init__(self, reader: Any, handler: Handler) -> None:
        self._reader, self._handler, self._got = reader, handler, 0
        self.held: Gate | None = None

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        line: bytes = await self._reader.readuntil(separator)
        self._got += len(line)
        if self._got >= self._handler.hold_after and self.held is None:
            self.held = self._handler.gates.take("data")
            if self.held is not None:
                await asyncio.to_thread(self.held.hold)
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


class _HoldingSMTP(SMTP):
    async def smtp_DATA(self, arg: str) -> None:
        handler = self.event_handler
        reader = self._reader
        counting = None
        if isinstance(handler, Handler) and handler.gates.armed("data"):
            counting = _CountingReader(reader, handler)
            # a proxy of aiosmtpd's StreamReader (private, typed as that class)
            self._reader = counting  # type: ignore[assignment]
        try:
            await super().smtp_DATA(arg)
        finally:
            self._reader = reader
            # read to the end (and taken) or cut off: the mail is what it is now
            if counting is not None and counting.held is not None:
                counting.held.done.set()


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _HoldingSMTP(self.handler, **self.SMTP_kwargs)


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
        self.controller = _Controller(
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

    def hold(self, point: str, *, after_bytes: int = 0) -> Gate:
        """Stop the next send at ``point`` until the gate is released:
        ``"rcpt"`` (connected and logged in, nothing of the mail sent yet),
        ``"data"`` (``after_bytes`` of the mail taken, the rest not read) or
        ``"accepted"`` (the whole mail taken and recorded, the 250 not yet
        answered)."""
        assert point in ("rcpt", "data", "accepted"), point
        if point == "data":
            self.handler.hold_after = after_bytes
        return self.handler.gates.arm(point)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.handler.gates.release_all()
        self.controller.stop()
