"""A store that cannot serve for a while (locked by another writer, read-only,
full, a PostgreSQL server gone): one clear line and exit 75 from the CLI, with
piped text saved and the command that sends it again named; the store's own
translation of the drivers' errors on both engines."""

from __future__ import annotations

import io
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from omnitui import services
from omnitui.cli import root as cli
from storage import db
from storage.db import Store, StoreUnavailable, open_store
from storage.models import message_t, note_t
from tests.faults import (
    ANN,
    TEXT,
    Seeded,
    count,
    run_cli,
    saved_file,
    seeded_sqlite,
    short_lock_timeout,
    write_lock,
)
from tests.helpers import write_config

COMMANDS = {
    "send": (["send", "--channel", "sms", "--to", ANN], message_t),
    "reply": (["reply", "{conv}"], message_t),
    "notes add": (["notes", "add", "--customer", "{customer}"], note_t),
    # the cover note is the typed text; the seed's first message is forwarded
    "forward": (["forward", "1", "--to", "bo@example.com"], message_t),
}


@pytest.fixture
def sqlite_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Seeded:
    return seeded_sqlite(tmp_path, monkeypatch)


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
    config = write_config(tmp_path)
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
    config = write_config(tmp_path)
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
    store: Store, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: another writer holds the lock. PostgreSQL: the server ends our
    connection mid-transaction (what a restart does to every session)."""
    if store.dialect == "sqlite":
        short_lock_timeout(monkeypatch)
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


def test_a_row_another_postgres_session_holds_is_locked_after_the_timeout(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stuck transaction holding a row: our write gives up after the busy
    timeout with "locked" (exit 75 in the faces), as on SQLite, instead of
    waiting for ever."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite's whole-file lock is the test above")
    short_lock_timeout(monkeypatch)
    fresh = open_store(db_url, tmp_path / "data")
    try:
        with fresh.write() as s:
            s.execute(text("INSERT INTO syncstate (account, scope) VALUES ('a', '')"))
        admin = db_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin) as stuck:
            stuck.execute("UPDATE syncstate SET last_error = 'mine' WHERE account = 'a'")
            with pytest.raises(StoreUnavailable) as info, fresh.write() as s:
                s.execute(text("UPDATE syncstate SET last_error = 'ours' WHERE account = 'a'"))
            stuck.rollback()
    finally:
        fresh.close()
    assert info.value.reason == "locked"
    assert "try again" in str(info.value)


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
