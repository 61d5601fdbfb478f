"""Issue 17 in the console, driven with real keys: views with live counts, the
filter prompt, marks and bulk actions over them, tags with completion.

Tests that read or write the store run on SQLite and PostgreSQL (the
``triage`` fixture, built on ``db_url``); another agent's change is made
through the services on a second store, as another process would."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from omnitui import services
from omnitui.config import ViewSetting
from omnitui.runtime import Runtime, demo_config
from omnitui.services import tags
from omnitui.tui.app import OmniApp
from omnitui.tui.screens.inbox import InboxScreen
from omnitui.tui.screens.pick import PickScreen
from omnitui.tui.screens.query_prompt import QueryScreen, caret_lines
from omnitui.tui.screens.tag_prompt import TagScreen
from storage.db import Store, open_store
from tests.tui.conftest import (
    ANN_EMAIL_CONV,
    BOB_CONV,
    CARL_CONV,
    DORA_CONV,
    FAY_CONV,
    MALLORY_CONV,
    Seeded,
    conversation,
    make_test_app,
    seed,
)
from tests.tui.pilots import screen_text, until
from tests.tui.test_no_store_io_on_ui_thread import UIThreadCalls, on_ui_thread
from tests.tui.test_typeahead import burst
from tests.tui.waiting import press, settle

__all__ = ["on_ui_thread"]  # the fixture, shared

#: the open view's rows, newest activity first (see tests/tui/conftest.py)
OPEN_ORDER = [CARL_CONV, FAY_CONV, MALLORY_CONV, BOB_CONV, ANN_EMAIL_CONV, 3, DORA_CONV]
VIP = ViewSetting("vip", "8", "tag:vip status:all", "activity")
UNREAD = ViewSetting("unread", "9", "unread:me", "activity")


pytestmark = pytest.mark.migrated  # the db_url fixture's databases come migrated


@pytest.fixture
def triage(db_url: str, tmp_path: Path) -> Iterator[Seeded]:
    """The console tests' seed on either engine, with a ``vip`` view in the config."""
    config = dataclasses.replace(demo_config(agent="alice"), views=(VIP,))
    rt = Runtime(config=config, db_url=db_url, data_dir=tmp_path / "data", demo=True)
    try:
        store = rt.store()
        yield Seeded(rt, store, seed(store))
    finally:
        rt.close()


@pytest.fixture
def elsewhere(triage: Seeded, tmp_path: Path) -> Iterator[Store]:
    """A second store on the same database: another agent's process."""
    store = open_store(triage.runtime.db_url, tmp_path / "other")
    try:
        yield store
    finally:
        store.close()


def inbox(pilot: Pilot[None]) -> InboxScreen:
    screen = pilot.app.screen
    assert isinstance(screen, InboxScreen)
    return screen


def mark_cells(screen: InboxScreen) -> list[str]:
    """The first column of each row, as shown: ``●`` marks, ``*`` unread."""
    return [screen.table.get_row_at(n)[0].plain for n in range(len(screen.table.order))]


# -- marks -----------------------------------------------------------------------


async def test_space_marks_and_moves_on_star_marks_the_view_escape_clears(
    triage: Seeded,
) -> None:
    app = make_test_app(triage.runtime)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = inbox(pilot)
        assert screen.table.order == OPEN_ORDER
        await press(pilot, "space", "space")
        assert set(screen.table.marked) == {CARL_CONV, FAY_CONV}
        assert screen.table.current is not None and screen.table.current.id == MALLORY_CONV
        assert mark_cells(screen)[:3] == ["●*", "●*", "*"]
        assert "2 marked: a s z t m act on them, esc clears" in screen_text(app)
        await press(pilot, "k", "space")  # unmarks Fay
        assert set(screen.table.marked) == {CARL_CONV}
        assert "1 marked" in str(screen.bar.render())
        await press(pilot, "asterisk")
        assert set(screen.table.marked) == set(OPEN_ORDER)
        assert "7 marked" in str(screen.bar.render())
        await press(pilot, "escape")
        assert screen.table.marked == {}
        assert all(not cell.startswith("●") for cell in mark_cells(screen))


