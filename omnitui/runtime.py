"""What a command or the TUI works with: the config, the store, the accounts.

Built once per process by :func:`make_runtime` from ``--config`` / ``--db``
(or their environment variables); everything heavy (the store, providers and
their SDKs) is opened on first use, so ``omnitui --help`` stays fast.

Least privilege: what an account carries and its addresses come from its
settings (:meth:`Runtime.account_infos`), so commands that only work on the
store, and the console of an agent on a team store, run without any
provider's secret. Secrets are read only when a provider is built, to poll
or to send (:meth:`Runtime.provider`, :meth:`Runtime.pollers`).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from omnitui.config import (
    AppConfig,
    ConfigError,
    SecretUnavailable,
    build_provider,
    default_data_dir,
    find_config,
    load_config,
)
from providers.base import DEFAULT_REGION
from providers.settings import AccountSettings, DemoSettings

if TYPE_CHECKING:
    from omnitui.services import AccountInfo
    from providers.base import Provider
    from storage.db import Store

DEMO_ACCOUNT = "demo"


@dataclass
class Runtime:
    config: AppConfig
    db_url: str
    data_dir: Path
    demo: bool = False
    #: where ``db_url`` came from, for messages: "--db", "$OMNITUI_DB", a config line
    db_source: str = "the default"
    _store: Store | None = None
    _providers: dict[str, Provider] = field(default_factory=dict)

    @property
    def agent(self) -> str:
        return self.config.agent_name

    @property
    def default_region(self) -> str:
        return self.config.default_region

    @property
    def accounts(self) -> tuple[AccountSettings, ...]:
        return self.config.accounts

    def account(self, name: str) -> AccountSettings:
        for acc in self.config.accounts:
            if acc.name == name:
                return acc
        known = ", ".join(a.name for a in self.config.accounts) or "none configured"
        raise ConfigError(f"there is no account named {name!r} (known: {known})")

    def store(self) -> Store:
        if self._store is None:
            from storage.db import StoreURLError, open_store

            try:
                self._store = open_store(self.db_url, self.data_dir)
            except StoreURLError as exc:
                raise ConfigError(f"{self.db_source}: {exc}") from None
        return self._store

    def provider(self, name: str) -> Provider:
        """The provider of account ``name``, built (its secrets read) on first use.

        Raises :class:`SecretUnavailable` when this process cannot read a secret,
        or :class:`ConfigError` for an unknown account or kind.
        """
        if name not in self._providers:
            self._providers[name] = build_provider(self.account(name))
        return self._providers[name]

    def pollers(self) -> tuple[list[tuple[Provider, float]], dict[str, str]]:
        """The providers this process can poll, with their intervals, and for
        each account it cannot, why (its secret cannot be read here)."""
        ready: list[tuple[Provider, float]] = []
        unable: dict[str, str] = {}
        for account in self.accounts:
            try:
                ready.append((self.provider(account.name), float(account.poll_interval)))
            except SecretUnavailable as exc:
                unable[account.name] = str(exc)
        return ready, unable

    def account_infos(self) -> dict[str, AccountInfo]:
        """What each account carries, its addresses, the files each channel
        takes and its signature (``[agent] signature`` wins over the
        account's), from the settings alone: no provider is built and no
        secret read."""
        from omnitui.services import AccountInfo

        return {
            a.name: AccountInfo.from_settings(a, agent_signature=self.config.signature)
            for a in self.accounts
        }

    def close(self) -> None:
        for provider in self._providers.values():
            provider.close()
        self._providers.clear()
        if self._store is not None:
            self._store.close()
            self._store = None


def _default_agent() -> str:
    return os.environ.get("USER") or os.environ.get("USERNAME") or "agent"


def demo_config(agent: str | None = None) -> AppConfig:
    """The config of ``omnitui demo``: one demo account, nothing else."""
    return AppConfig(
        path=None,
        database_url=None,
        agent_name=agent or _default_agent(),
        default_region=DEFAULT_REGION,
        accounts=(DemoSettings(name=DEMO_ACCOUNT, kind="demo", poll_interval=15),),
        snippets={
            "thanks": "Thanks for reaching out, {customer.name}! I'm looking into it now.",
            "refund": "Hi {customer.name}, your refund is on its way: allow 3-5 business days.",
        },
        keymap={},
    )


def make_runtime(
    config_path: Path | None = None, db_url: str | None = None, *, demo: bool = False
) -> Runtime:
    """The runtime for this process.

    The database is, first found: ``db_url`` (``--db``), ``$OMNITUI_DB``,
    the config's ``[database] url``, else SQLite in the data directory
    (``demo.db`` for the demo, so it never mixes with real data).
    """
    data_dir = default_data_dir()
    if demo:
        config = demo_config()
        url = db_url or f"sqlite:///{data_dir / 'demo.db'}"
        return Runtime(config=config, db_url=url, data_dir=data_dir / "demo", demo=True)
    path = find_config(config_path)
    if path is not None:
        config = load_config(path)
    else:
        config = AppConfig(
            path=None,
            database_url=None,
            agent_name=_default_agent(),
            default_region=DEFAULT_REGION,
            accounts=(),
            snippets={},
            keymap={},
        )
    if db_url:  # typer passes $OMNITUI_DB as --db too
        url, source = db_url, "$OMNITUI_DB" if db_url == os.environ.get("OMNITUI_DB") else "--db"
    elif os.environ.get("OMNITUI_DB"):
        url, source = os.environ["OMNITUI_DB"], "$OMNITUI_DB"
    elif config.database_url:
        url, source = config.database_url, config.database_url_at or "the config's database.url"
    else:
        url, source = f"sqlite:///{data_dir / 'omnitui.db'}", "the default store"
    return Runtime(config=config, db_url=url, data_dir=data_dir, db_source=source)


def debug_enabled() -> bool:
    return bool(os.environ.get("OMNITUI_DEBUG")) or "--debug" in sys.argv
