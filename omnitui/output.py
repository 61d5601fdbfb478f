"""Printing results: one JSON document for scripts, Rich tables for people.

Every outside string shown to a person goes through :func:`cell`, which strips
escape sequences and builds a ``Text`` (never markup), so a subject such as
``[bold]x[/bold]`` prints literally; the consoles expand no ``:emoji:`` codes
and highlight nothing, so a name such as ``:skull:`` prints as typed.

The JSON document keeps every string whole (a script gets the data as
stored) but writes C1 controls, invisible and bidi format characters and lone
surrogates as ``\\u`` escapes, as JSON writes C0 controls: ``json.loads``
gives the original back, and a terminal that shows the document never acts
on an escape sequence or reorders text.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from omnitui.text import INVISIBLE, clean_text

if TYPE_CHECKING:
    from rich.console import Console


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


# json.dumps already writes C0 controls as escapes; these it writes raw
_JSON_UNSAFE = re.compile(f"[\\x7f-\\x9f\\u2028\\u2029\\ud800-\\udfff{INVISIBLE}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:  # as a UTF-16 surrogate pair, the only way JSON can
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def dumps(value: Any) -> str:
    """``value`` as the JSON document the CLI prints (see the module docstring)."""
    text = json.dumps(to_jsonable(value), ensure_ascii=False, indent=2, sort_keys=False)
    # outside JSON strings there are only ASCII punctuation, digits and
    # keywords, so every match is inside a string, where an escape is valid
    return _JSON_UNSAFE.sub(_escape, text)


def print_json(value: Any) -> None:
    sys.stdout.write(dumps(value) + "\n")


def console(*, stderr: bool = False) -> Console:
    """A Rich console that prints strings as given: no markup, emoji codes or highlighting."""
    from rich.console import Console

    return Console(stderr=stderr, markup=False, emoji=False, highlight=False)


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
    from rich.table import Table
    from rich.text import Text

    # a title may quote outside text (a search query): Text, never markup
    table = Table(title=Text(clean_text(title)), title_justify="left", show_lines=False)
    for name in columns:
        table.add_column(Text(name), overflow="fold")
    count = 0
    for row in rows:
        table.add_row(*(cell(v, 60) for v in row))
        count += 1
    out = console()
    if count == 0:
        out.print(Text(f"{clean_text(title)}: none"))
        return
    out.print(table)


def say(message: str) -> None:
    """A line for people on stdout, literal (no markup, no emoji codes)."""
    from rich.text import Text

    console().print(Text(clean_text(message)))


def error(message: str) -> None:
    """A line for people on stderr, literal."""
    sys.stderr.write(f"omnitui: error: {clean_text(message)}\n")


def note(message: str) -> None:
    """A notice for people on stderr that is not an error, literal."""
    sys.stderr.write(f"omnitui: {clean_text(message)}\n")
