"""What the store-fault tests share: a seeded SQLite store with a short lock
timeout, another program's write lock on it, and the CLI run in-process."""

from __future__ import annotations

import re
import shlex
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from typer.testing import Result

from omnitui.services.ingest import ingest
from providers.demo import OUR_NUMBER
from storage import db
from storage.db import Store
from tests.helpers import batch, cli_runner, opened, sms, write_config

ANN = "+14155550100"
TEXT = "Bonjour Ann — your parcel leaves today.\nSecond line.\n"


def short_lock_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
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
    first = batch(sms("SM1", ANN, ours=OUR_NUMBER), cursor=None)
    result = ingest(store, "demo", first, default_region="US")
    conv_id = min(result.conversation_ids)
    with store.read() as s:
        customer_id = s.execute(text("SELECT customer_id FROM conversation")).scalar_one()
    return conv_id, int(customer_id)


def seeded_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Seeded:
    """A SQLite store with one conversation, opened with the short lock timeout."""
    short_lock_timeout(monkeypatch)
    path = tmp_path / "omnitui.db"
    url = f"sqlite:///{path}"
    with opened(url, tmp_path / "data") as store:
        conv_id, customer_id = seed(store)
    return Seeded(path, url, conv_id, customer_id)


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
    """The CLI on the demo config and ``url``; the caller checks the exit code."""
    return cli_runner(write_config(tmp_path), url)(*args, input=input, code=None)


def saved_file(error_line: str) -> tuple[Path, list[str]]:
    """The file the error names and the command it says resends the text."""
    found = re.search(r"your text is saved in (\S+); resend with: (.+)$", error_line)
    assert found, error_line
    command = shlex.split(found.group(2))
    assert command[0] == "omnitui"
    return Path(found.group(1)), command[1:]


def count(url: str, table: Any, data: Path) -> int:
    with opened(url, data) as store, store.read() as s:
        return int(s.execute(select(func.count()).select_from(table)).scalar_one())
