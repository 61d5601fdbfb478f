"""The inbox filters as one line of text, the current one highlighted."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from omnitui.tui.bindings import FILTER_KEYS


class FilterBar(Static):
    """``1 open  2 mine  3 unassigned …``; keys 1-7 or f / F choose."""

    current: reactive[str] = reactive("open")
    shown: reactive[int] = reactive(0)
    more: reactive[bool] = reactive(False)

    def render(self) -> Text:
        text = Text()
        for n, name in enumerate(FILTER_KEYS, start=1):
            style = "bold reverse" if name == self.current else ""
            text.append(f"{n}", style="dim")
            text.append(f" {name} ", style=style)
            text.append(" ")
        text.append(f"({self.shown}{'+' if self.more else ''})", style="dim")
        return text
