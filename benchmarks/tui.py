"""How fast the console is on a big store, next to bare Textual's floor.

Builds a store of 100,000 messages from 10,000 customers (one of whom has
2,000 messages) through ``omnitui.ingest.ingest``, then measures headless
(``App.run_test``), in one run:

* time to the first interactive inbox frame (app built -> inbox rows shown
  and the app idle), against an app that mounts an empty DataTable;
* median time to open the customer with 2,000 messages (message posted ->
  customer view mounted, timeline filled, app idle);
* median inbox keypress-to-refresh: ``j`` (cursor move) against the same in
  a bare 100-row DataTable, and a filter key (the page read again and every
  row replaced) against replacing every row of that bare DataTable.

Targets: first frame < 1 s, open customer < 150 ms, keypress < 30 ms.

    .venv/bin/python benchmarks/tui.py [--messages 100000] [--customers 10000]
        [--big 2000] [--db PATH (reuse a store built before)] [--repeat 15]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.text import Text
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import DataTable

from benchmarks.ingest import WORDS  # the same vocabulary as the ingest benchmark
from omnitui.ingest import ingest
from omnitui.runtime import Runtime, demo_config
from omnitui.tui.app import make_app
from omnitui.tui.messages import OpenCustomer
from omnitui.tui.screens.customer import CustomerScreen
from omnitui.tui.screens.inbox import InboxScreen
from providers.base import InboundMessage, PollBatch
from storage.db import open_store
from storage.queries import list_customers

SIZE = (160, 48)
BIG_ADDRESS = "big.customer@example.com"


def _body(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def synthetic(messages: int, customers: int, big: int, seed: int = 1) -> list[InboundMessage]:
    """Messages oldest first: ``big`` from one customer, the rest spread over the others."""
    rng = random.Random(seed)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    out: list[InboundMessage] = []
    for i in range(messages):
        at = t0 + timedelta(seconds=i * 20)
        # every (messages / big)-th message is the big customer's
        c = -1 if big and i % (messages // big) == 0 else rng.randrange(1, customers)
        if c == -1 or c % 2 == 0:
            sender = BIG_ADDRESS if c == -1 else f"customer{c}@example.com"
            mid = f"<m{i}@bench.example>"
            subject = f"Order {rng.randrange(20) if c == -1 else c} question"
            out.append(
                InboundMessage(
                    external_id=mid,
                    channel="email",
                    from_address=sender,
                    to_address="support@demo.omnitui.invalid",
                    sent_at=at,
                    body_text=_body(rng, 40),
                    from_name="Big Customer" if c == -1 else f"Customer {c}",
                    subject=subject,
                    message_id=mid,
                )
            )
        else:
            out.append(
                InboundMessage(
                    external_id=f"SM{i:032x}",
                    channel="sms",
                    from_address=f"+1415{5550000 + c:07d}"[:12],
                    to_address="+14155550123",
                    sent_at=at,
                    body_text=_body(rng, 12),
                )
            )
    return out


def build_store(path: Path, messages: int, customers: int, big: int) -> None:
    store = open_store(f"sqlite:///{path}", path.parent / "data")
    msgs = synthetic(messages, customers, big)
    start = time.perf_counter()
    for i in range(0, len(msgs), 2000):
        ingest(store, "demo", PollBatch(messages=tuple(msgs[i : i + 2000]), cursors={}))
    print(f"built {len(msgs):,} messages in {time.perf_counter() - start:.1f} s", flush=True)
    store.close()


class Floor(App[None]):
    """Bare Textual: one DataTable, optionally with rows (8 columns, like the
    inbox); ``r`` replaces every row, as a filter change does."""

    BINDINGS = [("r", "replace", "replace rows")]

    def __init__(self, rows: int = 0) -> None:
        super().__init__()
        self.rows = rows
        self.generation = 0

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*"abcdefgh")
        self.action_replace()
        table.focus()

    def action_replace(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.generation += 1
        g = self.generation
        table.add_rows(
            [Text(x) for x in (" ", "EML", "2h", f"Customer {i}", "open", "-", "09:00")]
            + [Text(f"Subject {g} of conversation {i} " * 2)]
            for i in range(self.rows)
        )


class Frames:
    """Times at which the app painted a frame (its ``_display`` hook), so a
    measurement ends at the last frame an action caused, not at the end of
    the test pilot's idle wait (which sleeps in 20 ms steps)."""

    def __init__(self, app: App[None]) -> None:
        self.times: list[float] = []
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            self.times.append(time.perf_counter())
            original(screen, renderable)

        app._display = display  # type: ignore[method-assign]

    def since(self, start: float) -> float:
        """Seconds from ``start`` to the last frame painted after it."""
        after = [t for t in self.times if t >= start]
        return (after[-1] if after else start) - start


