"""What the screens work with, handed to them by the app.

The screens never read the runtime or global settings: they get a ``Desk``
with the store, who the agent is, the accounts, the snippets, the clock and
the drafts, plus the two things only the app can do (start a delivery, show a
customer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from omnitui.services import AccountInfo
from omnitui.services.views import View
from omnitui.tui.clock import Clock
from omnitui.tui.drafts import Drafts
from providers.base import DEFAULT_REGION
from storage.db import Store
from storage.queries import AccountHealth


@dataclass
class Desk:
    store: Store
    agent: str
    account_names: tuple[str, ...]
    snippets: Mapping[str, str]
    clock: Clock
    drafts: Drafts
    #: builds the account descriptions on first use (from the settings: no secret needed)
    load_accounts: Callable[[], dict[str, AccountInfo]]
    #: send queued message ``id`` in a worker thread; the app posts the outcome
    deliver: Callable[[int], object]
    #: cursors blink (tests turn it off so screenshots are stable)
    blink: bool = True
    #: region for phone numbers typed without a country code
    default_region: str = DEFAULT_REGION
    #: ``[agent] team`` from the config (see omnitui.services.team)
    team: tuple[str, ...] = ()
    #: ``[keymap]`` from the config (binding id -> keys): hints name the keys in force
    keymap: Mapping[str, str] = field(default_factory=dict)
    #: the latest account health, refreshed by the app after each poll and check
    health: list[AccountHealth] = field(default_factory=list)
    #: per account, why this console does not poll it ("polled by another
    #: process", "secret missing"); shown in the account bar
    polling: dict[str, str] = field(default_factory=dict)
    #: the team's names a note may @mention (not the agent), refreshed by the app's alerts round
    mentionable: tuple[str, ...] = ()
    #: the inbox's views: built in, the config's [[views]], the agent's saved ones
    views: list[View] = field(default_factory=list)
    #: the agent's saved views (see omnitui.tui.saved_views), and where they are kept
    saved_views: list[View] = field(default_factory=list)
    data_dir: Path = field(default_factory=Path)
    _accounts: dict[str, AccountInfo] | None = field(default=None, repr=False)

    def accounts(self) -> dict[str, AccountInfo]:
        if self._accounts is None:
            self._accounts = self.load_accounts()
        return self._accounts