async def test_marks_typed_fast_in_one_burst(app: OmniApp) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = inbox(pilot)
        await burst(pilot, "space", "space", "space", "j", "space", "k", "space")
        # three marked, one skipped, Ann's e-mail marked, back onto it, unmarked
        assert set(screen.table.marked) == {CARL_CONV, FAY_CONV, MALLORY_CONV}
        await burst(pilot, "asterisk", "escape", "space")  # "*" reads in a worker
        assert set(screen.table.marked) == {3}  # the row the cursor was on


async def test_mark_all_marks_rows_not_loaded_yet(seeded: Seeded) -> None:
    from tests.tui.test_safety_and_keys import _many

    _many(seeded.runtime, 150)  # more than one page
    app = make_test_app(seeded.runtime)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = inbox(pilot)
        await press(pilot, "7")  # all
        assert len(screen.table.order) < screen.bar.counts["all"]
        await press(pilot, "asterisk")
        assert len(screen.table.marked) == screen.bar.counts["all"]


# -- bulk actions ------------------------------------------------------------------


async def _pick(pilot: Pilot[None], label: str) -> None:
    picker = pilot.app.screen
    assert isinstance(picker, PickScreen)
    index = next(n for n, c in enumerate(picker.choices) if c.label.plain.startswith(label))
    for _ in range(index):
        await press(pilot, "down")
    await press(pilot, "enter")


async def test_status_over_marked_rows_changes_each_of_them(triage: Seeded) -> None:
    app = make_test_app(triage.runtime)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = inbox(pilot)
        await press(pilot, "space", "j", "space")  # Carl and Mallory
        await press(pilot, "s")
        picker = pilot.app.screen
        assert isinstance(picker, PickScreen) and "2 marked" in picker.title_text
        await _pick(pilot, "resolved")
        assert screen.table.marked == {}
        assert CARL_CONV not in screen.table.order and MALLORY_CONV not in screen.table.order
    assert conversation(triage, CARL_CONV).status == "resolved"
    assert conversation(triage, MALLORY_CONV).status == "resolved"
    assert conversation(triage, FAY_CONV).status == "open"  # skipped over, never marked


async def test_without_marks_status_acts_on_the_row_as_before(triage: Seeded) -> None:
    app = make_test_app(triage.runtime)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "j", "s")
        picker = pilot.app.screen
        assert isinstance(picker, PickScreen) and f"#{FAY_CONV}" in picker.title_text
        await _pick(pilot, "pending")
    assert conversation(triage, FAY_CONV).status == "pending"
    assert conversation(triage, CARL_CONV).status == "open"


