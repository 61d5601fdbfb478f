"""The composer's e-mail header lines: To, Cc and Bcc, each an Input the agent
edits (tab moves between them, and on to the Subject and the text).

An empty line means the default: To is the conversation's customer (its
address is shown as the placeholder), no Cc, no Bcc. A reply-all fills To and
Cc from :func:`omnitui.services.recipients.reply_all_for`. What is typed is
checked when the reply is queued (:func:`omnitui.services.recipients.checked`:
the bad address is named, nothing is queued), so the console and the CLI
refuse the same things. The lines are kept in the draft with the text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static

#: (name, label, placeholder) of each header line, in order
LINES = (
    ("to", "To: ", ""),
    ("cc", "Cc: ", "more recipients, comma-separated"),
    ("bcc", "Bcc: ", "unseen recipients (never in the sent headers)"),
)


class ComposerHeaders(Vertical):
    """To, Cc and Bcc of an e-mail reply (see the module docstring)."""

    def __init__(self, *, blink: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self.inputs = {
            name: Input(placeholder=hint, id=f"composer-{name}") for name, _label, hint in LINES
        }
        for field in self.inputs.values():
            field.cursor_blink = blink

    def compose(self) -> ComposeResult:
        for name, label, _hint in LINES:
            yield Horizontal(
                Static(label, id=f"composer-{name}-label"),
                self.inputs[name],
                id=f"composer-{name}-row",
            )

    @property
    def to(self) -> str:
        return self.inputs["to"].value.strip()

    @property
    def cc(self) -> str:
        return self.inputs["cc"].value.strip()

    @property
    def bcc(self) -> str:
        return self.inputs["bcc"].value.strip()

    def fields(self) -> dict[str, tuple[Callable[[], str], Callable[[str], None]]]:
        """Each line by its header name, as a getter and a setter of its value
        (what ``$EDITOR``'s header block edits, see omnitui.tui.editor)."""
        return {
            label.rstrip(": "): (partial(self.line, name), partial(self.set_line, name))
            for name, label, _hint in LINES
        }

    def line(self, name: str) -> str:
        """The value of line ``name`` (``to``, ``cc`` or ``bcc``) as typed."""
        return self.inputs[name].value.strip()

    def set_line(self, name: str, value: str) -> None:
        """Show ``value`` on line ``name`` (``to``, ``cc`` or ``bcc``)."""
        self.inputs[name].value = value
        self.inputs[name].cursor_position = len(value)

    def load(self, to: str, cc: str, bcc: str) -> None:
        """Show these lines (a draft's, or a reply-all's)."""
        for name, value in (("to", to), ("cc", cc), ("bcc", bcc)):
            self.inputs[name].value = value
            self.inputs[name].cursor_position = len(value)

    def prefill(self, to: Sequence[str], cc: Sequence[str]) -> None:
        """A reply-all's To and Cc; the Bcc typed so far stays."""
        self.load(", ".join(to), ", ".join(cc), self.bcc)

    def default_to(self, address: str) -> None:
        """The To an empty line stands for: the conversation's customer."""
        self.inputs["to"].placeholder = f"{address} (the customer)" if address else ""
