"""Making outside strings safe to show and to use as file names.

Subjects, bodies, names and file names come from strangers. Before they
reach a terminal, escape sequences (which could move the cursor, retitle the
window or fake a prompt) and other control characters are removed; Rich
markup is never parsed from them (callers build ``rich.text.Text``, never
markup strings).
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
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(value: str | None, *, single_line: bool = False) -> str:
    """``value`` with terminal escape sequences and control characters removed.

    Carriage returns become newlines (a bare CR would let text overwrite
    itself). With ``single_line``, all white-space runs become one space.
    """
    if not value:
        return ""
    text = _ESCAPES.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROLS.sub("", text)
    if single_line:
        text = " ".join(text.split())
    return text


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
