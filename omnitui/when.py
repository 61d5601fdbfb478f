"""Snooze times: what an agent types for a wake-up, read the same way by the
console's snooze picker and ``omnitui conversations status ID snoozed
--until``, and the presets the picker offers.

Pure functions of "now" and a time zone, so they are tested without a clock.
Each face passes the zone it shows times in: the console the agent's, the
CLI UTC (its tables print UTC), so "tomorrow 9:00" means 9:00 as that face
shows it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta, tzinfo

MORNING = time(9, 0)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RELATIVE = re.compile(r"^(\d+)\s*(m|min|h|d|w)$")
_CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?$")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
#: what the faces suggest when a time is not understood
EXAMPLES = "2h, 90m, tomorrow 14:00, fri, 18:00, 2026-04-01 9:00"


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


def _iso(text: str, tz: tzinfo) -> datetime | None:
    """``2026-04-01T09:00[:00][+02:00|Z]`` or ``2026-04-01 09:00:00`` (scripts'
    forms); a time without an offset is in ``tz``."""
    if not _ISO.fullmatch(text):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)


def _read(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    """The time ``text`` names, in UTC, past or not; ``None`` if not understood."""
    if (iso := _iso(text.strip().upper(), tz)) is not None:
        return iso
    words = text.strip().lower().split()
    if not words:
        return None
    local = now.astimezone(tz)
    joined = " ".join(words)
    if match := _RELATIVE.match(joined.replace(" ", "")):
        amount, unit = int(match.group(1)), match.group(2)
        minutes = {"m": 1, "min": 1, "h": 60, "d": 1440, "w": 10080}[unit]
        return now + timedelta(minutes=amount * minutes)
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
        return _at(day, at, tz)
    return None


def not_in_future(until: datetime) -> str:
    """Why a snooze until ``until`` is refused (the words of both faces)."""
    return (
        f"cannot snooze until {until.astimezone(UTC):%Y-%m-%d %H:%M} UTC: that is not in the future"
    )


def read_time(text: str, now: datetime, tz: tzinfo) -> datetime:
    """The time an agent or a script typed, in UTC.

    Understood: ``90m``, ``2h``, ``3d``, ``1w``; ``tomorrow [HH:MM]``;
    ``next week``; a weekday (``fri [HH:MM]``); ``HH:MM`` (today, or tomorrow
    when past); ``YYYY-MM-DD [HH:MM]`` (a day alone is at 9:00); and the ISO
    forms scripts write (``2026-04-01T09:00:00``, with or without an offset).
    Times without an offset are in ``tz``. Raises :class:`ValueError`, saying
    why for people, when the text is not understood. Whether a snooze may
    wake then is :func:`omnitui.services.set_status`'s rule (:func:`wake_time`).
    """
    try:
        value = _read(text, now, tz)
    except OverflowError:  # 99999999d, or a date whose zone takes it past the year 9999
        raise ValueError(f"{text.strip()!r} is too far away: write {EXAMPLES}") from None
    if value is None:
        raise ValueError(f"{text.strip()!r} is not a time omnitui understands: write {EXAMPLES}")
    return value


def wake_time(text: str, now: datetime, tz: tzinfo) -> datetime:
    """:func:`read_time`, refused (:class:`ValueError`, in the words
    ``set_status`` uses) unless it is after ``now``: the snooze picker says so
    at once and stays open."""
    value = read_time(text, now, tz)
    if value <= now:
        raise ValueError(not_in_future(value))
    return value


def parse_when(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    """:func:`wake_time`, or ``None`` when it refuses ``text``."""
    try:
        return wake_time(text, now, tz)
    except ValueError:
        return None
