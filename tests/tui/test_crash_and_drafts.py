"""No crash, no lost draft: undo on a long draft, drafts on disk while typing,
and an unexpected error that leaves a log, the draft and a non-zero exit."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual import events

from omnitui.tui.app import OmniApp
from omnitui.tui.drafts import Drafts
from omnitui.tui.screens.customer import CustomerScreen
from tests.helpers import cli_runner, write_config
from tests.tui.conftest import ANN_EMAIL_CONV, Seeded
from tests.tui.pilots import open_conversation, settle


def drafts_on_disk(seeded: Seeded) -> Drafts:
    """The drafts file as a fresh process would read it."""
    return Drafts(seeded.runtime.data_dir / "drafts.json")


async def test_undo_on_a_draft_of_many_lines_does_not_crash(app: OmniApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        await pilot.press("r")
        # more lines than the composer shows (pasted: one edit to undo), then typed ones:
        # undoing them takes the scrollbar away under the cursor (textual#6686)
        pasted = [f"line {n} of the answer" for n in range(9)]
        assert app._driver is not None
        app._driver.send_message(events.Paste("\n".join(pasted) + "\n"))  # as the terminal does
        await settle(pilot)
        await pilot.press(*"typed", "enter", *"more", "enter")
        lines = [*pasted, "typed", "more"]
        assert screen.composer.body.text == "\n".join(lines) + "\n"
        for _ in range(5):  # undo it all, and then some
            await pilot.press("ctrl+z")
        await settle(pilot)
        assert pilot.app.screen is screen and screen.composer.body.has_focus
        text = screen.composer.body.text
        assert "\n".join(lines).startswith(text)
        await pilot.press(*"still here")
        assert screen.composer.body.text.endswith("still here")
        await pilot.press("ctrl+y")  # redo is guarded the same way
        assert not list(Path(app.runtime.data_dir).glob("crash-*.log"))
    # (an exception in the app would be re-raised here by run_test)


async def test_typed_text_is_on_disk_within_a_second_while_typing(
    app: OmniApp, seeded: Seeded
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        await pilot.press("r")
        typed: list[tuple[float, str]] = []
        for char in "steady typing, never a pause":
            await pilot.press(char)
            now = time.monotonic()
            typed.append((now, screen.composer.body.text))
            # everything typed more than a second ago is on disk, composer still open
            due = [text for at, text in typed if at <= now - 1.0]
            saved = drafts_on_disk(seeded).get(ANN_EMAIL_CONV).body
            if due:
                assert saved.startswith(due[-1]), (due[-1], saved)
            await pilot.pause(0.08)  # an agent's typing rhythm
        assert screen.composer.body.has_focus
        assert now - typed[0][0] > 1.5  # the check above ran


async def test_an_unexpected_error_logs_keeps_the_draft_and_exits_non_zero(
    app: OmniApp, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: CustomerScreen) -> None:
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr(CustomerScreen, "action_retry", broken)
    with pytest.raises(RuntimeError, match="nobody expected"):  # Pilot re-raises it
        async with app.run_test(size=(100, 30)) as pilot:
            await open_conversation(pilot, ANN_EMAIL_CONV)
            await pilot.press("r", *"keep me", "escape")  # the draft is not saved yet
            await pilot.press("R")
            await settle(pilot)
    assert app.return_code not in (None, 0)
    assert drafts_on_disk(seeded).get(ANN_EMAIL_CONV).body == "keep me"
    (log,) = Path(seeded.runtime.data_dir).glob("crash-*.log")
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "RuntimeError: something nobody expected" in text
    assert app.crash_log == log


def test_the_launcher_exits_non_zero_when_the_console_crashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import omnitui.tui.app

    log = tmp_path / "crash-20260302-110000-1.log"

    class Crashed:
        """What OmniApp.run() leaves behind after an unexpected error."""

        return_code = 1
        crash_log = log

        def run(self) -> None:
            pass

    monkeypatch.setattr(omnitui.tui.app, "make_app", lambda rt: Crashed())
    config = write_config(tmp_path, '[agent]\nname = "alice"\n')
    result = cli_runner(config, f"sqlite:///{tmp_path / 'launch.db'}")(code=70)
    assert str(log) in result.stderr and "Traceback" not in result.stderr
