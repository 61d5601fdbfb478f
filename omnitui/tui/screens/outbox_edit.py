"""The outbox's editor: the text of an unsent message, to change and send."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from omnitui.tui.bindings import OUTBOX_EDIT_BINDINGS, key_of


class EditScreen(ModalScreen[str | None]):
    """Dismisses with the edited text (ctrl+s), or ``None`` (escape)."""

    BINDINGS: ClassVar[list[BindingType]] = [*OUTBOX_EDIT_BINDINGS]

    def __init__(
        self, title: str, body: str, *, blink: bool = True, keymap: Mapping[str, str] | None = None
    ) -> None:
        super().__init__()
        self.keymap: Mapping[str, str] = keymap or {}
        self.title_text = title
        self.body = body
        self.blink = blink

    def compose(self) -> ComposeResult:
        with Vertical(id="edit-box"):
            yield Static(Text(self.title_text, style="bold"), id="edit-title")
            area = TextArea(self.body, id="edit-body", soft_wrap=True, show_line_numbers=False)
            area.cursor_blink = self.blink
            yield area
            save, cancel = (key_of(f"outbox_edit.{n}", self.keymap) for n in ("save", "cancel"))
            yield Static(
                Text(f"{save}: save and send · {cancel}: cancel (nothing changes)", style="dim"),
                id="edit-hint",
            )

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        text = self.query_one(TextArea).text
        if not text.strip():
            self.query_one("#edit-hint", Static).update(
                Text(
                    f"The text is empty: {key_of('outbox_edit.cancel', self.keymap)}, then "
                    f"{key_of('outbox.discard', self.keymap)} discards the message.",
                    style="bold red",
                )
            )
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
