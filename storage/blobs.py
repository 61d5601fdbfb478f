"""Attachment bytes, stored once per content under the data directory."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def blob_path(data_dir: Path, sha256: str) -> Path:
    return data_dir / "attachments" / sha256[:2] / sha256


def put_blob(data_dir: Path, data: bytes) -> str:
    """Store ``data`` (if not already there) and return its SHA-256 hex digest.

    Written to a temporary file and renamed, so a reader never sees half a file.
    """
    digest = hashlib.sha256(data).hexdigest()
    path = blob_path(data_dir, digest)
    if path.exists():
        return digest
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return digest


def read_blob(data_dir: Path, sha256: str) -> bytes:
    return blob_path(data_dir, sha256).read_bytes()
