"""The ``demo`` provider: believable support traffic with nowhere to go.

A few dozen simulated customers write over e-mail, SMS, WhatsApp and
Telegram; some reach us on two channels under the same name (merge them).
The first poll returns a backlog of threads spread over the last three days,
each later poll a few new messages. Everything follows from the seed and the
cursor, so polling again from an old cursor returns the same messages (the
store drops them as duplicates).

Sends are accepted, except to an address containing ``fail`` (a permanent
error) or ``flaky`` (a transient one), so the failure paths can be tried.
Some customers send files (an invoice PDF, a photo, a text file), small but
real, so a viewer opens them.
"""

from __future__ import annotations

import json
import random
import struct
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from providers import demo_content as content
from providers.base import (
    Channel,
    InboundAttachment,
    InboundMessage,
    OutboundMessage,
    PermanentError,
    PollBatch,
    SendLimits,
    SendResult,
    TransientError,
)

OUR_EMAIL = "support@demo.omnitui.invalid"
OUR_NUMBER = "+14155550123"
OUR_BOT = "omnitui_demo_bot"
BACKLOG_THREADS = 40
BACKLOG_SPAN = timedelta(days=3)
HOSTILE_THREAD = 5
#: Files are taken and dropped; the bounds are those of a typical channel.
LIMITS = SendLimits(max_attachment_bytes=10 * 1024 * 1024, max_total_bytes=25 * 1024 * 1024)


@dataclass(frozen=True)
class DemoCustomer:
    index: int
    name: str
    channels: tuple[Channel, ...]
    email: str
    phone: str
    telegram_id: str


def make_customers(seed: int, count: int) -> list[DemoCustomer]:
    rng = random.Random(seed)  # noqa: S311 - simulated data, not security
    names = list(content.NAMES)
    rng.shuffle(names)
    customers = []
    for i in range(count):
        name = names[i % len(names)] + ("" if i < len(names) else f" {i // len(names) + 1}")
        first = name.split()[0].lower()
        roll = rng.random()
        channels: tuple[Channel, ...]
        if roll < 0.45:
            channels = ("email",)
        elif roll < 0.6:
            channels = ("sms",)
        elif roll < 0.7:
            channels = ("whatsapp",)
        elif roll < 0.8:
            channels = ("telegram",)
        else:  # the same person on two channels: a merge candidate
            channels = ("email", rng.choice(("sms", "whatsapp")))
        customers.append(
            DemoCustomer(
                index=i,
                name=name,
                channels=channels,
                email=f"{first}.{i}@example.com" if first.isascii() else f"customer{i}@example.com",
                phone=f"+1415555{1000 + i:04d}",
                telegram_id=str(700_000_000 + i * 7919),
            )
        )
    return customers


def _ours(channel: Channel) -> str:
    return {"email": OUR_EMAIL, "telegram": OUR_BOT}.get(channel, OUR_NUMBER)


def demo_file(content_type: str, name: str, order: int) -> bytes:
    """A small but real file of ``content_type`` (so a viewer opens it)."""
    if content_type == "application/pdf":
        return _pdf(f"Invoice {order} - demo shop - VAT 20% (twice, by mistake)")
    if content_type == "image/png":
        return _png(16, 16, (200, 40, 40))
    return f"{name}\nOrder {order}: returned to sender (demo courier)\n".encode()


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _pdf(line: str) -> bytes:
    safe = line.replace("\\", "").replace("(", "").replace(")", "")
    stream = f"BT /F1 14 Tf 72 720 Td ({safe}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


