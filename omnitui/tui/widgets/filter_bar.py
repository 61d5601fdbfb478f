"""The inbox's views as one line: each with its key and its live count, the
current one highlighted, then a typed query in force and the marks.

``1 open 5  2 mine 1  3 unassigned 4 … 8 vip 2  │ l: tag:vip -status:resolved 3  ● 2 marked``

Counts come from a worker (the screen asks after every change the console
sees, see :mod:`omnitui.tui.screens.inbox`); until the first answer a view
shows no number. A view that can be neither listed nor counted (its query
names an agent nobody on the team has) shows :data:`REFUSED` for its count;
its key tells why. When the line is wider than the bar, it is shown from a
view such that the current one is in sight, with ``…`` where views are cut.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from omnitui.services.views import COUNT_LIMIT
from omnitui.tui.format import plain

#: A typed query is shown cut to this many cells.
QUERY_CELLS = 40
#: The count of a view that cannot be counted (see the module).
REFUSED = "!"


def compact(count: int) -> str:
    """A count in at most four cells: ``7``, ``950``, ``1.2k``, ``12k``, ``1.0M``;
    past the count's limit (it stops there, see ``count_views``), ``10k+``."""
    if count > COUNT_LIMIT:
        return f"{compact(COUNT_LIMIT)}+"
    if count < 1000:
        return str(count)
    if count < 10_000:
        return f"{count // 100 / 10:.1f}k"  # rounded down: 9,999 is not 10.0k
    if count < 1_000_000:
        return f"{count // 1000}k"
    return f"{count // 100_000 / 10:.1f}M"


class FilterBar(Static):
    """The views (key, name) with their counts; the screen sets what is shown."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        #: (key as shown, name) of every view, in order
        self.views: list[tuple[str, str]] = []
        self.counts: dict[str, int] = {}
        #: why a view has no count, by name (see the module)
        self.problems: dict[str, str] = {}
        #: the name of the view shown (None while a typed query is in force)
        self.current: str | None = "open"
        #: a typed query in force (its text), its count, and the key that asks for one
        self.typed: str | None = None
        self.query_count: int | None = None
        self.query_key = "l"
        self.marked = 0
        self.shown = 0
        self.more = False

    def set_views(self, views: Sequence[tuple[str, str]]) -> None:
        self.views = list(views)
        self.refresh()

    def show_counts(
        self,
        counts: Mapping[str, int],
        query_count: int | None = None,
        problems: Mapping[str, str] | None = None,
    ) -> None:
        self.counts = dict(counts)
        self.query_count = query_count
        self.problems = dict(problems or {})
        self.refresh()

    def show_state(
        self, current: str | None, query: str | None, marked: int, shown: int, more: bool
    ) -> None:
        self.current, self.typed = current, query
        self.marked, self.shown, self.more = marked, shown, more
        self.refresh()

    # -- drawing -----------------------------------------------------------------

    def _segment(self, key: str, name: str) -> Text:
        text = Text()
        text.append(plain(key), style="dim")
        label = f" {plain(name)}"
        if name in self.counts:
            label += f" {compact(self.counts[name])}"
        elif name in self.problems:
            label += f" {REFUSED}"
        text.append(f"{label} ", style="bold reverse" if name == self.current else "")
        return text

    def _tail(self) -> Text:
        text = Text()
        if self.typed is not None:
            shown = plain(self.typed)
            if cell_len(shown) > QUERY_CELLS:
                shown = shown[: QUERY_CELLS - 1] + "…"
            text.append("│ ", style="dim")
            text.append(f"{self.query_key}: ", style="dim")
            count = f" {compact(self.query_count)}" if self.query_count is not None else ""
            text.append(f"{shown}{count} ", style="bold reverse")
            text.append(" ")
        if self.marked:
            text.append(f"● {self.marked} marked ", style="bold")
        known = self.query_count if self.typed is not None else self.counts.get(self.current or "")
        if known is None or self.shown < known:
            text.append(f"({self.shown}{'+' if self.more else ''})", style="dim")
        return text

    def render(self) -> Text:
        segments = [self._segment(key, name) for key, name in self.views]
        tail = self._tail()
        width = self.content_size.width or 10_000
        room = width - tail.cell_len
        at = next((n for n, (_k, name) in enumerate(self.views) if name == self.current), 0)
        first = 0
        # start late enough that the current view is in sight ("…" costs a cell)
        while first < at and sum(s.cell_len + 1 for s in segments[first : at + 1]) + 1 > room:
            first += 1
        text = Text(no_wrap=True, overflow="ellipsis")
        if first:
            text.append("…", style="dim")
        for n, segment in enumerate(segments[first:], start=first):
            more = n + 1 < len(segments)
            if text.cell_len + segment.cell_len + (1 if more else 0) > room:
                text.append("…", style="dim")
                break
            text.append_text(segment)
            text.append(" ")
        text.append_text(tail)
        return text
