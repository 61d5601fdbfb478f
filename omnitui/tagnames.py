"""What a tag may be, defined once: the tags service stores tags in this
form and the query language's ``tag:`` reads them in it, so ``tag:Billing``
finds what ``tags add … billing`` wrote.

A tag is trimmed and lower-cased; it is letters and digits (any script)
and ``_ - / . :``, at most :data:`MAX_TAG_LENGTH` characters, and does not
start with ``-`` (which the query language reads as "not"). Anything else
(spaces, quotes, control characters, escape sequences) is refused with a
message naming the first bad character, never stored changed.
"""

from __future__ import annotations

import unicodedata

MAX_TAG_LENGTH = 64
#: the punctuation a tag may hold besides letters and digits
TAG_PUNCTUATION = "_-/.:"


class TagError(ValueError):
    """A tag that cannot be stored as written; the message says why."""


def _shown(char: str) -> str:
    if char.isprintable() and not char.isspace():
        return f"{char!r}"
    return f"U+{ord(char):04X}"  # a control or invisible character, named, never echoed


def normalize_tag(text: str) -> str:
    """``text`` as a tag (trimmed, lower case, NFKC), or :class:`TagError`.

    NFKC, not NFC: a tag typed in full width (``BILLING`` in U+FF21…, an input
    method's) or with a ligature (``\ufb01nance``) is the tag ``billing`` or
    ``finance``, not a second tag that looks (nearly) the same in the list."""
    tag = unicodedata.normalize("NFKC", text.strip()).lower()
    if not tag:
        raise TagError("a tag cannot be empty")
    if len(tag) > MAX_TAG_LENGTH:
        raise TagError(f"a tag is at most {MAX_TAG_LENGTH} characters (this one has {len(tag)})")
    for char in tag:
        if not (char.isalnum() or char in TAG_PUNCTUATION):
            raise TagError(
                f"a tag cannot hold {_shown(char)}: use letters, digits and {TAG_PUNCTUATION}"
            )
    if tag.startswith("-"):
        raise TagError('a tag cannot start with "-" (a query reads it as "not")')
    return tag
