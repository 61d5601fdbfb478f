"""Saving a stored attachment as a file the agent can open.

The bytes live once in the blob store (by SHA-256); a save writes a copy
under the name the sender gave, made safe (no directories, no control
characters) and never over an existing file: ``name (2).pdf`` instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from omnitui.text import sanitize_filename
from storage.blobs import read_blob
from storage.db import Store
from storage.queries import AttachmentRow


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


def save_attachment(store: Store, attachment: AttachmentRow, directory: Path) -> Path:
    """Write ``attachment`` into ``directory`` (created if needed); returns the file."""
    try:
        data = read_blob(store.data_dir, attachment.sha256)
    except OSError:
        raise AttachmentError(
            f"the content of attachment {attachment.id} ({attachment.filename}) is missing "
            f"from the data directory {store.data_dir}"
        ) from None
    name = sanitize_filename(attachment.filename, f"attachment-{attachment.id}")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = _free_name(directory, name)
        # exclusive create: a file that appeared meanwhile is never overwritten
        with path.open("xb") as out:
            out.write(data)
    except OSError as exc:
        raise AttachmentError(f"cannot write {name} into {directory}: {exc.strerror}") from None
    return path
