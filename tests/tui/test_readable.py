"""Readable at 80x24 and under NO_COLOR: what the agent sees, read back from
the exported screenshot (text, colours, positions) after real keystrokes."""

from __future__ import annotations

import dataclasses
import html
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from omnitui import services
from omnitui.services.ingest import ingest
from omnitui.tui import format as format_module
from omnitui.tui.app import OmniApp
from omnitui.tui.format import BADGES
from omnitui.tui.screens.customer import CustomerScreen
from omnitui.tui.screens.inbox import InboxScreen
from omnitui.tui.screens.reports import ReportsScreen
from omnitui.tui.widgets.customer_header import CustomerHeader
from omnitui.tui.widgets.key_hints import KeyHints
from providers.base import InboundMessage, PollBatch
from storage.queries import list_conversations
from tests.helpers import T0
from tests.tui.conftest import OUR_EMAIL, Seeded, make_test_app
from tests.tui.test_flows import goto_row, open_conversation
from tests.tui.waiting import press, settle

ANN_EMAIL_CONV = 2
CELL_W = 12.2  # one terminal cell in Rich's SVG export
LINE_H = 24.4


@dataclass(frozen=True)
class Run:
    """A piece of text drawn in one style: where, what, and in which colours."""

    line: int
    column: int
    text: str
    fg: str
    bg: str
    bold: bool


def screen_runs(app: OmniApp) -> list[Run]:
    """The screenshot's text runs with their colours (reverse already resolved)."""
    svg = app.export_screenshot()
    css = svg.replace("\n", " ")
    classes = dict(re.findall(r"\.(terminal-[\w-]*?r\d+) \{([^}]*)\}", css))
    backgrounds: dict[tuple[int, int], str] = {}
    for fill, x, y, w in re.findall(
        r'<rect fill="(#[0-9a-f]{6})" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"', svg
    ):
        line, column = round((float(y) - 1.5) / LINE_H), round(float(x) / CELL_W)
        for c in range(column, column + round(float(w) / CELL_W)):
            backgrounds[(line, c)] = fill
    runs = []
    for cls, x, line, text in re.findall(
        r'<text class="([\w-]+)" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" '
        r'clip-path="url\(#terminal-[\w-]*?line-(\d+)\)">([^<]*)</text>',
        svg,
    ):
        style = classes.get(cls, "")
        fg = re.search(r"fill: (#[0-9a-f]{6})", style)
        column = round(float(x) / CELL_W)
        runs.append(
            Run(
                int(line),
                column,
                html.unescape(text).replace("\xa0", " "),
                fg.group(1) if fg else "",
                backgrounds.get((int(line), column), ""),
                "bold" in style,
            )
        )
    return runs