async def _press(pilot: Pilot[None], frames: Frames, key: str) -> float:
    start = time.perf_counter()
    await pilot.press(key)
    return frames.since(start)


async def _floor(repeat: int) -> tuple[float, float, float]:
    """First frame of an empty DataTable; cursor move and full row replacement in a
    100-row one."""
    start = time.perf_counter()
    app = Floor(0)
    frames = Frames(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        first = frames.since(start)
    app = Floor(100)
    frames = Frames(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        keys = [await _press(pilot, frames, "down" if n % 2 else "up") for n in range(repeat)]
        replace = [await _press(pilot, frames, "r") for n in range(repeat // 3)]
    return first, statistics.median(keys), statistics.median(replace)


def _runtime(db: Path, data: Path) -> Runtime:
    return Runtime(
        config=demo_config(agent="alice"), db_url=f"sqlite:///{db}", data_dir=data, demo=True
    )


async def _console(db: Path, data: Path, repeat: int) -> dict[str, float]:
    rt = _runtime(db, data)
    with rt.store().read() as session:
        (big,) = list_customers(session, query=BIG_ADDRESS)
    results: dict[str, float] = {}
    start = time.perf_counter()
    app = make_app(rt, poll=False)
    frames = Frames(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, InboxScreen) and screen.table.row_count > 0
        results["first inbox frame"] = frames.since(start)
        keys = [await _press(pilot, frames, "j" if n % 2 else "k") for n in range(repeat * 3)]
        results["inbox keypress (j/k)"] = statistics.median(keys)
        keys = [await _press(pilot, frames, "7" if n % 2 else "1") for n in range(repeat)]
        results["inbox filter key (re-query)"] = statistics.median(keys)
        opens = []
        for _ in range(repeat):
            t = time.perf_counter()
            app.post_message(OpenCustomer(big.id))
            await pilot.pause()
            customer = app.screen
            assert isinstance(customer, CustomerScreen) and customer.timeline.option_count > 0
            opens.append(frames.since(t))
            await pilot.press("escape")
            await pilot.pause()
        results["open customer (2,000 messages)"] = statistics.median(opens)
    rt.close()
    return results


async def measure(db: Path, data: Path, repeat: int) -> None:
    floor_frame, floor_key, floor_replace = await _floor(repeat * 3)
    ours = await _console(db, data, repeat)
    rows = [
        ("first inbox frame", ours["first inbox frame"], floor_frame, 1.0),
        ("open customer (2,000 messages)", ours["open customer (2,000 messages)"], None, 0.150),
        ("inbox keypress (j/k)", ours["inbox keypress (j/k)"], floor_key, 0.030),
        ("inbox filter key (re-query)", ours["inbox filter key (re-query)"], floor_replace, 0.030),
    ]
    print(f"{'what':<34}{'omnitui':>10}{'floor':>10}{'target':>10}  ok")
    for name, value, floor, target in rows:
        floor_text = f"{floor * 1000:>8.1f}ms" if floor is not None else f"{'-':>10}"
        ok = "yes" if value < target else "NO"
        print(f"{name:<34}{value * 1000:>8.1f}ms{floor_text}{target * 1000:>8.0f}ms  {ok}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--db", type=Path, help="reuse (or build once into) this SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "bench.db"
        if not db.exists():
            build_store(db, args.messages, args.customers, args.big)
        asyncio.run(measure(db, Path(tmp) / "data", args.repeat))


if __name__ == "__main__":
    main()
