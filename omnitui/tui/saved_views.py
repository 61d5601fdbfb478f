"""Views the agent saved from the console (palette: "inbox: save query as
view"), in ``views.toml`` in the data directory, beside the drafts.

Why not the config file: it is the team's or the admin's, and often not the
console's to write: it may not exist (the demo, the default store), be given
with ``--config`` or ``$OMNITUI_CONFIG``, be a link into a dotfiles
repository, be read-only or generated; rewriting it would need a TOML
editor that keeps comments (one more dependency) and would race with the
agent's own editor. A small file of our own is written whole and renamed
(a crash leaves the old file or the new one, never half), under a lock so
two consoles of one agent do not drop each other's view. Its entries are
``[[views]]`` tables exactly as in the config, so a view worth sharing is
copied into the config as it is; the config's views come first, and a
saved view whose name the config already uses is left out.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "views.toml"
HEADER = (
    "# Views saved from the omnitui console (palette: inbox: save query as view).\n"
    "# The same [[views]] tables as in the config: copy one there to share it.\n"
)
#: the fields a saved view has, in the order written
FIELDS = ("name", "key", "query", "sort")


@dataclass(frozen=True)
class SavedView:
    name: str
    query: str
    key: str = ""
    sort: str = "activity"


def path_in(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def load(data_dir: Path) -> tuple[list[SavedView], list[str]]:
    """The saved views, and what was wrong with the file or an entry (each
    such entry is skipped; a missing file is no views)."""
    path = path_in(data_dir)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [], []
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return [], [f"{path}: cannot read the saved views ({exc}); they are not shown"]
    raw = data.get("views", [])
    if not isinstance(raw, list):
        return [], [f"{path}: views must be [[views]] tables; they are not shown"]
    views: list[SavedView] = []
    problems: list[str] = []
    for n, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(f, ""), str) for f in FIELDS
        ):
            problems.append(f"{path}: view {n} is not name/key/query/sort text; skipped")
            continue
        name, query = entry.get("name", "").strip(), entry.get("query", "")
        if not name or set(entry) - set(FIELDS):
            problems.append(f"{path}: view {n} needs a name and only {', '.join(FIELDS)}; skipped")
            continue
        views.append(SavedView(name, query, entry.get("key", ""), entry.get("sort") or "activity"))
    return views, problems


def toml_string(value: str) -> str:
    """``value`` as a TOML basic string (JSON's escapes are TOML's; DEL and
    lone surrogates, which TOML does not take raw, are refused by the caller's
    round trip, see :func:`render`)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def render(views: list[SavedView]) -> str:
    """The file's text for ``views``; raises ``ValueError`` if it would not
    read back as exactly these views."""
    parts = [HEADER]
    for view in views:
        parts.append("\n[[views]]\n")
        for field in FIELDS:
            value = getattr(view, field)
            if field == "key" and not value:
                continue
            parts.append(f"{field} = {toml_string(value)}\n")
    text = "".join(parts)
    try:
        back = tomllib.loads(text).get("views", [])
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"cannot be written as TOML ({exc})") from None
    if [SavedView(**{"key": "", **entry}) for entry in back] != views:
        raise ValueError("cannot be written as TOML without changing it")
    return text


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """Held while the file is read, changed and replaced (POSIX; elsewhere
    the rename alone keeps the file whole)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(data_dir / f".{FILE_NAME}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def save(data_dir: Path, view: SavedView) -> Path:
    """Add ``view`` to the file (replacing a saved view of the same name);
    the path written. Raises ``OSError`` when the data directory cannot be
    written and ``ValueError`` when the view cannot be written as TOML."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = path_in(data_dir)
    with _locked(data_dir):
        views, problems = load(data_dir)
        if problems:  # never write over what the agent may still want to fix
            raise ValueError(f"{problems[0]}; fix or move the file, then save again")
        views = [v for v in views if v.name != view.name] + [view]
        text = render(views)
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".views-", suffix=".toml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    return path
