"""The console's side of alerts: each check of the store (once a second) also
runs one alerts round in a worker (:class:`omnitui.services.alerts.Alerter`
claims what is due, so one console of the agent tells each event once), and
the answer is told on the UI thread: a notice always, then what ``[alerts]``
asks for (the bell, a desktop notification through the terminal, the
``notify_cmd``, which runs in a worker of its own). The first round, and the
first after the agent is back (``Z``, or ``omnitui agent back``), is one
summary line. The same round counts the unread mentions for the inbox's line
and, now and then, reads the team's names for the composer's ``@`` completion.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from textual.message import Message

from omnitui.notify import AlertSettings, osc_notification, run_notify_cmd
from omnitui.services import alerts, team
from omnitui.services.alerts import Alerter, AlertEvent, AlertRound
from omnitui.text import clean_text
from omnitui.tui.widgets.mention_count import MentionCount
from storage.db import StoreUnavailable

if TYPE_CHECKING:
    from textual.app import App

    from omnitui.tui.desk import Desk

log = logging.getLogger("omnitui.tui.alerts")

#: the team's names are read again every this many rounds (seconds)
TEAM_EVERY = 30
#: more alerts than this in one round are told as one line (a burst of mail)
BURST = 3


@dataclass
class AlertsPolled(Message):
    """One alerts round's answer; ``names``: the team's, when read this round."""

    found: AlertRound
    names: tuple[str, ...] | None = None


class ConsoleAlerts:
    """The app's alerts: :meth:`tick` from the app's periodic check,
    :meth:`polled` with each answer, :meth:`toggle_away` for the key."""

    def __init__(self, app: App[None], desk: Desk, settings: AlertSettings) -> None:
        self.app = app
        self.desk = desk
        self.settings = settings
        self.alerter = Alerter(desk.store, desk.agent, datetime.now(UTC))
        self.away = False
        self.unread = 0
        self._rounds = 0
        self._broken = False
        #: rounds whose answer has been told (tests wait on it)
        self.told_rounds = 0

    # -- worker side ---------------------------------------------------------------

    def tick(self) -> None:
        """Start a round unless one is still on its way (a slow store)."""
        if not any(w.group == "alerts" and not w.is_finished for w in self.app.workers):
            self.app.run_worker(self._round, thread=True, group="alerts", exit_on_error=False)

    def _round(self) -> None:
        # in a worker thread
        try:
            found = self.alerter.round(datetime.now(UTC))
            names = None
            if self._rounds % TEAM_EVERY == 0:
                known = team.team(self.desk.store, configured=self.desk.team, me=self.desk.agent)
                names = tuple(n for n in known if n.casefold() != self.desk.agent.casefold())
        except StoreUnavailable:
            raise  # shown on the health line (omnitui.tui.workers)
        except Exception:
            if not self._broken:  # once, not once a second
                log.exception("alerts: a round failed; alerts may be late")
            self._broken = True
            return
        self._rounds += 1
        self.app.post_message(AlertsPolled(found, names))

    def _set_away(self, away: bool) -> None:
        # in a worker thread
        alerts.set_away(self.desk.store, self.desk.agent, away)
        self._round()

    def toggle_away(self) -> None:
        """Away if here, back if away; a round follows at once."""
        self.app.run_worker(
            partial(self._set_away, not self.away),
            thread=True,
            group="away",
            exit_on_error=False,
        )

    # -- UI side -------------------------------------------------------------------

    def polled(self, message: AlertsPolled) -> None:
        found = message.found
        self.told_rounds += 1
        if message.names is not None:
            self.desk.mentionable = message.names
        was_away, self.away = self.away, found.away is not None
        self.unread = found.unread_mentions
        self.show_count()
        if self.away and not was_away:
            self.app.notify(
                "Alerts wait until you are back (Z, or `omnitui agent back`).",
                title="You are away",
                markup=False,
            )
        if found.summary is not None:
            self.tell(
                "While you were away",
                found.summary,
                {"agent": self.desk.agent, "kind": "summary", "text": found.summary},
            )
        if len(found.alerts) > BURST:
            line = alerts.counted(found.alerts)
            self.tell(
                "New for you", line, {"agent": self.desk.agent, "kind": "summary", "text": line}
            )
            return
        for event in found.alerts:
            self.tell_event(event)

    def show_count(self) -> None:
        if not self.app.screen_stack:
            return
        for widget in self.app.screen.query(MentionCount):
            widget.show(self.unread, self.away)

    def tell_event(self, event: AlertEvent) -> None:
        self.tell(event.title, event.text, event.document(self.desk.agent))

    def tell(self, title: str, text: str, document: dict[str, object]) -> None:
        """A notice, then the bell, the desktop and the command as configured."""
        shown = clean_text(text, single_line=True)[:200]
        self.app.notify(shown, title=clean_text(title, single_line=True), timeout=8, markup=False)
        if self.settings.bell:
            self.app.bell()
        if self.settings.desktop != "off":
            self.write_terminal(osc_notification(self.settings.desktop, title, text))
        if self.settings.notify_cmd:
            self.app.run_worker(
                partial(
                    run_notify_cmd,
                    self.settings.notify_cmd,
                    document,
                    self.settings.notify_timeout,
                ),
                thread=True,
                group="notify",
                exit_on_error=False,
            )

    def write_terminal(self, data: str) -> None:
        """Write ``data`` (an escape sequence built from cleaned text) to the
        real terminal, past the screen, as ``App.bell`` does."""
        driver = self.app._driver
        if driver is not None and not self.app.is_headless:
            driver.write(data)
