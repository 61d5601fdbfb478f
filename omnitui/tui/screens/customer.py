"""The customer view: who they are, one timeline of every channel and every
note, and the composer to answer on any of their channels."""

from __future__ import annotations

import re
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import OptionList

from omnitui import services
from omnitui.services import outbox, readmarks
from omnitui.services.attachments import AttachmentError, downloads_dir, save_attachment
from omnitui.services.customers import live_customer_id
from omnitui.tui.bindings import CUSTOMER_BINDINGS
from omnitui.tui.commands import PaletteEntry
from omnitui.tui.desk import Desk
from omnitui.tui.files import choose_and_open
from omnitui.tui.format import plain
from omnitui.tui.screens.base import CONVERSATION_PALETTE, DeskScreen
from omnitui.tui.screens.pick import Choice, PickScreen
from omnitui.tui.snippets import fill_snippet, snippet_values
from omnitui.tui.widgets.account_bar import AccountBar
from omnitui.tui.widgets.composer import Composer, Target, channel_choices
from omnitui.tui.widgets.customer_header import CustomerHeader
from omnitui.tui.widgets.key_hints import KeyHints
from omnitui.tui.widgets.timeline import Timeline, entry_id
from storage import queries
from storage.queries import AccountHealth, ConversationRow, CustomerRow, TimelineEntry
from storage.vocabulary import OUTBOX_NEEDS_PERSON

#: Timeline entries read at a time.
TIMELINE_PAGE = 40
#: Pages read at most to reach a search hit (older hits open at the oldest read).
SEARCH_PAGES = 50


