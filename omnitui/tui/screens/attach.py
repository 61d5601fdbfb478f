"""Attaching files in the composer: a path prompt that completes from the
filesystem, and what the customer screen does about files and signatures.

The prompt (:class:`AttachScreen`) takes one path per ``enter`` and stays
open for the next, so several files are attached in one go; ``tab`` (or
``→``) takes the completion shown; ``enter`` on an empty line or ``esc``
ends. Each path is checked in a worker (:func:`~omnitui.services.
outgoing_files.file_size`: a regular file, not too big; a FIFO is refused
without being opened); completion lists directories in a thread too. The
bytes are read only when the message is sent, in the send worker.

The functions after it are what the composer and the customer screen do
about files and signatures: open the prompt, remove a file, say which
signature a reply gets, and ask before sending a text that says "attached"
with nothing attached.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Static

from omnitui.services import AccountInfo, ReplyTarget, ServiceError
from omnitui.services.outgoing_files import (
    MAX_FILES,
    file_size,
    files_refusal,
    missing_attachment,
    shown_path,
)
from omnitui.services.signing import signature_for
from omnitui.text import clean_text
from omnitui.tui.bindings import ATTACH_BINDINGS, key_of
from omnitui.tui.screens.pick import Choice, PickScreen
from omnitui.tui.widgets.attachments_line import AttachedFile, AttachmentsLine
from omnitui.tui.workers import WorkerFailures

if TYPE_CHECKING:
    from omnitui.tui.desk import Desk
    from omnitui.tui.widgets.composer import Composer
    from storage.queries import ConversationRow

#: Completion looks at most this many entries of a directory (a huge one
#: must not stall the prompt).
MAX_ENTRIES = 5000


def complete_path(value: str) -> str | None:
    """``value`` completed by what the filesystem has: the one entry it names
    the start of (a directory gets its ``/``), or as far as all entries that
    start with it agree. Hidden entries only when ``value`` asks for them."""
    if not value or "\x00" in value:
        return None
    head, _, prefix = value.rpartition("/")
    directory = os.path.expanduser(head + "/" if head or value.startswith("/") else ".")
    try:
        with os.scandir(directory) as entries:
            names = []
            for n, entry in enumerate(entries):
                if n >= MAX_ENTRIES:
                    break
                if (
                    entry.name.startswith(prefix)
                    and (prefix.startswith(".") or not entry.name.startswith("."))
                    and _showable(entry.name)
                ):
                    names.append((entry.name, _is_dir(entry)))
    except OSError:
        return None
    if not names:
        return None
    if len(names) == 1:
        name, is_dir = names[0]
        done = name + ("/" if is_dir else "")
    else:
        done = _common_start([name for name, _ in names])
    if len(done) <= len(prefix):
        return None
    return value + done[len(prefix) :]


def _showable(name: str) -> bool:
    """Whether ``name`` can be drawn as it is: the prompt shows a completion
    raw, so a name with an escape sequence, a control or a bidi/invisible
    character (which could play in the terminal or pass for another name) is
    never offered (it can still be typed, and is attached under a clean name)."""
    return clean_text(name) == name and "\n" not in name and "\t" not in name


def _common_start(names: list[str]) -> str:
    """The longest start all of ``names`` share (letter by letter: names, not paths)."""
    first, last = min(names), max(names)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


class PathSuggester(Suggester):
    """Completes paths from the filesystem, in a thread (a slow or network
    directory never holds up the keys)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(complete_path, value)


class PathInput(Input):
    """The prompt's input: ``tab`` takes the completion shown."""

    BINDINGS: ClassVar[list[BindingType]] = [*ATTACH_BINDINGS]

    def action_complete(self) -> None:
        if self.cursor_at_end and self._suggestion:
            self.value = self._suggestion
            self.cursor_position = len(self.value)


@dataclass
class FileChecked(Message):
    """A path typed in the prompt, checked: its size, or why it cannot go."""

    path: str
    size: int | None
    refusal: str | None = None


