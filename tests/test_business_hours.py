"""Business seconds between two moments, computed by hand; the schedule parser."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from storage.business_hours import BusinessHours, format_days, parse_schedule, parse_timezone

HOUR = 3600.0
#: Mon-Fri 09:00-17:00 UTC; 2026-03-02 is a Monday
OFFICE = BusinessHours.parse("Mon-Fri 09:00-17:00")


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def test_parse() -> None:
    utc_zone = parse_timezone("UTC")
    assert BusinessHours(frozenset(range(5)), time(9), time(17), utc_zone) == OFFICE
    hours = BusinessHours.parse("sun-thursday 8:30-16:00", "Asia/Jerusalem")
    assert hours.days == frozenset({6, 0, 1, 2, 3}) and hours.start == time(8, 30)
    assert str(hours) == "Sun-Thu 08:30-16:00 Asia/Jerusalem"
    assert str(OFFICE) == "Mon-Fri 09:00-17:00 UTC"
    assert parse_schedule("Mon-Wed, Fri 10:00-12:00")[0] == frozenset({0, 1, 2, 4})
    assert format_days(frozenset({0, 1, 2, 4})) == "Mon-Wed,Fri"
    assert format_days(frozenset({5})) == "Sat"
    assert format_days(frozenset(range(7))) == "Mon-Sun"


def test_same_day() -> None:
    assert OFFICE.seconds_between(utc(2, 10), utc(2, 12, 30)) == 2.5 * HOUR
    assert OFFICE.seconds_between(utc(2, 8), utc(2, 10)) == 1 * HOUR  # opens at 9
    assert OFFICE.seconds_between(utc(2, 16), utc(2, 20)) == 1 * HOUR  # closes at 17


def test_overnight() -> None:
    # Mon 16:00 -> Tue 10:00: 1 h Monday + 1 h Tuesday
    assert OFFICE.seconds_between(utc(2, 16), utc(3, 10)) == 2 * HOUR
    # Mon 09:00 -> Wed 17:00: three full days
    assert OFFICE.seconds_between(utc(2, 9), utc(4, 17)) == 24 * HOUR


def test_over_a_weekend() -> None:
    # Fri 6 March 16:00 -> Mon 9 March 10:00: 1 h Friday, nothing Sat/Sun, 1 h Monday
    assert OFFICE.seconds_between(utc(6, 16), utc(9, 10)) == 2 * HOUR
    # asked on Saturday, answered on Sunday: no business time at all
    assert OFFICE.seconds_between(utc(7, 10), utc(8, 15)) == 0.0
    # two whole weeks Monday 00:00 to Monday 00:00
    assert OFFICE.seconds_between(utc(2, 0), utc(16, 0)) == 80 * HOUR


def test_b_before_a_is_nothing() -> None:
    assert OFFICE.seconds_between(utc(3, 12), utc(3, 10)) == 0.0
    assert OFFICE.seconds_between(utc(3, 12), utc(3, 12)) == 0.0


def test_both_outside_hours() -> None:
    # Mon 18:00 -> Tue 07:00: the office was closed all along
    assert OFFICE.seconds_between(utc(2, 18), utc(3, 7)) == 0.0
    # Mon 18:00 -> Wed 07:00: all of Tuesday
    assert OFFICE.seconds_between(utc(2, 18), utc(4, 7)) == 8 * HOUR


def test_local_clock_of_the_time_zone() -> None:
    berlin = BusinessHours.parse("Mon-Fri 09:00-17:00", "Europe/Berlin")
    # winter: Berlin is UTC+1, the office opens at 08:00 UTC
    assert berlin.seconds_between(utc(2, 7), utc(2, 9)) == 1 * HOUR
    # summer (from 29 March): UTC+2, it opens at 07:00 UTC, still 8 h a day
    assert berlin.seconds_between(utc(30, 6), utc(30, 9)) == 2 * HOUR
    assert berlin.seconds_between(utc(30, 0), utc(31, 0)) == 8 * HOUR
    # Friday 27 March (CET) 16:00 local -> Monday 30 March (CEST) 10:00 local
    assert berlin.seconds_between(utc(27, 15), utc(30, 8)) == 2 * HOUR


def test_dst_change_day_in_berlin() -> None:
    # 29 March 2026: 02:00 CET becomes 03:00 CEST; 25 October: 03:00 CEST becomes 02:00 CET
    night = BusinessHours.parse("Sun 01:00-04:00", "Europe/Berlin")
    spring = night.seconds_between(utc(28, 0), utc(30, 0))
    autumn = night.seconds_between(utc(24, 0, month=10), utc(26, 0, month=10))
    assert (spring, autumn) == (2 * HOUR, 4 * HOUR)  # 01:00 CET-04:00 CEST; 01:00 CEST-04:00 CET
    # hours starting in the skipped hour start when the clocks skip it: 03:00 CEST
    skipped = BusinessHours.parse("Sun 02:30-04:00", "Europe/Berlin")
    assert skipped.seconds_between(utc(28, 0), utc(30, 0)) == 1 * HOUR
    # the Saturday, Sunday and Monday of the change in a 24 h office
    always = BusinessHours.parse("Mon-Sun 00:00-23:59", "Europe/Berlin")
    assert always.seconds_between(utc(27, 23), utc(28, 23)) == 24 * HOUR - 60
    assert always.seconds_between(utc(28, 23), utc(29, 22)) == 23 * HOUR - 60
    # a moment inside the change: 00:30 UTC is 01:30 CET, 01:30 UTC is 03:30 CEST
    assert night.seconds_between(utc(29, 0, 30), utc(29, 1, 30)) == 1 * HOUR


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        OFFICE.seconds_between(datetime(2026, 3, 2, 10), utc(2, 12))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mon-Fry 09:00-17:00", ["'Fry' is not a day", "did you mean 'Fri'", "Mon, Tue"]),
        ("Mon--Fri 09:00-17:00", ["'Mon--Fri' is not a day or a range of days", "'Mon-Fri'"]),
        ("Mon-Fri", ["write the days, then the hours", "'Mon-Fri 09:00-17:00'"]),
        ("Mon-Fri 9-17", ["'9' is not a time of day", "HH:MM"]),
        ("Mon-Fri 09:00-24:00", ["'24:00' is not a time of day", "00:00 to 23:59"]),
        ("Mon-Fri 0900", ["'0900' are not hours", "start-end"]),
        ("Mon-Fri 17:00-09:00", ["end at 09:00, not after they start at 17:00", "midnight"]),
        ("Mon-Fri 09:00-09:00", ["end at 09:00, not after they start at 09:00"]),
    ],
)
def test_schedule_mistakes(text: str, expected: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        parse_schedule(text)
    for part in expected:
        assert part in str(info.value)


def test_unknown_time_zone() -> None:
    with pytest.raises(ValueError, match=r"unknown time zone 'Europe/Berln'.*'Europe/Berlin'\?"):
        parse_timezone("Europe/Berln")
    with pytest.raises(ValueError, match="IANA"):
        parse_timezone("")
