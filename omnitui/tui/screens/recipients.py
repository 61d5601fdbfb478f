"""The customer view's reply-all and forward keys (a mixin of CustomerScreen).

Reply-all opens the composer on the conversation in focus with To and Cc
filled by :func:`omnitui.services.recipients.reply_all_for` (read in the
worker that reads the composer's routes, and posted after them, so the draft
loaded on opening never overwrites them). Forward asks for the recipient,
then a cover note, and queues :func:`omnitui.services.forward.forward` of the
highlighted message; its timeline then says where it went.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.message import Message

from omnitui.services import InvalidRequest
from omnitui.services.forward import forward
from omnitui.services.recipients import address
from omnitui.tui.bindings import key_of
from omnitui.tui.messages import Saved
from omnitui.tui.screens.pick import Choice, PickScreen

if TYPE_CHECKING:
    from omnitui.tui.desk import Desk
    from omnitui.tui.widgets.composer import Composer
    from omnitui.tui.widgets.timeline import Timeline
    from storage.queries import ConversationRow


@dataclass
class ReplyAllRead(Message):
    """A reply-all's To and Cc for ``conversation_id``, read after its routes."""

    conversation_id: int
    to: tuple[str, ...]
    cc: tuple[str, ...]


class RecipientActions:
    """``action_reply_all`` and ``action_forward`` (see the module docstring)."""

    if TYPE_CHECKING:
        desk: Desk
        app: Any

        @property
        def composer(self) -> Composer: ...

        @property
        def timeline(self) -> Timeline: ...

        def target(self) -> ConversationRow | None: ...

        def open_composer(
            self,
            mode: str | None,
            *,
            focus: bool = True,
            switch: bool = False,
            reply_all: bool = False,
        ) -> None: ...

        def notify(self, message: str, **kwargs: Any) -> None: ...

        def post_message(self, message: Message) -> bool: ...

    def action_reply_all(self) -> None:
        conv = self.target()
        if conv is not None and conv.channel != "email":
            reply = key_of("conversation.reply", self.desk.keymap)
            self.notify(
                f"Reply-all is for e-mail: #{conv.id} is {conv.channel} ({reply} replies).",
                severity="warning",
                markup=False,
            )
            return
        self.open_composer("reply", reply_all=True)

    def on_reply_all_read(self, message: ReplyAllRead) -> None:
        composer = self.composer
        if composer.target is None or composer.target.conversation_id != message.conversation_id:
            return  # the agent moved on meanwhile
        composer.prefill_reply_all(message.to, message.cc)
        if not message.cc:
            self.notify("Reply-all: nobody else was on that mail.", markup=False)

    def action_forward(self) -> None:
        entry = self.timeline.current
        if entry is None or entry.kind != "message":
            down, up = (key_of(f"list.{step}", self.desk.keymap) for step in ("down", "up"))
            self.notify(
                f"Highlight a message ({down}/{up}) to forward it.",
                severity="warning",
                markup=False,
            )
            return
        message_id = entry.id

        def typed(text: str) -> str:
            try:
                return address(text, "address")
            except InvalidRequest as exc:  # the picker shows a ValueError's words
                raise ValueError(str(exc).removesuffix(": nothing was queued")) from None

        def picked(to: str | None) -> None:
            if to:
                self._ask_note(message_id, to)

        self.app.push_screen(
            PickScreen(
                f"Forward message {message_id} by e-mail to",
                typed=typed,
                placeholder="name@example.com",
                hint="next: a cover note",
                blink=self.desk.blink,
            ),
            picked,
        )

    def _ask_note(self, message_id: int, to: str) -> None:
        def picked(note: str | None) -> None:
            if note is not None:
                self._forward(message_id, to, note)

        self.app.push_screen(
            PickScreen(
                f"Forward message {message_id} to {to}: a cover note (optional)",
                [Choice("", Text("no cover note: forward it as it is"))],
                typed=lambda text: text,
                placeholder="a few words for the recipient",
                hint="forward",
                blink=self.desk.blink,
            ),
            picked,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="send")
    def _forward(self, message_id: int, to: str, note: str) -> None:
        queued = forward(
            self.desk.store, self.desk.accounts(), message_id, to, self.desk.agent, note=note
        )
        self.post_message(Saved(f"Forwarded to {to}, queued", queued=(queued,)))