class AttachScreen(WorkerFailures, ModalScreen[tuple[AttachedFile, ...] | None]):
    """Attach files by path; dismisses with every file attached (those there
    were and those added), or ``None`` if nothing changed."""

    BINDINGS: ClassVar[list[BindingType]] = [("escape", "done", "Done")]

    def __init__(self, attached: Sequence[AttachedFile], *, blink: bool = True) -> None:
        super().__init__(classes="pick")
        self.files: list[AttachedFile] = list(attached)
        self.added = False
        self.blink = blink

    def compose(self) -> ComposeResult:
        with Vertical(id="pick-box"):
            yield Static(Text("Attach files", style="bold"), id="pick-title")
            field = PathInput(
                placeholder="path of a file (tab completes)",
                suggester=PathSuggester(),
                id="attach-path",
            )
            field.cursor_blink = self.blink
            yield field
            yield AttachmentsLine(id="attach-files")
            yield Static(id="attach-hint")

    def on_mount(self) -> None:
        self._show()
        self._say(self._hint())
        self.query_one(PathInput).focus()

    def _hint(self) -> str:
        keymap = getattr(self.app, "keymap", {})
        done = "enter on an empty line or esc: done"
        return f"enter: attach · {key_of('attach.complete', keymap)}: complete · {done}"

    def _show(self) -> None:
        self.query_one(AttachmentsLine).show(self.files, "")

    def _say(self, text: str, *, error: bool = False) -> None:
        self.query_one("#attach-hint", Static).update(
            Text(text, style="bold red" if error else "dim")
        )

    @on(Input.Submitted, "#attach-path")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        typed = event.value.strip()
        if not typed:
            self.action_done()
            return
        if len(self.files) >= MAX_FILES:
            self._say(f"At most {MAX_FILES} files go in one message.", error=True)
            return
        self._check(typed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="attach")
    def _check(self, typed: str) -> None:
        path = str(Path(typed).expanduser().absolute())
        try:
            self.post_message(FileChecked(path, file_size(path)))
        except ServiceError as exc:
            self.post_message(FileChecked(path, None, str(exc)))

    @on(FileChecked)
    def _checked(self, message: FileChecked) -> None:
        if message.size is None:
            self._say(message.refusal or "This file cannot be attached.", error=True)
            return
        field = self.query_one(PathInput)
        field.value = ""
        if all(f.path != message.path for f in self.files):
            self.files.append(AttachedFile(message.path, message.size))
            self.added = True
        self._show()
        self._say(f"Attached {shown_path(message.path)}. {self._hint()}")

    def action_done(self) -> None:
        self.dismiss(tuple(self.files) if self.added else None)


def _account_of(
    desk: Desk, conversations: Mapping[int, ConversationRow], route: ReplyTarget
) -> AccountInfo | None:
    """The account a reply on ``route`` goes from, as the service picks it."""
    accounts = desk.accounts()
    conversation = conversations.get(route.conversation_id) if route.conversation_id else None
    if conversation is not None:
        return accounts.get(conversation.account)
    # a new conversation: the first account on the channel
    return next((a for a in accounts.values() if route.channel in a.channels), None)


def signature_preview(
    desk: Desk, conversations: Mapping[int, ConversationRow], route: ReplyTarget | None
) -> str | None:
    """The signature a reply on ``route`` ends with, as the service will
    append it (before the agent's choice to leave it off)."""
    if route is None:
        return None
    return signature_for(_account_of(desk, conversations, route), route.channel, desk.agent)


def refusal_preview(
    desk: Desk,
    conversations: Mapping[int, ConversationRow],
    route: ReplyTarget | None,
    files: Sequence[AttachedFile],
) -> str | None:
    """Why ``files`` cannot go with a reply on ``route`` (the service's own
    words, from the sizes when they were attached), or ``None``."""
    if route is None or not files:
        return None
    info = _account_of(desk, conversations, route)
    return files_refusal(info, route.channel, ((f.name, f.size) for f in files))


def open_attach_prompt(composer: Composer, *, blink: bool) -> None:
    """The path prompt; what it attaches goes to ``composer``."""

    def attached(files: tuple[AttachedFile, ...] | None) -> None:
        if files is not None:
            composer.set_files(files)
        composer.body.focus()

    composer.app.push_screen(AttachScreen(composer.files, blink=blink), attached)


def remove_a_file(composer: Composer) -> None:
    """Remove the file attached to ``composer``, or ask which of several."""
    files = list(composer.files)
    if not files:
        attach = key_of("composer.attach", composer.keymap)
        composer.notify(f"No file is attached ({attach} attaches one).", markup=False)
        return
    if len(files) == 1:
        composer.set_files(())
        return

    def picked(path: str | None) -> None:
        if path is not None:
            composer.set_files(tuple(f for f in composer.files if f.path != path))

    choices = [Choice(f.path, Text(f.name)) for f in files]
    composer.app.push_screen(
        PickScreen("Remove which file?", choices, hint="remove", moves=True), picked
    )


def files_hold_back(
    composer: Composer, event: Composer.Send, send_again: Callable[[Composer.Send], None]
) -> bool:
    """Whether ``event`` must not be sent as it is: a note with files (notes
    carry none; said), or a reply whose text says a file is attached when
    none is: the agent is asked, and ``send_again(event)`` sends it if they
    say so (or the path prompt opens)."""
    if event.mode == "note":
        if event.files:
            detach = key_of("composer.detach", composer.keymap)
            composer.notify(
                f"A note carries no files: remove them ({detach}) or send it as a reply.",
                severity="warning",
                markup=False,
            )
            return True
        return False
    warning = missing_attachment(event.body, event.files)
    if warning is None or event.attach_checked:
        return False

    def picked(send: bool | None) -> None:
        if send:
            event.attach_checked = True
            send_again(event)
        elif send is False:
            composer.action_attach()

    composer.app.push_screen(
        PickScreen(
            f"Missing attachment? {warning[0].upper()}{warning[1:]}.",
            [Choice(False, Text("attach a file")), Choice(True, Text("send it without one"))],
            cancel="keep writing",
        ),
        picked,
    )
    return True
