"""The poller and the console outlive a store that cannot serve for a while
(locked by another writer, a PostgreSQL restart): the poller logs one line a
try, backs off and stores a later batch; a round that raises is logged and
retried; a worker that dies ends the watch non-zero; the console shows the
store as unavailable on its health line and recovers by itself."""

from __future__ import annotations

import logging
import os
import pwd
import shlex
import sqlite3
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any, ClassVar

import psycopg
import pytest
from sqlalchemy import select

from omnitui.runtime import Runtime, demo_config
from omnitui.services import sync
from omnitui.tui.app import make_app
from omnitui.tui.clock import Clock
from omnitui.tui.widgets.account_bar import AccountBar
from providers.base import Channel, OutboundMessage, PollBatch, SendLimits, SendResult
from providers.demo import OUR_NUMBER
from storage.db import Store, open_store
from storage.models import message_t
from tests.faults import (
    ANN,
    Seeded,
    run_cli,
    seeded_sqlite,
    write_lock,
)
from tests.helpers import batch, sms
from tests.peers.postgres import _bin
from tests.tui.waiting import settle


@pytest.fixture
def sqlite_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Seeded:
    return seeded_sqlite(tmp_path, monkeypatch)


@dataclass
class FakeProvider:
    """Polls whatever the test queues; raises what the test queues."""

    kind: ClassVar[str] = "fake"
    account: str = "demo"
    channels: tuple[Channel, ...] = ("sms",)
    script: list[PollBatch | BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def address_for(self, channel: Channel) -> str:
        return OUR_NUMBER

    def poll(self, cursors: Mapping[str, str]) -> PollBatch:
        with self.lock:
            step = self.script.pop(0) if self.script else PollBatch(cursors=dict(cursors))
        if isinstance(step, BaseException):
            raise step
        return step

    def queue(self, step: PollBatch | BaseException) -> None:
        with self.lock:
            self.script.append(step)

    def send(self, message: OutboundMessage) -> SendResult:
        return SendResult(external_id="SMx")

    def limits(self, channel: Channel) -> SendLimits:
        return SendLimits(0, 0, can_attach=False)

    def check(self) -> str:
        return "fake account: nothing to connect to"

    def close(self) -> None:
        pass


class Watching:
    """``sync.watch`` in a thread; the test waits on the reports it makes."""

    def __init__(self, store: Store, provider: FakeProvider, interval: float = 0.05) -> None:
        self.reports: list[sync.SyncReport] = []
        self.changed = threading.Condition()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(store, provider, interval))

    def _run(self, store: Store, provider: FakeProvider, interval: float) -> None:
        try:
            sync.watch(store, [(provider, interval)], stop=self.stop, on_report=self._report)
        except BaseException as exc:  # handed to the test
            self.error = exc

    def _report(self, report: sync.SyncReport) -> None:
        with self.changed:
            self.reports.append(report)
            self.changed.notify_all()

    def wait_for(self, ok: Any, timeout: float = 60) -> sync.SyncReport:
        """The first report from now on that ``ok`` accepts."""
        with self.changed:
            start = len(self.reports)
            found: list[sync.SyncReport] = []

            def seen() -> bool:
                found[:] = [r for r in self.reports[start:] if ok(r)]
                return bool(found) or not self.thread.is_alive()

            assert self.changed.wait_for(seen, timeout), "no such report in time"
            assert found, f"the watch ended: {self.error!r}"
            return found[0]

    def __enter__(self) -> Watching:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(60)
        assert not self.thread.is_alive()


def stored_sids(store: Store) -> set[str]:
    with store.read() as s:
        return set(s.execute(select(message_t.c.external_id)).scalars())


def test_watch_outlives_a_locked_store(
    sqlite_store: Seeded, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="omnitui.services.sync")
    store = open_store(sqlite_store.url, tmp_path / "data")
    provider = FakeProvider()
    try:
        with Watching(store, provider) as watching:
            watching.wait_for(lambda r: r.ok)
            with write_lock(sqlite_store.path):
                down = watching.wait_for(lambda r: r.error_kind == "store")
                watching.wait_for(lambda r: r.error_kind == "store")  # and again, later
                provider.queue(batch(sms("SM-after", ANN, ours=OUR_NUMBER), cursor="c2"))
            watching.wait_for(lambda r: r.stored == 1)
        assert watching.error is None
    finally:
        store.close()
    assert "locked by another program" in (down.error or "")
    assert "SM-after" in stored_sids(store)
    lines = [r.getMessage() for r in caplog.records if r.name == "omnitui.services.sync"]
    store_lines = [line for line in lines if "error=store" in line]
    assert store_lines and all("\n" not in line for line in lines)
    assert "locked by another program" in store_lines[0] and "next_in=" in store_lines[0]
    assert not [r for r in caplog.records if r.exc_info]  # no traceback in the log


def test_a_round_that_raises_is_logged_in_one_line_and_the_worker_carries_on(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="omnitui.services.sync")
    provider = FakeProvider(script=[RuntimeError("surprise\nsecond line")])
    with Watching(store, provider, interval=0.02) as watching:
        crashed = watching.wait_for(lambda r: r.error_kind == "crash")
        provider.queue(batch(sms("SM-later", ANN, ours=OUR_NUMBER)))
        watching.wait_for(lambda r: r.stored == 1)
    assert watching.error is None
    assert crashed.error == "RuntimeError: surprise\nsecond line"
    [line] = [r.getMessage() for r in caplog.records if "error=crash" in r.getMessage()]
    assert line.endswith("RuntimeError: surprise second line")
    assert "SM-later" in stored_sids(store)


class Fatal(BaseException):
    """Something no round survives (as SystemExit or a broken interpreter state)."""


