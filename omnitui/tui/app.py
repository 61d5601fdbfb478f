"""The console's App: wiring only. It builds the :class:`Desk` the screens
work with, runs the background workers (polling, delivery), checks the store
for changes from other processes, and opens screens on request. Like the
screens it never touches the store on the UI thread (see
:mod:`omnitui.tui.workers`).

The screens live in :mod:`omnitui.tui.screens`, the widgets in
:mod:`omnitui.tui.widgets`, every key in :mod:`omnitui.tui.bindings`.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import App
from textual.binding import BindingType

from omnitui.config import key_error
from omnitui.services import leases, outbox, snoozes, sync
from omnitui.services.lookup import find_customers
from omnitui.services.views import all_views
from omnitui.tui import inbox_views, saved_views, ui_state
from omnitui.tui.alerting import AlertsPolled, ConsoleAlerts
from omnitui.tui.bindings import APP_BINDINGS, binding_ids, key_of, unknown_keymap_ids
from omnitui.tui.clock import Clock
from omnitui.tui.commands import OmniCommands
from omnitui.tui.crash import write_crash_log
from omnitui.tui.desk import Desk
from omnitui.tui.drafts import Drafts
from omnitui.tui.format import badge, plain, use_plain_badges, words_pattern
from omnitui.tui.keygate import KeyGate
from omnitui.tui.messages import (
    DeliveryDeferred,
    MessagesSynced,
    OpenCustomer,
    OutboxDelivered,
    PollersReady,
    StoreChecked,
    StoreProblem,
)
from omnitui.tui.presence import PresenceBoard, PresenceSeen
from omnitui.tui.screens.base import DeskScreen, customer_choice
from omnitui.tui.screens.customer import CustomerScreen
from omnitui.tui.screens.help import HelpScreen
from omnitui.tui.screens.inbox import InboxScreen
from omnitui.tui.screens.mentions import MentionsMarked, MentionsScreen
from omnitui.tui.screens.outbox import OutboxScreen
from omnitui.tui.screens.pick import Choice, PickScreen
from omnitui.tui.screens.reports import ReportsScreen
from omnitui.tui.widgets.account_bar import POLLED_ELSEWHERE, SECRET_MISSING, AccountBar
from omnitui.tui.workers import WorkerFailures, screen_work
from storage import queries
from storage.queries import ChangeMarker

if TYPE_CHECKING:
    from omnitui.runtime import Runtime

log = logging.getLogger("omnitui.tui")

#: Seconds between looks at the store for changes made by other processes.
CHECK_INTERVAL = 1.0
#: a search hit picked: customer, conversation, timeline entry, words found
SearchPick = tuple[int, int | None, str, tuple[str, ...]]
THEMES = {"dark": "textual-dark", "light": "textual-light"}


class OmniApp(WorkerFailures, App[None]):
    CSS_PATH = "omnitui.tcss"
    TITLE = "omnitui"
    BINDINGS: ClassVar[list[BindingType]] = [*APP_BINDINGS]
    COMMANDS = App.COMMANDS | {OmniCommands}

    def __init__(
        self,
        runtime: Runtime,
        *,
        poll: bool = True,
        clock: Clock | None = None,
        blink: bool = True,
    ) -> None:
        super().__init__()
        use_plain_badges(self.no_color)  # NO_COLOR: badges reversed, not coloured
        self.runtime = runtime
        self.poll = poll
        self.clock = clock or Clock()
        store = runtime.store()
        self.desk = Desk(
            store=store,
            agent=runtime.agent,
            account_names=tuple(a.name for a in runtime.accounts),
            snippets=dict(runtime.config.snippets),
            clock=self.clock,
            drafts=Drafts(runtime.data_dir / "drafts.json"),
            load_accounts=runtime.account_infos,
            deliver=self.deliver,
            blink=blink,
            default_region=runtime.default_region,
            team=runtime.config.team,
            keymap=dict(runtime.config.keymap),
            data_dir=runtime.data_dir,
        )
        self._view_problems = self._load_views()
        self._stop = threading.Event()
        self._marker: ChangeMarker | None = None
        #: accounts this console cannot poll (secret missing here), and why
        self._unable: dict[str, str] = {}
        #: why the store cannot serve, as seen by reading and by writing (None: fine)
        self.store_problems: dict[str, str | None] = {"read": None, "write": None}
        #: where the traceback went, after an unexpected error
        self.crash_log: Path | None = None
        self.keymap: dict[str, str] = dict(runtime.config.keymap)
        self.key_gate = KeyGate(self, lambda: screen_work(self.workers, self))
        #: who is viewing or writing where, told and shown (omnitui.tui.presence)
        self.presence = PresenceBoard(self, store, runtime.agent)
        #: alerts once per event, the unread mentions, away (omnitui.tui.alerting)
        self.alerts = ConsoleAlerts(self, self.desk, runtime.config.alerts)

    async def on_event(self, event: events.Event) -> None:
        # typed-ahead keys wait for the screen or composer they were meant for
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self.key_gate.admit(event):
                await super().on_event(event)
                self.key_gate.dispatched()
            return
        await super().on_event(event)

    def _load_views(self) -> list[str]:
        """The inbox's views: built in, the config's, the agent's saved ones
        (a local file, read once at start); what was wrong with the saved ones."""
        saved, problems = saved_views.load(self.runtime.data_dir)
        configured = all_views(self.runtime.config.views)
        views, mine, more = inbox_views.views_for(configured, saved)
        self.desk.views, self.desk.saved_views = views, mine
        return problems + more

    async def on_mount(self) -> None:
        remembered = ui_state.load(self.runtime.data_dir).get("theme")
        wanted = str(remembered or self.runtime.config.theme or "dark")
        wanted = THEMES.get(wanted, wanted)
        self.theme = wanted if wanted in self.available_themes else THEMES["dark"]
        self.set_keymap(self.keymap)
        await self.push_screen(InboxScreen(self.desk))
        for problem in self._view_problems:
            self.notify(plain(problem), title="Saved views", severity="warning", markup=False)
        self.check_changes()
        self.set_interval(CHECK_INTERVAL, self._tick)
        self.presence.start()
        if self.poll:
            self.run_polling()  # it first marks sends a dead process left (sync.watch)

    # -- live data ---------------------------------------------------------------

    def check_changes(self, *, force: bool = False) -> None:
        """Look at the store for changes (here or from other processes) and at account
        health, in a worker thread: the health query alone can take tens of ms on a
        big store, too long for the UI thread."""
        self._check(force)

    def _tick(self) -> None:
        # a check still waiting on a locked or unreachable store: no second one
        # beside it (they would pile up, one a second, each holding a connection)
        if not any(w.group == "check" and not w.is_finished for w in self.workers):
            self.check_changes()
        self.alerts.tick()

    @work(thread=True, exclusive=True, exit_on_error=False, group="check")
    def _check(self, force: bool) -> None:
        # a store that cannot serve: StoreProblem("read") from omnitui.tui.workers
        # due snoozes reopen first (audited, so the marker below moves)
        snoozes.wake_due_snoozes(self.desk.store, self.desk.clock.now())
        with self.desk.store.read() as session:
            marker = queries.change_marker(session)
            health = queries.account_health(session, list(self.desk.account_names))
        held = leases.holders(self.desk.store, list(self.desk.account_names))
        self.post_message(StoreChecked(marker, health, force, held))
        if (present := self.presence.read()) is not None:  # who else is where
            self.post_message(PresenceSeen(present))

    def on_presence_seen(self, message: PresenceSeen) -> None:
        if not self.closing:
            self.presence.show(message.present)

    def on_store_checked(self, message: StoreChecked) -> None:
        """Redraw the screen in view if the store changed, and the health bar always."""
        if self.closing:
            return
        self.desk.health = message.health
        self.desk.polling = {
            name: POLLED_ELSEWHERE if name in message.held else SECRET_MISSING
            for name in self.desk.account_names
            if name in message.held or name in self._unable
        }
        self.store_problems["read"] = None
        self._show_store_problem()
        screen = self.screen if self.screen_stack else None
        if isinstance(screen, DeskScreen) and screen.is_mounted:
            screen.show_health(message.health)
            changed = self._marker is not None and message.marker != self._marker
            if message.force or changed:
                screen.reload()
        self._marker = message.marker

    def on_store_problem(self, message: StoreProblem) -> None:
        """Show on the health line that the store cannot serve, or no longer."""
        if self.closing:
            return
        was = self.store_problem
        self.store_problems[message.source] = message.problem
        if was is None and message.problem is not None:
            self.notify(
                f"{message.problem}. Your drafts are kept; the console retries by itself.",
                title="Store unavailable",
                severity="error",
                timeout=10,
                markup=False,
            )
        self._show_store_problem()

    @property
    def closing(self) -> bool:
        """The console is closing: its screens are being taken down, so a worker's
        result that lands now has nothing to draw on (and nothing left to tell)."""
        return not self.is_running

    @property
    def store_problem(self) -> str | None:
        """Why the store cannot serve right now, or None."""
        return self.store_problems["read"] or self.store_problems["write"]

    def _show_store_problem(self) -> None:
        # a screen opened meanwhile learns it here too: this runs every check
        if not self.screen_stack:
            return  # closing: a check's answer came after the last screen went
        for bar in self.screen.query(AccountBar):
            bar.show_problem(self.store_problem)

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def run_polling(self) -> None:
        """Poll every account on its interval until the app stops (a worker thread).

        An account whose secret this process cannot read is not polled here
        (the console still works on the store; the account bar says so).
        """
        providers, unable = self.runtime.pollers()
        self.post_message(PollersReady(unable))
        sync.watch(
            self.desk.store,
            providers,
            stop=self._stop,
            default_region=self.runtime.default_region,
            on_report=self._reported,
        )

    def on_pollers_ready(self, message: PollersReady) -> None:
        self._unable = dict(message.unable)
        self.check_changes()

    def _reported(self, report: sync.SyncReport) -> None:
        # runs in the polling thread: only post (post_message is thread-safe)
        store_down = report.error_kind == "store"
        self.post_message(StoreProblem("write", report.error if store_down else None))
        self.post_message(
            MessagesSynced(
                report.account,
                report.stored,
                report.sent,
                report.send_failed,
                report.error,
                frozenset(report.conversation_ids),
            )
        )

    # not exclusive: a second reply does not supersede the first one's delivery
    @work(thread=True, exclusive=False, exit_on_error=False, group="outbox")
    def deliver(self, message_id: int) -> None:
        """Send a queued message in a worker thread; the outcome comes back as a
        message. A store that cannot serve shows on the health line (the message
        waits in the outbox, or is reconciled as unconfirmed: the poller sends it)."""
        try:
            delivery = outbox.deliver_now(self.desk.store, self.runtime.provider, message_id)
        except outbox.OutboxError:
            return  # a poll round claimed it first; it reports the outcome itself
        if isinstance(delivery, outbox.Deferred):  # no secret here: the poller sends it
            self.post_message(DeliveryDeferred(message_id, delivery.reason))
            return
        self.post_message(OutboxDelivered(message_id, delivery.state, delivery.error))

    def on_delivery_deferred(self, message: DeliveryDeferred) -> None:
        self.notify(
            f"Message {message.message_id} is queued, not sent from this console: "
            f"{plain(message.reason)}. The process that polls the account sends it.",
            title="Queued for the poller",
            severity="warning",
            timeout=10,
            markup=False,
        )
        self.check_changes()

    def on_messages_synced(self, message: MessagesSynced) -> None:
        self.check_changes()

    def on_outbox_delivered(self, message: OutboxDelivered) -> None:
        if self.closing:
            return
        if message.status == "failed":
            self.notify(
                f"Message {message.message_id} was not sent: {plain(message.error)}",
                title=f"Send failed ({key_of('message.retry', self.keymap)} retries)",
                severity="error",
                timeout=10,
                markup=False,
            )
        elif message.status == "unconfirmed":
            self.notify(
                f"Message {message.message_id} may or may not have arrived: "
                f"{plain(message.error)}. It is not sent again by itself.",
                title=f"Send unconfirmed ({key_of('message.retry', self.keymap)} sends it again)",
                severity="warning",
                timeout=10,
                markup=False,
            )
        # the message's new status is on screen at once; health follows from the check
        screen = self.screen if self.screen_stack else None
        if isinstance(screen, DeskScreen) and screen.is_mounted:
            screen.reload()
        self.check_changes()

    # -- screens ---------------------------------------------------------------------

    @on(OpenCustomer)
    def open_customer(self, message: OpenCustomer) -> None:
        if isinstance(self.screen, CustomerScreen):
            self.screen.composer.save_now()
            self.pop_screen()
        self.push_screen(
            CustomerScreen(
                self.desk,
                message.customer_id,
                message.conversation_id,
                message.compose,
                entry=message.entry,
                found=words_pattern(message.terms),
            )
        )

    # -- alerts and mentions (omnitui.tui.alerting) ----------------------------------

    def on_alerts_polled(self, message: AlertsPolled) -> None:
        if not self.closing:
            self.alerts.polled(message)

    def on_mentions_marked(self, message: MentionsMarked) -> None:
        self.alerts.tick()  # the unread count follows at once

    def action_mentions(self) -> None:
        if not isinstance(self.screen, MentionsScreen):
            self.push_screen(MentionsScreen(self.desk))

    def action_toggle_away(self) -> None:
        self.alerts.toggle_away()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.keymap))

    def action_reports(self) -> None:
        self.push_screen(ReportsScreen(self.desk, self.runtime.config.business_hours))

    def action_outbox(self) -> None:
        if not isinstance(self.screen, OutboxScreen):
            self.push_screen(OutboxScreen(self.desk))

    def action_reload(self) -> None:
        self.check_changes(force=True)

    def action_toggle_theme(self) -> None:
        self.theme = THEMES["light"] if self.theme == THEMES["dark"] else THEMES["dark"]
        ui_state.save(self.runtime.data_dir, theme=self.theme)

    def action_search(self) -> None:
        store = self.desk.store

        def lookup(query: str) -> list[Choice[SearchPick]]:
            # runs in the picker's worker thread
            with store.read() as session:
                hits = queries.search(session, query, limit=30)
            terms = tuple(queries.search_terms(query))
            found = words_pattern(terms)
            out = []
            for hit in hits:
                label = badge(hit.channel) if hit.channel else Text.assemble(("NOTE", "yellow"))
                label.append(f" {plain(hit.customer_name)[:20]}", style="bold")
                label.append(f"  {self.clock.local(hit.at):%b %d}", style="dim")
                snippet = Text(f"  {plain(hit.snippet)[:80]}")
                if found is not None:
                    snippet.highlight_regex(found, style="bold reverse")
                label.append_text(snippet)
                entry = f"{hit.kind[0]}{hit.id}"  # the timeline's entry id
                out.append(Choice((hit.customer_id, hit.conversation_id, entry, terms), label))
            return out

        def picked(hit: SearchPick | None) -> None:
            if hit is not None:
                customer, conversation, entry, terms = hit
                self.post_message(OpenCustomer(customer, conversation, entry=entry, terms=terms))

        self.push_screen(
            PickScreen(
                "Search every message and note",
                lookup=lookup,
                placeholder="words (prefixes match)",
                blink=self.desk.blink,
                hint="open the customer",
            ),
            picked,
        )

    def action_jump(self) -> None:
        store = self.desk.store

        region = self.desk.default_region

        def lookup(query: str) -> list[Choice[int]]:
            # runs in the picker's worker thread
            with store.read() as session:
                rows = find_customers(session, query, default_region=region, limit=20)
            return [customer_choice(r) for r in rows]

        def picked(customer_id: int | None) -> None:
            if customer_id is not None:
                self.post_message(OpenCustomer(customer_id))

        self.push_screen(
            PickScreen(
                "Go to customer",
                lookup=lookup,
                placeholder="name, phone or e-mail",
                blink=self.desk.blink,
                hint="open",
            ),
            picked,
        )

    async def action_quit(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, CustomerScreen):
                screen.composer.save_now()
        self._stop.set()
        await self.presence.leave()  # the others stop seeing this agent at once
        self.exit()

    def on_unmount(self) -> None:
        self._stop.set()

    # -- the unexpected ----------------------------------------------------------

    def save_drafts(self) -> None:
        """Write every open composer's draft to the drafts file now."""
        for screen in self.screen_stack:
            if isinstance(screen, CustomerScreen) and screen.is_mounted:
                screen.composer.save_now()

    def _handle_exception(self, error: Exception) -> None:
        # Textual's hook for an exception nothing handled (the app exits after
        # it): keep the drafts, log the traceback, exit non-zero (see crash.py)
        try:
            self.save_drafts()
        except Exception:
            log.exception("could not save the drafts after a crash")
        try:
            self.crash_log = write_crash_log(self.runtime.data_dir, error)
        except OSError:
            log.exception("could not write the crash log")
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        # instead of Textual's traceback with local variables on the terminal
        where = f" Details: {self.crash_log}" if self.crash_log else ""
        self.bell()
        self._exit_renderables.append(
            Text(f"omnitui stopped after an unexpected error. Drafts were kept.{where}")
        )
        self._close_messages_no_wait()


def make_app(
    runtime: Runtime, *, poll: bool = True, clock: Clock | None = None, blink: bool = True
) -> OmniApp:
    """The console for ``runtime``.

    ``poll`` runs the background polling worker (tests pass False and drive
    the store themselves); ``clock`` fixes "now" and ``blink=False`` stills
    the cursors, both for stable snapshots. A ``[keymap]`` id that names no
    binding is a :class:`ConfigError` (a typo would silently do nothing).
    """
    for name in unknown_keymap_ids(runtime.config.keymap):
        raise key_error(
            runtime.config,
            "keymap",
            name,
            "is not a binding id (the help screen, ?, lists them)",
            sorted(binding_ids()),
        )
    return OmniApp(runtime, poll=poll, clock=clock, blink=blink)
