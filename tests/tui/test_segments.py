"""SMS segment counting: GSM-7 (with its extension table) against UCS-2."""

from __future__ import annotations

import pytest

from omnitui.segments import count_segments, is_gsm7


def test_empty_text_costs_nothing() -> None:
    count = count_segments("")
    assert (count.encoding, count.units, count.segments, count.remaining) == ("GSM-7", 0, 0, 160)


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments", "remaining"),
    [
        ("a" * 160, "GSM-7", 160, 1, 0),
        ("a" * 161, "GSM-7", 161, 2, 145),
        ("a" * 306, "GSM-7", 306, 2, 0),
        ("a" * 307, "GSM-7", 307, 3, 152),
        ("€" * 80, "GSM-7", 160, 1, 0),  # the extension table costs two septets
        ("€" * 81, "GSM-7", 162, 2, 143),  # 76 pairs fill part one (152)
        ("é" * 160, "GSM-7", 160, 1, 0),  # é is in the basic table
        ("ç" * 70, "UCS-2", 70, 1, 0),  # ç is not (only Ç is)
        ("ç" * 71, "UCS-2", 71, 2, 63),
        ("ç" * 134, "UCS-2", 134, 2, 0),
        ("😀" * 35, "UCS-2", 70, 1, 0),  # beyond the BMP: a surrogate pair each
        ("😀" * 36, "UCS-2", 72, 2, 61),  # 33 pairs fill part one (66)
    ],
    ids=lambda v: f"{v[:1]}x{len(v)}" if isinstance(v, str) and len(v) > 20 else None,
)
def test_counts(text: str, encoding: str, units: int, segments: int, remaining: int) -> None:
    count = count_segments(text)
    assert (count.encoding, count.units, count.segments, count.remaining) == (
        encoding,
        units,
        segments,
        remaining,
    )


def test_escaped_pair_never_straddles_two_parts() -> None:
    # 152 plain septets then "€": the pair does not fit in part one's last septet
    count = count_segments("a" * 152 + "€" + "a" * 10)
    assert count.units == 164
    assert count.segments == 2
    assert count.remaining == 153 - 12


def test_surrogate_pair_never_straddles_two_parts() -> None:
    count = count_segments("ç" * 66 + "😀" + "ç" * 5)
    assert count.units == 73
    assert count.segments == 2
    assert count.remaining == 67 - 7


def test_one_character_outside_gsm_switches_everything_to_ucs2() -> None:
    assert is_gsm7("Hello [world] {ok} ~^|\\")
    assert not is_gsm7("Hello “quotes”")
    assert count_segments("Hello “quotes”").encoding == "UCS-2"


def test_describe() -> None:
    assert count_segments("hi").describe() == "GSM-7 · 1 segment · 158 left"
    assert count_segments("a" * 200).describe() == "GSM-7 · 2 segments · 106 left"