class CustomerScreen(DeskScreen):
    BINDINGS: ClassVar[list[BindingType]] = [*CUSTOMER_BINDINGS]
    PALETTE: ClassVar[tuple[PaletteEntry, ...]] = (
        *CONVERSATION_PALETTE,
        ("conversation: switch channel", "switch_channel", "Reply on another of their channels"),
        ("message: retry send", "retry", "Queue the highlighted failed message again"),
        ("message: save files", "save_attachments", "Save its attachments to Downloads/omnitui"),
        ("message: open file", "open_attachment", "Open its file with the desktop's viewer"),
        ("composer: send", "send", "Send the reply or save the note"),
        ("composer: insert snippet", "snippet", "Insert a canned response"),
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

    def compose(self) -> ComposeResult:
        yield CustomerHeader(id="customer-header")
        yield Timeline(self.desk.clock, id="timeline")
        yield Composer(self.desk.drafts, blink=self.desk.blink, id="composer")
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
        self.reload()
        if self.initial_entry is None and self.conversation_id is None:
            # opened as a customer (go to): at the conversation with a draft
            drafted = self.desk.drafts.conversation_ids()
            self.conversation_id = next((c for c in self.conversations if c in drafted), None)
        if self.initial_entry is not None:
            self._show_entry(self.initial_entry)
        elif self.conversation_id is not None:
            self.timeline.highlight_conversation(self.conversation_id)
        self.timeline.focus()
        conv = self.target()
        if self.initial_compose is not None:
            self.open_composer(self.initial_compose)
        elif conv is not None and not self.desk.drafts.get(conv.id).empty:
            # a draft left here earlier is shown again, as reply or note, not hidden
            self.open_composer(None, focus=False)

    # -- reading ---------------------------------------------------------------

    def reload(self) -> None:
        """Read the customer, their conversations and the loaded timeline again."""
        store = self.desk.store
        limit = max(TIMELINE_PAGE, len(self.entries))
        with store.read() as session:
            # merged away meanwhile (here or elsewhere): the one that remains
            live = live_customer_id(session, self.customer_id)
            customer = queries.get_customer(session, live) if live is not None else None
            if customer is None:
                self.notify(
                    f"Customer {self.customer_id} no longer exists.", severity="error", markup=False
                )
                self.app.pop_screen()
                return
            self.customer_id = customer.id
            convs = queries.customer_conversations(session, customer.id, agent=self.desk.agent)
            entries = queries.timeline(session, customer.id, limit=limit + 1, with_events=True)
        self.customer = customer
        self.conversations = {c.id: c for c in convs}
        self.has_older = len(entries) > limit
        self.entries = entries[-limit:]
        self.timeline.show(
            self.entries, self.conversations, customer.name, has_older=self.has_older
        )
        self._mark_read()
        self._show_header()

    def _mark_read(self) -> None:
        conv = self.target()
        if conv is not None and conv.unread:
            readmarks.mark_read(self.desk.store, self.desk.agent, conv.id)

    def _show_header(self) -> None:
        if self.customer is not None:
            conv = self.target()
            self.query_one(CustomerHeader).show(
                self.customer,
                list(self.conversations.values()),
                conv.id if conv else None,
                drafted=self.desk.drafts.conversation_ids(),
            )

    def _show_entry(self, key: str) -> None:
        """Highlight entry ``key``, reading older pages until it is loaded."""
        for _page in range(SEARCH_PAGES):
            if self.timeline.highlight_entry(key) or not self.has_older:
                return
            self._read_older()

    @on(Timeline.NeedOlder)
    def load_older(self) -> None:
        # NeedOlder can come twice (highlight, then a click): only load while still there
        if not self.entries or not self.timeline.at_oldest:
            return
        self._read_older()

    def _read_older(self) -> None:
        with self.desk.store.read() as session:
            older = queries.timeline(
                session,
                self.customer_id,
                limit=TIMELINE_PAGE + 1,
                before=self.entries[0].at,
                with_events=True,
            )
        self.has_older = len(older) > TIMELINE_PAGE
        keep = entry_id(self.entries[0])  # continue upwards from where the agent was
        self.entries = older[-TIMELINE_PAGE:] + self.entries
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
        self.query_one(AccountBar).show(health, self.desk.clock, self.desk.polling)

    # -- composing -------------------------------------------------------------

    def open_composer(self, mode: str | None, *, focus: bool = True) -> None:
        """Show the composer on the conversation in focus, as ``mode`` (``None``:
        as its draft was last written)."""
        conv = self.target()
        if conv is None or self.customer is None:
            self.notify(
                "This customer has no conversation to answer yet.", severity="warning", markup=False
            )
            return
        carried = {ch for info in self.desk.accounts().values() for ch in info.channels}
        identities = [(i.channel, i.address) for i in self.customer.identities]
        channels = tuple(
            (ch, address)
            for ch, address in channel_choices(conv.channel, conv.their_address, identities)
            if ch == conv.channel or ch in carried
        )
        composer = self.composer
        target = Target(conv.id, conv.channel, channels, self._routes(conv, channels))
        if composer.target != target or composer.mode != mode or not composer.display:
            composer.open(target, mode)
        composer.display = True
        if focus:
            composer.body.focus()

    def _routes(
        self, conv: ConversationRow, channels: tuple[tuple[str, str], ...]
    ) -> tuple[services.ReplyTarget, ...]:
        """Where a reply on each channel goes, as services.reply will put it."""
        routes = []
        for channel, _address in channels:
            try:
                routes.append(
                    services.reply_target(self.desk.store, self.desk.accounts(), conv.id, channel)
                )
            except services.ServiceError:
                continue  # no account or address for it: the composer offers it, send says why
        return tuple(routes)

    def action_reply(self) -> None:
        self.open_composer("reply")

    def action_note(self) -> None:
        self.open_composer("note")

    def action_switch_channel(self) -> None:
        if not self.composer.display or self.composer.mode != "reply":
            self.open_composer("reply")
        self.composer.switch_channel()

    def action_send(self) -> None:
        self.composer.action_send()

    def action_snippet(self) -> None:
        self._want_snippet()

    @on(Composer.Leave)
    def _leave_composer(self) -> None:
        if self.composer.current_draft().empty:
            self.composer.display = False
        self.timeline.focus()
        self._show_header()  # its draft marker

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
                hint="enter: choose · esc: keep it",
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
            PickScreen("Insert a snippet", choices, hint="enter: insert · esc: cancel"),
            lambda text: self.composer.insert(text) if text else None,
        )

    @on(Composer.Send)
    def _send(self, event: Composer.Send) -> None:
        store, agent = self.desk.store, self.desk.agent
        if not event.body.strip():
            self.notify("Nothing to send: the message is empty.", severity="warning", markup=False)
            return
        if event.mode == "note":
            done = self.carry_out(
                lambda: services.add_note(
                    store, agent, event.body, conversation_id=event.conversation_id
                ),
                "Note saved (internal)",
            )
        else:
            route = event.route  # the conversation the composer's head names
            queued: list[int] = []
            accounts, joined = self.desk.accounts(), route.conversation_id

            def queue() -> None:
                if joined is not None:  # into that conversation, on its own channel
                    queued.append(services.reply(store, accounts, joined, event.body, agent))
                else:  # a new conversation on route.channel
                    queued.append(
                        services.reply(
                            store,
                            accounts,
                            event.conversation_id,
                            event.body,
                            agent,
                            channel=route.channel,
                            subject=event.subject,
                        )
                    )

            done = self.carry_out(queue, "Reply queued")
            for message_id in queued:
                self.desk.deliver(message_id)
        if done:
            self.composer.sent()
            self._show_header()
            self.composer.display = False
            self.timeline.action_last()
            self.timeline.focus()

    # -- the rest ----------------------------------------------------------------

    def action_retry(self) -> None:
        entry = self.timeline.current
        if entry is None or entry.kind != "message" or entry.status not in OUTBOX_NEEDS_PERSON:
            self.notify(
                "Highlight a failed message (j/k) to retry it.", severity="warning", markup=False
            )
            return
        try:
            outbox.retry_by(self.desk.store, entry.id, self.desk.agent)  # audited, as elsewhere
        except outbox.OutboxError as exc:
            self.notify(str(exc), severity="error", markup=False)
            self.reload()
            return
        self.desk.deliver(entry.id)
        self.notify("Queued again", markup=False)
        self.reload()

    def action_save_attachments(self) -> None:
        entry = self.timeline.current
        if entry is None or not entry.attachments:
            self.notify(
                "Highlight a message with files (j/k) to save them.",
                severity="warning",
                markup=False,
            )
            return
        directory = downloads_dir()
        try:
            saved = [save_attachment(self.desk.store, f, directory) for f in entry.attachments]
        except AttachmentError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        names = ", ".join(path.name for path in saved)
        self.notify(f"Saved to {directory}: {names}", markup=False)

    # marking unread here leaves the customer: staying would read it again
    unread_toggles = False

    def marked_unread(self) -> None:
        self.action_back()

    def action_open_attachment(self) -> None:
        entry = self.timeline.current
        if entry is None or not entry.attachments:
            self.notify(
                "Highlight a message with files (j/k) to open one.",
                severity="warning",
                markup=False,
            )
            return
        choose_and_open(self, self.desk.store, entry.attachments)

    def action_back(self) -> None:
        self.composer.save_now()
        self.app.pop_screen()


def _snippet_label(name: str, text: str) -> Text:
    label = Text(plain(name), style="bold")
    label.append(f"  {plain(text)[:60]}", style="dim")
    return label
