"""The mentions (``@`` from the inbox): notes that @mention the agent, newest
first, with who wrote them, where, when and how they begin; the unread ones
marked. ``enter`` opens the conversation at the note and marks it read;
``R`` marks them all read.

Reads and marks run in workers that post back (:mod:`omnitui.tui.workers`);
the marking is :mod:`omnitui.services.mentions`'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from omnitui.services import mentions
from omnitui.text import first_line
from omnitui.tui.bindings import LIST_BINDINGS, MENTIONS_BINDINGS
from omnitui.tui.commands import PaletteEntry
from omnitui.tui.desk import Desk
from omnitui.tui.format import plain, stamp
from omnitui.tui.messages import OpenCustomer
from omnitui.tui.screens.base import DeskScreen
from omnitui.tui.widgets.account_bar import AccountBar
from omnitui.tui.widgets.key_hints import KeyHints
from storage.queries import AccountHealth, ConversationRow
from storage.queries.mentions import MentionRow, list_mentions

#: the most mentions listed
LIMIT = 200


@dataclass
class MentionsRead(Message):
    ticket: int
    rows: list[MentionRow]


@dataclass
class MentionsMarked(Message):
    """Mentions were marked read (the app's count follows)."""

    ids: tuple[int, ...]


class MentionList(OptionList):
    BINDINGS: ClassVar[list[BindingType]] = [*LIST_BINDINGS]


def row_text(row: MentionRow, desk: Desk) -> Text:
    """One mention: unread mark, who, where, when; then the note's start."""
    text = Text("● " if row.unread else "  ", style="bold yellow" if row.unread else "")
    text.append(plain(row.author)[:20], style="bold" if row.unread else "")
    text.append(" on ", style="dim")
    text.append(plain(row.customer_name)[:30])
    if row.conversation_id is not None:
        text.append(f" #{row.conversation_id}", style="dim")
    text.append(f" · {stamp(desk.clock, row.created_at)}", style="dim")
    text.append(f"\n    {first_line(row.preview, 200) or '(empty)'}")
    return text


# inherit_bindings=False: the conversation keys mean nothing on a list of notes
class MentionsScreen(DeskScreen, inherit_bindings=False):
    """The notes that mention the agent."""

    BINDINGS: ClassVar[list[BindingType]] = [*MENTIONS_BINDINGS]
    PALETTE: ClassVar[tuple[PaletteEntry, ...]] = (
        ("mentions: open", "open", "Open the conversation at the note, and mark it read"),
        ("mentions: mark all read", "read_all", "Mark every mention read"),
        ("mentions: back", "back", "Leave the mentions"),
    )

    def __init__(self, desk: Desk) -> None:
        super().__init__(desk)
        self.rows: list[MentionRow] = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static(id="mentions-title")
        yield MentionList(id="mentions-list")
        yield AccountBar(id="health")
        yield KeyHints(id="keys")

    @property
    def options(self) -> MentionList:
        return self.query_one(MentionList)

    def on_mount(self) -> None:
        self._title()
        self.options.focus()
        self.reload()

    def target(self) -> ConversationRow | None:
        return None

    def show_health(self, health: list[AccountHealth]) -> None:
        for bar in self.query(AccountBar):
            bar.show(health, self.desk.clock)

    # -- reading -----------------------------------------------------------------

    def reload(self) -> None:
        self._read(self.next_ticket())

    @work(thread=True, exclusive=True, exit_on_error=False, group="mentions")
    def _read(self, ticket: int) -> None:
        with self.desk.store.read() as session:
            rows = list_mentions(session, agent=self.desk.agent, limit=LIMIT)
        self.post_message(MentionsRead(ticket, rows))

    @on(MentionsRead)
    def _show(self, message: MentionsRead) -> None:
        if message.ticket != self.ticket:
            return  # a newer read is on its way
        keep = self.current.id if self.current is not None else None
        self.rows, self.loaded = message.rows, True
        self.options.set_options(Option(row_text(row, self.desk), str(row.id)) for row in self.rows)
        ids = [row.id for row in self.rows]
        if ids:
            self.options.highlighted = ids.index(keep) if keep in ids else 0
        self._title()

    def _title(self) -> None:
        title = Text(" Mentions", style="bold")
        unread = sum(1 for row in self.rows if row.unread)
        if not self.loaded:
            title.append("  reading…", style="dim")
        elif not self.rows:
            title.append(f"  no note mentions @{plain(self.desk.agent)} yet", style="dim")
        else:
            title.append(f"  {unread} unread of {len(self.rows)}, newest first", style="dim")
        self.query_one("#mentions-title", Static).update(title)

    @property
    def current(self) -> MentionRow | None:
        index = self.options.highlighted if self.is_mounted else None
        if index is None or not 0 <= index < len(self.rows):
            return None
        return self.rows[index]

    # -- acting --------------------------------------------------------------------

    @work(thread=True, exclusive=False, exit_on_error=False, group="readmark")
    def _mark(self, ids: tuple[int, ...]) -> None:
        if ids:
            mentions.mark_read(self.desk.store, self.desk.agent, ids)
        else:
            mentions.mark_all_read(self.desk.store, self.desk.agent)
        self.post_message(MentionsMarked(ids))

    @on(MentionsMarked)
    def _mentions_marked(self, message: MentionsMarked) -> None:
        self.reload()
        self.app.post_message(message)  # the unread count follows at once

    @on(OptionList.OptionSelected, "#mentions-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        row = self.current
        if row is None:
            self.notify("No mention selected.", severity="warning", markup=False)
            return
        if row.unread:
            self._mark((row.id,))
        self.post_message(
            OpenCustomer(row.customer_id, row.conversation_id, entry=f"n{row.note_id}")
        )

    def action_read_all(self) -> None:
        self._mark(())

    def action_back(self) -> None:
        self.app.pop_screen()
