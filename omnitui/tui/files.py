"""Opening a message's files with the desktop's viewer (``v``): which file,
when there are several, then the copy and the opener in a worker (reading
the blob and starting a program are I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from rich.text import Text
from textual.screen import Screen

from omnitui.services.attachments import AttachmentError, human_size, open_attachment
from omnitui.tui.format import plain
from omnitui.tui.screens.pick import Choice, PickScreen
from storage.db import Store
from storage.queries import AttachmentRow


def choose_and_open(screen: Screen[Any], store: Store, files: Sequence[AttachmentRow]) -> None:
    """Open the one file of a message, or the one the agent picks."""
    if len(files) == 1:
        _start(screen, store, files[0])
        return
    choices = [Choice(f, Text(f"{plain(f.filename)}  ({human_size(f.size)})")) for f in files]
    screen.app.push_screen(
        PickScreen("Open which file?", choices, hint="enter: open · esc: cancel"),
        lambda f: _start(screen, store, f) if f is not None else None,
    )


def _start(screen: Screen[Any], store: Store, file: AttachmentRow) -> None:
    screen.run_worker(
        partial(_open, screen, store, file),
        name=f"open {plain(file.filename)}",
        group="open-file",
        thread=True,
        exit_on_error=False,
    )


def _open(screen: Screen[Any], store: Store, file: AttachmentRow) -> None:
    # a worker thread: only hand the outcome to the UI thread
    app = screen.app
    try:
        path, code = open_attachment(store, file)
    except AttachmentError as exc:
        app.call_from_thread(app.notify, str(exc), severity="error", markup=False, timeout=8)
        return
    if code:
        text = f"The opener exited with code {code} for {path.name}; d saves the file instead."
        app.call_from_thread(app.notify, text, severity="warning", markup=False, timeout=8)
        return
    app.call_from_thread(app.notify, f"Opened {path.name}", markup=False)
