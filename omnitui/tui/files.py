"""Opening a message's files with the desktop's viewer (``v``): which file,
when there are several, and what to say once the opener has it. The copy and
the opener run in the customer screen's worker (reading the blob and
starting a program are I/O)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import App
from textual.notifications import SeverityLevel

from omnitui.services.attachments import human_size
from omnitui.tui.format import plain
from omnitui.tui.screens.pick import Choice, PickScreen
from storage.queries import AttachmentRow


def choose_file(
    app: App[Any], files: Sequence[AttachmentRow], open_one: Callable[[AttachmentRow], object]
) -> None:
    """Open the one file of a message, or the one the agent picks."""
    if len(files) == 1:
        open_one(files[0])
        return
    choices = [Choice(f, Text(f"{plain(f.filename)}  ({human_size(f.size)})")) for f in files]

    def picked(file: AttachmentRow | None) -> None:
        if file is not None:
            open_one(file)

    app.push_screen(PickScreen("Open which file?", choices, hint="open"), picked)


def opened_text(path: Path, code: int | None, save_key: str) -> tuple[str, SeverityLevel]:
    """What the agent is told once the opener has ``path`` (``code``: its exit code)."""
    if code:
        text = f"The opener exited with code {code} for {path.name}; {save_key} saves the file"
        return f"{text} instead.", "warning"
    return f"Opened {path.name}", "information"
