"""Saving a stored attachment as a file the agent can open.

The bytes live once by SHA-256: a received file's under the data directory,
a file sent from here in the store itself (``blob``: no data directory has
it, and it is kept as long as its message); a save writes a copy
under the name the sender gave, made safe (no directories, no control
characters) and never over an existing file: ``name (2).pdf`` instead.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from omnitui.text import sanitize_filename
from storage.blobs import read_blob
from storage.db import Store
from storage.queries import AttachmentRow, stored_bytes


class AttachmentError(Exception):
    """An attachment cannot be saved; the message says why."""


def downloads_dir() -> Path:
    """Where files are saved: ``$OMNITUI_DOWNLOAD_DIR``, else the user's
    downloads folder, ``omnitui/``."""
    env = os.environ.get("OMNITUI_DOWNLOAD_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_downloads_path

    return user_downloads_path() / "omnitui"


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _free_name(directory: Path, name: str) -> Path:
    path = directory / name
    stem, suffix = path.stem, path.suffix
    n = 2
    while path.exists():
        path = directory / f"{stem} ({n}){suffix}"
        n += 1
    return path


def save_attachment(
    store: Store, attachment: AttachmentRow, directory: Path, *, create: bool = True
) -> Path:
    """Write ``attachment`` into ``directory`` (created if needed and ``create``);
    returns the file."""
    try:
        data = read_blob(store.data_dir, attachment.sha256)
    except OSError:
        with store.read() as session:  # a file sent from here: in the store itself
            kept = stored_bytes(session, attachment.sha256)
        if kept is None:
            raise AttachmentError(
                f"the content of attachment {attachment.id} ({attachment.filename}) is missing "
                f"from the data directory {store.data_dir}"
            ) from None
        data = kept
    name = sanitize_filename(attachment.filename, f"attachment-{attachment.id}")
    try:
        if create:
            directory.mkdir(parents=True, exist_ok=True)
        path = _free_name(directory, name)
        # exclusive create: a file that appeared meanwhile is never overwritten
        with path.open("xb") as out:
            out.write(data)
    except OSError as exc:
        raise AttachmentError(f"cannot write {name} into {directory}: {exc.strerror}") from None
    return path


#: File types an opener would run rather than show: these are saved (d) and
#: opened deliberately, never from the console with one key.
LAUNCHERS = frozenset(
    {
        ".app", ".appimage", ".bat", ".cmd", ".com", ".command", ".cpl", ".deb", ".desktop",
        ".exe", ".hta", ".jar", ".js", ".jse", ".lnk", ".msi", ".pif", ".ps1", ".py", ".rpm",
        ".run", ".scr", ".sh", ".url", ".vbe", ".vbs", ".wsf",
    }
)  # fmt: skip
#: Opened copies older than this are removed when the next file is opened.
OPENED_KEEP = timedelta(days=1)
#: How long the worker waits for the opener to hand the file over.
OPENER_WAIT = 30.0


def opener() -> list[str]:
    """The program that opens a file with the desktop's viewer: ``$OPENER``
    when set (it may carry arguments), else ``xdg-open``, else ``open`` (macOS)."""
    chosen = os.environ.get("OPENER", "").strip()
    if chosen:
        return shlex.split(chosen)
    for name in ("xdg-open", "open"):
        found = shutil.which(name)
        if found:
            return [found]
    raise AttachmentError(
        "no program to open files with: install xdg-open or set $OPENER "
        "(e.g. OPENER=mimeopen); d saves the file instead"
    )


def _prune(directory: Path) -> None:
    cutoff = time.time() - OPENED_KEEP.total_seconds()
    for old in directory.iterdir() if directory.is_dir() else ():
        try:
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            continue


def open_attachment(store: Store, attachment: AttachmentRow) -> tuple[Path, int | None]:
    """Copy ``attachment`` under the data directory and hand it to the
    :func:`opener`, detached from the console; returns the copy and the
    opener's exit code (``None`` if it is still running after a while).

    The copy is read-only and in a directory of its own, so the viewer shows
    the sender's file name; copies from earlier days are removed."""
    name = sanitize_filename(attachment.filename, f"attachment-{attachment.id}")
    if Path(name).suffix.lower() in LAUNCHERS:
        raise AttachmentError(
            f"{name} is a program or a launcher, not a document: it is not opened from "
            "the console (d saves it)"
        )
    command = opener()
    opened = store.data_dir / "opened"
    try:
        opened.mkdir(parents=True, exist_ok=True)
        _prune(opened)
        path = save_attachment(store, attachment, Path(tempfile.mkdtemp(dir=opened)))
        path.chmod(0o400)
        # the user's opener, one argument: the path (absolute, so never taken for an option)
        process = subprocess.Popen(
            [*command, str(path.resolve())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        raise AttachmentError(f"cannot open {name} with {command[0]}: {exc.strerror}") from None
    try:
        return path, process.wait(timeout=OPENER_WAIT)
    except subprocess.TimeoutExpired:
        return path, None
