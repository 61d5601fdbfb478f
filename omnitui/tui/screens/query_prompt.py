"""The inbox's filter prompt: type a query (``tag:vip -status:resolved
"refund"``), enter narrows the inbox to it, esc leaves the inbox as it was.

The query is parsed here, on each enter, by the one parser
(:func:`omnitui.query.parse_query`, pure: no store is read). A malformed
query keeps its text and shows what is wrong under it, a caret under the
bad term's columns::

    status:opne tag:vip
           ^^^^ unknown status 'opne' …

The echo line is drawn by this screen (not the input's own scrolled view),
so the caret is always under the right column, even for a long query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from omnitui.tui.bindings import PICK_BINDINGS, key_of
from omnitui.tui.format import plain

#: What a check says of a query: None when it is good, else (column, length, why).
Problem = tuple[int, int, str] | None


def _echo(text: str) -> str:
    """``text`` with each unprintable character shown as ``·``: one character
    for one, so the parser's columns stay the columns on screen."""
    return "".join(c if c.isprintable() else "·" for c in text)


def caret_lines(text: str, column: int, length: int, why: str, width: int) -> Text:
    """``text`` and, under it, ``^`` under its characters ``column`` ..
    ``column+length``, then ``why``; shown from a character that keeps the
    carets within ``width`` cells (0: no limit)."""
    shown = _echo(text)
    column = max(0, min(column, len(shown)))
    length = max(1, min(length, len(shown) - column) if column < len(shown) else 1)
    start = 0
    if width > 10:
        while start < column and cell_len(shown[start : column + length]) + 1 > width - 1:
            start += 1
    out = Text(no_wrap=True, overflow="ellipsis")
    if start:
        out.append("…", style="dim")
        out.append(shown[start + 1 :])
    else:
        out.append(shown)
    out.append("\n")
    out.append(" " * cell_len(shown[start:column]), style="")
    out.append("^" * max(1, cell_len(shown[column : column + length])), style="bold red")
    out.append("\n")
    out.append(plain(why), style="bold red")
    return out


class QueryScreen(ModalScreen[str | None]):
    """Ask for a query; dismisses with its text once it parses (``""``: no
    query, the view alone), or ``None`` on escape."""

    BINDINGS: ClassVar[list[BindingType]] = [*PICK_BINDINGS]

    def __init__(
        self,
        check: Callable[[str], Problem],
        *,
        initial: str = "",
        blink: bool = True,
        title: str = "Narrow the inbox",
        problem: Problem = None,
    ) -> None:
        super().__init__(classes="pick")
        self.check = check
        self.initial = initial
        self.blink = blink
        self.title_text = title
        self.problem: Problem = problem
        #: what the error line shows (the echo, the carets, why), or None
        self.error_text: Text | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="pick-box"):
            yield Static(Text(self.title_text, style="bold"), id="pick-title")
            field = Input(
                value=self.initial,
                placeholder='status:open tag:billing -tag:vip assignee:me "exact words" OR …',
                id="query-input",
                select_on_focus=False,  # the view's query is there to be narrowed
            )
            field.cursor_blink = self.blink
            yield field
            yield Static(id="query-error")
            yield Static(id="pick-hint")

    def on_mount(self) -> None:
        keymap = getattr(self.app, "keymap", {})
        self.query_one("#pick-hint", Static).update(
            Text(
                f"{key_of('pick.choose', keymap)}: narrow · {key_of('pick.cancel', keymap)}: "
                "cancel · empty: the view alone · f1: the terms",
                style="dim",
            )
        )
        self.query_one("#query-input", Input).focus()
        if self.problem is not None:  # found by a read (an assignee nobody has)
            self._show_problem(self.text, self.problem)

    def _show_problem(self, text: str, problem: tuple[int, int, str]) -> None:
        column, length, why = problem
        error = self.query_one("#query-error", Static)
        width = error.content_size.width or self.app.size.width - 8
        self.error_text = caret_lines(text, column, length, why, width)
        error.update(self.error_text)

    @property
    def text(self) -> str:
        return self.query_one("#query-input", Input).value

    @on(Input.Submitted, "#query-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_choose()

    def action_choose(self) -> None:
        text = self.text
        # parsed as typed, so the error's column is the column on screen
        problem = self.check(text) if text.strip() else None
        self.problem = problem
        error = self.query_one("#query-error", Static)
        if problem is None:
            error.update("")
            self.dismiss(text.strip())
            return
        self._show_problem(text, problem)

    def action_move(self, step: int) -> None:
        """Up/down do nothing here (no list)."""

    def action_cancel(self) -> None:
        self.dismiss(None)
