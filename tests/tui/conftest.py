"""Fixtures for the console tests: a Runtime on a temporary SQLite store,
seeded with fixed messages at fixed times (not the demo provider's
now-relative backlog), and an app with a frozen clock and still cursors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import select
from textual.app import App
from textual.pilot import Pilot

from omnitui import services
from omnitui.runtime import Runtime, demo_config
from omnitui.services.ingest import ingest
from omnitui.tui.app import OmniApp, make_app
from omnitui.tui.clock import Clock
from providers.base import Channel, InboundMessage
from storage.db import Store
from storage.models import Conversation, Message, message_t
from storage.queries import list_customers
from tests.helpers import T0, batch, chat, email, sms

NOW = T0 + timedelta(hours=2)
OUR_EMAIL = "support@demo.omnitui.invalid"
OUR_NUMBER = "+14155550123"
OUR_BOT = "omnitui_demo_bot"

HOSTILE_NAME = "[bold]Mallory[/bold]"
HOSTILE_SUBJECT = "[link=https://evil.example]click me[/link] \x1b[31mRED\x1b]0;pwned\x07"
HOSTILE_BODY = "Hi [bold]team[/bold] \x1b[2J\x1b[H cleared? [red]no[/red]"


class SnapCompare(Protocol):
    """pytest-textual-snapshot's ``snap_compare`` fixture, as the tests call it
    (the plugin's own annotation names only its path argument)."""

    def __call__(
        self,
        app: App[Any],
        *,
        terminal_size: tuple[int, int] = ...,
        run_before: Callable[[Pilot[Any]], Awaitable[None] | None] | None = None,
    ) -> bool: ...


#: the conversations :func:`seed` makes, by id
DORA_CONV = 1
ANN_EMAIL_CONV = 2
ANN_SMS_CONV = 3
BOB_CONV = 4
MALLORY_CONV = 5
FAY_CONV = 6
CARL_CONV = 7


def mail(
    ext: str, sender: str, name: str, minutes: float, subject: str, body: str, **more: Any
) -> InboundMessage:
    """An e-mail to the demo account."""
    return email(
        ext, sender, name=name, minutes=minutes, subject=subject, body=body, ours=OUR_EMAIL, **more
    )


def phone(
    ext: str, sender: str, minutes: float, body: str, channel: Channel = "sms"
) -> InboundMessage:
    """An SMS or WhatsApp message to the demo account's number."""
    prefix = "whatsapp:" if channel == "whatsapp" else ""
    return sms(
        ext,
        prefix + sender,
        minutes=minutes,
        body=body,
        channel=channel,
        ours=prefix + OUR_NUMBER,
    )


def fixed_messages() -> tuple[InboundMessage, ...]:
    ann1 = "<ann1@mail.example.com>"
    return (
        mail(
            "dora1",
            "dora@example.com",
            "Dora Old",
            -120,
            "Invoice copy",
            "Could you send me a copy of invoice 1042?",
        ),
        mail(
            "ann1",
            "ann@example.com",
            "Ann Example",
            0,
            "Refund please",
            "Hello,\nI would like a refund for order 1234.\n\n> earlier quoted text",
        ),
        phone("SM-ann-1", "+14155550100", 10, "Also: the parcel never arrived."),
        mail(
            "ann2",
            "ann@example.com",
            "Ann Example",
            30,
            "Re: Refund please",
            "Any news on my refund?",
            in_reply_to=ann1,
            references=(ann1,),
        ),
        phone("WA-bob-1", "+14155550177", 40, "Is the shop open on Sunday?", "whatsapp"),
        mail("evil1", "mallory@example.com", HOSTILE_NAME, 50, HOSTILE_SUBJECT, HOSTILE_BODY),
        mail("fay1", "fail@example.com", "Fay Fail", 60, "Please fail", "Write back to me."),
        chat(
            "tg-1",
            "555000",
            minutes=70,
            body="Hi from Telegram, Carl here",
            name="Carl Chat",
            ours=OUR_BOT,
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


def outgoing(seeded: Seeded) -> list[Message]:
    with seeded.store.read() as session:
        return list(
            session.execute(
                select(Message).where(message_t.c.direction == "out").order_by(message_t.c.id)
            ).scalars()
        )


def conversation(seeded: Seeded, conv_id: int) -> Conversation:
    with seeded.store.read() as session:
        conv = session.get(Conversation, conv_id)
        assert conv is not None
        return conv


def seed(store: Store) -> dict[str, int]:
    """Ingest the fixed messages; Ann's SMS number is merged into Ann."""
    ingest(store, "demo", batch(*fixed_messages(), cursor=None), default_region="US")
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


@pytest.fixture(autouse=True)
def _window_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The services judge WhatsApp's 24-hour window at the consoles' frozen
    NOW too (the seed's messages are from T0), as the CLI run beside them."""
    from omnitui.services import whatsapp_window

    monkeypatch.setattr(whatsapp_window, "utcnow", lambda: NOW)


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
