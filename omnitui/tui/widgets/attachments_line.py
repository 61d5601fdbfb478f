"""The lines under the composer's text: the files attached (name and size,
the key that removes one) and, dim, the signature that will be appended, so
the agent sees what goes out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from omnitui.services.attachments import human_size
from omnitui.services.outgoing_files import file_name
from omnitui.tui.format import plain


@dataclass(frozen=True)
class AttachedFile:
    """A file the agent attached: where it is, and its size when attached
    (its bytes are read when the message is sent)."""

    path: str
    size: int

    @property
    def name(self) -> str:
        """The name the customer will see."""
        return file_name(self.path)


def files_text(files: Sequence[AttachedFile], remove_key: str | None = None) -> Text:
    """``Files: a.pdf 12 KB · b.png 3 KB  (ctrl+l: remove one)``, as text."""
    line = Text("Files: ", style="bold")
    for n, file in enumerate(files):
        if n:
            line.append(" · ", style="dim")
        line.append(plain(file.name))
        line.append(f" {human_size(file.size)}", style="dim")
    if remove_key:
        line.append(f"  ({remove_key}: remove {'it' if len(files) == 1 else 'one'})", style="dim")
    return line


class AttachmentsLine(Static):
    """The files attached to the draft; hidden when there are none."""

    def show(
        self, files: Sequence[AttachedFile], remove_key: str, refusal: str | None = None
    ) -> None:
        """Show ``files``; ``refusal``: why they cannot go where the reply goes."""
        self.display = bool(files)
        line = files_text(files, remove_key) if files else Text()
        if files and refusal:  # said before sending: the send would be refused
            line = Text("Files cannot go", style="bold red")
            line.append(f" ({remove_key}: remove): " if remove_key else ": ", style="dim")
            line.append(plain(refusal), style="red")
            line.no_wrap, line.overflow = True, "ellipsis"
        self.update(line)


class SignatureLine(Static):
    """The signature the message will end with (one line, dim), or that it
    was left off; hidden when there is none to add."""

    def show(self, signature: str | None, *, off: bool, toggle_key: str) -> None:
        self.display = signature is not None
        if signature is None:
            self.update("")
            return
        if off:
            line = Text(f"-- signature left off ({toggle_key}: add it)", style="dim italic")
        else:
            shown = " / ".join(plain(part) for part in signature.splitlines() if part.strip())
            line = Text(f"-- {shown}", style="dim")
            line.append(f"  ({toggle_key}: leave it off)", style="dim italic")
        line.no_wrap = True
        line.overflow = "ellipsis"
        self.update(line)
