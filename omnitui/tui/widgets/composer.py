"""The composer: a reply on any of the customer's channels, or an internal note.

It keeps its own drafts (one per conversation, shared by reply and note) in
the drafts file, so what was typed survives leaving the customer, quitting
and a crash (written at most SAVE_DELAY after a keystroke). Sending is the
screen's job: the composer posts :class:`Composer.Send` and is told
:meth:`Composer.sent` when the store has it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Input, Static, TextArea

from omnitui.segments import segments_for
from omnitui.services import ReplyTarget
from omnitui.threads import reply_subject
from omnitui.tui.bindings import COMPOSER_BINDINGS, key_of
from omnitui.tui.drafts import Draft, Drafts
from omnitui.tui.editor import FieldLines, HeaderLines, edit_draft
from omnitui.tui.format import BADGES, badge, plain
from omnitui.tui.widgets.attachments_line import AttachedFile, AttachmentsLine, SignatureLine
from omnitui.tui.widgets.composer_headers import ComposerHeaders
from omnitui.tui.widgets.mention_hint import MentionHint

#: At most this many seconds pass between a keystroke and the draft on disk
#: (a throttle, not a debounce: steady typing is saved too, so a crash or a
#: kill -9 loses at most this much).
SAVE_DELAY = 0.5

log = logging.getLogger("omnitui.tui.composer")


class ComposerText(TextArea):
    """The composer's TextArea, with undo and redo that cannot crash the console.

    Textual 8.2.8 (the newest release) raises ``ValueError`` from ``undo`` when
    the undone lines make the vertical scrollbar go away while the cursor is
    still below the new end (Textualize/textual#6686): the edit is applied but
    the cursor is not moved yet. The text is then right; we re-wrap, put the
    cursor in range and carry on.
    """

    def action_undo(self) -> None:
        self._guarded(super().action_undo)

    def action_redo(self) -> None:
        self._guarded(super().action_redo)

    def _guarded(self, edit: Callable[[], None]) -> None:
        try:
            edit()
        except ValueError:
            log.warning("TextArea undo/redo failed (textual#6686); recovered", exc_info=True)
            self.wrapped_document.wrap(self.wrap_width, self.indent_width)
            self.move_cursor(self.document.end)
            self.post_message(self.Changed(self))


@dataclass(frozen=True)
class Target:
    """Where the composer writes: a conversation (its drafts and notes live
    there) and, per channel the customer has, where a reply on it goes."""

    conversation_id: int
    channel: str  # the conversation's own channel
    channels: tuple[tuple[str, str], ...]  # (channel, address), the conversation's first
    #: where a reply on each channel lands (services.reply_target): the head
    #: names it and Send carries it, so what is shown is where it goes
    routes: tuple[ReplyTarget, ...] = ()

    def route(self, channel: str) -> ReplyTarget:
        for route in self.routes:
            if route.channel == channel:
                return route
        if channel == self.channel:
            return ReplyTarget(channel, dict(self.channels).get(channel, ""), self.conversation_id)
        return ReplyTarget(channel, dict(self.channels).get(channel, ""), None)


class Composer(Vertical):
    """Mode, channel, subject (for a new e-mail) and body."""

    BINDINGS: ClassVar[list[BindingType]] = [*COMPOSER_BINDINGS]

    mode: reactive[str] = reactive("reply")
    channel: reactive[str] = reactive("email")

    @dataclass
    class Send(Message):
        mode: str
        conversation_id: int  # the conversation open (a note goes there)
        route: ReplyTarget  # where a reply goes, as the head named it
        body: str
        subject: str | None
        #: paths of the files attached, read when it is queued
        files: tuple[str, ...] = ()
        #: ``False``: the agent left the signature off
        signed: bool | None = None
        #: the agent said to send it although the text mentions a file
        attach_checked: bool = False
        #: the e-mail header lines as typed ("" : the default; see ComposerHeaders)
        to: str = ""
        cc: str = ""
        bcc: str = ""

        @property
        def channel(self) -> str:
            return self.route.channel

    class Leave(Message):
        """The agent pressed escape: hand focus back to the timeline."""

    class WantSnippet(Message):
        """The agent asked for a canned response."""

    class WantDiscard(Message):
        """The agent asked to throw the draft away (the screen asks first)."""

    class DraftMarked(Message):
        """A draft came to be kept for the conversation, or was forgotten: the
        screen's draft marks change (the header's "✎ draft")."""

    def __init__(
        self,
        drafts: Drafts,
        *,
        blink: bool = True,
        keymap: Mapping[str, str] | None = None,
        signature: Callable[[ReplyTarget | None], str | None] | None = None,
        refusal: Callable[[ReplyTarget | None, Sequence[AttachedFile]], str | None] | None = None,
        id: str | None = None,
        mentionable: Callable[[], Sequence[str]] | None = None,
    ) -> None:
        super().__init__(id=id)
        #: the signature a reply on a route gets, and why files cannot go
        #: there (shown under the text)
        self.signature_of = signature or (lambda route: None)
        self.refusal_of = refusal or (lambda route, files: None)
        self.files: tuple[AttachedFile, ...] = ()
        self.no_signature = False
        self.files_line = AttachmentsLine(id="composer-files")
        self.signature_line = SignatureLine(id="composer-signature")
        self.drafts = drafts
        #: the ``[keymap]`` in force: the hints name its keys
        self.keymap: Mapping[str, str] = keymap or {}
        self.target: Target | None = None
        self._save_timer: Timer | None = None
        self._loading = False
        # held, not queried: the draft is still read while the widget unmounts
        self.head = Static(id="composer-head")
        self.headers = ComposerHeaders(blink=blink, id="composer-headers")
        self.subject = Input(placeholder="subject of the new e-mail", id="composer-subject")
        self.subject_row = Horizontal(
            Static("Subject: ", id="composer-subject-label"),
            self.subject,
            id="composer-subject-row",
        )
        self.body = ComposerText(id="composer-body", soft_wrap=True, show_line_numbers=False)
        self.subject.cursor_blink = self.body.cursor_blink = blink
        #: @ completion of the team's names in a note (see mention_hint.py)
        self.mentions = MentionHint(mentionable, id="composer-mentions")
        #: the header lines ctrl+e's header block edits (see omnitui.tui.editor):
        #: To, Cc, Bcc (widgets/composer_headers.py) and Subject, on e-mail
        self.header_lines: HeaderLines = FieldLines(
            self._email_headers,
            {
                **self.headers.fields(),
                "Subject": (lambda: self.subject.value, self._set_subject),
            },
        )

    def compose(self) -> ComposeResult:
        yield self.head
        yield self.headers
        yield self.subject_row
        yield self.body
        yield self.mentions
        yield self.files_line
        yield self.signature_line

    # -- state -----------------------------------------------------------

    def open(self, target: Target, mode: str | None = None) -> None:
        """Show the draft of ``target`` as ``mode`` (``None``: as it was last
        written), saving the one shown before. Reply and note share the text."""
        self.save_now()
        self.target = target
        self._load(mode)

    def _load(self, mode: str | None) -> None:
        assert self.target is not None
        draft = self.drafts.get(self.target.conversation_id)
        known = {ch for ch, _ in self.target.channels}
        self._loading = True
        try:
            self.mode = mode or draft.mode
            self.channel = draft.channel if draft.channel in known else self.target.channel
            self.subject.value = draft.subject
            self.files = tuple(AttachedFile(path, size) for path, size in draft.files)
            self.no_signature = draft.no_signature
            self.headers.load(draft.to, draft.cc, draft.bcc)
            self.body.load_text(draft.body)
            self.body.move_cursor(self.body.document.end)
        finally:
            self._loading = False
        self._refresh_head()

    def current_draft(self) -> Draft:
        # the subject and channel are kept in note mode too: toggling back restores them
        return Draft(
            body=self.body.text,
            subject=self.subject.value,
            channel=self.channel,
            mode=self.mode,
            files=tuple((f.path, f.size) for f in self.files),
            no_signature=self.no_signature,
            to=self.headers.to,
            cc=self.headers.cc,
            bcc=self.headers.bcc,
        )

    @property
    def save_pending(self) -> bool:
        """A change is waiting for the throttle's timer to reach the drafts file."""
        return self._save_timer is not None

    def save_now(self) -> None:
        """Write the shown draft to the drafts file (an empty one is forgotten)."""
        if self._save_timer is not None:
            self._save_timer.stop()
            self._save_timer = None
        if self.target is not None:
            conversation = self.target.conversation_id
            had, failing = not self.drafts.get(conversation).empty, self.drafts.problem
            self.drafts.put(conversation, self.current_draft())
            if had != (not self.drafts.get(conversation).empty):
                self.post_message(self.DraftMarked())
            if self.drafts.problem is not None and failing is None:  # said once, not per key
                self.notify(
                    f"The draft cannot be saved to {self.drafts.path}: {self.drafts.problem}. "
                    "The text stays here; it is saved as soon as the file can be written.",
                    severity="warning",
                    markup=False,
                )

    def discard(self) -> None:
        """Throw the draft away: the composer is empty, the drafts file forgets it."""
        self.sent()

    def sent(self) -> None:
        """The store has the message or note: clear the composer and its draft."""
        self._loading = True
        try:
            self.body.load_text("")
            self.subject.value = ""
            self.files, self.no_signature = (), False
            self.headers.load("", "", "")
        finally:
            self._loading = False
        self.save_now()
        self._refresh_head()

    def route(self) -> ReplyTarget | None:
        """Where a reply sent now would go."""
        return self.target.route(self.channel) if self.target is not None else None

    def _needs_subject(self) -> bool:
        # only a reply that starts a new e-mail thread needs a subject
        route = self.route()
        return (
            self.mode == "reply"
            and route is not None
            and route.channel == "email"
            and route.conversation_id is None
        )

    def _refresh_head(self) -> None:
        head = Text()
        target = f"#{self.target.conversation_id}" if self.target else ""
        route = self.route()
        if self.mode == "note":
            head.append(" NOTE ", style="bold reverse yellow")
            head.append(f" on {target}, internal: never sent to the customer", style="yellow")
            self.border_title = "Internal note"
        else:
            head.append(" REPLY ", style="bold reverse")
            if route is not None and route.conversation_id is not None:
                head.append(f" #{route.conversation_id} on ")
            else:
                head.append(" new conversation on ")
            head.append_text(badge(self.channel))
            head.append(f" to {plain(route.address if route else '')}")
            if (cost := segments_for(self.channel, self.body.text)) is not None:
                head.append(f"  {cost.describe()}", style="dim")
            others = [BADGES.get(ch, ch) for ch, _ in self.target.channels] if self.target else []
            keys = f"{self._key('composer.channel_key')} / {self._key('composer.channel')}"
            switch = f" · {keys}: {' '.join(others)}" if len(others) > 1 else ""
            self.border_title = f"Reply{switch}"
        self.border_subtitle = " · ".join(
            f"{self._key(f'composer.{name}')} {what}"
            for name, what in (
                ("send", "send"),
                ("snippet", "snippet"),
                ("toggle_note", "note/reply"),
                ("leave", "leave"),
            )
        )
        self.head.update(head)
        self.set_class(self.mode == "note", "note")
        self.subject_row.display = self._needs_subject() or self._email_headers()
        self._show_headers(route)
        self._refresh_files()

    def _refresh_files(self) -> None:
        """The lines under the text: the files attached, the signature to come."""
        route = self.route()
        refusal = self.refusal_of(route, self.files) if self.mode == "reply" else None
        self.files_line.show(self.files, self._key("composer.detach"), refusal)
        signature = self.signature_of(route) if route else None
        self.signature_line.show(
            signature if self.mode == "reply" else None,
            off=self.no_signature,
            toggle_key=self._key("composer.signature"),
        )

    # -- the e-mail header lines (widgets/composer_headers.py) -------------

    def _email_headers(self) -> bool:
        """Whether the reply shows its To/Cc/Bcc/Subject lines: on e-mail."""
        return self.mode == "reply" and self.channel == "email"

    def _show_headers(self, route: ReplyTarget | None) -> None:
        self.headers.display = self._email_headers()
        self.headers.default_to(route.address if route else "")
        if route is not None and route.conversation_id is not None:
            self.subject.placeholder = reply_subject(route.subject) or "subject"
        else:
            self.subject.placeholder = "subject of the new e-mail"

    def prefill_reply_all(self, to: Sequence[str], cc: Sequence[str]) -> None:
        """Fill To and Cc with a reply-all's (services.recipients.reply_all_for),
        back on the conversation's own e-mail channel if it was switched away."""
        self.mode = "reply"
        if self.target is not None:
            self.channel = self.target.channel
        self.headers.prefill(to, cc)
        self._refresh_head()
        self._schedule_save()

    def _key(self, binding_id: str) -> str:
        return key_of(binding_id, self.keymap)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        if self._loading:
            return
        self._refresh_head()
        self._schedule_save()
        self.mentions.show_for(self.mode == "note", self._before_cursor())

    def watch_mode(self, mode: str) -> None:
        if self.is_mounted:
            self.mentions.show_for(mode == "note", self._before_cursor())

    def _before_cursor(self) -> str:
        row, column = self.body.cursor_location
        return self.body.document.get_line(row)[:column]

    def action_complete_mention(self) -> None:
        """Tab in a note after ``@na``: the first team name that starts so
        (otherwise tab moves on, as anywhere)."""
        prefix, names = self.mentions.suggestions(self._before_cursor())
        if self.mode != "note" or not names or not self.body.has_focus:
            raise SkipAction()
        row, column = self.body.cursor_location
        start = (row, column - len(prefix))
        self.body.replace(f"{names[0]} ", start, (row, column), maintain_selection_offset=False)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if not self._loading:
            self._schedule_save()

    def _schedule_save(self) -> None:
        # the first unsaved change starts the timer; later ones ride on it
        if self._save_timer is None:
            self._save_timer = self.set_timer(SAVE_DELAY, self.save_now)

    def on_unmount(self) -> None:
        self.save_now()

    # -- actions -----------------------------------------------------------

    def switch_channel(self) -> None:
        """Move to the customer's next channel (reply mode only)."""
        if self.target is None:
            return
        if self.mode == "note":
            self.notify(
                f"Notes are internal: switch to reply ({self._key('composer.toggle_note')}) "
                "to pick a channel.",
                markup=False,
            )
            return
        channels = [ch for ch, _ in self.target.channels]
        if len(channels) < 2:
            self.notify(
                "This customer has no other channel: merge their other identity first.",
                markup=False,
            )
            return
        at = channels.index(self.channel) if self.channel in channels else -1
        self.channel = channels[(at + 1) % len(channels)]
        self._refresh_head()
        self._schedule_save()

    def insert(self, text: str) -> None:
        self.body.insert(text)
        self.body.focus()

    def action_send(self) -> None:
        if self.target is None:
            return
        route = self.target.route(self.channel)
        email = self._email_headers()
        subject = self.subject.value.strip() if self._needs_subject() or email else None
        to, cc, bcc = (self.headers.to, self.headers.cc, self.headers.bcc) if email else ("",) * 3
        self.post_message(
            self.Send(
                self.mode,
                self.target.conversation_id,
                route,
                self.body.text,
                subject,
                to=to,
                cc=cc,
                bcc=bcc,
                files=tuple(f.path for f in self.files),
                signed=False if self.no_signature else None,
            )
        )

    def action_switch_channel(self) -> None:
        self.switch_channel()

    def _set_subject(self, value: str) -> None:
        self.subject.value = value

    def action_external_editor(self) -> None:
        """The draft in $VISUAL/$EDITOR, headers first (see omnitui.tui.editor)."""
        names = self.header_lines.names() if self.mode == "reply" else ()
        directory = self.drafts.path.parent / "editing"
        edit_draft(self.app, self.body, self.header_lines, names, directory)

    def action_toggle_note(self) -> None:
        """Reply <-> internal note, keeping what was typed."""
        if self.target is None:
            return
        self.mode = "reply" if self.mode == "note" else "note"
        self._refresh_head()
        self.save_now()

    def action_discard_draft(self) -> None:
        self.post_message(self.WantDiscard())

    def action_snippet(self) -> None:
        self.post_message(self.WantSnippet())

    # -- files and signature (omnitui.tui.screens.attach) ------------------------

    def set_files(self, files: Sequence[AttachedFile]) -> None:
        """Attach ``files`` (instead of those attached), kept in the draft."""
        self.files = tuple(files)
        self._refresh_files()
        self.save_now()

    def action_attach(self) -> None:
        from omnitui.tui.screens.attach import open_attach_prompt

        if self.target is not None:
            open_attach_prompt(self, blink=self.body.cursor_blink)

    def action_detach(self) -> None:
        from omnitui.tui.screens.attach import remove_a_file

        remove_a_file(self)

    def action_toggle_signature(self) -> None:
        """Leave the signature off this message, or put it back."""
        self.no_signature = not self.no_signature
        self._refresh_files()
        self.save_now()

    def action_leave(self) -> None:
        self.save_now()
        self.post_message(self.Leave())


def channel_choices(
    conversation_channel: str, conversation_address: str, identities: Sequence[tuple[str, str]]
) -> tuple[tuple[str, str], ...]:
    """The channels a reply can go on: the conversation's own, then each other
    channel the customer has an identity on (first address of each)."""
    seen = {conversation_channel}
    out = [(conversation_channel, conversation_address)]
    for channel, address in identities:
        if channel not in seen:
            seen.add(channel)
            out.append((channel, address))
    return tuple(out)
