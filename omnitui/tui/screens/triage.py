"""The inbox's triage: views with live counts, a typed query, marks, and the
actions over the marked conversations (issue 17: "narrow the list, mark, act").

- Views: the built-in ones (keys 1-7, as the filters were), the config's
  ``[[views]]`` and the agent's saved ones (:mod:`omnitui.tui.saved_views`),
  each on its own key when it has one. Counts are read in a worker after
  every change the console sees and once a minute.
- ``l`` asks for a query (:mod:`omnitui.tui.screens.query_prompt`), which
  then stands for the view until a view key is pressed; the palette saves it
  as a view.
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
from textual.timer import Timer

from omnitui.services import team
from omnitui.services.lookup import find_customers
from omnitui.services.views import BUILTIN_VIEWS, View
from omnitui.tui import inbox_views, saved_views
from omnitui.tui.bindings import key_of
from omnitui.tui.commands import PaletteEntry
from omnitui.tui.format import plain
from omnitui.tui.screens import assign
from omnitui.tui.screens.base import customer_choice
from omnitui.tui.screens.pick import Choice, PickScreen
from omnitui.tui.screens.query_prompt import QueryScreen
from omnitui.tui.screens.tagging import TagActions
from omnitui.tui.triage_messages import (
    BulkDone,
    QueryChecked,
    TeamReadForMarks,
    ViewMarked,
    ViewsCounted,
)
from omnitui.tui.widgets.filter_bar import FilterBar
from omnitui.tui.widgets.inbox_table import InboxTable
from omnitui.tui.widgets.key_hints import KeyHints
from omnitui.when import presets, wake_time
from storage.queries import ConversationRow
from storage.vocabulary import PICKED_STATUSES

#: Seconds between counts when nothing changed (time-based terms move alone).
RECOUNT_INTERVAL = 60.0
#: Conversations named one by one in a bulk action's summary.
NAMED = 5

TRIAGE_PALETTE: tuple[PaletteEntry, ...] = (
    ("inbox: query", "query", "Narrow the inbox with a query (tag:vip -status:resolved …)"),
    ("inbox: save query as view", "save_view", "Keep the typed query as a view, with a key"),
    ("inbox: mark all in view", "mark_all", "Mark every conversation of the view"),
    ("inbox: clear marks", "clear_marks", "Unmark everything"),
)


class Triage(TagActions):
    """Mixed into the inbox (see the module)."""

    views: list[View]
    view: str
    typed_query: str | None
    counted: bool

    def init_triage(self) -> None:
        self.views = list(self.desk.views) or list(BUILTIN_VIEWS)
        self.typed_query = None
        self.counted = False
        self._count_ticket = 0
        self._recount: Timer | None = None

    @property
    def table(self) -> InboxTable:
        return self.query_one(InboxTable)

    @property
    def bar(self) -> FilterBar:
        return self.query_one(FilterBar)

    # -- views ---------------------------------------------------------------------

    def mount_views(self) -> None:
        """Show the views in the bar, bind the keys of those that have one
        (not taken by another binding: that one is kept, and said), and count
        them now and then."""
        taken = self._keys_in_use()
        busy: list[str] = []
        for n, view in enumerate(self.views):
            if not view.key or view.builtin:
                continue  # the built-in views' keys are in the bindings already
            if view.key in taken:
                busy.append(f"{plain(view.name)} ({plain(view.key)})")
                continue
            self._bindings.bind(view.key, f"show_view({n})", plain(view.name), show=False)
            taken.add(view.key)
        if busy:
            self.notify(
                f"Keys already in use, not bound: {', '.join(busy)}. "
                "f / F step through every view; change the key in [[views]].",
                title="Views",
                severity="warning",
                timeout=10,
                markup=False,
            )
        self.bar.query_key = key_of("inbox.query", self.desk.keymap)
        self.bar.set_views([(v.key or "", v.name) for v in self.views])
        self._recount = self.set_interval(RECOUNT_INTERVAL, self.count_views)

    def _keys_in_use(self) -> set[str]:
        """Keys bound here, in the list and in the app (a view's key must not
        hide one of them)."""
        keys: set[str] = set()
        for node in (self.app, self, self.table):
            keys.update(node._bindings.key_to_bindings)
        return keys

    def view_names(self) -> list[str]:
        return [v.name for v in self.views]

    def shown_view(self) -> View:
        """The view the rows are read by: the typed query, else the view chosen."""
        chosen = next((v for v in self.views if v.name == self.view), self.views[0])
        if self.typed_query is not None:
            return inbox_views.typed_view(self.typed_query, chosen.sort)
        return chosen

    @staticmethod
    def view_id(view: View) -> str:
        """What a read answers: the view's name, or the typed query."""
        return view.name or f"query:{view.query}"

    def action_show_view(self, index: int) -> None:
        if 0 <= index < len(self.views):
            self.action_filter(self.views[index].name)

    def action_filter(self, name: str) -> None:
        raise NotImplementedError

    def reload(self, *, fresh: bool = False) -> None:
        raise NotImplementedError

    def count_views(self) -> None:
        """Count every view (and the typed query) in a worker."""
        self._count_ticket += 1
        query = self.shown_view() if self.typed_query is not None else None
        self._count(self._count_ticket, list(self.views), query)

    @work(thread=True, exclusive=True, exit_on_error=False, group="view-counts")
    def _count(self, ticket: int, views: list[View], query: View | None) -> None:
        now: datetime = self.desk.clock.now()
        asked = views + ([query] if query is not None else [])
        counts = inbox_views.count(self.desk.store, asked, agent=self.desk.agent, now=now)
        query_count = counts.pop("", None) if query is not None else None
        self.post_message(ViewsCounted(ticket, counts, query.query if query else None, query_count))

    @on(ViewsCounted)
    def _counted(self, message: ViewsCounted) -> None:
        if message.ticket != self._count_ticket:
            return  # a newer count is on its way
        self.counted = True
        same = message.query == self.typed_query
        self.bar.show_counts(message.counts, message.query_count if same else None)
        self.refresh_bar()

    def refresh_bar(self) -> None:
        self._hint_marks()
        self.bar.show_state(
            None if self.typed_query is not None else self.view,
            self.typed_query,
            len(self.table.marked),
            len(self.table.order),
            getattr(self, "more", False),
        )

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

    # -- the typed query --------------------------------------------------------

    def action_query(self) -> None:
        initial = self.typed_query if self.typed_query is not None else self.shown_view().query
        self._ask_query(initial)

    def _ask_query(self, initial: str, problem: tuple[int, int, str] | None = None) -> None:
        def done(text: str | None) -> None:
            if text is None:
                return
            if not text:
                self._use_query(None)
                return
            self._check_query(text)

        self.app.push_screen(
            QueryScreen(
                inbox_views.query_problem, initial=initial, blink=self.desk.blink, problem=problem
            ),
            done,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="query-check")
    def _check_query(self, text: str) -> None:
        store, agent = self.desk.store, self.desk.agent
        problem = inbox_views.unknown_assignee(store, text, team_names=self.desk.team, me=agent)
        self.post_message(QueryChecked(text, problem))

    @on(QueryChecked)
    def _query_checked(self, message: QueryChecked) -> None:
        if message.problem is not None:  # asked again, the text kept, the name pointed at
            self._ask_query(message.text, message.problem)
            return
        self._use_query(message.text)

    def _use_query(self, text: str | None) -> None:
        self.typed_query = text
        self.reload(fresh=True)
        self.count_views()

    def action_save_view(self) -> None:
        if self.typed_query is None:
            key = key_of("inbox.query", self.desk.keymap)
            self.notify(
                f"Type a query first ({key}), then save it.", severity="warning", markup=False
            )
            return
        query, sort = self.typed_query, self.shown_view().sort
        fixed = {v.name for v in self.views} - {v.name for v in self.desk.saved_views}

        def named(name: str | None) -> None:
            if name is not None:
                self._ask_key(name, query, sort)

        def check_name(text: str) -> str:
            name = plain(text)
            if not name or len(name) > 24:
                raise ValueError("a view's name is 1 to 24 characters on one line")
            if name in fixed:
                raise ValueError(f"{name!r} is a view of the config or built in: pick another")
            return name

        self.app.push_screen(
            PickScreen(
                f"Save {query!r} as a view named",
                typed=check_name,
                placeholder="vip waiting, billing, …",
                blink=self.desk.blink,
                hint="name it",
            ),
            named,
        )

    def _ask_key(self, name: str, query: str, sort: str) -> None:
        taken = self._keys_in_use() | {v.key for v in self.views if v.key and v.name != name}

        def check_key(text: str) -> str:
            key = text.strip()
            if key == "-" or not key:
                return ""
            if len(key) != 1 or not key.isprintable() or key.isspace():
                raise ValueError("one key: a letter, digit or sign (or - for none)")
            if key in taken:
                raise ValueError(f"{key!r} already does something here: pick another")
            return key

        def keyed(key: str | None) -> None:
            if key is not None:
                self._save_view(saved_views.SavedView(name, query, key, sort))

        self.app.push_screen(
            PickScreen(
                f"Key for the view {name!r} (or - for none)",
                [Choice("", Text("no key (f / F reach it)", style="dim"))],
                typed=check_key,
                placeholder="a free key, e.g. v",
                blink=self.desk.blink,
                hint="save",
            ),
            keyed,
        )

    def _save_view(self, saved: saved_views.SavedView) -> None:
        try:
            view = inbox_views.from_saved(saved)
            path = saved_views.save(self.desk.data_dir, saved)
        except (OSError, ValueError) as exc:
            self.notify(plain(str(exc)), title="View not saved", severity="error", markup=False)
            return
        self.desk.saved_views = [v for v in self.desk.saved_views if v.name != view.name] + [view]
        self.views = [v for v in self.views if v.name != view.name] + [view]
        if view.key:
            self._bindings.bind(
                view.key, f"show_view({len(self.views) - 1})", plain(view.name), show=False
            )
        self.bar.set_views([(v.key or "", v.name) for v in self.views])
        self.notify(f"View {view.name!r} saved in {path}", markup=False)
        self.action_filter(view.name)

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