class DemoProvider:
    kind: ClassVar[str] = "demo"
    channels: tuple[Channel, ...] = ("email", "sms", "whatsapp", "telegram")

    def __init__(
        self, account: str, settings: Any = None, secrets: Mapping[str, str] | None = None
    ):
        self.account = account
        seed = getattr(settings, "seed", None)
        self.seed = 7 if seed is None else int(seed)
        self.per_poll = int(getattr(settings, "messages_per_poll", 3))
        self.customers = make_customers(self.seed, int(getattr(settings, "customers", 30)))

    def address_for(self, channel: Channel) -> str:
        return _ours(channel)

    def check(self) -> str:
        return f"demo account: {len(self.customers)} simulated customers, nothing to connect to"

    def poll(self, cursors: Mapping[str, str]) -> PollBatch:
        state = json.loads(cursors[""]) if cursors.get("") else None
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        if state is None:
            epoch = now - BACKLOG_SPAN
            count = BACKLOG_THREADS * 3
            messages = [self._message(k, epoch + BACKLOG_SPAN * (k / count)) for k in range(count)]
            state = {"v": 1, "epoch": epoch.isoformat(), "n": count}
        else:
            start = int(state["n"])
            messages = [
                self._message(k, now - timedelta(seconds=self.per_poll - i))
                for i, k in enumerate(range(start, start + self.per_poll))
            ]
            state = {**state, "n": start + self.per_poll}
        return PollBatch(messages=tuple(messages), cursors={"": json.dumps(state, sort_keys=True)})

    def _message(self, k: int, at: datetime) -> InboundMessage:
        thread, step = divmod(k, 3)
        rng = random.Random(f"{self.seed}:{thread}")  # noqa: S311 - simulated data
        customer = self.customers[rng.randrange(len(self.customers))]
        channel = rng.choice(customer.channels)
        order = rng.randrange(10_000, 99_999)
        first = customer.name.split()[0]
        subject, opener, follow_up = rng.choice(content.TOPICS)
        attached = content.FILES.get(subject)
        ours_replies = rng.random() < 0.6
        if step == 0:
            text = opener if channel == "email" else rng.choice(content.SHORT)
        elif step == 1 and ours_replies:
            text = rng.choice(content.REPLIES)
        else:
            text = follow_up + (content.QUOTE if channel == "email" else "")
        body = text.format(name=first, order=order)
        subject = subject.format(order=order)
        if thread == HOSTILE_THREAD:
            subject, body = content.HOSTILE_SUBJECT, content.HOSTILE_BODY
        direction = "out" if step == 1 and ours_replies else "in"
        message = self._shape(customer, channel, k, thread, step, at, body, subject, direction)
        if attached is not None and attached[0] == step and direction == "in":
            name = attached[1].format(order=order)
            data = demo_file(attached[2], name, order)
            message = replace(message, attachments=(InboundAttachment(name, attached[2], data),))
        return message

    def _shape(
        self,
        customer: DemoCustomer,
        channel: Channel,
        k: int,
        thread: int,
        step: int,
        at: datetime,
        body: str,
        subject: str,
        direction: str,
    ) -> InboundMessage:
        theirs = {"email": customer.email, "telegram": customer.telegram_id}.get(
            channel, customer.phone
        )
        ours = _ours(channel)
        sender, recipient = (theirs, ours) if direction == "in" else (ours, theirs)
        ids = [f"<demo-{self.seed}-{thread * 3 + i}@demo.omnitui.invalid>" for i in range(step + 1)]
        is_email = channel == "email"
        return InboundMessage(
            external_id=ids[-1] if is_email else f"demo-{self.seed}-{k}",
            channel=channel,
            from_address=sender,
            to_address=recipient,
            sent_at=at,
            body_text=body,
            from_name=customer.name if direction == "in" else "Support",
            subject=(subject if step == 0 else f"Re: {subject}") if is_email else None,
            direction=direction,  # type: ignore[arg-type]
            thread_id=customer.telegram_id if channel == "telegram" else None,
            message_id=ids[-1] if is_email else None,
            in_reply_to=ids[-2] if is_email and step else None,
            references=tuple(ids[:-1]) if is_email else (),
            delivery_state="delivered" if direction == "out" else None,
        )

    def limits(self, channel: Channel) -> SendLimits:
        return LIMITS

    def send(self, message: OutboundMessage) -> SendResult:
        target = message.to_address.lower()
        if "fail" in target:
            raise PermanentError(
                f"demo: delivery to {message.to_address} refused "
                "(addresses containing 'fail' always fail)"
            )
        if "flaky" in target:
            raise TransientError(f"demo: {message.to_address} did not answer, try again later")
        return SendResult(
            external_id=message.message_id or f"demo-out-{uuid.uuid4().hex}",
            delivery_state="sent",
            sent_at=datetime.now(UTC),
        )

    def close(self) -> None:
        pass
