"""One row per figure: what omnitui took, what the floor took in the same
run, the ratio, and whether the target is met."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    what: str
    ours: float
    floor: float | None
    unit: str  # "ms", "s", "MB" (lower is better) or "msg/s" (higher is better)
    #: the bar: an absolute limit in ``unit``, or a least ratio to the floor
    limit: float | None = None
    min_ratio: float | None = None
    floor_is: str = ""

    @property
    def higher_is_better(self) -> bool:
        return self.unit.endswith("/s")

    @property
    def ratio(self) -> float | None:
        """The floor's share of our cost (1.0 = at the floor, 0.5 = twice the floor)."""
        if self.floor is None or not self.ours or not self.floor:
            return None
        return self.ours / self.floor if self.higher_is_better else self.floor / self.ours

    @property
    def target(self) -> str:
        if self.limit is not None:
            return f"{'>' if self.higher_is_better else '<'} {self.limit:g} {self.unit}"
        return f"ratio >= {self.min_ratio:g}" if self.min_ratio is not None else "-"

    @property
    def ok(self) -> bool | None:
        if self.limit is not None:
            return self.ours > self.limit if self.higher_is_better else self.ours < self.limit
        if self.min_ratio is not None and self.ratio is not None:
            return self.ratio >= self.min_ratio
        return None


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "msg/s":
        return f"{value:,.0f}"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def print_table(figures: Sequence[Figure]) -> None:
    """The table on stdout, then what each floor is."""
    width = max(len(f.what) for f in figures) + 2
    head = (
        f"{'figure':<{width}}{'omnitui':>10}{'floor':>10}  {'unit':<6}{'ratio':>6}  "
        f"{'target':<16}ok"
    )
    print(head)
    print("-" * len(head))
    for f in figures:
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "-"
        ok = {True: "yes", False: "NO", None: ""}[f.ok]
        print(
            f"{f.what:<{width}}{_value(f.ours, f.unit):>10}{_value(f.floor, f.unit):>10}  "
            f"{f.unit:<6}{ratio:>6}  {f.target:<16}{ok}"
        )
    print("\nfloors (measured in this run):")
    for f in figures:
        if f.floor_is:
            print(f"  {f.what}: {f.floor_is}")


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``fn`` in milliseconds, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def process_ms(argv: Sequence[str], repeat: int, env: dict[str, str] | None = None) -> float:
    """Median wall time of running ``argv`` to completion (a fresh process each time)."""

    def run() -> None:
        subprocess.run(argv, check=True, capture_output=True, env=env)

    return median_ms(run, repeat)


PYTHON = sys.executable
