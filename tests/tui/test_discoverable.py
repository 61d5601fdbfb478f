"""A new agent finds their way: help explains the inbox, lists every screen's
keys and opens from the composer; the palette shows each command's key; the
keymap is checked, and followed by the key bar; the theme is remembered."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from rich.console import Console
from textual.command import CommandPalette
from textual.widgets import OptionList, TextArea

from omnitui.config import ConfigError
from omnitui.runtime import Runtime
from omnitui.tui.app import OmniApp
from omnitui.tui.bindings import REPORTS_BINDINGS
from omnitui.tui.screens.customer import CustomerScreen
from omnitui.tui.screens.help import HelpScreen, help_table
from omnitui.tui.screens.inbox import InboxScreen
from omnitui.tui.widgets.key_hints import KeyHints
from tests.helpers import cli_runner, write_config
from tests.tui.conftest import Seeded, make_test_app
from tests.tui.pilots import screen_text, settle, until


def help_text(keymap: dict[str, str]) -> str:
    console = Console(width=160, record=True, file=io.StringIO())
    console.print(help_table(keymap))
    return console.export_text()


async def test_help_explains_the_inbox_and_lists_the_reports_keys(app: OmniApp) -> None:
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        shown = screen_text(app)
        assert "unread" in shown and "waited for our answer" in shown  # at the top
    every = help_text({})
    assert "tomorrow [14:00]" in every  # the snooze syntax
    for binding in REPORTS_BINDINGS:
        assert f"{binding.id}" in every


async def test_help_opens_from_the_composer(app: OmniApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter", "r")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, CustomerScreen)
        assert isinstance(pilot.app.focused, TextArea)
        await pilot.press("f1")
        assert isinstance(pilot.app.screen, HelpScreen)


async def test_palette_entries_show_their_keys(app: OmniApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await settle(pilot)
        palette = pilot.app.screen
        assert isinstance(palette, CommandPalette)
        await pilot.press(*"reports")
        options = palette.query_one(OptionList)

        def prompts() -> list[str]:
            return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]

        # the palette searches in a worker of its own: wait for the hit
        await until(pilot, lambda: any(p.startswith("reports: show") for p in prompts()))
        assert any(p.splitlines()[0] == "reports: show  o" for p in prompts()), prompts()


async def test_a_remapped_key_is_what_the_key_bar_shows(seeded: Seeded) -> None:
    rt = seeded.runtime
    rt.config = dataclasses.replace(rt.config, keymap={"conversation.reply": "e", "app.help": "f2"})
    app = make_test_app(rt)
    async with app.run_test(size=(120, 30)) as pilot:
        assert isinstance(pilot.app.screen, InboxScreen)
        bar = pilot.app.screen.query_one(KeyHints)
        # the bar draws once the inbox's bindings are in force (its table focused)
        await until(pilot, lambda: "Reply" in str(bar.render()), "the key bar")
        hints = str(bar.render())
        assert " e Reply" in hints and " r Reply" not in hints
        assert hints.startswith(" f2 help")


def test_an_unknown_keymap_id_is_a_config_error(seeded: Seeded) -> None:
    rt = seeded.runtime
    rt.config = dataclasses.replace(rt.config, keymap={"conversation.replly": "e"})
    with pytest.raises(
        ConfigError, match=r"conversation\.replly.*did you mean 'conversation\.reply'"
    ):
        make_test_app(rt)


def test_an_unknown_keymap_id_stops_the_console_with_exit_2(tmp_path: Path) -> None:
    keymap = '[agent]\nname = "alice"\n\n[keymap]\n"inbox.next_filter" = "tab"\nreplly = "e"\n'
    config = write_config(tmp_path, keymap)
    result = cli_runner(config, f"sqlite:///{tmp_path}/x.db")(code=2)
    assert f"{config}, line 6" in result.output and "replly" in result.output


async def test_the_theme_is_remembered(runtime: Runtime, seeded: Seeded) -> None:
    first = make_test_app(runtime)
    async with first.run_test(size=(80, 24)) as pilot:
        assert pilot.app.theme == "textual-dark"
        await pilot.app.run_action("toggle_theme")
        assert pilot.app.theme == "textual-light"
    again = make_test_app(runtime)
    async with again.run_test(size=(80, 24)) as pilot:
        assert pilot.app.theme == "textual-light"
