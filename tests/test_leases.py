"""At most one process polls an account: leases on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from omnitui.services import leases
from omnitui.services.sync import sync_once
from providers.demo import DemoProvider
from storage.db import Store


def test_one_holder_at_a_time_until_release_or_expiry(store: Store) -> None:
    assert leases.acquire(store, "demo", "daemon") is None
    assert leases.acquire(store, "demo", "daemon") is None  # renewing
    assert leases.acquire(store, "demo", "console") == "daemon"
    leases.release(store, "demo", "console")  # not the holder: no effect
    assert leases.acquire(store, "demo", "console") == "daemon"
    leases.release(store, "demo", "daemon")
    assert leases.acquire(store, "demo", "console") is None
    assert leases.acquire(store, "demo", "daemon", ttl=timedelta(seconds=60)) == "console"
    assert leases.acquire(store, "other", "daemon") is None


def test_an_expired_lease_is_taken_over(store: Store) -> None:
    assert leases.acquire(store, "demo", "dead", ttl=timedelta(seconds=-1)) is None
    assert leases.acquire(store, "demo", "alive") is None


def test_sync_stands_back_while_another_process_polls(store: Store) -> None:
    provider = DemoProvider("demo")
    assert leases.acquire(store, "demo", "daemon-on-server") is None
    report = sync_once(store, provider)
    assert report.held_by == "daemon-on-server" and report.stored == 0
    leases.release(store, "demo", "daemon-on-server")
    report = sync_once(store, provider)
    assert report.held_by is None and report.stored > 0
