"""Composing in $EDITOR (ctrl+e): the header block round trip, and the
console handing its draft to a fake editor (a Python script) and back."""

from __future__ import annotations

import stat
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from omnitui import services
from omnitui.tui.app import OmniApp
from omnitui.tui.editor import (
    EMAIL_HEADERS,
    FieldLines,
    edit_text,
    editor_command,
    read_block,
    write_block,
)
from tests.tui.conftest import ANN_EMAIL_CONV, ANN_SMS_CONV, Seeded
from tests.tui.pilots import open_conversation, settle, until
from tests.tui.waiting import press

HEADERS = {
    "To": "ann@example.com",
    "Cc": "bob@example.com, carl@example.com",
    "Bcc": "",
    "Subject": "Re: Refund please",
}


# -- the header block ----------------------------------------------------------------


def test_the_header_block_round_trips() -> None:
    body = "Hello Ann,\n\n> quoted\n\x1b[31mred stays in the body\x1b[0m\n\nBye\n"
    text = write_block(EMAIL_HEADERS, HEADERS, body)
    assert text.startswith(
        "To: ann@example.com\nCc: bob@example.com, carl@example.com\nBcc:\n"
        "Subject: Re: Refund please\n\nHello Ann,"
    )
    parsed = read_block(EMAIL_HEADERS, text)
    assert (parsed.headers, parsed.body, parsed.malformed) == (HEADERS, body, False)


def test_crlf_from_the_editor_becomes_lf_in_headers_and_body() -> None:
    text = write_block(EMAIL_HEADERS, HEADERS, "one\ntwo\n").replace("\n", "\r\n")
    parsed = read_block(EMAIL_HEADERS, text)
    assert parsed.headers == HEADERS and parsed.body == "one\ntwo\n"
    assert read_block((), "a\r\nb\rc").body == "a\nb\nc"


def test_escape_sequences_and_newlines_never_reach_a_header_value() -> None:
    hostile = {"Subject": "Re: \x1b[31mRED\x1b]0;pwned\x07 now\r\nBcc: evil@example.com"}
    text = write_block(("Subject",), hostile, "x")
    assert text.split("\n")[0] == "Subject: Re: RED now Bcc: evil@example.com"
    back = read_block(("Subject",), "Subject: Hi \x1b[2Jthere\x07\n\nbody")
    assert back.headers == {"Subject": "Hi there"}


def test_a_folded_header_line_is_cleaned_as_the_first_line_is() -> None:
    back = read_block(("Subject",), "Subject: Hi\n \x1b[31mthere\x1b]0;pwned\x07\x00 now\n\nbody")
    assert back.headers == {"Subject": "Hi there now"}


def test_headers_are_matched_without_case_and_folded_lines_join() -> None:
    parsed = read_block(
        EMAIL_HEADERS, "to: ann@example.com\ncc: bob@example.com,\n  carl@example.com\n\nHi"
    )
    assert parsed.headers == {"To": "ann@example.com", "Cc": "bob@example.com, carl@example.com"}
    assert parsed.body == "Hi"
    assert read_block(EMAIL_HEADERS, "Subject: only headers\n").headers == {
        "Subject": "only headers"
    }


@pytest.mark.parametrize(
    "text",
    [
        "Hello Ann, no headers at all\n\nsecond paragraph",
        "To: ann@example.com\nReply-To: x@example.com\n\nbody",  # not a header offered
        "To: ann@example.com\nTo: bob@example.com\n\nbody",  # twice
        "To: ann@example.com\nSubject: Hi",  # no blank line, no end
        "\nbody after an empty block",
    ],
)
def test_a_header_block_not_understood_keeps_the_whole_text_in_the_body(text: str) -> None:
    parsed = read_block(EMAIL_HEADERS, text)
    assert parsed.malformed and parsed.body == text


