"""What the console remembers of the agent's choices between runs (the
theme picked with the palette), in a small JSON file in the data directory.

Not the store: it is this person's screen, not the team's data, and it is
read once at start. A broken or missing file means the defaults.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

FILE_NAME = "console.json"


def load(data_dir: Path) -> dict[str, Any]:
    try:
        value = json.loads((data_dir / FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def save(data_dir: Path, **changes: Any) -> None:
    """Merge ``changes`` into the file; written whole and renamed, so a crash
    never leaves half a file. A data directory that cannot be written keeps
    the choice for this run only."""
    state = {**load(data_dir), **changes}
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".console-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(state, out)
        os.replace(tmp, data_dir / FILE_NAME)
    except OSError:
        return