async def test_a_conflict_is_reported_per_conversation_and_stays_marked(
    triage: Seeded, elsewhere: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_test_app(triage.runtime)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = inbox(pilot)
        await press(pilot, "space", "space")  # Carl and Fay
        await press(pilot, "s")  # the picker is open: the inbox reads nothing now
        services.assign(elsewhere, FAY_CONV, "bob", "bob")  # another agent, meanwhile
        notes: list[str] = []
        monkeypatch.setattr(app, "notify", lambda message, **kw: notes.append(str(message)))
        await _pick(pilot, "pending")
        assert set(screen.table.marked) == {FAY_CONV}  # not changed: still marked
        assert any(f"#{FAY_CONV}" in n and "1 not changed" in n for n in notes), notes
    assert conversation(triage, CARL_CONV).status == "pending"
    fay = conversation(triage, FAY_CONV)
    assert fay.status == "open" and fay.assignee == "bob"  # nothing overwritten


async def test_tag_and_merge_over_marked_rows(triage: Seeded) -> None:
    app = make_test_app(triage.runtime)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        screen = inbox(pilot)
        await press(pilot, "space", "space", "t", *"late", "enter")

        def tagged() -> bool:
            rows = screen.table.rows_by_id  # replaced at each read
            return rows[CARL_CONV].tags == rows[FAY_CONV].tags == ("late",)

        await until(pilot, tagged, "both marked rows tagged")
        assert screen.table.rows_by_id[MALLORY_CONV].tags == ()
        await press(pilot, "k", "k", "space", "space")  # Carl and Fay again
        assert set(screen.table.marked) == {CARL_CONV, FAY_CONV}
        await press(pilot, "m")
        picker = pilot.app.screen
        assert isinstance(picker, PickScreen) and "keep which" in picker.title_text
        await _pick(pilot, "Carl Chat")
        assert screen.table.marked == {}
    carl = triage.customers["carl"]
    assert conversation(triage, FAY_CONV).customer_id == carl


# -- views and their counts -----------------------------------------------------


async def test_view_counts_follow_another_agents_change(triage: Seeded, elsewhere: Store) -> None:
    app = make_test_app(triage.runtime)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        screen = inbox(pilot)
        await until(pilot, lambda: screen.bar.counts.get("mine") == 0, "first count")
        assert screen.bar.counts["vip"] == 0 and screen.bar.counts["open"] == 7
        services.assign(elsewhere, BOB_CONV, "alice", "bob")
        tags.add_tags(elsewhere, "bob", ["vip"], conversation_id=ANN_EMAIL_CONV)
        await until(
            pilot,
            lambda: screen.bar.counts.get("mine") == 1 and screen.bar.counts.get("vip") == 1,
            "the counts after bob's changes",
        )
        assert "2 mine 1" in str(screen.bar.render())
        await press(pilot, "8")  # the config's view, on its own key
        assert screen.view == "vip" and screen.table.order == [ANN_EMAIL_CONV]
        await press(pilot, "1")
        assert screen.view == "open" and len(screen.table.order) == 7


async def test_the_unread_count_follows_a_read_in_another_console(
    triage: Seeded, elsewhere: Store, tmp_path: Path
) -> None:
    """A read mark is a change too: alice reads a conversation in her second
    console (or marks it unread there) and this console's ``unread:me``
    count follows, as the other counts follow an assignment."""
    from omnitui.services import readmarks

    config = dataclasses.replace(triage.runtime.config, views=(UNREAD,))
    rt = Runtime(config=config, db_url=triage.runtime.db_url, data_dir=tmp_path / "d2", demo=True)
    app = make_test_app(rt)
    try:
        async with app.run_test(size=(160, 30)) as pilot:
            await settle(pilot)
            screen = inbox(pilot)
            await until(pilot, lambda: "unread" in screen.bar.counts, "first count")
            before = screen.bar.counts["unread"]
            assert before >= 1
            readmarks.mark_read(elsewhere, "alice", CARL_CONV)
            await until(
                pilot,
                lambda: screen.bar.counts.get("unread") == before - 1,
                "the count after a read elsewhere",
            )
            readmarks.mark_unread(elsewhere, "alice", CARL_CONV)
            await until(
                pilot,
                lambda: screen.bar.counts.get("unread") == before,
                "the count after marking unread elsewhere",
            )
    finally:
        rt.close()


async def test_the_filter_prompt_points_at_a_bad_term_and_keeps_the_text(
    triage: Seeded,
) -> None:
    app = make_test_app(triage.runtime)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = inbox(pilot)
        await press(pilot, "l")
        prompt = pilot.app.screen
        assert isinstance(prompt, QueryScreen)
        assert prompt.text == "status:open"  # the view's own query, to narrow
        await press(pilot, *" chanel:sms", "enter")
        assert isinstance(pilot.app.screen, QueryScreen)  # still asking
        assert prompt.text == "status:open chanel:sms"
        assert prompt.problem is not None
        assert prompt.error_text is not None
        echo, caret, why = prompt.error_text.plain.split("\n")[:3]
        assert echo == "status:open chanel:sms"
        start = len("status:open ")
        assert caret.index("^") == start  # under the bad term, as the parser says
        assert echo[start : len(caret)].startswith("chanel")
        assert "chanel" in why
        for _ in "chanel:sms":
            await press(pilot, "backspace")
        await press(pilot, *"channel:sms", "enter")
        assert isinstance(pilot.app.screen, InboxScreen)
        assert screen.typed_query == "status:open channel:sms"
        assert screen.table.order == [3]  # Ann's SMS
        await until(pilot, lambda: screen.bar.query_count == 1, "the query's count")
        await press(pilot, "2")  # a view key leaves the query
        assert screen.typed_query is None and screen.view == "mine"


async def test_an_assignee_nobody_has_is_pointed_at_in_the_prompt(triage: Seeded) -> None:
    app = make_test_app(triage.runtime)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = inbox(pilot)
        await press(pilot, "l", *" assignee:Alicia", "enter")  # read against the team
        prompt = pilot.app.screen
        assert isinstance(prompt, QueryScreen) and prompt.text == "status:open assignee:Alicia"
        assert prompt.error_text is not None
        _echo, caret, why = prompt.error_text.plain.split("\n")[:3]
        assert caret.index("^") == len("status:open ") and "Alicia" in why
        assert "alice" in why  # the team, and the name it is most likely a typo of
        await press(pilot, "escape")
        assert screen.typed_query is None and screen.view == "open"


def test_the_caret_stays_under_the_term_of_a_long_query() -> None:
    text = "tag:a " * 30 + "bogus:x"
    echo, caret, _why = caret_lines(text, 180, 5, "unknown", 60).plain.split("\n")
    assert len(caret) <= 60
    assert echo[len(caret) - 5 : len(caret)] == "bogus"


async def test_a_typed_query_is_saved_as_a_view_with_a_key(triage: Seeded) -> None:
    app = make_test_app(triage.runtime)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = inbox(pilot)
        await press(pilot, "l", *" channel:email", "enter")
        await command(pilot, "save query as view")
        await press(pilot, *"mail", "enter")  # its name
        await press(pilot, "v", "enter")  # its key
        assert screen.view == "mail" and screen.typed_query is None
        saved = (triage.runtime.data_dir / "views.toml").read_text()
        assert 'name = "mail"' in saved and 'query = "status:open channel:email"' in saved
        await press(pilot, "1", "v")
        assert screen.view == "mail"
        assert set(screen.table.order) == {FAY_CONV, MALLORY_CONV, ANN_EMAIL_CONV, DORA_CONV}
    again = make_test_app(triage.runtime)  # the next start shows it too
    async with again.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert "mail" in inbox(pilot).view_names()


async def command(pilot: Pilot[None], title: str) -> None:
    """Run the palette command ``title``, typed into the palette."""
    from textual.command import CommandPalette
    from textual.widgets import OptionList

    await press(pilot, "ctrl+p", *title)
    palette = pilot.app.screen
    assert isinstance(palette, CommandPalette)
    options = palette.query_one(OptionList)

    def found() -> bool:
        return options.option_count > 0 and title in str(options.get_option_at_index(0).prompt)

    await until(pilot, found, f"the palette's {title!r}")
    await press(pilot, "down", "enter")


# -- tags ---------------------------------------------------------------------------


async def test_tag_added_with_completion_of_the_tags_in_use(triage: Seeded) -> None:
    tags.add_tags(triage.store, "bob", ["billing"], conversation_id=DORA_CONV)
    app = make_test_app(triage.runtime)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        screen = inbox(pilot)
        await press(pilot, "t")
        prompt = pilot.app.screen
        assert isinstance(prompt, TagScreen)
        await press(pilot, "b", "i", "tab", "enter")
        assert pilot.app.screen is screen
        await until(pilot, lambda: screen.table.rows_by_id[CARL_CONV].tags == ("billing",))
        assert "#billing" in screen.table.get_row_at(0)[-1].plain
        await press(pilot, "T", "enter")  # the only tag it has
        await until(pilot, lambda: screen.table.rows_by_id[CARL_CONV].tags == ())


async def test_a_tag_with_markup_or_escapes_is_refused_and_shown_as_text(
    triage: Seeded,
) -> None:
    app = make_test_app(triage.runtime)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "t", *"[bold]x", "enter")
        prompt = pilot.app.screen
        assert isinstance(prompt, TagScreen)  # refused, the text kept to fix
        assert "cannot hold '['" in prompt.said


