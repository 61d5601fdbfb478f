"""The inbox's triage (issue 17: "narrow the list, mark, act"): the views and
the typed query (:mod:`omnitui.tui.screens.views`), the tag keys
(:mod:`omnitui.tui.screens.tagging`), and here the marks and the actions
over the marked conversations.

- ``space`` marks the row and moves on; ``*`` marks every conversation of
  the view (also those not loaded yet); ``esc`` clears. With marks, assign,
  status, snooze, tag, untag and merge act on the marked conversations, one
  transaction each (:mod:`omnitui.services.bulk`, in a worker); what could
  not be changed (someone else changed it first) stays marked and is named
  in the summary. Without marks they act on the highlighted row, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.text import Text
from textual import on, work

from omnitui.services import team
from omnitui.services.lookup import find_customers
from omnitui.services.views import View
from omnitui.tui import inbox_views
from omnitui.tui.bindings import key_of
from omnitui.tui.commands import PaletteEntry
from omnitui.tui.format import plain
from omnitui.tui.screens import assign
from omnitui.tui.screens.base import customer_choice
from omnitui.tui.screens.pick import Choice, PickScreen
from omnitui.tui.screens.tagging import TagActions
from omnitui.tui.screens.views import Views
from omnitui.tui.triage_messages import (
    BulkDone,
    TeamReadForMarks,
    ViewMarked,
)
from omnitui.tui.widgets.key_hints import KeyHints
from omnitui.when import presets, wake_time
from storage.queries import ConversationRow
from storage.vocabulary import PICKED_STATUSES

#: Conversations named one by one in a bulk action's summary.
NAMED = 5

TRIAGE_PALETTE: tuple[PaletteEntry, ...] = (
    ("inbox: query", "query", "Narrow the inbox with a query (tag:vip -status:resolved …)"),
    ("inbox: save query as view", "save_view", "Keep the typed query as a view, with a key"),
    ("inbox: mark all in view", "mark_all", "Mark every conversation of the view"),
    ("inbox: clear marks", "clear_marks", "Unmark everything"),
)


class Triage(Views, TagActions):
    """Mixed into the inbox (see the module)."""

    def init_triage(self) -> None:
        self.init_views()

    def marks_shown(self) -> int:
        return len(self.table.marked)

    def refresh_bar(self) -> None:
        self._hint_marks()
        super().refresh_bar()

    def _hint_marks(self) -> None:
        """With marks, the key hints say what the keys act on now."""
        n = len(self.table.marked)
        note = ""
        if n:
            keys = " ".join(
                key_of(b, self.desk.keymap)
                for b in (
                    "conversation.assign",
                    "conversation.status",
                    "conversation.snooze",
                    "conversation.tag",
                    "customer.merge",
                )
            )
            clear = key_of("inbox.clear_marks", self.desk.keymap)
            note = f"{n} marked: {keys} act on them, {clear} clears"
        for hints in self.query(KeyHints):
            hints.set_note(note)

    def rows_read(self, rows: Sequence[ConversationRow]) -> None:
        """Rows arrived: keep the versions of the marked ones (a mark acts on
        the conversation as the agent now sees it)."""
        table = self.table
        for row in rows:
            if row.id in table.marked:
                table.marked[row.id] = row.version

    # -- marks -----------------------------------------------------------------

    def action_toggle_mark(self) -> None:
        if self.table.toggle_mark() is None:
            return
        self.table.action_cursor_down()
        self.refresh_bar()

    def action_clear_marks(self) -> None:
        self.table.unmark()
        self.refresh_bar()

    def action_mark_all(self) -> None:
        self._mark_all(self.shown_view())

    @work(thread=True, exclusive=True, exit_on_error=False, group="mark-all")
    def _mark_all(self, view: View) -> None:
        now = self.desk.clock.now()
        versions = inbox_views.versions(
            self.desk.store, view, agent=self.desk.agent, now=now, team_names=self.desk.team
        )
        capped = len(versions) >= inbox_views.MARK_ALL_LIMIT
        self.post_message(ViewMarked(self.view_id(view), versions, capped))

    @on(ViewMarked)
    def _view_marked(self, message: ViewMarked) -> None:
        if message.view != self.view_id(self.shown_view()):
            return  # the view changed meanwhile
        self.table.mark(message.versions)
        self.refresh_bar()
        if message.capped:
            self.notify(
                f"The first {len(message.versions)} are marked; for more use "
                "`omnitui conversations bulk --query …`.",
                severity="warning",
                markup=False,
            )

    def marked(self) -> dict[int, int]:
        """The marked conversations (id -> version): what the actions act on."""
        return dict(self.table.marked)

    def _marked_title(self) -> str:
        n = len(self.table.marked)
        return f"{n} marked conversation{'s' if n != 1 else ''}"

    # -- bulk actions ----------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="bulk")
    def _bulk(self, what: str, op: str, versions: dict[int, int], value: object = None) -> None:
        outcome = inbox_views.bulk(
            self.desk.store, op, versions, value, self.desk.agent, self.desk.clock.now()
        )
        self.post_message(BulkDone(what, outcome.changed, outcome.problems, outcome.unchanged))

    @on(BulkDone)
    def _bulk_done(self, message: BulkDone) -> None:
        self.table.unmark([*message.changed, *message.unchanged])
        n = len(message.changed)
        text = f"{message.what}: {n} changed"
        if message.unchanged:
            text += f", {len(message.unchanged)} already so"
        if message.problems:
            text += f"; {len(message.problems)} not changed (still marked):"
            for conversation_id, why in list(message.problems.items())[:NAMED]:
                text += f"\n#{conversation_id}: {plain(why)}"
            if len(message.problems) > NAMED:
                text += f"\n… and {len(message.problems) - NAMED} more"
        self.notify(
            text,
            title="Some were changed by someone else" if message.problems else "",
            severity="warning" if message.problems else "information",
            timeout=12 if message.problems else 5,
            markup=False,
        )
        self.reload()

    def action_assign_me(self) -> None:
        if versions := self.marked():
            who = self.desk.agent
            self._bulk(f"assigned to {who}", "assign", versions, who)
            return
        super().action_assign_me()

    def action_unassign(self) -> None:
        if versions := self.marked():
            self._bulk("unassigned", "assign", versions, None)
            return
        super().action_unassign()

    def action_assign(self) -> None:
        if not self.marked():
            super().action_assign()
            return
        self._read_team_for_marks()

    @work(thread=True, exclusive=True, exit_on_error=False, group="team")
    def _read_team_for_marks(self) -> None:
        names = team.team(self.desk.store, configured=self.desk.team, me=self.desk.agent)
        self.post_message(TeamReadForMarks(names))

    @on(TeamReadForMarks)
    def _ask_assignee_for_marks(self, message: TeamReadForMarks) -> None:
        versions, names = self.marked(), message.names
        if not versions:
            return  # cleared meanwhile

        def done(who: str | None, _new: bool) -> None:
            # a new name was confirmed by the picker's second question
            what = f"assigned to {who}" if who else "unassigned"
            self._bulk(what, "assign", versions, who)

        assign.ask(
            self.app.push_screen,
            None,
            names,
            self.desk.agent,
            done,
            blink=self.desk.blink,
            title=f"Assign {self._marked_title()} to",
        )

    def action_set_status(self, status: str) -> None:
        if versions := self.marked():
            self._bulk(f"set {status}", "status", versions, (status, None))
            return
        super().action_set_status(status)

    def action_status(self) -> None:
        versions = self.marked()
        if not versions:
            super().action_status()
            return
        choices = [Choice(s, Text(s)) for s in PICKED_STATUSES]

        def picked(status: str | None) -> None:
            if status is not None:
                self._bulk(f"set {status}", "status", versions, (status, None))

        self.app.push_screen(
            PickScreen(f"Status of {self._marked_title()}", choices, hint="set"), picked
        )

    def action_snooze(self) -> None:
        versions = self.marked()
        if not versions:
            super().action_snooze()
            return
        clock = self.desk.clock
        choices = [
            Choice(when, Text(f"{label}  ({clock.local(when):%a %d %b %H:%M})"))
            for label, when in presets(clock.now(), clock.tz)
        ]

        def picked(until: datetime | None) -> None:
            if until is not None:
                what = f"snoozed until {clock.local(until):%a %d %b %H:%M}"
                self._bulk(what, "status", versions, ("snoozed", until))

        self.app.push_screen(
            PickScreen(
                f"Snooze {self._marked_title()} until",
                choices,
                typed=lambda text: wake_time(text, clock.now(), clock.tz),
                placeholder="2h, tomorrow 14:00, fri, 2026-04-01 9:00 … or pick below",
                blink=self.desk.blink,
                hint="snooze",
            ),
            picked,
        )

    def action_merge(self) -> None:
        versions = self.marked()
        if not versions:
            super().action_merge()
            return
        shown = [self.table.rows_by_id[i] for i in versions if i in self.table.rows_by_id]
        keepers = {row.customer_id: row.customer_name for row in shown}
        title = f"Merge the customers of {self._marked_title()} into one: keep which?"

        def picked(keep: int | None) -> None:
            if keep is not None:
                self._bulk(f"customers merged into #{keep}", "merge", versions, keep)

        if len(keepers) == 1 and len(shown) == len(versions):
            self.notify("The marked conversations are one customer's already.", markup=False)
            return
        if keepers:
            choices = [
                Choice(cid, Text(f"{plain(name) or '(no name)'}  #{cid}"))
                for cid, name in keepers.items()
            ]
            self.app.push_screen(PickScreen(title, choices, hint="keep", moves=True), picked)
            return
        store, region = self.desk.store, self.desk.default_region

        def lookup(query: str) -> list[Choice[int]]:
            # runs in the picker's worker thread
            with store.read() as session:
                rows = find_customers(session, query, default_region=region, limit=20)
            return [customer_choice(r) for r in rows]

        self.app.push_screen(
            PickScreen(
                title,
                lookup=lookup,
                placeholder="name, phone or e-mail of the customer to keep",
                blink=self.desk.blink,
                hint="keep the highlighted customer",
            ),
            picked,
        )

    # -- tags (the keys are TagActions'; with marks they act on the marked) --------

    def tag_scope(self) -> tuple[str, dict[int, int]] | None:
        if versions := self.marked():
            return self._marked_title(), versions
        return super().tag_scope()

    def apply_tag(self, where: str, versions: dict[int, int], tag: str, *, add: bool) -> None:
        if self.table.marked:
            verb = "tagged" if add else "untagged"
            self._bulk(f"{verb} {tag}", "tag" if add else "untag", versions, tag)
            return
        super().apply_tag(where, versions, tag, add=add)