def test_field_lines_carry_each_header_to_its_widget_and_back() -> None:
    shown = dict.fromkeys(EMAIL_HEADERS, "")
    shown["To"] = "ann@example.com"

    def getter(name: str) -> Callable[[], str]:
        return lambda: shown[name]

    def setter(name: str) -> Callable[[str], None]:
        return lambda value: shown.__setitem__(name, value)

    offered = [True]
    lines = FieldLines(lambda: offered[0], {n: (getter(n), setter(n)) for n in EMAIL_HEADERS})
    text = write_block(lines.names(), lines.get(), "Hi")
    assert text == "To: ann@example.com\nCc:\nBcc:\nSubject:\n\nHi"
    parsed = read_block(lines.names(), text.replace("Cc:", "Cc: bob@example.com"))
    assert parsed.headers is not None
    lines.set(parsed.headers)
    assert shown["Cc"] == "bob@example.com" and shown["To"] == "ann@example.com"
    offered[0] = False
    assert lines.names() == ()


def test_other_channels_edit_the_body_alone() -> None:
    assert write_block((), HEADERS, "To: this is text\n\nbody") == "To: this is text\n\nbody"
    assert read_block((), "To: this is text\n\nbody").body == "To: this is text\n\nbody"


def test_the_editor_command_is_visual_then_editor_then_vi_split_without_a_shell() -> None:
    assert editor_command({"VISUAL": "code --wait", "EDITOR": "nano"}) == ["code", "--wait"]
    assert editor_command({"VISUAL": " ", "EDITOR": "emacs -nw"}) == ["emacs", "-nw"]
    assert editor_command({}) == ["vi"]
    assert editor_command({"EDITOR": "'my editor' -x ';rm'"}) == ["my editor", "-x", ";rm"]
    with pytest.raises(ValueError):
        editor_command({"EDITOR": "vim 'unclosed"})


# -- a fake editor ---------------------------------------------------------------------


def fake_editor(tmp_path: Path, script: str) -> str:
    """A Python script to be $EDITOR: it gets the draft's path as argv[1]."""
    path = tmp_path / "fake_editor.py"
    path.write_text(
        "import os, stat, sys\n"
        "path = sys.argv[1]\n"
        "text = open(path, encoding='utf-8', newline='').read()\n"
        "open(os.environ['SEEN'], 'w', encoding='utf-8', newline='').write(\n"
        "    f'{stat.S_IMODE(os.stat(path).st_mode):o}\\n{text}')\n" + textwrap.dedent(script),
        encoding="utf-8",
    )
    return f"{sys.executable} {path}"


def test_the_file_is_private_and_removed_and_a_failing_editor_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = tmp_path / "seen"
    monkeypatch.setenv("SEEN", str(seen))
    ok = fake_editor(tmp_path, "open(path, 'w').write('Subject: New\\n\\nchanged')\n")
    done = edit_text(
        "Subject: Old\n\nbody", names=("Subject",), directory=tmp_path / "e", environ={"EDITOR": ok}
    )
    assert seen.read_text().split("\n", 1) == ["600", "Subject: Old\n\nbody"]
    assert done.parsed is not None and done.parsed.headers == {"Subject": "New"}
    assert done.parsed.body == "changed"
    assert list((tmp_path / "e").iterdir()) == []  # deleted
    assert stat.S_IMODE((tmp_path / "e").stat().st_mode) == 0o700
    bad = fake_editor(tmp_path, "open(path, 'w').write('lost'); sys.exit(3)\n")
    failed = edit_text("keep", names=(), directory=tmp_path / "e", environ={"EDITOR": bad})
    assert failed.parsed is None and "exited with status 3" in (failed.problem or "")
    assert list((tmp_path / "e").iterdir()) == []
    missing = edit_text("keep", names=(), directory=None, environ={"EDITOR": "/nonexistent/ed"})
    assert missing.parsed is None and "cannot run the editor" in (missing.problem or "")


# -- in the console ----------------------------------------------------------------------


