"""Builders shared by the tests: inbound messages with fixed times."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from providers.base import (
    Channel,
    InboundMessage,
    OutboundMessage,
    PermanentError,
    PollBatch,
    SendResult,
    TransientError,
    UnconfirmedError,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


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
    direction: str = "in",
    **extra: Any,
) -> InboundMessage:
    mid = f"<{ext}@mail.example.com>"
    ours = "support@shop.example"
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
        direction=direction,  # type: ignore[arg-type]
        **extra,
    )


def sms(
    ext: str,
    sender: str = "+14155550100",
    *,
    minutes: float = 0,
    body: str = "Where is my order?",
    channel: Channel = "sms",
    direction: str = "in",
    ours: str = "+14155550199",
) -> InboundMessage:
    return InboundMessage(
        external_id=ext,
        channel=channel,
        from_address=sender if direction == "in" else ours,
        to_address=ours if direction == "in" else sender,
        sent_at=at(minutes),
        body_text=body,
        direction=direction,  # type: ignore[arg-type]
    )


def batch(*messages: InboundMessage, cursor: str = "c1") -> PollBatch:
    return PollBatch(messages=tuple(messages), cursors={"": cursor})


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
        return "support@shop.example" if channel == "email" else "+14155550199"

    def poll(self, cursors: Mapping[str, str]) -> PollBatch:
        return self.batches.pop(0) if self.batches else PollBatch(cursors=dict(cursors))

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

    def close(self) -> None:
        pass
