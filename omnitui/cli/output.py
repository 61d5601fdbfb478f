"""Printing results: one JSON document for scripts, Rich tables for people.

Every outside string shown to a person goes through :func:`cell`, which strips
escape sequences and builds a ``Text`` (never markup), so a subject such as
``[bold]x[/bold]`` prints literally; the consoles expand no ``:emoji:`` codes
and highlight nothing, so a name such as ``:skull:`` prints as typed.

Tables fit the terminal (``COLUMNS``, else its width, else 80): a header is
never broken over lines. When the columns do not fit, the ones marked
droppable are left out (a line under the table names them), and when even
the rest do not fit, each row is printed as a block of ``name value`` lines.

An error is one line on stderr and, with ``--json``, also a JSON error object
on stdout (:func:`fail`), so a script reads one document either way.

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
import shutil
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from omnitui.text import INVISIBLE, clean_text

if TYPE_CHECKING:
    from rich.console import Console


#: A dataclass field's ``metadata`` key naming its JSON key, for a key that
#: cannot be a Python name (``"from"``).
JSON_NAME = "json"


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: the one serializer of every document the
    CLI prints, so a document has the schema of the dataclass it comes from.

    A dataclass becomes an object of all its fields, in their order, keyed by
    field name (or by ``metadata[JSON_NAME]``); datetimes become ISO 8601 UTC
    strings, paths strings, tuples and sets lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.metadata.get(JSON_NAME, f.name): to_jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
        }
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, PurePath):
        return str(value)
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


def console(*, stderr: bool = False, width: int | None = None) -> Console:
    """A Rich console that prints strings as given: no markup, emoji codes or highlighting."""
    from rich.console import Console

    return Console(stderr=stderr, markup=False, emoji=False, highlight=False, width=width)


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


@dataclasses.dataclass(frozen=True)
class Column:
    """A table column. ``wrap``: its cells may fold onto more lines (its
    header never does), down to ``least`` wide. ``drop``: 0 is always shown;
    on a terminal too narrow for every column, the highest ``drop`` is left
    out first."""

    name: str
    drop: int = 0
    wrap: bool = False
    least: int = 10


#: the longest a cell's text gets in a table (the rest is cut, with "…")
CELL_MAX = 60
_MIN_WIDTH = 20


def terminal_width() -> int:
    """The width tables are laid out for: ``COLUMNS``, the terminal's, or 80."""
    return max(_MIN_WIDTH, shutil.get_terminal_size((80, 24)).columns)


def _table_width(widths: Sequence[int]) -> int:
    # Rich's default box: one space either side of each cell and a rule
    # between and around the columns
    return sum(widths) + 3 * len(widths) + 1


def _layout(
    columns: Sequence[Column], natural: Sequence[int], width: int
) -> tuple[list[int], dict[int, int]] | None:
    """Which columns to show and how wide, or ``None`` when even the ones
    that are always shown do not fit (then rows become blocks)."""
    from rich.cells import cell_len

    least = [
        max(cell_len(c.name), min(n, c.least)) if c.wrap else max(cell_len(c.name), n)
        for c, n in zip(columns, natural, strict=True)
    ]
    shown = list(range(len(columns)))
    while _table_width([least[i] for i in shown]) > width:
        droppable = [i for i in shown if columns[i].drop > 0]
        if not droppable:
            return None
        shown.remove(max(droppable, key=lambda i: (columns[i].drop, i)))
    widths = {i: least[i] for i in shown}
    spare = width - _table_width(list(widths.values()))
    growing = [i for i in shown if widths[i] < natural[i]]
    while spare > 0 and growing:  # share what is left among the wrapping columns
        for i in list(growing):
            if spare == 0:
                break
            widths[i] += 1
            spare -= 1
            if widths[i] >= natural[i]:
                growing.remove(i)
    return shown, widths


def print_table(
    title: str, columns: Sequence[str | Column], rows: Iterable[Sequence[object]]
) -> None:
    """``rows`` under ``title``, laid out for the terminal's width (see the module
    docstring); a plain string column may wrap and is always shown."""
    from rich.box import HEAVY_HEAD
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    cols = [c if isinstance(c, Column) else Column(c, wrap=True) for c in columns]
    cells = [[cell(v, CELL_MAX) for v in row] for row in rows]
    out = console(width=terminal_width())
    # a title may quote outside text (a search query): Text, never markup
    heading = Text(clean_text(title, single_line=True))
    if not cells:
        out.print(heading + Text(": none"))
        return
    natural = [
        max([cell_len(c.name), *(cell_len(row[i].plain) for row in cells)])
        for i, c in enumerate(cols)
    ]
    layout = _layout(cols, natural, out.width)
    out.print(heading, style="bold")
    if layout is None:
        _print_blocks(out, cols, cells)
        return
    shown, widths = layout
    table = Table(box=HEAVY_HEAD, show_lines=False)
    for i in shown:
        table.add_column(
            Text(cols[i].name), width=widths[i], no_wrap=not cols[i].wrap, overflow="fold"
        )
    for row in cells:
        table.add_row(*(row[i] for i in shown))
    out.print(table)
    hidden = [c.name for i, c in enumerate(cols) if i not in widths]
    if hidden:
        out.print(
            Text(
                f"(not shown at {out.width} columns: {', '.join(hidden)}; --json has all)",
                style="dim",
            )
        )


def _print_blocks(out: Console, cols: Sequence[Column], cells: Sequence[Sequence[Any]]) -> None:
    """Each row as a block of ``name  value`` lines, a long value folded under
    itself: for a terminal too narrow for a table."""
    from rich.cells import cell_len
    from rich.text import Text

    label = max(cell_len(c.name) for c in cols) + 2
    room = max(out.width - label, 10)
    for n, row in enumerate(cells):
        if n:
            out.print()
        for c, value in zip(cols, row, strict=True):
            lines = value.wrap(out, room, overflow="fold") if value.plain else [value]
            for k, line in enumerate(lines):
                name = c.name if k == 0 else ""
                line.rstrip()
                out.print(Text(name + " " * (label - cell_len(name)), style="bold") + line)


def say(message: str) -> None:
    """A line for people on stdout, literal (no markup, no emoji codes)."""
    from rich.text import Text

    console().print(Text(clean_text(message)))


def error(message: str) -> None:
    """One line for people on stderr, literal."""
    sys.stderr.write(f"omnitui: error: {clean_text(message, single_line=True)}\n")


def fail(message: str, *, code: int, kind: str, as_json: bool) -> None:
    """A failed command: :func:`error` on stderr and, for ``--json``, the JSON
    error object ``{"error": {"message", "code", "kind"}}`` on stdout."""
    error(message)
    if as_json:
        print_error_json(message, code=code, kind=kind)


@dataclasses.dataclass(frozen=True)
class ErrorInfo:
    """What the JSON error object of a failed command says (see :func:`fail`)."""

    message: str
    code: int
    kind: str


@dataclasses.dataclass(frozen=True)
class ErrorDocument:
    """The JSON document of a failed command: ``{"error": {...}}``."""

    error: ErrorInfo


def print_error_json(message: str, *, code: int, kind: str) -> None:
    """The JSON error object of a failed command, on stdout (see :func:`fail`)."""
    text = clean_text(message, single_line=True)
    print_json(ErrorDocument(ErrorInfo(text, code, kind)))


def note(message: str) -> None:
    """A notice for people on stderr that is not an error, literal."""
    sys.stderr.write(f"omnitui: {clean_text(message)}\n")
