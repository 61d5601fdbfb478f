"""Adding a tag: an input that completes the tags in use (tab or → takes the
suggestion), with the most used ones listed under it.

The tag is checked here as it will be stored (:func:`omnitui.tagnames.normalize_tag`:
trimmed, lower case, letters, digits and ``_ - / . :``), so a bad one is
refused before anything is written and the text stays to be fixed. The
tags in use were read by the screen that opens this one (in a worker);
every one of them is shown cleaned (:mod:`omnitui.tui.tagging`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static

from omnitui.tagnames import TagError, normalize_tag
from omnitui.tui.bindings import PICK_BINDINGS, TAG_PROMPT_BINDINGS, key_of
from omnitui.tui.tagging import TAG_STYLE, shown_tag

#: Tags in use listed under the input, most used first.
LISTED = 12


class TagScreen(ModalScreen[str | None]):
    """Ask for a tag; dismisses with it (normalized), or ``None`` on escape."""

    BINDINGS: ClassVar[list[BindingType]] = [*PICK_BINDINGS, *TAG_PROMPT_BINDINGS]

    def __init__(
        self, title: str, in_use: Sequence[tuple[str, int]], *, blink: bool = True
    ) -> None:
        super().__init__(classes="pick")
        self.title_text = title
        self.in_use = sorted(in_use, key=lambda tc: (-tc[1], tc[0]))
        self.blink = blink
        #: what the hint line says now (an error, after a refused tag)
        self.said = ""

    def compose(self) -> ComposeResult:
        names = [tag for tag, _count in self.in_use]
        with Vertical(id="pick-box"):
            yield Static(Text(self.title_text, style="bold"), id="pick-title")
            field = Input(
                placeholder="a tag: billing, vip, refund/late …",
                suggester=SuggestFromList(names, case_sensitive=False),
                id="tag-input",
            )
            field.cursor_blink = self.blink
            yield field
            yield Static(self._listed(), id="tag-list")
            yield Static(id="pick-hint")

    def _listed(self) -> Text:
        text = Text("in use: ", style="dim")
        if not self.in_use:
            text.append("none yet", style="dim")
        for n, (tag, count) in enumerate(self.in_use[:LISTED]):
            if n:
                text.append(" · ", style="dim")
            text.append(shown_tag(tag), style=TAG_STYLE)
            text.append(f" {count}", style="dim")
        if len(self.in_use) > LISTED:
            text.append(f" · +{len(self.in_use) - LISTED} more", style="dim")
        return text

    def on_mount(self) -> None:
        self._say(self._hint())
        self.query_one("#tag-input", Input).focus()

    def _hint(self) -> str:
        keymap = getattr(self.app, "keymap", {})
        return (
            f"{key_of('tag.complete', keymap)}: complete · {key_of('pick.choose', keymap)}: add · "
            f"{key_of('pick.cancel', keymap)}: cancel"
        )

    def _say(self, text: str, *, error: bool = False) -> None:
        self.said = text
        self.query_one("#pick-hint", Static).update(
            Text(text, style="bold red" if error else "dim")
        )

    def action_complete(self) -> None:
        field = self.query_one("#tag-input", Input)
        field.cursor_position = len(field.value)
        field.action_cursor_right()  # at the end, → takes the suggestion

    @on(Input.Submitted, "#tag-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_choose()

    def action_choose(self) -> None:
        try:
            tag = normalize_tag(self.query_one("#tag-input", Input).value)
        except TagError as exc:
            self._say(f"{exc}. {self._hint()}", error=True)
            return
        self.dismiss(tag)

    def action_move(self, step: int) -> None:
        """No list to move through."""

    def action_cancel(self) -> None:
        self.dismiss(None)
