"""Business hours: how much of the time between two moments was working time.

``BusinessHours.parse("Mon-Fri 09:00-17:00", "Europe/Berlin")`` reads the
``[reports]`` settings; :meth:`BusinessHours.seconds_between` counts the
seconds between two aware datetimes that fall on a business day between the
start and the end time, on the clocks of the time zone.

The hours are read on the local clock, day by day: 09:00-17:00 is eight hours
on every business day, summer or winter. On the two nights a year the clocks
change, a day's hours run from the first moment the clocks show the start to
the last moment they show the end, and a time the clocks skip counts as the
moment they skip it; so hours over the change are an hour shorter or longer.

Pure: the standard library only, no store, no config file.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
FULL_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
EXAMPLE = "Mon-Fri 09:00-17:00"
_NAMES = {name.lower(): n for names in (DAYS, FULL_DAYS) for n, name in enumerate(names)}
_TIME = re.compile(r"(\d{1,2}):(\d{2})")


@dataclass(frozen=True)
class BusinessHours:
    """Working time: ``days`` (0 = Monday … 6 = Sunday), ``start`` to ``end`` in ``tz``."""

    days: frozenset[int]
    start: time
    end: time
    tz: ZoneInfo

    @classmethod
    def parse(cls, text: str, timezone: str = "UTC") -> BusinessHours:
        """``"Mon-Fri 09:00-17:00"`` in ``timezone``; a ValueError says what is wrong."""
        days, start, end = parse_schedule(text)
        return cls(days, start, end, parse_timezone(timezone))

    def __str__(self) -> str:
        return f"{format_days(self.days)} {self.start:%H:%M}-{self.end:%H:%M} {self.tz.key}"

    def seconds_between(self, a: datetime, b: datetime) -> float:
        """Business seconds from ``a`` to ``b`` (aware datetimes); 0 if ``b`` is not later."""
        if a.tzinfo is None or b.tzinfo is None:
            raise ValueError("business hours need aware datetimes (with a time zone)")
        if b <= a:
            return 0.0
        total = timedelta()
        day, last = a.astimezone(self.tz).date(), b.astimezone(self.tz).date()
        while day <= last:
            if day.weekday() in self.days:
                opens, closes = _window(self, day)
                if closes > a and opens < b:
                    total += min(b, closes) - max(a, opens)
            day += timedelta(days=1)
        return total.total_seconds()


@lru_cache(maxsize=4096)
def _window(hours: BusinessHours, day: date) -> tuple[datetime, datetime]:
    """The business hours of ``day`` as UTC instants."""
    return _instant(day, hours.start, hours.tz, fold=0), _instant(day, hours.end, hours.tz, fold=1)


def _instant(day: date, at: time, tz: ZoneInfo, *, fold: int) -> datetime:
    """When the clocks of ``tz`` show ``at`` on ``day``: the first (fold 0) or last (fold 1)
    time if they show it twice, the moment they skip it if they never do."""
    wall = datetime.combine(day, at)
    moment = wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)
    if moment.astimezone(tz).replace(tzinfo=None) == wall:
        return moment
    # in the gap of a spring-forward: the first second whose wall time is past ``at``
    lo = int(wall.replace(tzinfo=tz, fold=1).timestamp())  # before the change
    hi = int(wall.replace(tzinfo=tz, fold=0).timestamp())  # after it
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def parse_schedule(text: str) -> tuple[frozenset[int], time, time]:
    """The days, start and end of ``"Mon-Fri 09:00-17:00"``; a ValueError says what is wrong."""
    days_text, _, hours_text = text.strip().rpartition(" ")
    if not days_text.strip() or not hours_text:
        raise ValueError(f"write the days, then the hours, e.g. {EXAMPLE!r} (got {text!r})")
    days = _days(days_text)
    start_text, dash, end_text = hours_text.partition("-")
    if not dash or "-" in end_text:
        raise ValueError(
            f"{hours_text!r} are not hours; write start-end on a 24-hour clock, e.g. '09:00-17:00'"
        )
    start, end = _time(start_text), _time(end_text)
    if end <= start:
        raise ValueError(
            f"the hours end at {end:%H:%M}, not after they start at {start:%H:%M}; "
            "the end must come later on the same day (hours over midnight are not "
            "supported), e.g. '09:00-17:00'"
        )
    return days, start, end


def _days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for item in "".join(text.split()).split(","):
        ends = item.split("-")
        if len(ends) > 2 or not all(ends):
            raise ValueError(
                f"{item!r} is not a day or a range of days; write first-last, e.g. 'Mon-Fri', "
                "or a list, e.g. 'Mon-Fri,Sat'"
            )
        first, last = (_day(name) for name in (ends[0], ends[-1]))
        # a range may wrap around the week: Sun-Thu is Sunday to Thursday
        days.update((first + n) % 7 for n in range((last - first) % 7 + 1))
    return frozenset(days)


def _day(name: str) -> int:
    if name.lower() in _NAMES:
        return _NAMES[name.lower()]
    close = difflib.get_close_matches(name.lower(), list(_NAMES), n=1)
    hint = f" (did you mean {DAYS[_NAMES[close[0]]]!r}?)" if close else ""
    raise ValueError(
        f"{name!r} is not a day{hint}; use {', '.join(DAYS)}, e.g. 'Mon-Fri' or 'Mon-Fri,Sat'"
    )


def _time(text: str) -> time:
    match = _TIME.fullmatch(text)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(
            f"{text!r} is not a time of day; write HH:MM from 00:00 to 23:59, e.g. '09:00-17:00'"
        )
    return time(int(match[1]), int(match[2]))


def parse_timezone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; a ValueError names a close match."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    known = available_timezones() | {"UTC"}
    same = [k for k in known if k.lower() == name.strip().lower()]
    close = same or difflib.get_close_matches(name, sorted(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(
        f"unknown time zone {name!r}{hint}; use an IANA name such as 'Europe/Berlin', "
        "'America/New_York' or 'UTC'"
    )


def format_days(days: frozenset[int]) -> str:
    """``Mon-Fri``, ``Sun-Thu``, ``Mon-Fri,Sun``: runs of days around the week."""
    if len(days) == 7:
        return "Mon-Sun"
    runs: list[str] = []
    for first in sorted(d for d in days if (d - 1) % 7 not in days):
        last = first
        while (last + 1) % 7 in days:
            last = (last + 1) % 7
        runs.append(DAYS[first] if first == last else f"{DAYS[first]}-{DAYS[last]}")
    return ",".join(runs)