def test_counts_are_short_and_say_when_they_stopped() -> None:
    from omnitui.services.views import COUNT_LIMIT
    from omnitui.tui.widgets.filter_bar import compact

    assert [compact(n) for n in (0, 7, 999, 1234, 9999)] == ["0", "7", "999", "1.2k", "9.9k"]
    assert compact(COUNT_LIMIT) == "10k" and compact(COUNT_LIMIT + 1) == "10k+"


async def test_tags_in_the_customer_view_and_its_header(triage: Seeded) -> None:
    from omnitui.tui.screens.customer import CustomerScreen
    from omnitui.tui.widgets.customer_header import CustomerHeader
    from tests.tui.test_flows import open_conversation

    tags.add_tags(triage.store, "bob", ["vip"], customer_id=triage.customers["ann"])
    app = make_test_app(triage.runtime)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        assert isinstance(screen, CustomerScreen)
        await press(pilot, "t", *"refund", "enter")
        head = screen.query_one(CustomerHeader)
        await until(pilot, lambda: "#refund" in str(head.render()), "the new tag in the header")
        who, this = str(head.render()).split("\n")
        assert "Ann Example" in who and "#vip" in who  # the customer's
        assert "this:" in this and "#refund" in this and "#vip" not in this
    assert tags.list_tags(triage.store)[0].tag == "refund"


