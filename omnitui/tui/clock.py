"""The console's idea of "now" and of the local time zone.

Injected rather than read from the system so snapshot tests are stable: a
waiting time of "3h" must not drift with the day the tests run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo


def _system_tz() -> tzinfo:
    return datetime.now().astimezone().tzinfo or UTC


@dataclass(frozen=True)
class Clock:
    """Now (UTC) and the zone times are shown in; ``fixed`` freezes now."""

    fixed: datetime | None = None
    tz: tzinfo = field(default_factory=_system_tz)

    def now(self) -> datetime:
        return self.fixed if self.fixed is not None else datetime.now(UTC)

    def local(self, value: datetime) -> datetime:
        return value.astimezone(self.tz)
