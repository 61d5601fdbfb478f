"""The inbox's line for what concerns the agent themself: unread @mentions
(``@`` lists them) and whether they are marked away (``Z``). Hidden while
there is neither, so the inbox keeps its rows. The app fills it after each
alerts round (:mod:`omnitui.tui.alerting`)."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static


class MentionCount(Static):
    """``@ 2 unread mentions (@ lists them)`` and ``AWAY``."""

    unread: reactive[int] = reactive(0)
    away: reactive[bool] = reactive(False)

    def on_mount(self) -> None:
        self.display = bool(self.unread or self.away)

    def show(self, unread: int, away: bool) -> None:
        self.unread, self.away = unread, away
        self.display = bool(unread or away)

    def render(self) -> Text:
        text = Text()
        if self.away:
            text.append(" AWAY ", style="bold reverse yellow")
            text.append(" alerts wait for you (Z: back)  ", style="yellow")
        if self.unread:
            many = "s" if self.unread != 1 else ""
            text.append(f"@ {self.unread} unread mention{many}", style="bold")
            text.append(" (@ lists them)", style="dim")
        return text
