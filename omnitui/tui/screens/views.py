"""The inbox's views: the built-in ones (keys 1-7, as the filters were), the
config's ``[[views]]`` and the agent's saved ones (:mod:`omnitui.tui.saved_views`),
each on its own key when it has one, shown in the bar with their counts; and
the typed query (``l``, :mod:`omnitui.tui.screens.query_prompt`), which stands
for the view until a view key is pressed and which the palette saves as a view.

Counts are read in a worker (one statement for every view, see
:func:`omnitui.services.views.count_views`) each time the inbox reads its
rows again after a change, and once a minute (``older:`` and ``waiting:``
move with the clock alone).
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.timer import Timer

from omnitui.services.views import BUILTIN_VIEWS, View
from omnitui.tui import inbox_views, saved_views
from omnitui.tui.bindings import key_of
from omnitui.tui.format import plain
from omnitui.tui.screens.base import DeskScreen
from omnitui.tui.screens.pick import Choice, PickScreen
from omnitui.tui.screens.query_prompt import QueryScreen
from omnitui.tui.triage_messages import QueryChecked, ViewRefused, ViewsCounted
from omnitui.tui.widgets.filter_bar import FilterBar
from omnitui.tui.widgets.inbox_table import InboxTable

#: Seconds between counts when nothing changed (time-based terms move alone).
RECOUNT_INTERVAL = 60.0


class Views(DeskScreen):
    """Mixed into the inbox (see the module)."""

    views: list[View]
    view: str
    typed_query: str | None
    counted: bool

    def init_views(self) -> None:
        self.views = list(self.desk.views) or list(BUILTIN_VIEWS)
        self.typed_query = None
        self.counted = False
        #: the view shown before the last switch (where a refused view goes back to)
        self.shown_before: str | None = None
        self._count_ticket = 0
        self._recount: Timer | None = None

    @property
    def table(self) -> InboxTable:
        return self.query_one(InboxTable)

    @property
    def bar(self) -> FilterBar:
        return self.query_one(FilterBar)

    def marks_shown(self) -> int:
        """How many conversations are marked (the bar shows it)."""
        return 0

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
        counts = inbox_views.count(
            self.desk.store, asked, agent=self.desk.agent, now=now, team_names=self.desk.team
        )
        query_count = counts.counts.pop("", None) if query is not None else None
        self.post_message(
            ViewsCounted(
                ticket, counts.counts, query.query if query else None, query_count, counts.problems
            )
        )

    @on(ViewsCounted)
    def _counted(self, message: ViewsCounted) -> None:
        if message.ticket != self._count_ticket:
            return  # a newer count is on its way
        self.counted = True
        same = message.query == self.typed_query
        self.bar.show_counts(
            message.counts, message.query_count if same else None, message.problems
        )
        self.refresh_bar()

    def view_refused(self, name: str) -> bool:
        """Whether view ``name`` is known to be refused (its count says why):
        then the agent is told why, and the view shown stays."""
        reason = self.bar.problems.get(name)
        if reason is not None:
            self._tell_refused(name, reason)
        return reason is not None

    def _tell_refused(self, name: str, reason: str) -> None:
        self.notify(
            f"{plain(reason)} Fix its query in the config's [[views]] (or the saved view).",
            title=f"View {plain(name)} not shown",
            severity="warning",
            timeout=10,
            markup=False,
        )

    @on(ViewRefused)
    def _refused(self, message: ViewRefused) -> None:
        # a view refused before its count said so (or since): back to one that lists
        self.bar.problems[message.view] = message.reason
        self.bar.refresh()
        self._tell_refused(message.view, message.reason)
        if message.view == self.view and message.ticket == self.ticket:
            fallback = self.shown_before if self.shown_before != message.view else None
            self.action_filter(fallback or self.views[0].name)

    def refresh_bar(self) -> None:
        self.bar.show_state(
            None if self.typed_query is not None else self.view,
            self.typed_query,
            self.marks_shown(),
            len(self.table.order),
            getattr(self, "more", False),
        )

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