def test_a_worker_that_dies_ends_the_watch_with_an_error(store: Store) -> None:
    provider = FakeProvider(script=[Fatal("gone")])
    stop = threading.Event()
    with pytest.raises(sync.WatchFailed, match=r"sync-demo died: Fatal: gone"):
        sync.watch(store, [(provider, 0.05)], stop=stop)


def test_sync_watch_exits_non_zero_when_a_worker_dies(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def dies(*_args: Any, **_kwargs: Any) -> sync.SyncReport:
        raise Fatal("the worker cannot go on")

    monkeypatch.setattr(sync, "sync_once", dies)
    result = run_cli(tmp_path, db_url, "sync", "--watch")
    assert result.exit_code == 70, (result.stdout, result.stderr)
    assert "sync stopped: sync-demo died: Fatal: the worker cannot go on" in result.stderr


# -- PostgreSQL restarting under the poller ---------------------------------------------


class PgServer:
    """The test cluster, stopped and started again under the same options."""

    def __init__(self, admin_url: str) -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            row = conn.execute("SHOW data_directory").fetchone()
            assert row is not None
            self.data = Path(str(row[0]))
        argv = shlex.split((self.data / "postmaster.opts").read_text())[1:]
        at = argv.index("-D")
        self.options = shlex.join(argv[:at] + argv[at + 2 :])
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        pg_ctl = _bin("pg_ctl")
        assert pg_ctl
        self.pg_ctl = pg_ctl

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.as_user, self.pg_ctl, "-D", str(self.data), *args],
            check=True,
            capture_output=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")

    def start(self) -> None:
        log = self.data.parent / "log"
        self._ctl("-o", self.options, "-l", str(log), "-w", "-t", "60", "start")


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_watch_outlives_a_postgres_restart(store: Store, db_url: str, pg_server_url: str) -> None:
    if os.environ.get("OMNITUI_TEST_PG_URL"):
        pytest.skip("the server is not ours to restart")
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        if os.geteuid() == 0:
            pytest.skip("no postgres user to run pg_ctl as")
    server = PgServer(pg_server_url)
    provider = FakeProvider()
    started = False
    try:
        with Watching(store, provider) as watching:
            watching.wait_for(lambda r: r.ok)
            server.stop()
            down = watching.wait_for(lambda r: r.error_kind == "store")
            server.start()
            started = True
            provider.queue(batch(sms("SM-after-restart", ANN, ours=OUR_NUMBER)))
            watching.wait_for(lambda r: r.stored == 1)
        assert watching.error is None
    finally:
        if not started:
            server.start()
    assert "unreachable or restarting" in (down.error or "")
    assert "SM-after-restart" in stored_sids(store)


# -- the console ------------------------------------------------------------------------


async def test_the_console_shows_a_locked_store_and_recovers_by_itself(
    sqlite_store: Seeded, tmp_path: Path
) -> None:
    runtime = Runtime(
        config=demo_config(agent="alice"),
        db_url=sqlite_store.url,
        data_dir=tmp_path / "data",
        demo=True,
    )
    app = make_app(runtime, poll=True, clock=Clock(tz=UTC), blink=False)
    locker = sqlite3.connect(sqlite_store.path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # held from before the console starts
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            bar = pilot.app.screen.query_one(AccountBar)

            async def until(ok: Any) -> None:
                # the app refreshes on its own timers and workers: look after each turn
                deadline = time.monotonic() + 60
                while not ok(str(bar.content)):
                    assert time.monotonic() < deadline, str(bar.content)
                    await pilot.pause(0.05)

            await until(lambda line: line.startswith(" STORE UNAVAILABLE "))
            assert "locked by another program" in str(bar.content)
            locker.execute("ROLLBACK")
            await until(lambda line: "STORE UNAVAILABLE" not in line and "demo ok" in line)
            assert pilot.app.is_running
    finally:
        locker.close()
        runtime.close()


def exclusive_lock(store: Store, path: Path) -> sqlite3.Connection:
    """Another program takes the file for itself (``locking_mode=EXCLUSIVE``):
    then not even reads get in. It needs the file to itself for a moment, so
    the console's idle pooled connections are closed first."""
    for _attempt in range(50):
        store.engine.dispose()
        conn = sqlite3.connect(path, isolation_level=None, timeout=0.05)
        try:
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            conn.execute("BEGIN EXCLUSIVE")
            conn.execute("COMMIT")
            return conn
        except sqlite3.OperationalError:  # a check of the console's got in between
            conn.close()
    raise AssertionError("could not take the store for ourselves")


async def test_the_console_shows_a_store_it_cannot_read_and_recovers_by_itself(
    sqlite_store: Seeded, tmp_path: Path
) -> None:
    runtime = Runtime(
        config=demo_config(agent="alice"),
        db_url=sqlite_store.url,
        data_dir=tmp_path / "data",
        demo=True,
    )
    app = make_app(runtime, poll=False, clock=Clock(tz=UTC), blink=False)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            bar = pilot.app.screen.query_one(AccountBar)
            await settle(pilot)

            async def until(ok: Any) -> None:
                deadline = time.monotonic() + 60
                while not ok(str(bar.content)):
                    assert time.monotonic() < deadline, str(bar.content)
                    await pilot.pause(0.05)

            locker = exclusive_lock(runtime.store(), sqlite_store.path)
            try:
                await until(lambda line: line.startswith(" STORE UNAVAILABLE "))
            finally:
                locker.close()
            assert "locked by another program" in str(bar.content)
            await until(lambda line: "STORE UNAVAILABLE" not in line)
            app.action_reload()  # and reading works again
            await settle(pilot)
            assert pilot.app.is_running
    finally:
        runtime.close()
