"""The one set of builders the tests share: inbound messages at fixed times,
poll batches, a scripted provider, a store opened for a moment, config files
and the CLI run in-process. Test files build their data with these, never
with a copy of their own."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from typer.testing import CliRunner, Result

from providers.base import (
    Channel,
    Direction,
    InboundMessage,
    OutboundMessage,
    PermanentError,
    PollBatch,
    SendLimits,
    SendResult,
    TransientError,
    UnconfirmedError,
)
from providers.settings import TWILIO_NO_FILES
from storage.db import Store, open_store
from storage.models import Message

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
#: the scripted shop's own address and number (the other side of its conversations)
SHOP_EMAIL = "support@shop.example"
SHOP_NUMBER = "+14155550199"
#: the largest file the scripted shop's e-mail takes
SCRIPTED_MAX_FILE = 1024 * 1024


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def email(
    ext: str,
    sender: str = "ann@example.com",
    *,
    minutes: float = 0,
    subject: str = "Refund please",
    body: str = "Hello, I would like a refund.",
    name: str | None = "Ann Example",
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    direction: Direction = "in",
    ours: str = SHOP_EMAIL,
    **extra: Any,
) -> InboundMessage:
    """An e-mail with Message-ID ``<ext@mail.example.com>``, ``minutes`` after T0."""
    mid = f"<{ext}@mail.example.com>"
    return InboundMessage(
        external_id=mid,
        channel="email",
        from_address=sender if direction == "in" else ours,
        to_address=ours if direction == "in" else sender,
        sent_at=at(minutes),
        body_text=body,
        from_name=name,
        subject=subject,
        message_id=mid,
        in_reply_to=in_reply_to,
        references=references,
        direction=direction,
        **extra,
    )


def sms(
    ext: str,
    sender: str = "+14155550100",
    *,
    minutes: float = 0,
    body: str = "Where is my order?",
    channel: Channel = "sms",
    direction: Direction = "in",
    ours: str = SHOP_NUMBER,
) -> InboundMessage:
    """An SMS (or WhatsApp: give both numbers their ``whatsapp:`` prefix) with id ``ext``."""
    return InboundMessage(
        external_id=ext,
        channel=channel,
        from_address=sender if direction == "in" else ours,
        to_address=ours if direction == "in" else sender,
        sent_at=at(minutes),
        body_text=body,
        direction=direction,
    )


def chat(
    ext: str,
    sender: str,
    *,
    minutes: float = 0,
    body: str = "Hi there",
    name: str | None = None,
    channel: Channel = "telegram",
    ours: str = "shop_bot",
) -> InboundMessage:
    """A chat message (Telegram, Matrix) in the sender's own chat."""
    return InboundMessage(
        external_id=ext,
        channel=channel,
        from_address=sender,
        to_address=ours,
        sent_at=at(minutes),
        body_text=body,
        from_name=name,
        thread_id=sender,
    )


def batch(*messages: InboundMessage, cursor: str | None = "c1", folder: str = "") -> PollBatch:
    """What one poll returns; ``cursor=None``: no cursor (a provider polling
    this account later starts from its own)."""
    cursors = {} if cursor is None else {folder: cursor}
    return PollBatch(messages=tuple(messages), cursors=cursors)


@dataclass
class ScriptedProvider:
    """A provider whose sends follow a script; it records what it was asked."""

    kind: ClassVar[str] = "scripted"
    account: str = "shop"
    channels: tuple[Channel, ...] = ("email", "sms", "whatsapp")
    # "ok" | "transient" | "permanent" | "unconfirmed"
    outcomes: list[str] = field(default_factory=list)
    sent: list[OutboundMessage] = field(default_factory=list)
    batches: list[PollBatch] = field(default_factory=list)

    def address_for(self, channel: Channel) -> str:
        return SHOP_EMAIL if channel == "email" else SHOP_NUMBER

    def poll(self, cursors: Mapping[str, str]) -> PollBatch:
        return self.batches.pop(0) if self.batches else PollBatch(cursors=dict(cursors))

    def limits(self, channel: Channel) -> SendLimits:
        if channel in ("sms", "whatsapp"):  # as Twilio: no files without a public URL
            return SendLimits(0, 0, can_attach=False, why_not=TWILIO_NO_FILES)
        return SendLimits(max_attachment_bytes=SCRIPTED_MAX_FILE, max_total_bytes=None)

    def send(self, message: OutboundMessage) -> SendResult:
        self.sent.append(message)
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if outcome == "transient":
            raise TransientError("server busy (429)", retry_after=1)
        if outcome == "permanent":
            raise PermanentError("mailbox unavailable (550)")
        if outcome == "unconfirmed":
            raise UnconfirmedError("read timed out after the request went out")
        return SendResult(external_id=message.message_id or f"SM{len(self.sent):04d}")

    def check(self) -> str:
        return "scripted account: nothing to connect to"

    def close(self) -> None:
        pass


# -- the store ----------------------------------------------------------------------


@contextmanager
def opened(url: str, data_dir: Path) -> Iterator[Store]:
    """The store at ``url`` (migrated if new), closed again after the block."""
    store = open_store(url, data_dir)
    try:
        yield store
    finally:
        store.close()


def message(store: Store, message_id: int) -> Message:
    """Message ``message_id`` as stored now."""
    with store.read() as s:
        found = s.get(Message, message_id)
    assert found is not None, message_id
    return found


# -- config files and the CLI -------------------------------------------------------

#: a config with the demo account, for alice
DEMO_CONFIG = """
[agent]
name = "alice"

[[accounts]]
name = "demo"
kind = "demo"
poll_interval = 30
"""

Run = Callable[..., Result]


def write_config(directory: Path, text: str = DEMO_CONFIG, name: str = "config.toml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def cli_runner(config: Path | None = None, db_url: str | None = None) -> Run:
    """The CLI run in-process (``--config``/``--db`` first when given), as
    ``run(*args, input=None, code=0, columns=None, env=None)``. It checks the
    exit code (``code=None``: any) and that no traceback reached the user."""
    from omnitui.cli import app

    runner = CliRunner()
    prefix = [*(["--config", str(config)] if config else []), *(["--db", db_url] if db_url else [])]

    def run(
        *args: str,
        input: str | None = None,
        code: int | None = 0,
        columns: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Result:
        environment = {**(env or {}), **({"COLUMNS": str(columns)} if columns else {})}
        result = runner.invoke(app, [*prefix, *args], input=input, env=environment or None)
        if code is not None:
            assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
        assert "Traceback" not in result.stdout + result.stderr
        return result

    return run


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)