async def test_ctrl_e_edits_the_new_email_subject_and_body_in_the_editor(
    app: OmniApp, seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = tmp_path / "seen"
    editor = fake_editor(
        tmp_path,
        r"""
        head, _, body = text.partition('\n\n') if text.startswith('To:') else ('', '', text)
        out = 'To:\r\nCc: Bo <bo@example.com>\r\nBcc:\r\nSubject: Edited subject\r\n\r\n'
        out = out if head else ''
        open(path, 'w', newline='').write(out + body.upper() + '\r\nSigned\r\n')
        """,
    )
    monkeypatch.setenv("EDITOR", editor)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("SEEN", str(seen))
    services.set_status(seeded.store, ANN_EMAIL_CONV, "resolved", "alice")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_SMS_CONV)
        await press(pilot, "r", *"on its way")
        await press(pilot, "ctrl+e")  # SMS: the body alone
        assert seen.read_text().split("\n", 1) == ["600", "on its way"]
        await until(pilot, lambda: "ON ITS WAY" in screen.composer.body.text)
        assert screen.composer.body.text == "ON ITS WAY\nSigned\n"
        assert screen.composer.subject.value == ""  # SMS has no subject line
        await press(pilot, "ctrl+s")
        await settle(pilot)
        await press(pilot, "c")  # to e-mail: a new thread (her e-mail one is resolved)
        assert screen.composer.subject_row.display
        await press(pilot, *"hello ann", "ctrl+e")
        # e-mail: the composer's header lines (To/Cc/Bcc/Subject) head the file
        assert seen.read_text().split("\n", 1) == ["600", "To:\nCc:\nBcc:\nSubject:\n\nhello ann"]
        await until(pilot, lambda: screen.composer.subject.value == "Edited subject")
        assert screen.composer.body.text == "HELLO ANN\nSigned\n"
        assert screen.composer.current_draft().subject == "Edited subject"
        assert screen.composer.headers.cc == "Bo <bo@example.com>"
    assert not list((seeded.runtime.data_dir / "editing").iterdir())


async def test_an_editor_that_fails_leaves_the_draft_and_says_so(
    app: OmniApp, seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = fake_editor(tmp_path, "open(path, 'w').write('garbage'); sys.exit(1)\n")
    monkeypatch.setenv("VISUAL", editor)
    monkeypatch.setenv("SEEN", str(tmp_path / "seen"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_SMS_CONV)
        await press(pilot, "r", *"keep me", "ctrl+e")
        await until(
            pilot, lambda: any("exited with status 1" in str(n.message) for n in app._notifications)
        )
        assert screen.composer.body.text == "keep me"


async def test_a_header_block_broken_in_the_editor_keeps_every_line_in_the_body(
    app: OmniApp, seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = fake_editor(tmp_path, "open(path, 'w').write('Subjekt: typo\\n\\nthe text')\n")
    monkeypatch.setenv("VISUAL", editor)
    monkeypatch.setenv("SEEN", str(tmp_path / "seen"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        await press(pilot, "c", *"x", "ctrl+e")  # switched to SMS: no header block
        await until(pilot, lambda: "Subjekt" in screen.composer.body.text)
        assert screen.composer.body.text == "Subjekt: typo\n\nthe text"
        assert not any("not understood" in str(n.message) for n in app._notifications)
        await press(pilot, "escape", "escape")
        await settle(pilot)
        services.set_status(seeded.store, ANN_EMAIL_CONV, "resolved", "alice")
        screen = await open_conversation(pilot, ANN_SMS_CONV)
        await press(pilot, "c", *"x", "ctrl+e")  # a new e-mail thread: its subject line
        await until(pilot, lambda: "Subjekt" in screen.composer.body.text)
        assert screen.composer.body.text == "Subjekt: typo\n\nthe text"
        assert any("not understood" in str(n.message) for n in app._notifications)
