"""How many SMS segments a text costs, and in which encoding.

An SMS carries 140 bytes: 160 GSM-7 septets or 70 UCS-2 code units. A longer
text is split into parts that each give up room to a concatenation header:
153 septets or 67 units a part. GSM-7 has a basic table (one septet a
character) and an extension table reached by an escape (two septets; the pair
is never split between parts). A single character outside both tables turns
the whole text into UCS-2, where a character beyond the Basic Multilingual
Plane (most emoji) takes two units, also never split.

The composer shows this while the agent types, and ``omnitui send`` reports it,
for SMS only (:func:`segments_for`): WhatsApp has no segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

# GSM 03.38 basic character set (the escape at 0x1B is not a character).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Reached through the escape: each costs two septets.
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

SINGLE = {"GSM-7": 160, "UCS-2": 70}
MULTI = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True)
class SegmentCount:
    """What a text costs as an SMS.

    ``units`` are septets (GSM-7) or UTF-16 code units (UCS-2); ``remaining``
    is what still fits in the last part before another one is needed.
    """

    encoding: Encoding
    units: int
    segments: int
    per_segment: int
    remaining: int

    def describe(self) -> str:
        """A short line for the composer, e.g. ``GSM-7 · 2 segments · 140 left``."""
        parts = "segment" if self.segments == 1 else "segments"
        return f"{self.encoding} · {self.segments} {parts} · {self.remaining} left"


def is_gsm7(text: str) -> bool:
    """Whether every character of ``text`` is in the GSM-7 basic or extension table."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _costs(text: str, encoding: Encoding) -> list[int]:
    if encoding == "GSM-7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def count_segments(text: str) -> SegmentCount:
    """The encoding, size and number of parts of ``text`` sent as an SMS.

    An empty text costs nothing: zero segments, a whole single part left.
    """
    encoding: Encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
    costs = _costs(text, encoding)
    units = sum(costs)
    single = SINGLE[encoding]
    if units <= single:
        return SegmentCount(encoding, units, 1 if units else 0, single, single - units)
    per = MULTI[encoding]
    segments, used = 1, 0
    for cost in costs:
        # an escaped pair or a surrogate pair never straddles two parts
        if used + cost > per:
            segments += 1
            used = 0
        used += cost
    return SegmentCount(encoding, units, segments, per, per - used)


#: The channels billed by the segment: SMS only (WhatsApp has no segments).
SEGMENTED_CHANNELS = frozenset({"sms"})


def segments_for(channel: str | None, text: str) -> SegmentCount | None:
    """What ``text`` costs on ``channel``, or ``None`` where segments mean
    nothing: the composer's counter and ``omnitui send``'s report both ask this."""
    return count_segments(text) if channel in SEGMENTED_CHANNELS else None
