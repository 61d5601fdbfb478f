"""Making outside strings safe to show and to use as file names.

Subjects, bodies, names and file names come from strangers. Before they
reach a terminal, escape sequences (which could move the cursor, retitle the
window or fake a prompt), other control characters and invisible format
characters are removed; Rich markup is never parsed from them (callers build
``rich.text.Text``, never markup strings, and the CLI's consoles expand no
``:emoji:`` codes).

Invisible characters are removed because they let one text pass for another:
"pa<U+200B>y<U+200C>pal" looks like "paypal", and a right-to-left override
(U+202E) shows ``moc.lapyap`` as "paypal.com". The price is that a joined
emoji (ZWJ sequences such as a family) shows as its parts.
"""

from __future__ import annotations

import re
import unicodedata

# CSI / OSC / other ESC sequences, then any remaining C0/C1 control except
# tab and newline.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI ... final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL or ST
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS / SOS / PM / APC ... ST
    r"|\x1b[@-Z\\-_]?"  # two-byte escapes, or a lone ESC
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)

#: Characters that draw nothing (or reorder what is drawn): zero-width
#: spaces and joiners, word joiner and invisible operators, BOM, soft hyphen,
#: bidi marks, embeddings, overrides and isolates, Hangul and Mongolian
#: fillers, interlinear annotation marks and tag characters.
INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f"
)
_CONTROLS = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{INVISIBLE}]")
_SURROGATES = re.compile("[\\ud800-\\udfff]")
_LINE_BREAKS = str.maketrans({"\r": "\n", "\u2028": "\n", "\u2029": "\n"})


def clean_text(value: str | None, *, single_line: bool = False) -> str:
    """``value`` with terminal escape sequences and control characters removed.

    Carriage returns (and Unicode line separators) become newlines: a bare CR
    would let text overwrite itself. Invisible characters (:data:`INVISIBLE`)
    are removed, and a lone surrogate (undecodable bytes) becomes U+FFFD, so
    printing never fails. With ``single_line``, all white-space runs become
    one space.
    """
    if not value:
        return ""
    text = _ESCAPES.sub("", value.replace("\r\n", "\n").translate(_LINE_BREAKS))
    text = _SURROGATES.sub("\ufffd", _CONTROLS.sub("", text))
    if single_line:
        text = " ".join(text.split())
    return text


_C0_C1 = re.compile("[\\x00-\\x1f\\x7f-\\x9f]")


def one_line(value: str | None) -> str:
    """``value`` folded onto one line, for a header such as a subject.

    Every line break and white-space run becomes one space and other control
    characters are removed: a CR or LF in a subject would end the header
    (SMTP refuses it, or it starts a header of the sender's choosing).
    """
    if not value:
        return ""
    return _SURROGATES.sub("\ufffd", _C0_C1.sub("", " ".join(value.split())))


_UNSAFE_FILENAME = re.compile(r"[^\w.\- ()+,@=]+", re.UNICODE)


def sanitize_filename(name: str | None, fallback: str = "attachment") -> str:
    """A file name safe to write under a directory of ours.

    Only the last path component is kept (no ``../``), control and reserved
    characters are replaced, leading dots removed, and the length capped.
    """
    raw = unicodedata.normalize("NFC", clean_text(name or "", single_line=True))
    raw = raw.replace("\\", "/").split("/")[-1]
    cleaned = _UNSAFE_FILENAME.sub("_", raw).strip(" .")
    if not cleaned or cleaned in {".", ".."}:
        return fallback
    if len(cleaned) > 120:
        stem, dot, ext = cleaned.rpartition(".")
        cleaned = (
            (stem[: 120 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else cleaned[:120]
        )
    return cleaned


def first_line(body: str | None, width: int = 120) -> str:
    """The first non-empty, non-quoted line of ``body``, cleaned and cut to ``width``."""
    for line in clean_text(body).splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(">"):
            return stripped[:width]
    return ""


def span(seconds: object) -> str:
    """A duration for a report cell: ``45m``, ``3.5h``; ``-`` when there is none."""
    if not isinstance(seconds, (int, float)):
        return "-"
    return f"{seconds / 3600:.1f}h" if seconds >= 3600 else f"{seconds / 60:.0f}m"
