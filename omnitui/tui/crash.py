"""What the console does when something it did not expect goes wrong.

Textual's default is to print a traceback (with local variables, which may
hold addresses or message text) after the screen closes, and a launcher that
ignores ``App.return_code`` then exits 0. Instead the console writes the
traceback (no locals) to ``<data_dir>/crash-<time>-<pid>.log``, keeps every
draft, tells the agent where the log is, and the launcher exits non-zero.
"""

from __future__ import annotations

import logging
import os
import traceback
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("omnitui.tui.crash")

#: The process exit code after a crash (EX_SOFTWARE, as the CLI uses for internal errors).
CRASH_EXIT_CODE = 70


def write_crash_log(data_dir: Path, error: BaseException, now: datetime | None = None) -> Path:
    """Write ``error`` with its traceback to a new file under ``data_dir``; returns its path."""
    at = now or datetime.now(UTC)
    path = data_dir / f"crash-{at:%Y%m%d-%H%M%S}-{os.getpid()}.log"
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    try:
        from importlib.metadata import version

        release = version("omnitui")
    except Exception:  # noqa: BLE001 - a missing distribution must not hide the crash
        release = "unknown"
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"omnitui {release} crashed at {at.isoformat()} (pid {os.getpid()})\n"
        "Drafts were kept. Please attach this file to a bug report.\n\n" + "".join(lines),
        encoding="utf-8",
    )
    log.error("console crashed, traceback in %s", path)
    return path
