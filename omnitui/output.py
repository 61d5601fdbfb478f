"""Printing results: one JSON document for scripts, Rich tables for people.

Every outside string shown to a person goes through :func:`cell`, which strips
escape sequences and builds a ``Text`` (never markup), so a subject such as
``[bold]x[/bold]`` prints literally.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from omnitui.text import clean_text


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON types; datetimes as ISO 8601 UTC strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    json.dump(to_jsonable(value), sys.stdout, ensure_ascii=False, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def cell(value: object, width: int | None = None) -> Any:
    """A table cell for ``value``: outside text cleaned and kept literal."""
    from rich.text import Text

    if value is None:
        return Text("-", style="dim")
    if isinstance(value, datetime):
        return Text(when(value))
    text = clean_text(str(value), single_line=True)
    if width is not None and len(text) > width:
        text = text[: width - 1] + "…"
    return Text(text)


def when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.strftime("%Y-%m-%d %H:%M")


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    for name in columns:
        table.add_column(name, overflow="fold")
    count = 0
    for row in rows:
        table.add_row(*(cell(v, 60) for v in row))
        count += 1
    console = Console()
    if count == 0:
        console.print(f"{title}: none", markup=False, highlight=False)
        return
    console.print(table)


def say(message: str) -> None:
    """A line for people on stdout, literal (no markup)."""
    from rich.console import Console

    Console().print(clean_text(message), markup=False, highlight=False)


def error(message: str) -> None:
    """A line for people on stderr, literal."""
    sys.stderr.write(f"omnitui: error: {clean_text(message)}\n")


def note(message: str) -> None:
    """A notice for people on stderr that is not an error, literal."""
    sys.stderr.write(f"omnitui: {clean_text(message)}\n")
