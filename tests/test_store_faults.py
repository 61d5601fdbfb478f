"""A store that cannot serve for a while (locked by another writer, read-only,
full, a PostgreSQL server restarting or gone): one clear line and exit 75
from the CLI with the typed text saved, a poller that waits it out, a console
that says so on its health line and recovers by itself."""

from __future__ import annotations

import io
import logging
import os
import pwd
import re
import shlex
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any, ClassVar

import psycopg
import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner, Result

from omnitui import cli, services, sync
from omnitui.ingest import ingest
from omnitui.runtime import Runtime, demo_config
from omnitui.tui.app import make_app
from omnitui.tui.clock import Clock
from omnitui.tui.widgets.account_bar import AccountBar
from providers.base import Channel, OutboundMessage, PollBatch, SendResult
from providers.demo import OUR_NUMBER
from storage import db
from storage.db import Store, StoreUnavailable, open_store
from storage.models import message_t, note_t
from tests.helpers import batch, sms
from tests.pg import _bin

CONFIG = """
[agent]
name = "alice"

[[accounts]]
name = "demo"
kind = "demo"
poll_interval = 30
"""
ANN = "+14155550100"
TEXT = "Bonjour Ann — your parcel leaves today.\nSecond line.\n"


@pytest.fixture
def quick_lock_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite gives up waiting for a lock after 0.2 s instead of 10 s."""
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)
    pragmas = tuple(
        "PRAGMA busy_timeout=200" if p.startswith("PRAGMA busy_timeout") else p
        for p in db.SQLITE_PRAGMAS
    )
    monkeypatch.setattr(db, "SQLITE_PRAGMAS", pragmas)


@dataclass
class Seeded:
    path: Path
    url: str
    conversation_id: int
    customer_id: int


def seed(store: Store) -> tuple[int, int]:
    """One SMS conversation on the demo account: (conversation id, customer id)."""
    # no cursor: the demo provider, polling later, starts from its own
    first = PollBatch(messages=(sms("SM1", ANN, ours=OUR_NUMBER),), cursors={})
    result = ingest(store, "demo", first, default_region="US")
    conv_id = min(result.conversation_ids)
    with store.read() as s:
        customer_id = s.execute(text("SELECT customer_id FROM conversation")).scalar_one()
    return conv_id, int(customer_id)


@pytest.fixture
def sqlite_store(tmp_path: Path, quick_lock_timeout: None) -> Iterator[Seeded]:
    path = tmp_path / "omnitui.db"
    url = f"sqlite:///{path}"
    store = open_store(url, tmp_path / "data")
    try:
        conv_id, customer_id = seed(store)
    finally:
        store.close()
    yield Seeded(path, url, conv_id, customer_id)


@contextmanager
def write_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Another program holds the store's write lock (as a long import or a
    ``sqlite3`` shell inside BEGIN would)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def run_cli(tmp_path: Path, url: str, *args: str, input: str | None = None) -> Result:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return CliRunner().invoke(cli.app, ["--config", str(config), "--db", url, *args], input=input)


def saved_file(error_line: str) -> tuple[Path, list[str]]:
    """The file the error names and the command it says resends the text."""
    found = re.search(r"your text is saved in (\S+); resend with: (.+)$", error_line)
    assert found, error_line
    command = shlex.split(found.group(2))
    assert command[0] == "omnitui"
    return Path(found.group(1)), command[1:]


def count(url: str, table: Any, data: Path) -> int:
    store = open_store(url, data)
    try:
        with store.read() as s:
            return int(s.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        store.close()


COMMANDS = {
    "send": (["send", "--channel", "sms", "--to", ANN], message_t),
    "reply": (["reply", "{conv}"], message_t),
    "notes add": (["notes", "add", "--customer", "{customer}"], note_t),
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_locked_store_exits_75_and_keeps_the_piped_text(
    sqlite_store: Seeded, tmp_path: Path, command: str
) -> None:
    template, table = COMMANDS[command]
    args = [
        a.format(conv=sqlite_store.conversation_id, customer=sqlite_store.customer_id)
        for a in template
    ]
    before = count(sqlite_store.url, table, tmp_path / "data")
    with write_lock(sqlite_store.path):
        result = run_cli(tmp_path, sqlite_store.url, *args, input=TEXT)
    assert result.exit_code == 75, (result.stdout, result.stderr)
    [line] = result.stderr.splitlines()  # one line, no traceback
    assert line.startswith("omnitui: error: the store is locked by another program")
    assert "try again" in line and "OperationalError" not in line
    path, resend = saved_file(line)
    assert path.read_text(encoding="utf-8") == TEXT
    assert path.parent == Path(os.environ["OMNITUI_DATA_DIR"]).resolve() / "unsent"
    assert resend[: len(args)] == args and resend[-2:] == ["--body-file", str(path)]
    assert count(sqlite_store.url, table, tmp_path / "data") == before  # nothing half-kept
    # the lock is gone: the command the error gave sends the text, and the copy goes
    again = run_cli(tmp_path, sqlite_store.url, *resend)
    assert again.exit_code == 0, (again.stdout, again.stderr)
    assert not path.exists()
    assert count(sqlite_store.url, table, tmp_path / "data") == before + 1


def test_a_read_only_store_exits_75_and_keeps_the_text(
    sqlite_store: Seeded, tmp_path: Path
) -> None:
    # root writes through chmod; a read-only open is refused by SQLite itself
    read_only = f"sqlite:///file:{sqlite_store.path}?mode=ro&uri=true"
    result = run_cli(tmp_path, read_only, "reply", str(sqlite_store.conversation_id), input=TEXT)
    assert result.exit_code == 75, (result.stdout, result.stderr)
    [line] = result.stderr.splitlines()
    assert f"the store at file:{sqlite_store.path}" in line and "cannot be written" in line
    path, _resend = saved_file(line)
    assert path.read_text(encoding="utf-8") == TEXT
    assert not (tmp_path / "file:").exists()  # the URI is not taken for a directory


def test_a_full_disk_exits_75_and_keeps_the_text(
    sqlite_store: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sqlite3.connect(sqlite_store.path) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    # the database may not grow by a page: as good as a full disk, also for root
    monkeypatch.setattr(
        db, "SQLITE_PRAGMAS", (*db.SQLITE_PRAGMAS, f"PRAGMA max_page_count={pages}")
    )
    big = "A long note. " * 20_000
    result = run_cli(
        tmp_path, sqlite_store.url, "notes", "add", "--customer", str(sqlite_store.customer_id),
        input=big,
    )  # fmt: skip
    assert result.exit_code == 75, (result.stdout, result.stderr)
    [line] = result.stderr.splitlines()
    assert "is full: free some space, then try again" in line
    path, _resend = saved_file(line)
    assert path.read_text(encoding="utf-8") == big


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_postgres_server_exits_75_and_keeps_the_text(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://omnitui:secret-pw@127.0.0.1:{free_port()}/omnitui"
    result = run_cli(tmp_path, url, "notes", "add", "--customer", "1", input=TEXT)
    assert result.exit_code == 75, (result.stdout, result.stderr)
    [line] = result.stderr.splitlines()
    assert "is unreachable or restarting: try again when it is back up" in line
    assert "secret-pw" not in line
    path, resend = saved_file(line)
    assert path.read_text(encoding="utf-8") == TEXT
    assert resend == ["notes", "add", "--customer", "1", "--body-file", str(path)]


def test_the_entry_point_says_one_line_and_exit_75_for_a_store_fault(
    sqlite_store: Seeded, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    read_only = f"sqlite:///file:{sqlite_store.path}?mode=ro&uri=true"
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "omnitui.cli", "--config", str(config), "--db", read_only),
            *("notes", "add", "--customer", str(sqlite_store.customer_id)),
        ],
        input=TEXT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert proc.returncode == 75, proc.stderr
    [line] = proc.stderr.splitlines()
    assert "cannot be written" in line and "Nothing you typed was lost" not in line
    assert saved_file(line)[0].read_text(encoding="utf-8") == TEXT


def test_an_internal_error_names_the_saved_text_and_claims_nothing_else(
    sqlite_store: Seeded,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> int:
        raise RuntimeError("boom\n[SQL: INSERT INTO note ...]\n(Background on this error ...)")

    monkeypatch.setattr(services, "add_note", broken)
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setattr(
        sys,
        "argv",
        [
            *("omnitui", "--config", str(config), "--db", sqlite_store.url),
            *("notes", "add", "--customer", str(sqlite_store.customer_id)),
        ],
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO(TEXT))  # piped
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 70
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("omnitui: internal error: RuntimeError: boom [SQL: INSERT")
    assert "Nothing you typed was lost" not in line
    path, _resend = saved_file(line.split("; run again with OMNITUI_DEBUG=1")[0])
    assert path.read_text(encoding="utf-8") == TEXT


def test_a_generic_internal_error_makes_no_claim_about_typed_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "app", broken)
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 70
    [line] = capsys.readouterr().err.splitlines()
    assert "RuntimeError: boom" in line and "lost" not in line and "OMNITUI_DEBUG=1" in line


# -- the store's own translation, on both engines -------------------------------------


def test_a_store_that_cannot_serve_raises_store_unavailable(
    store: Store, db_url: str, tmp_path: Path, quick_lock_timeout: None
) -> None:
    """SQLite: another writer holds the lock. PostgreSQL: the server ends our
    connection mid-transaction (what a restart does to every session)."""
    if store.dialect == "sqlite":
        fresh = open_store(db_url, tmp_path / "data")  # with the short busy timeout
        try:
            with (
                write_lock(Path(db_url.removeprefix("sqlite:///"))),
                pytest.raises(StoreUnavailable) as info,
                fresh.write() as s,
            ):
                s.execute(text("UPDATE sync_state SET last_error = 'x'"))
        finally:
            fresh.close()
        assert info.value.reason == "locked"
        return
    with pytest.raises(StoreUnavailable) as info, store.write() as s:
        pid = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
        admin = db_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (pid,))
        s.execute(text("SELECT 1"))
    assert info.value.reason == "unreachable"
    assert "try again when it is back up" in str(info.value)
    with store.read() as s:  # the pool replaced the dead connection
        assert s.execute(text("SELECT 1")).scalar_one() == 1


# -- the poller ------------------------------------------------------------------------


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
    caplog.set_level(logging.INFO, logger="omnitui.sync")
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
    lines = [r.getMessage() for r in caplog.records if r.name == "omnitui.sync"]
    store_lines = [line for line in lines if "error=store" in line]
    assert store_lines and all("\n" not in line for line in lines)
    assert "locked by another program" in store_lines[0] and "next_in=" in store_lines[0]
    assert not [r for r in caplog.records if r.exc_info]  # no traceback in the log


def test_a_round_that_raises_is_logged_in_one_line_and_the_worker_carries_on(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="omnitui.sync")
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
            self.data = Path(str(conn.execute("SHOW data_directory").fetchone()[0]))  # type: ignore[index]
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
            await pilot.app.workers.wait_for_complete()

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
            pilot.app.action_reload()  # and reading works again
            await pilot.app.workers.wait_for_complete()
            assert pilot.app.is_running
    finally:
        runtime.close()


def test_text_given_on_the_command_line_or_in_a_file_is_not_copied(
    sqlite_store: Seeded, tmp_path: Path
) -> None:
    """Only piped text can be lost (stdin reads once): --body is still on the
    command line, a --body-file where it was."""
    mine = tmp_path / "reply.txt"
    mine.write_text(TEXT, encoding="utf-8")
    conv = str(sqlite_store.conversation_id)
    with write_lock(sqlite_store.path):
        by_option = run_cli(tmp_path, sqlite_store.url, "reply", conv, "--body", TEXT)
        by_file = run_cli(tmp_path, sqlite_store.url, "reply", conv, "--body-file", str(mine))
    for result in (by_option, by_file):
        assert result.exit_code == 75, (result.stdout, result.stderr)
        [line] = result.stderr.splitlines()
        assert "locked by another program" in line and "your text" not in line
    assert not (Path(os.environ["OMNITUI_DATA_DIR"]) / "unsent").exists()
    assert mine.read_text(encoding="utf-8") == TEXT
