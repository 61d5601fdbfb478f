"""The inbox: conversations across all accounts and channels, newest activity
first, one page at a time, under a view (open, mine, unassigned, … and the
config's ``[[views]]``) or a typed query.

Pages are read in workers (:mod:`omnitui.tui.workers`); a view switched
while a read is on its way shows the newer view's rows only. Every view's
count is read in a worker too, each time the rows are read again because
the store changed (the app's change check, once a second) and once a minute
(``older:``/``waiting:`` views move with the clock alone).

Views and the typed query live in :mod:`omnitui.tui.screens.views`, marks
and the bulk actions over them in :mod:`omnitui.tui.screens.triage`, both
mixed in here."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import DataTable

from omnitui.services.team import UnknownAgent
from omnitui.services.views import View
from omnitui.tui import inbox_views
from omnitui.tui.bindings import FILTER_KEYS, INBOX_BINDINGS, TAG_BINDINGS, TRIAGE_BINDINGS
from omnitui.tui.commands import PaletteEntry
from omnitui.tui.desk import Desk
from omnitui.tui.messages import InboxPage, InboxRead, OpenCustomer
from omnitui.tui.screens.base import CONVERSATION_PALETTE, DeskScreen
from omnitui.tui.screens.tagging import TAG_PALETTE
from omnitui.tui.screens.triage import TRIAGE_PALETTE, Triage
from omnitui.tui.triage_messages import ViewRefused
from omnitui.tui.widgets.account_bar import AccountBar
from omnitui.tui.widgets.filter_bar import FilterBar
from omnitui.tui.widgets.inbox_table import PAGE_SIZE, InboxTable
from omnitui.tui.widgets.key_hints import KeyHints
from omnitui.tui.widgets.mention_count import MentionCount
from storage.queries import AccountHealth, ConversationRow


class InboxScreen(Triage, DeskScreen):
    BINDINGS: ClassVar[list[BindingType]] = [*INBOX_BINDINGS, *TRIAGE_BINDINGS, *TAG_BINDINGS]
    PALETTE: ClassVar[tuple[PaletteEntry, ...]] = (
        ("conversation: open", "open", "Show the customer's timeline"),
        *CONVERSATION_PALETTE,
        *TRIAGE_PALETTE,
        *TAG_PALETTE,
        *(
            (f"inbox: show {name}", f"filter('{name}')", f"Filter the inbox: {name}")
            for name in FILTER_KEYS
        ),
    )

    def __init__(self, desk: Desk) -> None:
        super().__init__(desk)
        #: the name of the view shown (a typed query, when one is in force, instead)
        self.view = "open"
        self.more = False
        self.init_triage()

    def compose(self) -> ComposeResult:
        yield FilterBar(id="filters")
        yield MentionCount(id="mention-count")
        yield InboxTable(self.desk.clock, id="inbox")
        yield AccountBar(id="health")
        yield KeyHints(id="keys")

    @property
    def table(self) -> InboxTable:
        return self.query_one(InboxTable)

    def on_mount(self) -> None:
        self.mount_views()
        self.reload()
        self.table.focus()

    def target(self) -> ConversationRow | None:
        return self.table.current

    def _fetch(self, view: View, limit: int, offset: int = 0) -> list[ConversationRow]:
        # in a worker thread
        return inbox_views.fetch(
            self.desk.store,
            view,
            agent=self.desk.agent,
            now=self.desk.clock.now(),
            limit=limit,
            offset=offset,
            team_names=self.desk.team,
        )

    def reload(self, *, fresh: bool = False) -> None:
        """Read the loaded pages again (at least one; only one when ``fresh``),
        keeping the cursor's conversation; and every view's count, unless
        ``fresh`` (a view switched: the counts have not changed)."""
        limit = PAGE_SIZE if fresh else max(PAGE_SIZE, len(self.table.order))
        self._read(self.next_ticket(), self.shown_view(), limit)
        if not fresh or not self.counted:
            self.count_views()

    @work(thread=True, exclusive=True, exit_on_error=False, group="inbox")
    def _read(self, ticket: int, view: View, limit: int) -> None:
        try:
            rows = self._fetch(view, limit)
        except UnknownAgent as exc:
            if not view.name:
                raise  # a typed query: told as "Not done" (its prompt checks it first)
            self.post_message(ViewRefused(ticket, view.name, str(exc)))
            return
        self.post_message(InboxRead(ticket, self.view_id(view), limit, rows))

    @on(InboxRead)
    def _show(self, message: InboxRead) -> None:
        if message.ticket != self.ticket:
            return  # a newer read is on its way
        table = self.table
        current = table.current
        table.drafted = self.desk.drafts.conversation_ids()
        self.rows_read(message.rows)
        table.show(message.rows, keep=current.id if current else None)
        self.more = len(message.rows) == message.limit
        self._show_counts()

    def _show_counts(self) -> None:
        self.query_one(FilterBar).show_state(
            None if self.typed_query is not None else self.view,
            self.typed_query,
            len(self.table.marked),
            len(self.table.order),
            self.more,
        )

    @on(InboxTable.NearEnd)
    def _load_more(self) -> None:
        # NearEnd may arrive in a burst; only the first one still finds us near the end
        if not self.more or not self.table.near_end():
            return
        self._read_page(self.shown_view(), len(self.table.order))

    @work(thread=True, exclusive=True, exit_on_error=False, group="inbox-page")
    def _read_page(self, view: View, offset: int) -> None:
        rows = self._fetch(view, PAGE_SIZE, offset)
        self.post_message(InboxPage(self.view_id(view), offset, rows))

    @on(InboxPage)
    def _show_page(self, message: InboxPage) -> None:
        if message.view != self.view_id(self.shown_view()) or message.offset != len(
            self.table.order
        ):
            return  # the view changed, or the rows were read again meanwhile
        self.more = len(message.rows) == PAGE_SIZE
        self.rows_read(message.rows)
        self.table.append(message.rows)
        self._show_counts()

    def show_health(self, health: list[AccountHealth]) -> None:
        for bar in self.query(AccountBar):  # none while the screen closes
            bar.show(health, self.desk.clock, self.desk.polling)

    # -- filters ---------------------------------------------------------------

    def action_filter(self, name: str) -> None:
        if name not in self.view_names() or self.view_refused(name):
            return
        self.shown_before = self.view
        self.view = name
        self.typed_query = None
        self.reload(fresh=True)

    def _step_filter(self, step: int) -> None:
        names = self.view_names()
        at = names.index(self.view) if self.view in names else 0
        if self.typed_query is not None and step > 0:
            at -= 1  # from a typed query, f shows the view it came from
        for n in range(1, len(names) + 1):  # past a refused view: its count says why
            name = names[(at + step * n) % len(names)]
            if name not in self.bar.problems:
                self.action_filter(name)
                return

    def action_next_filter(self) -> None:
        self._step_filter(1)

    def action_previous_filter(self) -> None:
        self._step_filter(-1)

    # -- opening ---------------------------------------------------------------

    def _open(self, compose: str | None = None) -> None:
        conv = self.table.current
        if conv is None:
            self.notify("The inbox is empty under this filter.", severity="warning", markup=False)
            return
        self.post_message(OpenCustomer(conv.customer_id, conv.id, compose))

    @on(DataTable.RowSelected, "#inbox")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._open()

    def action_open(self) -> None:
        self._open()

    def action_reply(self) -> None:
        self._open("reply")

    def action_note(self) -> None:
        self._open("note")
