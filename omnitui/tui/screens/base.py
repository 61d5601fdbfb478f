"""What the inbox and the customer view share: the actions on a conversation
(assign, status, snooze) and on its customer (merge), each asked through a
picker and carried out by :mod:`omnitui.services`.

A conflict (someone else changed the conversation since it was read) is told
to the agent and the view is read again; nothing is overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.binding import BindingType
from textual.screen import Screen

from omnitui import services
from omnitui.services import readmarks, team
from omnitui.services.lookup import find_customers
from omnitui.tui.bindings import CONVERSATION_BINDINGS
from omnitui.tui.commands import PaletteEntry
from omnitui.tui.desk import Desk
from omnitui.tui.format import badge, plain
from omnitui.tui.messages import StoreProblem
from omnitui.tui.screens import assign
from omnitui.tui.screens.assign import TeamRead
from omnitui.tui.screens.pick import Choice, PickScreen
from omnitui.when import presets, wake_time
from storage import queries
from storage.db import StoreUnavailable
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


class DeskScreen(Screen[None]):
    """A screen of the console with a conversation in focus."""

    BINDINGS: ClassVar[list[BindingType]] = [*CONVERSATION_BINDINGS]
    PALETTE: ClassVar[tuple[PaletteEntry, ...]] = CONVERSATION_PALETTE

    def __init__(self, desk: Desk) -> None:
        super().__init__()
        self.desk = desk
        self._shown_once = False

    def on_screen_resume(self) -> None:
        # the first resume follows on_mount, which has just read everything
        if self._shown_once:
            self.reload()
        self._shown_once = True
        self.show_health(self.desk.health)

    # -- what subclasses provide -------------------------------------------

    def target(self) -> ConversationRow | None:
        """The conversation the actions apply to."""
        raise NotImplementedError

    def reload(self) -> None:
        """Read what is shown from the store again."""
        raise NotImplementedError

    def show_health(self, health: list[AccountHealth]) -> None:
        """Update the account bar."""

    # -- helpers ---------------------------------------------------------------

    def _need_target(self) -> ConversationRow | None:
        conv = self.target()
        if conv is None:
            self.notify("No conversation selected.", severity="warning", markup=False)
        return conv

    def carry_out(self, work: Callable[[], Any], done: str) -> bool:
        """Run a service call; tell the agent how it went and read the view again."""
        try:
            work()
        except services.ConflictError as exc:
            self.notify(
                str(exc),
                title="Changed by someone else",
                severity="error",
                timeout=10,
                markup=False,
            )
            self.reload()
            return False
        except services.ServiceError as exc:
            self.notify(str(exc), title="Not done", severity="error", timeout=8, markup=False)
            return False
        except StoreUnavailable as exc:
            # nothing was kept; what the agent typed stays in the composer and its draft
            self.app.post_message(StoreProblem("write", str(exc)))
            self.notify(str(exc), title="Not saved", severity="error", timeout=10, markup=False)
            return False
        self.notify(done, markup=False)
        self.reload()
        return True

    # -- assign --------------------------------------------------------------

    def _assign(self, conv: ConversationRow, who: str | None) -> None:
        store, agent = self.desk.store, self.desk.agent
        self.carry_out(
            lambda: services.assign(store, conv.id, who, agent, expected_version=conv.version),
            f"#{conv.id} assigned to {who}" if who else f"#{conv.id} unassigned",
        )

    def action_assign_me(self) -> None:
        if conv := self._need_target():
            self._assign(conv, self.desk.agent)

    def action_unassign(self) -> None:
        if conv := self._need_target():
            self._assign(conv, None)

    def action_assign(self) -> None:
        conv = self._need_target()
        if conv is None:
            return
        # the team is read from the store: off the UI thread
        self.run_worker(
            partial(self._read_team, conv),
            name="read the team",
            group="team",
            thread=True,
            exit_on_error=False,
        )

    def _read_team(self, conv: ConversationRow) -> None:
        names = team.team(self.desk.store, configured=self.desk.team, me=self.desk.agent)
        self.post_message(TeamRead(conv, names))

    @on(TeamRead)
    def _ask_assignee(self, message: TeamRead) -> None:
        conv = message.conversation
        store, agent, configured = self.desk.store, self.desk.agent, self.desk.team

        def done(who: str | None, new: bool) -> None:
            self.carry_out(
                lambda: team.assign_checked(
                    store,
                    conv.id,
                    who,
                    agent,
                    configured=configured,
                    allow_new=new,
                    expected_version=conv.version,
                ),
                f"#{conv.id} assigned to {who}" if who else f"#{conv.id} unassigned",
            )

        assign.ask(self.app.push_screen, conv, message.names, agent, done, blink=self.desk.blink)

    # -- read marks ----------------------------------------------------------

    def action_mark_unread(self) -> None:
        conv = self._need_target()
        if conv is None:
            return
        read = self.unread_toggles and conv.unread
        (readmarks.mark_read if read else readmarks.mark_unread)(
            self.desk.store, self.desk.agent, conv.id
        )
        self.notify(f"#{conv.id} marked {'read' if read else 'unread'}", markup=False)
        self.marked_unread()

    #: whether ``u`` on an unread conversation marks it read (the inbox)
    unread_toggles = True

    def marked_unread(self) -> None:
        """What follows marking the conversation unread: show it again."""
        self.reload()

    # -- status and snooze --------------------------------------------------

    def action_set_status(self, status: str) -> None:
        conv = self._need_target()
        if conv is None:
            return
        store, agent = self.desk.store, self.desk.agent
        self.carry_out(
            lambda: services.set_status(
                store, conv.id, status, agent, expected_version=conv.version
            ),
            f"#{conv.id} is {status}",
        )

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
            PickScreen(f"Status of #{conv.id}", choices, hint="enter: set · esc: cancel"),
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
        store, agent = self.desk.store, self.desk.agent

        def picked(until: Any) -> None:
            if until is None:
                return
            self.carry_out(
                lambda: services.set_status(
                    store,
                    conv.id,
                    "snoozed",
                    agent,
                    snoozed_until=until,
                    expected_version=conv.version,
                    now=clock.now(),  # "in 1 hour" is the console's hour
                ),
                f"#{conv.id} snoozed until {clock.local(until):%a %d %b %H:%M}",
            )

        self.app.push_screen(
            PickScreen(
                f"Snooze #{conv.id} until",
                choices,
                typed=lambda text: wake_time(text, clock.now(), clock.tz),  # says why not
                placeholder="2h, tomorrow 14:00, fri, 2026-04-01 9:00 … or pick below",
                blink=self.desk.blink,
                hint="enter: snooze · esc: cancel",
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

        def lookup(query: str) -> list[Choice[int]]:
            with self.desk.store.read() as session:
                rows = find_customers(
                    session, query, default_region=self.desk.default_region, limit=20
                )
            return [customer_choice(r) for r in rows if r.id != keep_id]

        def picked(other: int | None) -> None:
            if other is None:
                return
            self.app.push_screen(
                PickScreen(
                    f"Merge customer #{other} into {keep_name} (#{keep_id})? "
                    "Their identities, conversations and notes move over.",
                    [Choice(True, Text("yes, merge")), Choice(False, Text("no"))],
                ),
                lambda sure: self._merge(keep_id, other) if sure else None,
            )

        self.app.push_screen(
            PickScreen(
                f"Merge into {keep_name} (#{keep_id}): find the other customer",
                lookup=lookup,
                placeholder="name, phone or e-mail",
                blink=self.desk.blink,
                hint="enter: merge the highlighted customer · esc: cancel",
            ),
            picked,
        )

    def _merge(self, keep_id: int, other_id: int) -> None:
        store, agent = self.desk.store, self.desk.agent
        self.carry_out(
            lambda: services.merge_customers(store, keep_id, other_id, agent),
            f"customer #{other_id} merged into #{keep_id}",
        )