def screen_lines(app: OmniApp) -> list[str]:
    """What the terminal shows, one string per line."""
    width, height = app.size
    lines = [[" "] * width for _ in range(height)]
    for run in screen_runs(app):
        for n, char in enumerate(run.text):
            if 0 <= run.line < height and run.column + n < width:
                lines[run.line][run.column + n] = char
    return ["".join(line).rstrip() for line in lines]


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours."""

    def luminance(colour: str) -> float:
        rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _mail(ext: str, minutes: float, body: str, *, name: str = "Ann Example") -> InboundMessage:
    mid = f"<{ext}@mail.example.com>"
    return InboundMessage(
        external_id=mid,
        channel="email",
        from_address="ann@example.com",
        to_address=OUR_EMAIL,
        sent_at=T0 + timedelta(minutes=minutes),
        body_text=body,
        from_name=name,
        subject="Re: Refund please",
        message_id=mid,
        in_reply_to="<ann1@mail.example.com>",
        references=("<ann1@mail.example.com>",),
    )


# -- the composer does not hide the message being answered ----------------------


async def test_the_composer_keeps_the_message_answered_in_view(seeded: Seeded) -> None:
    more = tuple(_mail(f"more{n}", 31 + n, f"Follow-up number {n}.") for n in range(6))
    last = _mail("last", 45, "Please answer THIS ONE today.")
    ingest(seeded.store, "demo", PollBatch(messages=(*more, last), cursors={}))
    app = make_test_app(seeded.runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        assert screen.timeline.current is not None
        assert "THIS ONE" in screen.timeline.current.body
        assert any("THIS ONE" in line for line in screen_lines(app))
        await press(pilot, "r")
        await settle(pilot)
        assert screen.composer.display and screen.composer.body.has_focus
        lines = screen_lines(app)
        composer_top = next(n for n, line in enumerate(lines) if "Reply" in line and "▔" in line)
        shown = [n for n, line in enumerate(lines) if "THIS ONE" in line]
        assert shown and shown[0] < composer_top, "\n".join(lines)
        assert screen.timeline.current is not None and "THIS ONE" in screen.timeline.current.body


async def test_a_reply_opened_from_the_inbox_shows_the_message_answered(seeded: Seeded) -> None:
    more = tuple(_mail(f"more{n}", 31 + n, f"Follow-up number {n}.") for n in range(6))
    last = _mail("last", 45, "Please answer THIS ONE today.")
    ingest(seeded.store, "demo", PollBatch(messages=(*more, last), cursors={}))
    app = make_test_app(seeded.runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        inbox = pilot.app.screen
        assert isinstance(inbox, InboxScreen)
        await goto_row(pilot, ANN_EMAIL_CONV)
        await press(pilot, "r")  # straight into the composer
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, CustomerScreen) and screen.composer.display
        await settle(pilot)
        lines = screen_lines(app)
        composer_top = next(n for n, line in enumerate(lines) if "Reply" in line and "▔" in line)
        shown = [n for n, line in enumerate(lines) if "THIS ONE" in line]
        assert shown and shown[0] < composer_top, "\n".join(lines)


# -- the customer header ----------------------------------------------------------


async def test_the_customer_header_keeps_to_two_lines_at_80_columns(seeded: Seeded) -> None:
    ids = seeded.customers
    for other in ("bob", "carl", "dora", "mallory"):
        services.merge_customers(seeded.store, ids["ann"], ids[other], "test")
    app = make_test_app(seeded.runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        header = screen.query_one(CustomerHeader)
        assert header.size.height == 2
        lines = screen_lines(app)
        assert lines[0].startswith(" Ann Example  #2  EML "), lines[0]
        assert re.search(r"\+\d more$", lines[0]), lines[0]  # counted, not lost silently
        assert lines[1].startswith(" this: EML #2 open"), lines[1]
        assert lines[2].startswith(" ──"), lines[2]  # the timeline follows at once
    wide = make_test_app(seeded.runtime)
    async with wide.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await open_conversation(pilot, ANN_EMAIL_CONV)
        first = screen_lines(wide)[0]
        for shown in ("ann@example.com", "555000", "dora@example.com", "mallory@example.com"):
            assert shown in first, first


# -- search results --------------------------------------------------------------


async def test_search_results_are_drawn_in_normal_text_colours(app: OmniApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "slash", *"refund")
        await settle(pilot)
        runs = screen_runs(app)
        badge = next(r for r in runs if r.text.strip() == "EML" and r.line > 5)
        body = next(r for r in runs if "news on my" in r.text)  # "refund" is highlighted
        title = next(r for r in runs if "Search every message" in r.text)
        normal = next(r for r in runs if r.text.strip() == "refund")  # the typed words
        assert body.fg != badge.fg, (body, badge)
        assert body.fg in (title.fg, normal.fg), (body, title, normal)
        assert contrast(body.fg, body.bg) >= 4.5, body
        name = next(r for r in runs if "Ann Example" in r.text and r.line == body.line)
        assert name.fg != badge.fg and name.bold


# -- NO_COLOR --------------------------------------------------------------------


def test_every_channel_badge_has_its_own_letters() -> None:
    assert len(set(BADGES.values())) == len(BADGES)


@pytest.mark.parametrize("theme", ["dark", "light"])
async def test_badges_are_legible_without_colour(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch, theme: str
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(format_module, "_plain_badges", False)  # put back after the test
    seeded.runtime.config = dataclasses.replace(seeded.runtime.config, theme=theme)
    app = make_test_app(seeded.runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.no_color
        await press(pilot, "j")  # the cursor off the first row (Carl's Telegram)
        await settle(pilot)
        inbox = [r for r in screen_runs(app) if r.text.strip() in BADGES.values()]
        assert {r.text.strip() for r in inbox} >= {"EML", "TG", "SMS", "WA"}
        await open_conversation(pilot, ANN_EMAIL_CONV)
        customer = [r for r in screen_runs(app) if r.text.strip() in BADGES.values()]
        assert {r.text.strip() for r in customer} >= {"EML", "SMS"}
        for run in inbox + customer:
            assert run.bold, run
            assert contrast(run.fg, run.bg) >= 4.5, run


# -- inbox columns -----------------------------------------------------------------

LONG_NAME = "Bartholomew Longname-Featherstonehaugh"
LONG_SUBJECT = "A subject long enough to push every other column of the inbox off the screen"


def _conversation(seeded: Seeded, subject: str) -> int:
    with seeded.store.read() as session:
        rows = list_conversations(session, view="all", agent="alice")
    (conv,) = [c for c in rows if c.subject == subject]
    return conv.id


def _columns(table: DataTable[Any]) -> dict[str, int]:
    return {str(key.value): col.get_render_width(table) for key, col in table.columns.items()}


async def test_inbox_columns_shrink_back_when_the_wide_row_goes(seeded: Seeded) -> None:
    mail = InboundMessage(
        external_id="<long1@mail.example.com>",
        channel="email",
        from_address="bart@example.com",
        to_address=OUR_EMAIL,
        sent_at=T0 + timedelta(minutes=75),
        body_text="hello",
        from_name=LONG_NAME,
        subject=LONG_SUBJECT,
        message_id="<long1@mail.example.com>",
    )
    ingest(seeded.store, "demo", PollBatch(messages=(mail,), cursors={}))
    long_conv = _conversation(seeded, LONG_SUBJECT)
    services.assign(seeded.store, long_conv, "someone-with-a-long-name", "test")
    app = make_test_app(seeded.runtime)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, InboxScreen)
        wide = _columns(screen.table)
        assert long_conv in screen.table.rows_by_id
        services.set_status(seeded.store, long_conv, "resolved", "test")
        await press(pilot, "1")  # the open view again, read afresh
        await settle(pilot)
        assert long_conv not in screen.table.rows_by_id
        narrow = _columns(screen.table)
        longest = max(len(r.customer_name) for r in screen.table.rows_by_id.values())
        assert narrow["customer"] == longest + 2 < wide["customer"], (wide, narrow)
        assert narrow["assignee"] == len("Assignee") + 2


async def test_the_subject_keeps_a_fair_share_of_80_columns(seeded: Seeded) -> None:
    mail = InboundMessage(
        external_id="<long1@mail.example.com>",
        channel="email",
        from_address="bart@example.com",
        to_address=OUR_EMAIL,
        sent_at=T0 + timedelta(minutes=75),
        body_text="hello",
        from_name=LONG_NAME,
        subject=LONG_SUBJECT,
        message_id="<long1@mail.example.com>",
    )
    ingest(seeded.store, "demo", PollBatch(messages=(mail,), cursors={}))
    services.assign(
        seeded.store, _conversation(seeded, LONG_SUBJECT), "someone-with-a-long-name", "test"
    )
    app = make_test_app(seeded.runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, InboxScreen)
        columns = _columns(screen.table)
        visible = screen.table.scrollable_content_region.width
        subject = visible - sum(w for k, w in columns.items() if k != "summary")
        assert subject >= 20, columns
        lines = screen_lines(app)
        row = next(line for line in lines if "Barth" in line)
        assert "A subject long enou" in row, row
        assert "…" in row  # the name is cut visibly, not silently
        assert any("Is the shop open" in line for line in lines), lines


# -- wrapped body lines ------------------------------------------------------------


async def test_a_wrapped_body_line_continues_under_the_indent(seeded: Seeded) -> None:
    words = " ".join(f"word{n:02d}" for n in range(30))  # ~210 characters, one line
    ingest(seeded.store, "demo", PollBatch(messages=(_mail("wrap", 45, words),), cursors={}))
    app = make_test_app(seeded.runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_conversation(pilot, ANN_EMAIL_CONV)
        lines = screen_lines(app)
        body = [line for line in lines if "word" in line]
        assert len(body) >= 3, lines
        first_indent = len(body[0]) - len(body[0].lstrip())
        assert body[0].lstrip().startswith("word00")
        for line in body[1:]:
            assert len(line) - len(line.lstrip()) == first_indent, body
        assert " ".join(" ".join(line.split()) for line in body) == words


# -- reports -------------------------------------------------------------------------


async def _reports(pilot: Pilot[None]) -> ReportsScreen:
    await press(pilot, "o")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ReportsScreen)
    return screen


async def test_reports_show_every_column_at_80_columns(app: OmniApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await _reports(pilot)
        for table in screen.query(DataTable):
            needed = sum(c.get_render_width(table) for c in table.columns.values())
            assert needed <= table.scrollable_content_region.width, (table.id, needed)
        text = "\n".join(screen_lines(app))
        for word in ("opened", "resolved", "p50", "p90", "failed", "<1h", ">3d"):
            assert word in text, (word, text)


async def test_reports_have_the_key_bar(app: OmniApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await _reports(pilot)
        assert screen.query(KeyHints)
        last = screen_lines(app)[-1]
        for hint in ("? help", "p Period", "c Channel", "esc Back"):
            assert hint in last, last
