"""What the inbox and the customer view share: the actions on a conversation
(assign, status, snooze) and on its customer (merge), each asked through a
picker and carried out by :mod:`omnitui.services`.

Every read and write runs in a worker that posts a message back (see
:mod:`omnitui.tui.workers`). A conflict (someone else changed the
conversation since it was read) is told to the agent and the view is read
again; nothing is overwritten.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.binding import BindingType
from textual.screen import Screen

from omnitui import services
from omnitui.services import readmarks, team
from omnitui.services.lookup import find_customers
from omnitui.tui.bindings import CONVERSATION_BINDINGS
from omnitui.tui.commands import PaletteEntry
from omnitui.tui.desk import Desk
from omnitui.tui.format import badge, plain
from omnitui.tui.messages import ReadMarked, Saved, TeamRead
from omnitui.tui.screens import assign
from omnitui.tui.screens.pick import Choice, PickScreen
from omnitui.tui.workers import WorkerFailures
from omnitui.when import presets, wake_time
from storage import queries
from storage.queries import AccountHealth, ConversationRow
from storage.vocabulary import PICKED_STATUSES

CONVERSATION_PALETTE: tuple[PaletteEntry, ...] = (
    ("conversation: reply", "reply", "Write a reply on the conversation's channel"),
    ("conversation: add note", "note", "Write an internal note (never sent)"),
    ("conversation: assign to me", "assign_me", "Make me the assignee"),
    ("conversation: assign to someone", "assign", "Pick or type who takes it"),
    ("conversation: unassign", "unassign", "Leave it to the team"),
    ("conversation: reopen", "set_status('open')", "Status open"),
    ("conversation: set pending", "set_status('pending')", "Waiting on the customer"),
    ("conversation: resolve", "set_status('resolved')", "Done (a new message reopens it)"),
    ("conversation: change status", "status", "Pick open, pending or resolved"),
    ("conversation: snooze", "snooze", "Hide it until a time"),
    ("customer: merge", "merge", "Merge another customer into this one"),
    ("conversation: mark unread", "mark_unread", "Show it unread until it is opened again"),
)


def customer_choice(row: queries.CustomerRow) -> Choice[int]:
    label = Text(plain(row.name) or "(no name)", style="bold")
    label.append(f"  #{row.id}", style="dim")
    for ident in row.identities[:3]:
        label.append("  ")
        label.append_text(badge(ident.channel))
        label.append(f" {plain(ident.address)}")
    return Choice(row.id, label)


class DeskScreen(WorkerFailures, Screen[None]):
    """A screen of the console with a conversation in focus."""

    BINDINGS: ClassVar[list[BindingType]] = [*CONVERSATION_BINDINGS]
    PALETTE: ClassVar[tuple[PaletteEntry, ...]] = CONVERSATION_PALETTE

    def __init__(self, desk: Desk) -> None:
        super().__init__()
        self.desk = desk
        self._shown_once = False
        #: the number of the latest read asked for: only its answer is shown
        self.ticket = 0

    def on_screen_resume(self) -> None:
        # the first resume follows on_mount, which has just asked for everything
        if self._shown_once:
            self.reload()
        self._shown_once = True
        self.show_health(self.desk.health)

    # -- what subclasses provide -------------------------------------------

    def target(self) -> ConversationRow | None:
        """The conversation the actions apply to."""
        raise NotImplementedError

    def reload(self) -> None:
        """Read what is shown from the store again (in a worker; the answer
        arrives as a message)."""
        raise NotImplementedError

    def reread(self) -> None:
        self.reload()

    def show_health(self, health: list[AccountHealth]) -> None:
        """Update the account bar."""

    def next_ticket(self) -> int:
        """A number for a new read; an answer carrying an older one is dropped."""
        self.ticket += 1
        return self.ticket

    # -- helpers ---------------------------------------------------------------

    def _need_target(self) -> ConversationRow | None:
        conv = self.target()
        if conv is None:
            self.notify("No conversation selected.", severity="warning", markup=False)
        return conv

    @on(Saved)
    def _saved(self, message: Saved) -> None:
        """A change the agent asked for is kept: say so and read the view again
        (refusals and conflicts arrive at :mod:`omnitui.tui.workers`)."""
        for message_id in message.queued:
            self.desk.deliver(message_id)
        self.notify(message.text, markup=False)
        self.after_saved(message)
        self.reload()

    def after_saved(self, message: Saved) -> None:
        """What else follows a kept change on this screen (the composer clears)."""

    # -- assign --------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="assign")
    def _assign(self, conv: ConversationRow, who: str | None) -> None:
        store, agent = self.desk.store, self.desk.agent
        services.assign(store, conv.id, who, agent, expected_version=conv.version)
        self.post_message(Saved(_assigned(conv, who)))

    def action_assign_me(self) -> None:
        if conv := self._need_target():
            self._assign(conv, self.desk.agent)

    def action_unassign(self) -> None:
        if conv := self._need_target():
            self._assign(conv, None)

    def action_assign(self) -> None:
        if conv := self._need_target():
            self._read_team(conv)

    @work(thread=True, exclusive=True, exit_on_error=False, group="team")
    def _read_team(self, conv: ConversationRow) -> None:
        names = team.team(self.desk.store, configured=self.desk.team, me=self.desk.agent)
        self.post_message(TeamRead(conv, names))

    @on(TeamRead)
    def _ask_assignee(self, message: TeamRead) -> None:
        conv = message.conversation

        def done(who: str | None, new: bool) -> None:
            self._assign_checked(conv, who, new)

        assign.ask(
            self.app.push_screen, conv, message.names, self.desk.agent, done, blink=self.desk.blink
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="assign")
    def _assign_checked(self, conv: ConversationRow, who: str | None, new: bool) -> None:
        team.assign_checked(
            self.desk.store,
            conv.id,
            who,
            self.desk.agent,
            configured=self.desk.team,
            allow_new=new,
            expected_version=conv.version,
        )
        self.post_message(Saved(_assigned(conv, who)))

    # -- read marks ----------------------------------------------------------

    def action_mark_unread(self) -> None:
        conv = self._need_target()
        if conv is None:
            return
        self.mark(conv.id, read=self.unread_toggles and conv.unread)

    @work(thread=True, exclusive=True, exit_on_error=False, group="readmark")
    def mark(self, conversation_id: int, *, read: bool, asked: bool = True) -> None:
        """Mark ``conversation_id`` read or unread for the agent."""
        mark = readmarks.mark_read if read else readmarks.mark_unread
        mark(self.desk.store, self.desk.agent, conversation_id)
        self.post_message(ReadMarked(conversation_id, read, asked))

    @on(ReadMarked)
    def _marked(self, message: ReadMarked) -> None:
        if message.asked:
            state = "read" if message.read else "unread"
            self.notify(f"#{message.conversation_id} marked {state}", markup=False)
            self.marked_unread()

    #: whether ``u`` on an unread conversation marks it read (the inbox)
    unread_toggles = True

    def marked_unread(self) -> None:
        """What follows marking the conversation unread: show it again."""
        self.reload()

    # -- status and snooze --------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="status")
    def _set_status(
        self, conv: ConversationRow, status: str, until: datetime | None, done: str
    ) -> None:
        services.set_status(
            self.desk.store,
            conv.id,
            status,
            self.desk.agent,
            snoozed_until=until,
            expected_version=conv.version,
            now=self.desk.clock.now(),  # "in 1 hour" is the console's hour
        )
        self.post_message(Saved(done))

    def action_set_status(self, status: str) -> None:
        conv = self._need_target()
        if conv is None:
            return
        self._set_status(conv, status, None, f"#{conv.id} is {status}")

    def action_status(self) -> None:
        conv = self._need_target()
        if conv is None:
            return
        choices = [
            Choice(s, Text(s + (" (now)" if s == conv.status else ""))) for s in PICKED_STATUSES
        ]

        def picked(status: str | None) -> None:
            if status is not None:
                self.action_set_status(status)

        self.app.push_screen(
            PickScreen(f"Status of #{conv.id}", choices, hint="set"),
            picked,
        )

    def action_snooze(self) -> None:
        conv = self._need_target()
        if conv is None:
            return
        clock = self.desk.clock
        choices = [
            Choice(when, Text(f"{label}  ({clock.local(when):%a %d %b %H:%M})"))
            for label, when in presets(clock.now(), clock.tz)
        ]

        def picked(until: datetime | None) -> None:
            if until is not None:
                done = f"#{conv.id} snoozed until {clock.local(until):%a %d %b %H:%M}"
                self._set_status(conv, "snoozed", until, done)

        self.app.push_screen(
            PickScreen(
                f"Snooze #{conv.id} until",
                choices,
                typed=lambda text: wake_time(text, clock.now(), clock.tz),  # says why not
                placeholder="2h, tomorrow 14:00, fri, 2026-04-01 9:00 … or pick below",
                blink=self.desk.blink,
                hint="snooze",
            ),
            picked,
        )

    # -- merge -----------------------------------------------------------------

    def action_merge(self) -> None:
        conv = self._need_target()
        if conv is None:
            return
        keep_id = conv.customer_id
        keep_name = plain(conv.customer_name)
        store, region = self.desk.store, self.desk.default_region

        def lookup(query: str) -> list[Choice[int]]:
            # runs in the picker's worker thread
            with store.read() as session:
                rows = find_customers(session, query, default_region=region, limit=20)
            return [customer_choice(r) for r in rows if r.id != keep_id]

        def picked(other: int | None) -> None:
            if other is None:
                return

            def sure(yes: bool | None) -> None:
                if yes:
                    self._merge(keep_id, other)

            self.app.push_screen(
                PickScreen(
                    f"Merge customer #{other} into {keep_name} (#{keep_id})? "
                    "Their identities, conversations and notes move over.",
                    [Choice(True, Text("yes, merge")), Choice(False, Text("no"))],
                ),
                sure,
            )

        self.app.push_screen(
            PickScreen(
                f"Merge into {keep_name} (#{keep_id}): find the other customer",
                lookup=lookup,
                placeholder="name, phone or e-mail",
                blink=self.desk.blink,
                hint="merge the highlighted customer",
            ),
            picked,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="merge")
    def _merge(self, keep_id: int, other_id: int) -> None:
        services.merge_customers(self.desk.store, keep_id, other_id, self.desk.agent)
        self.post_message(Saved(f"customer #{other_id} merged into #{keep_id}"))


def _assigned(conv: ConversationRow, who: str | None) -> str:
    return f"#{conv.id} assigned to {who}" if who else f"#{conv.id} unassigned"
