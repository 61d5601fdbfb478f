"""The customer view: who they are, one timeline of every channel and every
note, and the composer to answer on any of their channels.

What it shows is read, and what the agent writes is saved, in workers that
post messages back (:mod:`omnitui.tui.workers`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import OptionList

from omnitui import services
from omnitui.services import NO_EXTRAS, Extras, ReplyTarget, outbox, recipients
from omnitui.services.attachments import downloads_dir, open_attachment, save_attachment
from omnitui.services.customers import live_customer_id
from omnitui.services.outgoing_files import read_files
from omnitui.services.whatsapp_window import ChosenTemplate
from omnitui.tui.bindings import CUSTOMER_BINDINGS, TAG_BINDINGS, key_of
from omnitui.tui.commands import PaletteEntry
from omnitui.tui.desk import Desk
from omnitui.tui.files import choose_file, opened_text
from omnitui.tui.format import plain
from omnitui.tui.messages import (
    CustomerRead,
    FileOpened,
    FilesSaved,
    OlderRead,
    RoutesRead,
    Saved,
)
from omnitui.tui.screens.attach import files_hold_back, refusal_preview, signature_preview
from omnitui.tui.screens.base import CONVERSATION_PALETTE, DeskScreen
from omnitui.tui.screens.pick import Choice, PickScreen
from omnitui.tui.screens.recipients import RecipientActions, ReplyAllRead
from omnitui.tui.screens.stale import StaleGuard
from omnitui.tui.screens.tagging import TAG_PALETTE, TagActions
from omnitui.tui.screens.templates import pick_template
from omnitui.tui.snippets import fill_snippet, snippet_values
from omnitui.tui.widgets.account_bar import AccountBar
from omnitui.tui.widgets.composer import Composer, Target, channel_choices
from omnitui.tui.widgets.customer_header import CustomerHeader
from omnitui.tui.widgets.key_hints import KeyHints
from omnitui.tui.widgets.timeline import Timeline, entry_id
from omnitui.tui.widgets.window_line import WindowLine
from storage import queries
from storage.queries import (
    AccountHealth,
    AttachmentRow,
    ConversationRow,
    CustomerRow,
    TimelineEntry,
)
from storage.vocabulary import OUTBOX_NEEDS_PERSON

#: Timeline entries read at a time.
TIMELINE_PAGE = 40
#: Pages read at most to reach a search hit (older hits open at the oldest read).
SEARCH_PAGES = 50


class CustomerScreen(RecipientActions, TagActions, StaleGuard, DeskScreen):
    BINDINGS: ClassVar[list[BindingType]] = [*CUSTOMER_BINDINGS, *TAG_BINDINGS]
    PALETTE: ClassVar[tuple[PaletteEntry, ...]] = (
        *CONVERSATION_PALETTE,
        *TAG_PALETTE,
        ("conversation: switch channel", "switch_channel", "Reply on another of their channels"),
        ("message: retry send", "retry", "Queue the highlighted failed message again"),
        ("message: save files", "save_attachments", "Save its attachments to Downloads/omnitui"),
        ("message: open file", "open_attachment", "Open its file with the desktop's viewer"),
        ("conversation: reply all", "reply_all", "Reply to the sender and everyone on the mail"),
        ("message: forward", "forward", "Forward the highlighted message by e-mail"),
        ("composer: send", "send", "Send the reply or save the note"),
        ("composer: insert snippet", "snippet", "Insert a canned response"),
        ("composer: WhatsApp template", "whatsapp_template", "Send an approved template"),
        ("composer: edit in $EDITOR", "external_editor", "The draft in $VISUAL/$EDITOR"),
        ("composer: discard draft", "discard_draft", "Throw away this conversation's draft"),
        ("customer: back to inbox", "back", "Leave this customer (the draft is kept)"),
    )

    def __init__(
        self,
        desk: Desk,
        customer_id: int,
        conversation_id: int | None = None,
        compose: str | None = None,
        *,
        entry: str | None = None,
        found: re.Pattern[str] | None = None,
    ) -> None:
        super().__init__(desk)
        self.customer_id = customer_id
        self.conversation_id = conversation_id
        self.initial_compose = compose
        #: open at this timeline entry (a search hit), its words highlighted
        self.initial_entry = entry
        self.found = found
        self.customer: CustomerRow | None = None
        self.conversations: dict[int, ConversationRow] = {}
        self.entries: list[TimelineEntry] = []
        self.has_older = False
        #: whether the first read has been shown
        self.loaded = False
        #: move to the newest entry once the next read is shown (after a send)
        self._to_last = False

    def compose(self) -> ComposeResult:
        yield CustomerHeader(id="customer-header")
        template_key = key_of("composer.snippet", self.desk.keymap)
        yield WindowLine(self.desk.store, self.desk.clock, template_key, id="window-line")
        yield Timeline(self.desk.clock, keymap=self.desk.keymap, id="timeline")
        yield Composer(
            self.desk.drafts,
            blink=self.desk.blink,
            keymap=self.desk.keymap,
            signature=lambda route: signature_preview(self.desk, self.conversations, route),
            refusal=lambda route, files: refusal_preview(
                self.desk, self.conversations, route, files
            ),
            id="composer",
            mentionable=lambda: self.desk.mentionable,
        )
        yield AccountBar(id="health")
        yield KeyHints(id="keys")

    @property
    def timeline(self) -> Timeline:
        return self.query_one(Timeline)

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    def on_mount(self) -> None:
        self.composer.display = False
        self.timeline.found = self.found
        self.timeline.focus()
        self.reload()

    # -- reading ---------------------------------------------------------------

    def reload(self) -> None:
        """Read the customer, their conversations and the loaded timeline again
        (the first time down to the search hit it opens at)."""
        limit = max(TIMELINE_PAGE, len(self.entries))
        until = self.initial_entry if not self.loaded else None
        self._read(self.next_ticket(), self.customer_id, limit, until)

    @work(thread=True, exclusive=True, exit_on_error=False, group="customer")
    def _read(self, ticket: int, customer_id: int, limit: int, until: str | None) -> None:
        with self.desk.store.read() as session:
            # merged away meanwhile (here or elsewhere): the one that remains
            live = live_customer_id(session, customer_id)
            customer = queries.get_customer(session, live) if live is not None else None
            if customer is None:
                self.post_message(CustomerRead(ticket, customer_id, None, [], [], False))
                return
            convs = queries.customer_conversations(session, customer.id, agent=self.desk.agent)
            entries = queries.timeline(
                session, customer.id, limit=limit + 1, with_events=True, viewer=self.desk.agent
            )
            has_older = len(entries) > limit
            entries = entries[-limit:]
            # a search hit further back: older pages until it is among them
            for _page in range(SEARCH_PAGES):
                if until is None or not has_older or until in {entry_id(e) for e in entries}:
                    break
                older = queries.timeline(
                    session,
                    customer.id,
                    limit=TIMELINE_PAGE + 1,  # one more: whether more exist
                    before=entries[0].at,
                    with_events=True,
                    viewer=self.desk.agent,
                )
                has_older = len(older) > TIMELINE_PAGE
                entries = older[-TIMELINE_PAGE:] + entries
        self.post_message(CustomerRead(ticket, customer_id, customer, convs, entries, has_older))

    @on(CustomerRead)
    def _show(self, message: CustomerRead) -> None:
        if message.ticket != self.ticket:
            return  # a newer read is on its way
        customer = message.customer
        if customer is None:
            self.notify(
                f"Customer {message.asked_id} no longer exists.", severity="error", markup=False
            )
            if self.app.screen is self:  # else when it is back in view (read again then)
                self.app.pop_screen()
            return
        first, self.loaded = not self.loaded, True
        self.customer_id = customer.id
        self.customer = customer
        self.conversations = {c.id: c for c in message.conversations}
        self.has_older = message.has_older
        self.entries = message.entries
        self.timeline.show(
            self.entries,
            self.conversations,
            customer.name,
            has_older=self.has_older,
            keep=self._first_entry() if first else None,
        )
        if first:
            self._open_first()
        elif self._to_last:
            self.timeline.action_last()  # the reply or note just saved
        self._to_last = False
        self._mark_read()
        self._show_header()

    def _first_entry(self) -> str | None:
        """The entry to show first: the search hit, else the newest of the
        conversation asked for (None: the newest entry)."""
        if self.initial_entry is not None:
            return self.initial_entry
        if self.conversation_id is None:
            # opened as a customer (go to): at the conversation with a draft
            drafted = self.desk.drafts.conversation_ids()
            self.conversation_id = next((c for c in self.conversations if c in drafted), None)
        for entry in reversed(self.entries):
            if entry.kind == "message" and entry.conversation_id == self.conversation_id:
                return entry_id(entry)
        return None

    def _open_first(self) -> None:
        conv = self.target()
        if self.initial_compose is not None:
            self.open_composer(self.initial_compose)
        elif conv is not None and not self.desk.drafts.get(conv.id).empty:
            # a draft left here earlier is shown again, as reply or note, not hidden
            self.open_composer(None, focus=False)

    def _mark_read(self) -> None:
        conv = self.target()
        if conv is not None and conv.unread:
            self.mark(conv.id, read=True, asked=False)

    def _show_header(self) -> None:
        if self.customer is not None:
            conv = self.target()
            self.query_one(CustomerHeader).show(
                self.customer,
                list(self.conversations.values()),
                conv.id if conv else None,
                drafted=self.desk.drafts.conversation_ids(),
            )
        self._follow_window()

    @on(Timeline.NeedOlder)
    def load_older(self) -> None:
        # NeedOlder can come twice (highlight, then a click): only load while still there
        if not self.entries or not self.timeline.at_oldest:
            return
        self._read_older(self.customer_id, self.entries[0].at)

    @work(thread=True, exclusive=True, exit_on_error=False, group="older")
    def _read_older(self, customer_id: int, before: datetime) -> None:
        with self.desk.store.read() as session:
            older = queries.timeline(
                session,
                customer_id,
                limit=TIMELINE_PAGE + 1,
                before=before,
                with_events=True,
                viewer=self.desk.agent,
            )
        has_older = len(older) > TIMELINE_PAGE
        self.post_message(OlderRead(customer_id, before, older[-TIMELINE_PAGE:], has_older))

    @on(OlderRead)
    def _show_older(self, message: OlderRead) -> None:
        if (
            message.customer_id != self.customer_id
            or not self.entries
            or message.before != self.entries[0].at
        ):
            return  # read again meanwhile
        self.has_older = message.has_older
        keep = entry_id(self.entries[0])  # continue upwards from where the agent was
        self.entries = message.entries + self.entries
        name = self.customer.name if self.customer else ""
        self.timeline.show(
            self.entries, self.conversations, name, has_older=self.has_older, keep=keep
        )

    def target(self) -> ConversationRow | None:
        entry = self.timeline.current if self.is_mounted else None
        if entry is not None and entry.conversation_id in self.conversations:
            self.conversation_id = entry.conversation_id
        if self.conversation_id in self.conversations:
            return self.conversations[self.conversation_id or 0]
        # opened without a conversation: the newest one of the customer
        newest = next(iter(self.conversations.values()), None)
        return newest

    @on(OptionList.OptionHighlighted, "#timeline")
    def _moved(self) -> None:
        self._show_header()

    def show_health(self, health: list[AccountHealth]) -> None:
        for bar in self.query(AccountBar):  # none while the screen closes
            bar.show(health, self.desk.clock, self.desk.polling)

    # -- composing -------------------------------------------------------------

    def open_composer(
        self,
        mode: str | None,
        *,
        focus: bool = True,
        switch: bool = False,
        reply_all: bool = False,
    ) -> None:
        """Show the composer on the conversation in focus, as ``mode`` (``None``:
        as its draft was last written), once where each channel's reply goes is
        read; ``switch`` then moves it to the next channel, ``reply_all`` fills
        its To and Cc (screens/recipients.py)."""
        conv = self.target()
        if conv is None or self.customer is None:
            self.notify(
                "This customer has no conversation to answer yet.", severity="warning", markup=False
            )
            return
        accounts = self.desk.accounts()
        carried = {ch for info in accounts.values() for ch in info.channels}
        identities = [(i.channel, i.address) for i in self.customer.identities]
        channels = tuple(
            (ch, address)
            for ch, address in channel_choices(conv.channel, conv.their_address, identities)
            if ch == conv.channel or ch in carried
        )
        self._read_routes(conv.id, channels, mode, focus, switch, reply_all)

    @work(thread=True, exclusive=True, exit_on_error=False, group="routes")
    def _read_routes(
        self,
        conversation_id: int,
        channels: tuple[tuple[str, str], ...],
        mode: str | None,
        focus: bool,
        switch: bool,
        reply_all: bool = False,
    ) -> None:
        """Where a reply on each channel goes, as services.reply will put it
        (and, after it, who a reply-all goes to)."""
        accounts = self.desk.accounts()
        routes = []
        for channel, _address in channels:
            try:
                routes.append(
                    services.reply_target(self.desk.store, accounts, conversation_id, channel)
                )
            except services.ServiceError:
                continue  # no account or address for it: the composer offers it, send says why
        self.post_message(RoutesRead(conversation_id, channels, tuple(routes), mode, focus, switch))
        if reply_all:
            found = recipients.reply_all_for(self.desk.store, accounts, conversation_id)
            self.post_message(ReplyAllRead(conversation_id, found.to, found.cc))

    @on(RoutesRead)
    def _open_composer(self, message: RoutesRead) -> None:
        conv = self.conversations.get(message.conversation_id)
        if conv is None:
            return
        composer, mode = self.composer, message.mode
        target = Target(conv.id, conv.channel, message.channels, message.routes)
        if composer.target != target or composer.mode != mode or not composer.display:
            composer.open(target, mode)
            self.look_at_timeline(conv.id)  # what the draft has seen (screens/stale.py)
        composer.display = True
        if message.switch:
            composer.switch_channel()
        if message.focus:
            composer.body.focus()
        self._follow_window()

    def action_reply(self) -> None:
        self.open_composer("reply")

    def action_note(self) -> None:
        self.open_composer("note")

    def action_switch_channel(self) -> None:
        if not self.composer.display or self.composer.mode != "reply":
            self.open_composer("reply", switch=True)
        else:
            self.composer.switch_channel()
            self._follow_window()

    def action_send(self) -> None:
        self.composer.action_send()

    def action_snippet(self) -> None:
        self._want_snippet()

    def action_external_editor(self) -> None:
        if not self.composer.display:
            self.open_composer(None)
            return
        self.composer.action_external_editor()

    @on(Composer.Leave)
    def _leave_composer(self) -> None:
        if self.composer.current_draft().empty:
            self.composer.display = False
        self.timeline.focus()
        self._show_header()  # its draft marker

    @on(Composer.DraftMarked)
    def _draft_marked(self) -> None:
        self._show_header()

    @on(Composer.WantDiscard)
    def action_discard_draft(self) -> None:
        conv = self._drafted_conversation()
        if conv is None:
            self.notify("There is no draft here to discard.", severity="warning", markup=False)
            return

        def picked(sure: bool | None) -> None:
            if not sure:
                return
            composer = self.composer
            if composer.target is not None and composer.target.conversation_id == conv:
                composer.discard()
                composer.display = False
            else:
                self.desk.drafts.discard(conv)
            self.timeline.focus()
            self._show_header()
            self.notify(f"Draft of #{conv} discarded", markup=False)

        self.app.push_screen(
            PickScreen(
                f"Discard the draft of #{conv}? What was typed is gone for good.",
                [Choice(False, Text("no, keep it")), Choice(True, Text("yes, discard it"))],
                cancel="keep it",
            ),
            picked,
        )

    def _drafted_conversation(self) -> int | None:
        """The conversation whose draft a discard throws away: the one in the
        composer (its text may be newer than the file), else the one in focus."""
        composer = self.composer
        if composer.display and composer.target and not composer.current_draft().empty:
            return composer.target.conversation_id
        conv = self.target()
        if conv is not None and not self.desk.drafts.get(conv.id).empty:
            return conv.id
        return None

    @on(Composer.WantSnippet)
    def _want_snippet(self) -> None:
        if self._offer_templates():
            return
        if not self.desk.snippets:
            self.notify(
                "No snippets: add a [snippets] table to the config.",
                severity="warning",
                markup=False,
            )
            return
        if not self.composer.display:
            self.open_composer("reply")
        values = snippet_values(self.customer.name if self.customer else "", self.desk.agent)
        choices = [
            Choice(fill_snippet(text, values), _snippet_label(name, fill_snippet(text, values)))
            for name, text in self.desk.snippets.items()
        ]
        self.app.push_screen(
            PickScreen("Insert a snippet", choices, hint="insert"),
            lambda text: self.composer.insert(text) if text else None,
        )

    @on(Composer.Send)
    def _send(self, event: Composer.Send) -> None:
        if not event.body.strip():
            self.notify("Nothing to send: the message is empty.", severity="warning", markup=False)
            return
        if any(w.group == "send" and not w.is_finished for w in self.workers):
            self.notify("Still saving the last one…", severity="warning", markup=False)
            return
        if files_hold_back(self.composer, event, self._send):
            return  # a note with files, or "attached" with no file: said or asked
        if event.mode == "note":
            self._save_note(event.conversation_id, event.body)
            return
        if (refusal := self._window_refusal(event.route)) is not None:
            self.notify(refusal, title="Not sent", severity="error", timeout=10, markup=False)
            return
        # the conversation the composer's head names; services.reply says what it refuses;
        # held first while the timeline has something newer (screens/stale.py)
        extras = recipients.from_lines(event.to, event.cc, event.bcc)
        self.guard_reply(
            event.conversation_id,
            lambda: self._queue_reply(
                event.conversation_id,
                event.route,
                event.body,
                event.subject,
                replace(extras, signed=event.signed),
                event.files,
            ),
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="send")
    def _save_note(self, conversation_id: int, body: str) -> None:
        services.add_note(
            self.desk.store,
            self.desk.agent,
            body,
            conversation_id=conversation_id,
            team=self.desk.team,
        )
        self.post_message(Saved("Note saved (internal)", sent=True))

    @work(thread=True, exclusive=True, exit_on_error=False, group="send")
    def _queue_reply(
        self,
        conversation_id: int,
        route: ReplyTarget,
        body: str,
        subject: str | None,
        extras: Extras = NO_EXTRAS,
        files: tuple[str, ...] = (),
    ) -> None:
        store, agent, accounts = self.desk.store, self.desk.agent, self.desk.accounts()
        if files:  # read here, in the worker: its bytes are queued with the message
            extras = replace(extras, files=read_files(files))
        if route.conversation_id is not None:  # into that conversation, on its own channel
            queued = services.reply(
                store, accounts, route.conversation_id, body, agent, subject=subject, extras=extras
            )
        else:  # a new conversation on route.channel
            queued = services.reply(
                store,
                accounts,
                conversation_id,
                body,
                agent,
                channel=route.channel,
                subject=subject,
                extras=extras,
            )
        self.post_message(Saved("Reply queued", queued=(queued,), sent=True))

    def after_saved(self, message: Saved) -> None:
        if message.sent:  # the composer's text is in the store: clear it
            self.composer.sent()
            self._show_header()
            self.composer.display = False
            self.timeline.action_last()
            self.timeline.focus()
            self._to_last = True  # and again once the new entry is read

    # -- WhatsApp's window and templates (omnitui.services.whatsapp_window) ------

    @property
    def window_line(self) -> WindowLine:
        return self.query_one(WindowLine)

    def _whatsapp_route(self) -> ReplyTarget | None:
        """Where a reply goes when that is WhatsApp: the composer's route, else
        the conversation in focus."""
        composer = self.composer
        if composer.display and composer.mode == "reply" and (route := composer.route()):
            return route if route.channel == "whatsapp" else None
        conv = self.target()
        if conv is not None and conv.channel == "whatsapp":
            return ReplyTarget("whatsapp", conv.their_address, conv.id, conv.subject)
        return None

    def _follow_window(self) -> None:
        route = self._whatsapp_route()
        self.window_line.follow(route.conversation_id if route else None, self.ticket)

    def _window_refusal(self, route: ReplyTarget) -> str | None:
        """Why a free-form reply on ``route`` is refused now (``None``: it may go,
        or the window is not known here: the service checks it again)."""
        line = self.window_line
        state = line.state
        if route.channel != "whatsapp" or state is None or state.open:
            return None
        if route.conversation_id != line.conversation_id:
            return None
        key = key_of("composer.snippet", self.desk.keymap)
        return (
            f"WhatsApp refuses free-form text now: {state.reason()}. Nothing was queued: "
            f"pick an approved template ({key}); your text stays in the composer."
        )

    def action_whatsapp_template(self) -> None:
        if not self._offer_templates(always=True):
            self.notify(
                "Templates are for WhatsApp: open a WhatsApp conversation (or switch the "
                "reply to WhatsApp) first.",
                severity="warning",
                markup=False,
            )

    def _offer_templates(self, *, always: bool = False) -> bool:
        """``ctrl+t`` on WhatsApp: the account's templates once free-form text
        may not go (before, the snippets; ``always``: the templates). Whether
        the agent was answered here."""
        route = self._whatsapp_route()
        conv = self.target()
        if route is None or conv is None:
            return False
        info = self.desk.accounts().get(conv.account)
        state = self.window_line.state
        if info is None or not info.templates:
            if always or (state is not None and not state.open):
                closed = f"{state.reason()}, and a" if state and not state.open else "A"
                self.notify(
                    f"{closed}ccount {conv.account} has no templates: add "
                    "its approved ones to the config ([[accounts.templates]]).",
                    severity="warning",
                    markup=False,
                )
                return True
            return False
        if not always and state is not None and state.open and self.desk.snippets:
            return False  # free-form replies go: the snippets, as elsewhere
        if not self.composer.display:
            self.open_composer("reply", focus=False)
        name = self.customer.name if self.customer else ""

        def chosen(template: ChosenTemplate) -> None:
            self._queue_template(conv.id, route, template)

        pick_template(self.app, info, customer_name=name, agent=self.desk.agent, chosen=chosen)
        return True

    @work(thread=True, exclusive=True, exit_on_error=False, group="send")
    def _queue_template(
        self, conversation_id: int, route: ReplyTarget, template: ChosenTemplate
    ) -> None:
        extras = services.Extras(template=template.name, variables=template.variables)
        store, agent, accounts = self.desk.store, self.desk.agent, self.desk.accounts()
        if route.conversation_id is not None:
            queued = services.reply(
                store, accounts, route.conversation_id, "", agent, extras=extras
            )
        else:
            queued = services.reply(
                store, accounts, conversation_id, "", agent, channel="whatsapp", extras=extras
            )
        # the composer keeps its text: it may go once the customer answers
        self.post_message(Saved(f"Template {template.name} queued", queued=(queued,)))

    # -- the rest ----------------------------------------------------------------

    def action_retry(self) -> None:
        entry = self.timeline.current
        if entry is None or entry.kind != "message" or entry.status not in OUTBOX_NEEDS_PERSON:
            down, up = (key_of(f"list.{step}", self.desk.keymap) for step in ("down", "up"))
            self.notify(
                f"Highlight a failed message ({down}/{up}) to retry it.",
                severity="warning",
                markup=False,
            )
            return
        self._retry(entry.id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="retry")
    def _retry(self, message_id: int) -> None:
        accounts = self.desk.accounts()  # a free-form WhatsApp retry names its templates
        outbox.retry_by(self.desk.store, message_id, self.desk.agent, accounts=accounts)
        self.post_message(Saved("Queued again", queued=(message_id,)))

    def action_save_attachments(self) -> None:
        entry = self.timeline.current
        if entry is None or not entry.attachments:
            down, up = (key_of(f"list.{step}", self.desk.keymap) for step in ("down", "up"))
            self.notify(
                f"Highlight a message with files ({down}/{up}) to save them.",
                severity="warning",
                markup=False,
            )
            return
        self._save_files(entry.attachments)

    @work(thread=True, exclusive=True, exit_on_error=False, group="files")
    def _save_files(self, files: Sequence[AttachmentRow]) -> None:
        directory = downloads_dir()
        saved = [save_attachment(self.desk.store, f, directory) for f in files]
        self.post_message(FilesSaved(directory, saved))

    @on(FilesSaved)
    def _files_saved(self, message: FilesSaved) -> None:
        names = ", ".join(path.name for path in message.paths)
        self.notify(f"Saved to {message.directory}: {names}", markup=False)

    # marking unread here leaves the customer: staying would read it again
    unread_toggles = False

    def marked_unread(self) -> None:
        self.action_back()

    def action_open_attachment(self) -> None:
        entry = self.timeline.current
        if entry is None or not entry.attachments:
            down, up = (key_of(f"list.{step}", self.desk.keymap) for step in ("down", "up"))
            self.notify(
                f"Highlight a message with files ({down}/{up}) to open one.",
                severity="warning",
                markup=False,
            )
            return
        choose_file(self.app, entry.attachments, self._open_file)

    @work(thread=True, exclusive=True, exit_on_error=False, group="open-file")
    def _open_file(self, file: AttachmentRow) -> None:
        path, code = open_attachment(self.desk.store, file)
        self.post_message(FileOpened(path, code))

    @on(FileOpened)
    def _file_opened(self, message: FileOpened) -> None:
        save = key_of("message.save_attachments", self.desk.keymap)
        text, severity = opened_text(message.path, message.code, save)
        self.notify(text, severity=severity, markup=False, timeout=8 if message.code else None)

    def action_back(self) -> None:
        self.composer.save_now()
        self.app.pop_screen()


def _snippet_label(name: str, text: str) -> Text:
    label = Text(plain(name), style="bold")
    label.append(f"  {plain(text)[:60]}", style="dim")
    return label
