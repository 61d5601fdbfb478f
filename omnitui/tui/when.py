"""Snooze times: the presets the snooze picker offers and what an agent types.

Pure functions of "now" and a time zone, so they are tested without a clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta, tzinfo

MORNING = time(9, 0)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RELATIVE = re.compile(r"^(\d+)\s*(m|min|h|d|w)$")
_CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?$")


def _at(day: datetime, at: time, tz: tzinfo) -> datetime:
    return datetime.combine(day.date(), at, tzinfo=tz).astimezone(UTC)


def presets(now: datetime, tz: tzinfo) -> list[tuple[str, datetime]]:
    """The snooze picker's choices: in an hour, tomorrow 9:00, next Monday 9:00."""
    local = now.astimezone(tz)
    monday = local + timedelta(days=7 - local.weekday())
    return [
        ("in 1 hour", now + timedelta(hours=1)),
        ("tomorrow 9:00", _at(local + timedelta(days=1), MORNING, tz)),
        ("next week (Monday 9:00)", _at(monday, MORNING, tz)),
    ]


def _clock(value: str) -> time | None:
    match = _CLOCK.match(value)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_when(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    """A wake-up time from what the agent typed, in UTC; ``None`` if not understood.

    Understood: ``90m``, ``2h``, ``3d``, ``1w``; ``tomorrow [HH:MM]``;
    ``next week``; a weekday (``fri [HH:MM]``); ``HH:MM`` (today, or tomorrow
    when past); ``YYYY-MM-DD [HH:MM]``. A time of day defaults to 9:00.
    """
    words = text.strip().lower().split()
    if not words:
        return None
    local = now.astimezone(tz)
    joined = " ".join(words)
    if match := _RELATIVE.match(joined.replace(" ", "")):
        amount, unit = int(match.group(1)), match.group(2)
        minutes = {"m": 1, "min": 1, "h": 60, "d": 1440, "w": 10080}[unit]
        return now + timedelta(minutes=amount * minutes) if amount else None
    at = _clock(words[-1]) if len(words) > 1 else None
    head = words[:-1] if at else words
    at = at or MORNING
    if head == ["tomorrow"]:
        return _at(local + timedelta(days=1), at, tz)
    if head == ["next", "week"]:
        return _at(local + timedelta(days=7 - local.weekday()), at, tz)
    if len(head) == 1 and head[0][:3] in _DAYS and head[0].isalpha():
        ahead = (_DAYS.index(head[0][:3]) - local.weekday()) % 7 or 7
        return _at(local + timedelta(days=ahead), at, tz)
    if len(words) == 1 and (only := _clock(words[0])):
        today = _at(local, only, tz)
        return today if today > now else _at(local + timedelta(days=1), only, tz)
    if len(head) == 1:
        try:
            day = datetime.strptime(head[0], "%Y-%m-%d")
        except ValueError:
            return None
        result = _at(day, at, tz)
        return result if result > now else None
    return None
