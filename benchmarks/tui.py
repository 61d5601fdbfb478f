"""How fast the console is on a big store, next to bare Textual's floor.

On a store filled by ``seed.py`` (the one big customer has 5,000 messages),
headless (``App.run_test``, 160x48), in one run:

* first interactive inbox frame: app built -> inbox rows painted and the app
  idle; floor: an app that mounts an empty DataTable;
* open the customer with 5,000 messages: message posted -> customer view
  mounted, the timeline's first page painted; floor: an app pushing a screen
  with an OptionList of as many entries;
* inbox filter key (the page read again and every row replaced) against
  replacing every row of a bare 100-row DataTable; ``j``/``k`` against a
  cursor move in it;
* resident memory (peak RSS) of a process that runs the console through all
  of that, against one that runs the bare apps.

    .venv/bin/python benchmarks/tui.py --db sqlite:///big.db [--repeat 15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.text import Text
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, OptionList

from benchmarks.table import PYTHON, Figure

SIZE = (160, 48)
BIG_ADDRESS = "big.customer@example.com"  # seed.py's customer with 5,000 messages
#: Timeline entries the console shows first (omnitui.tui.screens.customer),
#: repeated here so that the floor's process imports nothing of omnitui.
TIMELINE_PAGE = 40


class _TimelineFloor(Screen[None]):
    def compose(self) -> ComposeResult:
        entry = "Thanks for getting in touch. I have looked into your order. " * 3
        yield OptionList(*(Text(f"10:0{n % 10}  Customer  {entry}") for n in range(TIMELINE_PAGE)))


class Floor(App[None]):
    """Bare Textual: one DataTable (8 columns, like the inbox); ``r``
    replaces every row, as a filter change does; ``o`` pushes a screen with a
    timeline-sized OptionList, ``escape`` pops it."""

    BINDINGS = [("r", "replace", "replace rows"), ("o", "open", "open"), ("escape", "back", "")]

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

    def action_open(self) -> None:
        self.push_screen(_TimelineFloor())

    async def action_back(self) -> None:  # as App.action_back, which it replaces
        if len(self.screen_stack) > 1:
            self.pop_screen()


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

        app._display = display  # type: ignore[method-assign]  # a hook on this one app only

    def since(self, start: float) -> float:
        """Seconds from ``start`` to the last frame painted after it."""
        after = [t for t in self.times if t >= start]
        return (after[-1] if after else start) - start


async def _settle(pilot: Pilot[None]) -> None:
    """Until the app's workers are done (the console reads the store in them)
    and what they posted has been handled and painted."""
    for _ in range(200):
        await pilot.pause()
        running = [w for w in pilot.app.workers if not w.is_finished]
        if not running:
            await pilot.pause()
            return
        await asyncio.gather(*(w.wait() for w in running), return_exceptions=True)
    raise AssertionError("the app never settled")


async def _press(pilot: Pilot[None], frames: Frames, key: str) -> float:
    start = time.perf_counter()
    await pilot.press(key)
    await _settle(pilot)
    return frames.since(start)


async def floor(repeat: int) -> dict[str, float]:
    """The bare apps: first frame, cursor move, row replacement, screen push."""
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
        keys = [await _press(pilot, frames, "down" if n % 2 else "up") for n in range(repeat * 3)]
        replace = [await _press(pilot, frames, "r") for _ in range(repeat)]
        opens = []
        for _ in range(repeat):
            opens.append(await _press(pilot, frames, "o"))
            await _press(pilot, frames, "escape")
    return {
        "first": first,
        "key": statistics.median(keys),
        "filter": statistics.median(replace),
        "open": statistics.median(opens),
    }


async def console(url: str, data: Path, repeat: int) -> dict[str, float]:
    from omnitui.runtime import Runtime, demo_config
    from omnitui.tui.app import make_app
    from omnitui.tui.messages import OpenCustomer
    from omnitui.tui.screens import customer as customer_screen
    from omnitui.tui.screens.inbox import InboxScreen
    from storage.queries import list_customers

    assert customer_screen.TIMELINE_PAGE == TIMELINE_PAGE
    rt = Runtime(config=demo_config(agent="alice"), db_url=url, data_dir=data, demo=True)
    with rt.store().read() as session:
        (big,) = list_customers(session, query=BIG_ADDRESS)
    results: dict[str, float] = {}
    start = time.perf_counter()
    app = make_app(rt, poll=False)
    frames = Frames(app)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        screen = app.screen
        assert isinstance(screen, InboxScreen) and screen.table.row_count > 0
        results["first"] = frames.since(start)
        keys = [await _press(pilot, frames, "j" if n % 2 else "k") for n in range(repeat * 3)]
        results["key"] = statistics.median(keys)
        filters = [await _press(pilot, frames, "7" if n % 2 else "1") for n in range(repeat)]
        results["filter"] = statistics.median(filters)
        opens = []
        for _ in range(repeat):
            t = time.perf_counter()
            app.post_message(OpenCustomer(big.id))
            await _settle(pilot)
            customer = app.screen
            assert (
                isinstance(customer, customer_screen.CustomerScreen)
                and customer.timeline.option_count > 0
            )
            opens.append(frames.since(t))
            await pilot.press("escape")
            await _settle(pilot)
        results["open"] = statistics.median(opens)
    rt.close()
    return results


def _peak_rss(args: list[str]) -> float:
    """Peak resident memory (MB) of a fresh process running this file with ``args``."""
    out = subprocess.run(
        [PYTHON, __file__, *args], check=True, capture_output=True, text=True
    ).stdout
    return float(json.loads(out.splitlines()[-1])["rss_mb"])


def measure(url: str, repeat: int) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        bare = asyncio.run(floor(repeat))
        ours = asyncio.run(console(url, Path(tmp), repeat))
    rss = _peak_rss(["--rss-of", "console", "--db", url])
    rss_floor = _peak_rss(["--rss-of", "floor"])
    timings = (
        ("TUI first interactive frame", "first", 1000, "Textual app mounting an empty DataTable"),
        (
            "TUI open customer (5,000 messages)",
            "open",
            150,
            f"Textual screen push with a {TIMELINE_PAGE}-entry OptionList",
        ),
        (
            "TUI inbox filter switch",
            "filter",
            100,
            "replacing all rows of a bare 100-row DataTable",
        ),
        ("TUI inbox j/k", "key", 30, "cursor move in a bare 100-row DataTable"),
    )
    return [
        Figure(what, ours[key] * 1000, bare[key] * 1000, "ms", limit=limit, floor_is=floor)
        for what, key, limit, floor in timings
    ] + [
        Figure(
            "TUI peak RSS",
            rss,
            rss_floor,
            "MB",
            limit=300,
            floor_is="a process running the bare Textual apps above",
        )
    ]


def _rss_run(which: str, url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if which == "console":
            assert url is not None
            asyncio.run(console(url, Path(tmp), 3))
        else:
            asyncio.run(floor(3))
    # VmHWM: this process image's peak (ru_maxrss would carry over the
    # parent's peak through fork and exec)
    status = Path("/proc/self/status").read_text()
    peak_kb = next(
        int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")
    )
    print(json.dumps({"rss_mb": peak_kb / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", help="SQLAlchemy URL of a store filled by seed.py")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--rss-of", choices=("console", "floor"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_of:
        _rss_run(args.rss_of, args.db)
        return
    if not args.db:
        parser.error(
            "--db is required (fill one with benchmarks/seed.py, or use benchmarks/run.py)"
        )
    from benchmarks.table import print_table

    print_table(measure(args.db, args.repeat))


if __name__ == "__main__":
    main()
