"""Fixtures for the console tests: a Runtime on a temporary SQLite store,
seeded with fixed messages at fixed times (not the demo provider's
now-relative backlog), and an app with a frozen clock and still cursors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from omnitui import services
from omnitui.runtime import Runtime, demo_config
from omnitui.services.ingest import ingest
from omnitui.tui.app import OmniApp, make_app
from omnitui.tui.clock import Clock
from providers.base import InboundMessage, PollBatch
from storage.db import Store
from storage.queries import list_customers

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=2)
OUR_EMAIL = "support@demo.omnitui.invalid"
OUR_NUMBER = "+14155550123"
OUR_BOT = "omnitui_demo_bot"

HOSTILE_NAME = "[bold]Mallory[/bold]"
HOSTILE_SUBJECT = "[link=https://evil.example]click me[/link] \x1b[31mRED\x1b]0;pwned\x07"
HOSTILE_BODY = "Hi [bold]team[/bold] \x1b[2J\x1b[H cleared? [red]no[/red]"


def _mail(
    ext: str,
    sender: str,
    name: str,
    minutes: float,
    subject: str,
    body: str,
    *,
    reply_to: str | None = None,
) -> InboundMessage:
    mid = f"<{ext}@mail.example.com>"
    return InboundMessage(
        external_id=mid,
        channel="email",
        from_address=sender,
        to_address=OUR_EMAIL,
        sent_at=T0 + timedelta(minutes=minutes),
        body_text=body,
        from_name=name,
        subject=subject,
        message_id=mid,
        in_reply_to=reply_to,
        references=(reply_to,) if reply_to else (),
    )


def _phone(
    ext: str, sender: str, minutes: float, body: str, channel: str = "sms"
) -> InboundMessage:
    return InboundMessage(
        external_id=ext,
        channel=channel,  # type: ignore[arg-type]
        from_address=sender if channel != "whatsapp" else f"whatsapp:{sender}",
        to_address=OUR_NUMBER if channel != "whatsapp" else f"whatsapp:{OUR_NUMBER}",
        sent_at=T0 + timedelta(minutes=minutes),
        body_text=body,
    )


def fixed_messages() -> tuple[InboundMessage, ...]:
    return (
        _mail(
            "dora1",
            "dora@example.com",
            "Dora Old",
            -120,
            "Invoice copy",
            "Could you send me a copy of invoice 1042?",
        ),
        _mail(
            "ann1",
            "ann@example.com",
            "Ann Example",
            0,
            "Refund please",
            "Hello,\nI would like a refund for order 1234.\n\n> earlier quoted text",
        ),
        _phone("SM-ann-1", "+14155550100", 10, "Also: the parcel never arrived."),
        _mail(
            "ann2",
            "ann@example.com",
            "Ann Example",
            30,
            "Re: Refund please",
            "Any news on my refund?",
            reply_to="<ann1@mail.example.com>",
        ),
        _phone("WA-bob-1", "+14155550177", 40, "Is the shop open on Sunday?", "whatsapp"),
        _mail("evil1", "mallory@example.com", HOSTILE_NAME, 50, HOSTILE_SUBJECT, HOSTILE_BODY),
        _mail("fay1", "fail@example.com", "Fay Fail", 60, "Please fail", "Write back to me."),
        InboundMessage(
            external_id="tg-1",
            channel="telegram",
            from_address="555000",
            to_address=OUR_BOT,
            sent_at=T0 + timedelta(minutes=70),
            body_text="Hi from Telegram, Carl here",
            from_name="Carl Chat",
            thread_id="555000",
        ),
    )


@dataclass
class Seeded:
    runtime: Runtime
    store: Store
    customers: dict[str, int]  # name -> id


def customer_id(store: Store, query: str) -> int:
    with store.read() as session:
        rows = list_customers(session, query=query)
    assert len(rows) == 1, rows
    return rows[0].id


def seed(store: Store) -> dict[str, int]:
    """Ingest the fixed messages; Ann's SMS number is merged into Ann."""
    ingest(store, "demo", PollBatch(messages=fixed_messages(), cursors={}), default_region="US")
    ids = {
        "ann": customer_id(store, "ann@example.com"),
        "ann_sms": customer_id(store, "+14155550100"),
        "bob": customer_id(store, "+14155550177"),
        "mallory": customer_id(store, "mallory@example.com"),
        "fay": customer_id(store, "fail@example.com"),
        "carl": customer_id(store, "555000"),
        "dora": customer_id(store, "dora@example.com"),
    }
    services.merge_customers(store, ids["ann"], ids["ann_sms"], "seed")
    return ids


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime(
        config=demo_config(agent="alice"),
        db_url=f"sqlite:///{tmp_path}/t.db",
        data_dir=tmp_path,
        demo=True,
    )
    try:
        yield rt
    finally:
        rt.close()


@pytest.fixture
def seeded(runtime: Runtime) -> Seeded:
    store = runtime.store()
    return Seeded(runtime, store, seed(store))


def make_test_app(runtime: Runtime) -> OmniApp:
    """The app as the CLI builds it, but with no polling, a frozen clock and still cursors."""
    return make_app(runtime, poll=False, clock=Clock(fixed=NOW, tz=UTC), blink=False)


@pytest.fixture
def app(seeded: Seeded) -> OmniApp:
    return make_test_app(seeded.runtime)

