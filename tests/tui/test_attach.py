"""Attaching files and signing in the console, with real keys: the path
prompt completes from the filesystem, takes several files, refuses a FIFO
without hanging; the line under the composer lists them and a key removes
one; the draft keeps them; the bytes queued are the file's; a text that says
"attached" with nothing attached asks first; the signature to come is shown
and can be left off."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from rich.text import Text
from sqlalchemy import select
from textual.pilot import Pilot
from textual.widgets import Static

from omnitui.runtime import Runtime, demo_config
from omnitui.services.ingest import ingest
from omnitui.tui.app import OmniApp
from omnitui.tui.drafts import Drafts
from omnitui.tui.screens.attach import AttachScreen, PathInput, complete_path
from omnitui.tui.screens.customer import CustomerScreen
from omnitui.tui.screens.pick import PickScreen
from providers.settings import DemoSettings, TwilioSettings
from storage.models import attachment_t, blob_t
from tests.helpers import batch, sms
from tests.tui.conftest import ANN_EMAIL_CONV, Seeded, SnapCompare, make_test_app, outgoing, seed
from tests.tui.pilots import open_conversation, screen_text, until
from tests.tui.waiting import draft_saved, press, settle

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 30
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\xff" * 500


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "outgoing"
    folder.mkdir()
    (folder / "invoice-march.pdf").write_bytes(PDF)
    (folder / "label.png").write_bytes(PNG)
    (folder / ".hidden").write_text("x")
    return folder


def queued_files(seeded: Seeded, message_id: int) -> list[tuple[str, str, bytes]]:
    a, b = attachment_t.c, blob_t.c
    with seeded.store.read() as session:
        rows = session.execute(
            select(a.filename, a.content_type, b.data)
            .join(blob_t, b.sha256 == a.sha256)
            .where(a.message_id == message_id)
            .order_by(a.id)
        ).all()
    return [(r.filename, r.content_type, bytes(r.data)) for r in rows]


def line(widget: Static) -> str:
    """What a one-line widget shows, as plain text."""
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)


async def _reply_with(pilot: Pilot[None], text: str) -> CustomerScreen:
    await settle(pilot)
    screen = await open_conversation(pilot, ANN_EMAIL_CONV)
    await press(pilot, "r", *text)
    return screen


async def _type_path(pilot: Pilot[None], path: str) -> None:
    await press(pilot, *path)


def test_completion_follows_the_filesystem(files: Path) -> None:
    assert complete_path(f"{files}/inv") == f"{files}/invoice-march.pdf"
    assert complete_path(f"{files}/l") == f"{files}/label.png"
    assert complete_path(f"{files}/") is None  # two entries share nothing more
    assert complete_path(f"{files}/.h") == f"{files}/.hidden"  # hidden only when asked
    assert complete_path(str(files)[:-3]) == f"{files}/"
    assert complete_path(f"{files}/nothing") is None


def test_completion_never_offers_a_name_with_escape_or_bidi_characters(tmp_path: Path) -> None:
    """The completion is drawn in the prompt as it is: a file named with an
    escape sequence (or a right-to-left override) must never be offered."""
    (tmp_path / "report\x1b]0;pwned\x07.pdf").write_bytes(b"x")
    (tmp_path / "invoice\u202efdp.exe").write_bytes(b"x")
    (tmp_path / "note.txt").write_bytes(b"x")
    assert complete_path(f"{tmp_path}/r") is None
    assert complete_path(f"{tmp_path}/i") is None
    assert complete_path(f"{tmp_path}/") == f"{tmp_path}/note.txt"  # the one name safe to show


async def test_the_prompt_completes_takes_several_files_and_they_are_sent(
    app: OmniApp, seeded: Seeded, files: Path
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _reply_with(pilot, "Your invoice and the label.")
        await press(pilot, "ctrl+f")
        attach = app.screen
        assert isinstance(attach, AttachScreen)
        field = attach.query_one(PathInput)
        await _type_path(pilot, f"{files}/inv")
        await until(pilot, lambda: field._suggestion.endswith("invoice-march.pdf"), "completion")
        await press(pilot, "tab")
        assert field.value == f"{files}/invoice-march.pdf"
        await press(pilot, "enter")
        await until(pilot, lambda: len(attach.files) == 1, "first file")
        await _type_path(pilot, f"{files}/label.png")
        await press(pilot, "enter")
        await until(pilot, lambda: len(attach.files) == 2, "second file")
        await press(pilot, "enter")  # an empty line: done
        assert app.screen is screen
        assert [f.name for f in screen.composer.files] == ["invoice-march.pdf", "label.png"]
        assert line(screen.composer.files_line).startswith(
            "Files: invoice-march.pdf 8 KB · label.png 1008 B  (ctrl+l: remove one)"
        )
        assert screen.composer.body.has_focus
        before = len(outgoing(seeded))
        await press(pilot, "ctrl+s")
        await until(pilot, lambda: len(outgoing(seeded)) == before + 1, "queued")
        sent = outgoing(seeded)[-1]
        assert sent.body_text == "Your invoice and the label."
        assert queued_files(seeded, sent.id or 0) == [
            ("invoice-march.pdf", "application/pdf", PDF),
            ("label.png", "image/png", PNG),
        ]
        assert screen.composer.files == ()


async def test_a_fifo_a_directory_and_a_missing_path_are_refused_in_the_prompt(
    app: OmniApp, files: Path
) -> None:
    fifo = files / "pipe"
    os.mkfifo(fifo)
    async with app.run_test(size=(100, 30)) as pilot:
        await _reply_with(pilot, "x")
        await press(pilot, "ctrl+f")
        prompt = app.screen
        assert isinstance(prompt, AttachScreen)
        for path, why in (
            (fifo, "not a regular file"),
            (files, "directory"),
            (files / "no", "no such"),
        ):
            await _type_path(pilot, str(path))
            await press(pilot, "enter")
            # the prompt's hint line (the screen wraps it where a long path puts the break)
            assert why in str(prompt.query_one("#attach-hint").render()), why
            assert prompt.files == []
            prompt.query_one(PathInput).value = ""
        await press(pilot, "escape")
        assert isinstance(app.screen, CustomerScreen) and app.screen.composer.files == ()


async def test_a_key_removes_a_file_and_asks_which_of_several(app: OmniApp, files: Path) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _reply_with(pilot, "two files")
        await press(pilot, "ctrl+f")
        for name in ("invoice-march.pdf", "label.png"):
            await _type_path(pilot, f"{files}/{name}")
            await press(pilot, "enter")
        await press(pilot, "escape")
        assert [f.name for f in screen.composer.files] == ["invoice-march.pdf", "label.png"]
        await press(pilot, "ctrl+l")
        assert isinstance(app.screen, PickScreen)
        await press(pilot, "down", "enter")  # the second: label.png
        assert [f.name for f in screen.composer.files] == ["invoice-march.pdf"]
        await press(pilot, "ctrl+l")  # one file: removed at once
        assert screen.composer.files == () and not screen.composer.files_line.display


async def test_the_draft_remembers_the_attached_paths(
    app: OmniApp, seeded: Seeded, files: Path
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _reply_with(pilot, "later")
        await press(pilot, "ctrl+f")
        await _type_path(pilot, f"{files}/label.png")
        await press(pilot, "enter", "escape", "escape")
        assert not screen.composer.display or screen.composer.files
        on_disk = Drafts(seeded.runtime.data_dir / "drafts.json").get(ANN_EMAIL_CONV)
        assert on_disk.files == ((str(files / "label.png"), len(PNG)),)
        await press(pilot, "escape")  # back to the inbox, then in again
        await open_conversation(pilot, ANN_EMAIL_CONV)
        again = app.screen
        assert isinstance(again, CustomerScreen)
        await until(pilot, lambda: again.composer.display, "the draft shown")
        assert [f.name for f in again.composer.files] == ["label.png"]
        assert line(again.composer.files_line).startswith("Files: label.png")


async def test_a_name_with_escape_sequences_is_shown_clean(app: OmniApp, files: Path) -> None:
    nasty = files / "in\x1b[31mvoice\u202etxt.pdf"
    nasty.write_bytes(PDF)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _reply_with(pilot, "x")
        screen.composer.set_files(())
        from omnitui.tui.widgets.attachments_line import AttachedFile

        screen.composer.set_files((AttachedFile(str(nasty), len(PDF)),))
        await settle(pilot)
        shown = line(screen.composer.files_line)
        assert shown.startswith("Files: invoicetxt.pdf 8 KB"), shown
        assert "\x1b" not in shown and "\u202e" not in shown


async def test_missing_attachment_asks_before_sending(app: OmniApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _reply_with(pilot, "Please find the invoice attached.")
        before = len(outgoing(seeded))
        await press(pilot, "ctrl+s")
        asking = app.screen
        assert isinstance(asking, PickScreen)
        assert "Missing attachment?" in screen_text(app)
        await press(pilot, "enter")  # the first choice: attach a file
        attaching = app.screen
        assert isinstance(attaching, AttachScreen)
        await press(pilot, "escape")
        assert app.screen is screen and len(outgoing(seeded)) == before
        await press(pilot, "ctrl+s", "down", "enter")  # send it without one
        await until(pilot, lambda: len(outgoing(seeded)) == before + 1, "sent anyway")
        assert outgoing(seeded)[-1].body_text == "Please find the invoice attached."


async def test_a_note_with_files_is_refused(app: OmniApp, seeded: Seeded, files: Path) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _reply_with(pilot, "internal")
        await press(pilot, "ctrl+f")
        await _type_path(pilot, f"{files}/label.png")
        await press(pilot, "enter", "escape", "ctrl+n", "ctrl+s")
        assert any("A note carries no files" in n.message for n in app._notifications)
        assert screen.composer.body.text == "internal"  # nothing lost


# -- signatures -------------------------------------------------------------------------


@pytest.fixture
def signed_app(tmp_path: Path) -> OmniApp:
    config = demo_config(agent="alice")
    account = config.accounts[0]
    assert isinstance(account, DemoSettings)
    signing = account.model_copy(update={"signature": "{agent.name} at {account.name}"})
    runtime = Runtime(
        config=replace(config, accounts=(signing,)),
        db_url=f"sqlite:///{tmp_path}/s.db",
        data_dir=tmp_path,
        demo=True,
    )
    seed(runtime.store())
    return make_test_app(runtime)


async def test_the_signature_to_come_is_shown_and_can_be_left_off(signed_app: OmniApp) -> None:
    app = signed_app
    seeded = Seeded(app.runtime, app.runtime.store(), {})
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _reply_with(pilot, "Thanks!")
        signature = screen.composer.signature_line
        assert line(signature).startswith("-- alice at demo  (ctrl+backslash: leave it off)")
        await press(pilot, "ctrl+n")  # a note gets none, and says none
        assert not signature.display
        await press(pilot, "ctrl+n", "ctrl+s")
        await until(pilot, lambda: bool(outgoing(seeded)), "sent")
        assert outgoing(seeded)[-1].body_text == "Thanks!\n\n-- \nalice at demo"
        await press(pilot, "r", *"Unsigned", "ctrl+backslash")
        assert line(signature).startswith("-- signature left off")
        count = len(outgoing(seeded))
        await press(pilot, "ctrl+s")
        await until(pilot, lambda: len(outgoing(seeded)) == count + 1, "sent unsigned")
        assert outgoing(seeded)[-1].body_text == "Unsigned"
        assert screen.composer.no_signature is False  # the next one is signed again
    app.runtime.close()


@pytest.mark.parametrize(
    "size", [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
)
def test_snapshot_composer_with_files_and_signature(
    snap_compare: SnapCompare, signed_app: OmniApp, files: Path, size: tuple[int, int]
) -> None:
    async def compose(pilot: Pilot[None]) -> None:
        await _reply_with(pilot, "Invoice and label attached.")
        await press(pilot, "ctrl+f")
        for name in ("invoice-march.pdf", "label.png"):
            await _type_path(pilot, f"{files}/{name}")
            await press(pilot, "enter")
        await press(pilot, "enter")
        await draft_saved(pilot)

    assert snap_compare(signed_app, terminal_size=size, run_before=compose)


# -- a channel that cannot carry files ---------------------------------------------------


@pytest.fixture
def sms_app(tmp_path: Path) -> OmniApp:
    config = demo_config(agent="alice")
    phone = TwilioSettings(
        name="phone",
        account_sid="AC123",
        auth_token_env="UNSET_IN_TESTS",
        phone_number="+14155550199",
    )
    runtime = Runtime(
        config=replace(config, accounts=(phone,)),
        db_url=f"sqlite:///{tmp_path}/p.db",
        data_dir=tmp_path,
        demo=False,
    )
    ingest(runtime.store(), "phone", batch(sms("SM1", ours="+14155550199"), cursor=None))
    return make_test_app(runtime)


async def test_files_on_sms_are_refused_before_sending_and_said_at_once(
    sms_app: OmniApp, files: Path
) -> None:
    app = sms_app
    seeded = Seeded(app.runtime, app.runtime.store(), {})
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, 1)
        await press(pilot, "r", *"Here is the label")
        await press(pilot, "ctrl+f", *f"{files}/label.png", "enter", "enter")
        shown = line(screen.composer.files_line)
        assert shown.startswith("Files cannot go (ctrl+l: remove): sms from account phone")
        assert "Twilio MMS needs a public URL" in shown
        await press(pilot, "ctrl+s")
        await settle(pilot)
        toasts = [n.message for n in app._notifications]
        assert any("public URL" in t and "Nothing was queued" in t for t in toasts), toasts
        assert outgoing(seeded) == []
        assert screen.composer.body.text == "Here is the label"  # nothing lost
        assert [f.name for f in screen.composer.files] == ["label.png"]
        await press(pilot, "ctrl+l", "ctrl+s")  # without the file it goes
        await until(pilot, lambda: len(outgoing(seeded)) == 1, "queued")
    app.runtime.close()
