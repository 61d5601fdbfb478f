"""The console's pure helpers: snooze times, snippets, drafts, formatting."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from rich.text import Text

from omnitui.tui.clock import Clock
from omnitui.tui.drafts import Draft, Drafts
from omnitui.tui.format import duration, entry_text, waiting
from omnitui.tui.snippets import fill_snippet, snippet_values
from omnitui.when import parse_when, presets
from storage.queries import TimelineEntry

# Monday 2 March 2026, 11:00 UTC; the agent is at UTC+1
NOW = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
CET = timezone(timedelta(hours=1))


def local(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=CET).astimezone(UTC)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2h", NOW + timedelta(hours=2)),
        ("90m", NOW + timedelta(minutes=90)),
        ("3d", NOW + timedelta(days=3)),
        ("1w", NOW + timedelta(weeks=1)),
        ("tomorrow", local("2026-03-03 09:00")),
        ("Tomorrow 14:30", local("2026-03-03 14:30")),
        ("next week", local("2026-03-09 09:00")),
        ("fri", local("2026-03-06 09:00")),
        ("friday 17:00", local("2026-03-06 17:00")),
        ("mon", local("2026-03-09 09:00")),  # today is Monday: the next one
        ("18:00", local("2026-03-02 18:00")),
        ("8:00", local("2026-03-03 08:00")),  # already past today
        ("2026-04-01", local("2026-04-01 09:00")),
        ("2026-04-01 13:15", local("2026-04-01 13:15")),
    ],
)
def test_parse_when(typed: str, expected: datetime) -> None:
    assert parse_when(typed, NOW, CET) == expected


@pytest.mark.parametrize("typed", ["", "soon", "25:00", "0h", "2020-01-01", "next year"])
def test_parse_when_refuses(typed: str) -> None:
    assert parse_when(typed, NOW, CET) is None


def test_presets() -> None:
    assert [when for _label, when in presets(NOW, CET)] == [
        NOW + timedelta(hours=1),
        local("2026-03-03 09:00"),
        local("2026-03-09 09:00"),
    ]


def test_snippets_fill_known_variables_only() -> None:
    values = snippet_values("  Ann   Example ", "alice")
    text = "Hi {customer.first_name} ({customer.name}), {agent.name}; {customer.secret} {0} {"
    assert fill_snippet(text, values) == ("Hi Ann (Ann Example), alice; {customer.secret} {0} {")


def test_drafts_round_trip_and_forget_empty(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "drafts.json"
    drafts = Drafts(path)
    drafts.put(3, Draft(body="hello", channel="sms"))
    drafts.put(4, Draft(body="internal", mode="note"))
    assert json.loads(path.read_text())["3"]["channel"] == "sms"
    again = Drafts(path)
    assert again.get(3) == Draft(body="hello", channel="sms")
    assert again.get(4) == Draft(body="internal", mode="note")
    assert again.conversation_ids() == {3, 4}
    again.put(3, Draft())
    assert "3" not in json.loads(path.read_text())
    again.discard(4)
    assert Drafts(path).conversation_ids() == frozenset()
    assert list(tmp_path.joinpath("sub").iterdir()) == [path]  # no temporary files left


def test_drafts_from_an_older_file_are_read_and_nothing_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "drafts.json"
    path.write_text(
        json.dumps(
            {
                "3:note": {"body": "internal"},
                "3:reply": {"body": "hello", "channel": "sms"},
                "5:note": {"body": "only a note"},
            }
        )
    )
    drafts = Drafts(path)
    assert drafts.get(3) == Draft(body="hello\n\ninternal", channel="sms")
    assert drafts.get(5) == Draft(body="only a note", mode="note")


def test_damaged_drafts_file_is_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "drafts.json"
    path.write_text("{not json")
    assert Drafts(path).get(1) == Draft()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "now"), (60, "1m"), (3599, "59m"), (3600, "1h"), (86400 * 3, "3d"), (86400 * 21, "3w")],
)
def test_duration(seconds: int, text: str) -> None:
    assert duration(timedelta(seconds=seconds)) == text


def test_waiting_is_empty_when_we_spoke_last() -> None:
    clock = Clock(fixed=NOW, tz=UTC)
    assert waiting(clock, None).plain == ""
    assert waiting(clock, NOW - timedelta(hours=2)).plain == "2h"


def test_entry_text_is_plain_text_with_escapes_removed() -> None:
    entry = TimelineEntry(
        kind="message",
        id=1,
        conversation_id=1,
        channel="email",
        direction="in",
        author=None,
        subject="[bold]x",
        body="[link=http://evil]click[/link]\x1b]8;;http://evil\x07here\x1b]8;;\x07\n> quoted",
        at=NOW,
        status="received",
        from_address="a@example.com",
    )
    text = entry_text(entry, "[red]Eve[/red]", Clock(fixed=NOW, tz=UTC))
    assert isinstance(text, Text)
    assert "[red]Eve[/red] <a@example.com>" in text.plain
    assert "[link=http://evil]click[/link]here" in text.plain
    assert "\x1b" not in text.plain
    assert "> quoted" not in text.plain and "quoted text hidden" in text.plain
    expanded = entry_text(entry, "Eve", Clock(fixed=NOW, tz=UTC), expanded=True)
    assert "> quoted" in expanded.plain