def test_a_tag_written_around_the_services_is_shown_as_plain_text() -> None:
    from omnitui.tui.tagging import tag_labels

    shown = tag_labels(["[bold]x\x1b[31m\x1b]0;pwned\x07" + "y" * 40], customer=["ok"])
    assert shown.plain.startswith("#[bold]x")  # markup shown, not applied
    assert "\x1b" not in shown.plain and "\x07" not in shown.plain
    assert len(shown.plain.split(" ")[0]) <= 21 and shown.plain.endswith("#ok")
    assert [span.style for span in shown.spans] == ["cyan", "italic cyan"]


async def test_a_views_key_that_the_console_uses_is_not_taken_from_it(seeded: Seeded) -> None:
    rt = seeded.runtime
    clash = ViewSetting("replies", "r", "status:all", "activity")
    rt.config = dataclasses.replace(rt.config, views=(clash,))
    app = make_test_app(rt)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        told = [str(n.message) for n in app._notifications]
        assert any("replies (r)" in t and "not bound" in t for t in told), told
        screen = inbox(pilot)
        assert "replies" in screen.view_names()  # still reached with f / F
        await press(pilot, "r")  # still replies
        from omnitui.tui.screens.customer import CustomerScreen

        assert isinstance(pilot.app.screen, CustomerScreen)


async def test_triage_never_touches_the_store_on_the_ui_thread(
    seeded: Seeded, on_ui_thread: UIThreadCalls
) -> None:
    tags.add_tags(seeded.store, "bob", ["billing"], conversation_id=DORA_CONV)
    app = make_test_app(seeded.runtime)
    on_ui_thread.armed = True
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "space", "space", "asterisk", "escape", "space")
        await press(pilot, "s")
        await _pick(pilot, "pending")
        await press(pilot, "l", *" tag:billing", "enter")
        await press(pilot, "1", "t", "b", "tab", "enter", "T", "enter")
        await press(pilot, "f", "F", "7", "space", "j", "space", "m")
        await _pick(pilot, "Carl Chat")
    on_ui_thread.armed = False
    assert on_ui_thread.calls == [], "\n".join(sorted(set(on_ui_thread.calls)))
