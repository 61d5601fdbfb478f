"""Twilio polling speed against the SDK's own listing.

Seeds N inbound messages in the local Messages API of the tests, then in
the same run: (floor) iterates ``client.messages.list`` over them with the
bare SDK, and (omnitui) polls them with the twilio provider into an empty
SQLite store. Prints messages/s of both and the ratio (target >= 0.5).

    .venv/bin/python benchmarks/twilio_poll.py [--messages 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.table import Figure, print_table
from omnitui.services.sync import sync_once
from providers.settings import TwilioSettings
from providers.twilio import PAGE_SIZE, TwilioProvider
from storage.db import open_store
from tests.peers.twilio import TwilioServer

OURS = "+14155550199"


def measure(messages: int = 10_000) -> Figure:
    server = TwilioServer()
    server.start()
    t0 = datetime.now(UTC) - timedelta(days=1)
    for n in range(messages):
        server.add_inbound(
            f"+1415555{n % 5000:04d}",
            OURS,
            f"message {n} about my order",
            at=t0 + timedelta(seconds=n),
        )
    settings = TwilioSettings(
        name="sms",
        account_sid=server.account_sid,
        auth_token_env="X",
        phone_number=OURS,
        api_base=server.url,
    )
    provider = TwilioProvider("sms", settings, {"auth_token": server.auth_token})
    try:
        api = provider._client()
        start = time.perf_counter()
        listed = len(
            api.messages.list(
                to=OURS, date_sent_after=t0 - timedelta(minutes=5), page_size=PAGE_SIZE
            )
        )
        floor = listed / (time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(f"sqlite:///{tmp}/t.db", Path(tmp))
            start = time.perf_counter()
            report = sync_once(store, provider)
            ours = report.stored / (time.perf_counter() - start)
            store.close()
    finally:
        server.stop()
    assert listed == messages and report.stored == messages, (listed, report)
    return Figure(
        f"Twilio poll + ingest, {messages:,} SMS",
        ours,
        floor,
        "msg/s",
        min_ratio=0.5,
        floor_is="bare Twilio SDK messages.list over the same pages",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    print_table([measure(args.messages)])


if __name__ == "__main__":
    main()
