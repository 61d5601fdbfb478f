"""A store that is full or read-only when a message with files is queued
(``omnitui send --attach``): one clear line and exit 75, the piped text
saved with a command that sends it and its files again, no network call,
and nothing half-written: no message without its files' rows and bytes, no
blob without a message."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, make_url, select

from storage import db
from storage.db import Store
from storage.models import attachment_t, blob_t, message_t
from tests.faults import TEXT, Seeded, saved_file, seeded_sqlite
from tests.helpers import cli_runner, opened
from tests.peers.smtp import SmtpPeer
from tests.test_kill9_files import PDF, mail_config, parts


@pytest.fixture
def sqlite_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Seeded:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "unused")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "smtp-secret")
    return seeded_sqlite(tmp_path, monkeypatch)


def rows(url: str, data: Path) -> tuple[int, int, int]:
    """(messages, attachment rows, blob rows) in the store."""
    with opened(url, data) as store, store.read() as s:
        return (
            s.execute(select(func.count()).select_from(message_t)).scalar_one(),
            s.execute(select(func.count()).select_from(attachment_t)).scalar_one(),
            s.execute(select(func.count()).select_from(blob_t)).scalar_one(),
        )


def attachments(tmp_path: Path) -> list[Path]:
    big, small = tmp_path / "scan.bin", tmp_path / "Rechnung.pdf"
    big.write_bytes(os.urandom(512 * 1024))  # more than the full store has room for
    small.write_bytes(PDF)
    return [big, small]


def send_args(files: list[Path]) -> list[str]:
    args = ["send", "--channel", "email", "--to", "bo@example.com", "--subject", "Files"]
    for path in files:
        args += ["--attach", str(path)]
    return args


def test_a_full_store_takes_no_part_of_a_message_with_files(
    sqlite_store: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp_peer: SmtpPeer
) -> None:
    config = mail_config(tmp_path, smtp_peer)
    files = attachments(tmp_path)
    data = tmp_path / "data"
    before = rows(sqlite_store.url, data)
    with sqlite3.connect(sqlite_store.path) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    # the message row fits in the pages there are; its files' bytes do not
    monkeypatch.setattr(
        db, "SQLITE_PRAGMAS", (*db.SQLITE_PRAGMAS, f"PRAGMA max_page_count={pages + 8}")
    )
    result = cli_runner(config, sqlite_store.url)(*send_args(files), input=TEXT, code=None)
    assert result.exit_code == 75, (result.stdout, result.stderr)
    [line] = result.stderr.splitlines()  # one line, no traceback
    assert "is full: free some space, then try again" in line
    path, resend = saved_file(line)
    assert path.read_text(encoding="utf-8") == TEXT
    assert resend == [*send_args(files), "--body-file", str(path)]  # the files go again too
    assert smtp_peer.logins == 0 and smtp_peer.received == []  # no network call
    assert rows(sqlite_store.url, data) == before  # no message, no attachment, no blob
    # what did not fit was the files' bytes: the same text alone is taken (and sent)
    alone = send_args([])
    cli_runner(config, sqlite_store.url)(*alone, "--body", "The files follow.")
    smtp_peer.received.clear()
    before = (before[0] + 1, before[1], before[2])
    assert rows(sqlite_store.url, data) == before
    monkeypatch.setattr(db, "SQLITE_PRAGMAS", db.SQLITE_PRAGMAS[:-1])
    # room again: the command the error gave queues and sends the text with both files
    again = cli_runner(config, sqlite_store.url)(*resend)
    assert "sent" in again.stdout and not path.exists()
    messages, files_stored, blobs = rows(sqlite_store.url, data)
    assert (messages, files_stored, blobs) == (before[0] + 1, before[1] + 2, before[2] + 2)
    [received] = smtp_peer.received
    _id, found = parts(received.data)
    assert found == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_a_read_only_store_takes_no_part_of_a_message_with_files(
    sqlite_store: Seeded, tmp_path: Path, smtp_peer: SmtpPeer
) -> None:
    files = attachments(tmp_path)
    data = tmp_path / "data"
    before = rows(sqlite_store.url, data)
    read_only = f"sqlite:///file:{sqlite_store.path}?mode=ro&uri=true"
    config = mail_config(tmp_path, smtp_peer)
    result = cli_runner(config, read_only)(*send_args(files), input=TEXT, code=None)
    assert result.exit_code == 75, (result.stdout, result.stderr)
    [line] = result.stderr.splitlines()
    assert f"the store at file:{sqlite_store.path}" in line and "cannot be written" in line
    path, resend = saved_file(line)
    assert path.read_text(encoding="utf-8") == TEXT
    assert resend[: len(send_args(files))] == send_args(files)
    assert smtp_peer.logins == 0
    assert rows(sqlite_store.url, data) == before


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_read_only_postgres_database_takes_no_part_of_a_message_with_files(
    store: Store,
    db_url: str,
    pg_server_url: str,
    tmp_path: Path,
    smtp_peer: SmtpPeer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "unused")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "smtp-secret")
    config = mail_config(tmp_path, smtp_peer)
    files = attachments(tmp_path)
    before = rows(db_url, tmp_path / "data")
    name = make_url(db_url).database

    def read_only(on: bool) -> None:  # a standby, or a database an admin froze
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(
                f"ALTER DATABASE {name} SET default_transaction_read_only = {'on' if on else 'off'}"
            )

    read_only(True)
    try:
        result = cli_runner(config, db_url)(*send_args(files), input=TEXT, code=None)
    finally:
        read_only(False)
    assert result.exit_code == 75, (result.stdout, result.stderr)
    [line] = result.stderr.splitlines()
    assert "cannot be written" in line and "your text is saved in" in line
    assert smtp_peer.logins == 0
    assert rows(db_url, tmp_path / "data") == before
