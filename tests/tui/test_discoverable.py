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
from textual.widgets import Static, TextArea
from typer.testing import CliRunner

from omnitui.cli import app as cli_app
from omnitui.config import ConfigError
from omnitui.runtime import Runtime
from omnitui.tui.app import OmniApp
from omnitui.tui.bindings import REPORTS_BINDINGS
from omnitui.tui.screens.customer import CustomerScreen
from omnitui.tui.screens.help import HelpScreen, help_table
from omnitui.tui.screens.inbox import InboxScreen
from omnitui.tui.screens.pick import PickScreen
from omnitui.tui.widgets.key_hints import KeyHints
from tests.tui.conftest import Seeded, make_test_app
from tests.tui.test_safety_and_keys import screen_text
from tests.tui.waiting import press, settle


def help_text(keymap: dict[str, str]) -> str:
    console = Console(width=160, record=True, file=io.StringIO())
    console.print(help_table(keymap))
    return console.export_text()


async def test_help_explains_the_inbox_and_lists_the_reports_keys(app: OmniApp) -> None:
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await press(pilot, "question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        shown = screen_text(app)
        assert "unread" in shown and "waited for our answer" in shown  # at the top
    every = help_text({})
    assert "tomorrow [14:00]" in every  # the snooze syntax
    for binding in REPORTS_BINDINGS:
        assert f"{binding.id}" in every


async def test_help_opens_from_the_composer(app: OmniApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "enter", "r")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, CustomerScreen)
        assert isinstance(pilot.app.focused, TextArea)
        await press(pilot, "f1")
        assert isinstance(pilot.app.screen, HelpScreen)


async def test_palette_entries_show_their_keys(app: OmniApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+p")
        await settle(pilot)
        palette = pilot.app.screen
        assert isinstance(palette, CommandPalette)
        await press(pilot, *"reports")
        await settle(pilot)
        from textual.widgets import OptionList

        options = palette.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any(p.splitlines()[0] == "reports: show  o" for p in prompts), prompts


async def test_a_remapped_key_is_what_the_key_bar_shows(seeded: Seeded) -> None:
    rt = seeded.runtime
    rt.config = dataclasses.replace(rt.config, keymap={"conversation.reply": "e", "app.help": "f2"})
    app = make_test_app(rt)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert isinstance(pilot.app.screen, InboxScreen)
        hints = str(pilot.app.screen.query_one(KeyHints).render())
        assert " e Reply" in hints and " r Reply" not in hints
        assert hints.startswith(" f2 help")


async def test_hints_in_pickers_composer_and_help_name_the_remapped_keys(seeded: Seeded) -> None:
    rt = seeded.runtime
    keymap = {
        "pick.cancel": "f4",
        "composer.send": "ctrl+j",
        "composer.toggle_note": "ctrl+b",
        "help.close": "f3",
        "conversation.mark_unread": "U",
    }
    rt.config = dataclasses.replace(rt.config, keymap=keymap)
    app = make_test_app(rt)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "z")
        picker = pilot.app.screen
        assert isinstance(picker, PickScreen)
        assert str(picker.query_one("#pick-hint", Static).render()) == (
            "enter: snooze · f4: cancel"
        )
        await press(pilot, "f4")
        assert isinstance(pilot.app.screen, InboxScreen)
        await press(pilot, "enter", "r")
        customer = pilot.app.screen
        assert isinstance(customer, CustomerScreen)
        subtitle = str(customer.composer.border_subtitle)
        assert subtitle.startswith("ctrl+j send") and "ctrl+b note/reply" in subtitle
        await press(pilot, "escape", "f1")
        help_screen = pilot.app.screen
        assert isinstance(help_screen, HelpScreen)
        shown = screen_text(pilot.app)
        assert "omnitui keys  (f3 closes)" in shown and "or marked with U" in shown
        await press(pilot, "f3")
        assert pilot.app.screen is customer


def test_an_unknown_keymap_id_is_a_config_error(seeded: Seeded) -> None:
    rt = seeded.runtime
    rt.config = dataclasses.replace(rt.config, keymap={"conversation.replly": "e"})
    with pytest.raises(
        ConfigError, match=r"conversation\.replly.*did you mean 'conversation\.reply'"
    ):
        make_test_app(rt)


def test_an_unknown_keymap_id_stops_the_console_with_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[agent]\nname = "alice"\n\n[keymap]\n"inbox.next_filter" = "tab"\nreplly = "e"\n'
    )
    result = CliRunner().invoke(
        cli_app, ["--config", str(config), "--db", f"sqlite:///{tmp_path}/x.db"]
    )
    assert result.exit_code == 2
    assert f"{config}, line 6" in result.output and "replly" in result.output


async def test_the_theme_is_remembered(runtime: Runtime, seeded: Seeded) -> None:
    first = make_test_app(runtime)
    async with first.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert pilot.app.theme == "textual-dark"
        await pilot.app.run_action("toggle_theme")
        assert pilot.app.theme == "textual-light"
    again = make_test_app(runtime)
    async with again.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert pilot.app.theme == "textual-light"
