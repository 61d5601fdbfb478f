"""Names compared without case or accents: "zoe" finds "Zoë", "jose" finds "José".

One rule, :func:`fold`, used on both sides: on what the agent typed (in
Python) and on the stored names (in SQL). SQLite runs the same Python
function (registered on each connection as ``omnitui_fold``); PostgreSQL
runs ``translate`` with a table built from it, so the engines agree.
Only one-letter foldings are made (``ß`` and ``æ`` stay as they are), which
``translate`` can express.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from sqlalchemy import ColumnElement, func

SQL_NAME = "omnitui_fold"
#: letters with no decomposition that people still type without their mark
_EXTRA = {"ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "\u0131": "i"}


def _fold_char(ch: str) -> str:
    if ch in _EXTRA:
        return _EXTRA[ch]
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    low = base.lower()
    return low if len(low) == 1 else ch.lower() if len(ch.lower()) == 1 else ch


def fold(text: str | None) -> str:
    """``text`` lower-cased with accents dropped, letter for letter."""
    if not text:
        return ""
    if text.isascii():
        return text.lower()
    composed = unicodedata.normalize("NFC", text)
    return "".join(_fold_char(ch) for ch in composed)


@lru_cache(maxsize=1)
def _translate_table() -> tuple[str, str]:
    """``translate`` arguments folding every Latin letter U+00C0-U+024F."""
    source, target = [], []
    for code in range(0xC0, 0x250):
        ch = chr(code)
        folded = _fold_char(ch)
        if folded != ch and len(folded) == 1:
            source.append(ch)
            target.append(folded)
    return "".join(source), "".join(target)


def folded(column: ColumnElement[str], dialect: str) -> ColumnElement[str]:
    """``column`` folded in SQL by :func:`fold`'s rule on ``dialect``."""
    if dialect == "sqlite":
        result: ColumnElement[str] = getattr(func, SQL_NAME)(column)
        return result
    source, target = _translate_table()
    return func.translate(func.lower(column), source, target)


def same_name(text: str) -> str:
    """What makes two spellings of a person's name (an agent's) the same
    name: case (``str.casefold``) and Unicode form (NFKC: "José" typed
    decomposed, as a Mac's keyboard may, or in full width, is José), but not
    accents (José is not Jose). The team's rule (services.team.spelling)
    and the store's look-up of assignees (queries.assigned_names)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
