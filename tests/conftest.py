"""Session fixtures: the PostgreSQL server and a fresh database per test.

Every storage and service test takes ``db_url`` (or ``store``), which runs it
twice: on SQLite and on PostgreSQL. When PostgreSQL cannot be started, the
PostgreSQL half fails in CI (CI=true) and is skipped with the reason elsewhere.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.postgres import Cluster, PostgresUnavailable


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """libpq URL of a PostgreSQL server for this test process."""
    preset = os.environ.get("OMNITUI_TEST_PG_URL")
    if preset:
        yield preset
        return
    cluster = Cluster()
    try:
        url = cluster.start()
    except PostgresUnavailable as exc:
        cluster.stop()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and could not be started: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")
    try:
        yield url
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'omnitui.db'}"
        return
    import psycopg

    base: str = request.getfixturevalue("pg_server_url")
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield base.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch the user's real config, data or database."""
    monkeypatch.setenv("OMNITUI_DATA_DIR", str(tmp_path / "data-dir"))
    monkeypatch.setenv("OMNITUI_DOWNLOAD_DIR", str(tmp_path / "downloads"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.delenv("OMNITUI_CONFIG", raising=False)
    monkeypatch.delenv("OMNITUI_DB", raising=False)
    monkeypatch.setenv("USER", "alice")
