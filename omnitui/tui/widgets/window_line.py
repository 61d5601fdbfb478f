"""One line under the customer header on a WhatsApp conversation: whether
free-form replies are allowed and for how long ("free-form replies until
14:32 (3 h 12 min)"), or that only a template goes ("window closed 2 h ago:
pick a template (ctrl+t)").

The window is read from the store in this widget's worker (the customer's
last WhatsApp message) whenever the conversation in focus changes or the
screen reads again; the countdown is redrawn every half minute from the
console's clock without reading again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text
from textual import on, work
from textual.message import Message
from textual.widgets import Static

from omnitui.services import whatsapp_window
from omnitui.services.whatsapp_window import WindowState
from omnitui.tui.clock import Clock
from omnitui.tui.workers import WorkerFailures
from storage.db import Store


@dataclass
class WindowRead(Message):
    """The window of ``conversation_id`` as read for ``version`` (``None``: not WhatsApp)."""

    conversation_id: int
    version: int
    state: WindowState | None


class WindowLine(WorkerFailures, Static):
    """Shown only on WhatsApp; :attr:`state` is what the composer's send checks."""

    DEFAULT_CSS = "WindowLine { height: 1; }"

    def __init__(self, store: Store, clock: Clock, template_key: str, *, id: str | None = None):
        super().__init__(id=id)
        self.store, self.clock, self.template_key = store, clock, template_key
        self.asked: tuple[int, int] | None = None
        self.conversation_id: int | None = None
        self._state: WindowState | None = None
        self.display = False

    def on_mount(self) -> None:
        self.set_interval(30, self._draw)

    def follow(self, conversation_id: int | None, version: int) -> None:
        """Show the window of ``conversation_id`` (read again for a new ``version``)."""
        if conversation_id is None:
            self.asked, self.conversation_id, self._state = None, None, None
            self._draw()
            return
        if self.asked == (conversation_id, version):
            return
        if conversation_id != self.conversation_id:
            self._state = None  # not the other conversation's window meanwhile
            self._draw()
        self.asked = (conversation_id, version)
        self._read(conversation_id, version)

    @work(thread=True, exclusive=True, exit_on_error=False, group="window")
    def _read(self, conversation_id: int, version: int) -> None:
        state = whatsapp_window.conversation_window(self.store, conversation_id, self.clock.now())
        self.post_message(WindowRead(conversation_id, version, state))

    @on(WindowRead)
    def _shown(self, message: WindowRead) -> None:
        message.stop()
        if self.asked != (message.conversation_id, message.version):
            return  # asked about another one since
        self.conversation_id, self._state = message.conversation_id, message.state
        self._draw()

    @property
    def state(self) -> WindowState | None:
        """The window now (by the console's clock), ``None`` off WhatsApp or not read yet."""
        return replace(self._state, now=self.clock.now()) if self._state is not None else None

    def _draw(self) -> None:
        state = self.state
        self.display = state is not None
        if state is None:
            return
        text = Text("WhatsApp: ", style="bold")
        if state.open:
            text.append(whatsapp_window.describe(state, self.clock.tz), style="green")
        else:
            then = f"pick a template ({self.template_key})"
            text.append(whatsapp_window.describe(state, self.clock.tz, then), style="bold yellow")
        self.update(text)
