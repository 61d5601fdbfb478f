"""Session fixtures: the PostgreSQL server and a fresh database per test.

Every storage and service test takes ``db_url`` (or ``store``), which runs it
twice: on SQLite and on PostgreSQL. When PostgreSQL cannot be started, the
PostgreSQL half fails in CI (CI=true) and is skipped with the reason elsewhere.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.postgres import Cluster, PostgresUnavailable
from tests.peers.synapse import BOT_PASSWORD, BOT_USER, SynapseServer, SynapseUnavailable


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


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store migrated once for this test process, to copy from."""
    from storage.db import open_store

    where = tmp_path_factory.mktemp("template")
    path = where / "omnitui.db"
    open_store(f"sqlite:///{path}", where / "data").close()
    with sqlite3.connect(path) as conn:  # all of it in the main file, to copy that alone
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert not path.with_name(path.name + "-wal").exists() or not os.path.getsize(
        path.with_name(path.name + "-wal")
    )
    return path


@pytest.fixture(scope="session")
def _pg_template(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL database migrated once for this test process, to create others from."""
    import psycopg

    from storage.db import open_store

    name = f"tmpl_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        # no connection may stay open on a template: open_store's closes with the store
        data = tmp_path_factory.mktemp("pg-template")
        open_store(_sqlalchemy_url(pg_server_url, name), data).close()
        yield name
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _sqlalchemy_url(server_url: str, database: str) -> str:
    return server_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + (
        f"/{database}"
    )


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new database: a SQLite file, or a fresh PostgreSQL database.

    Empty, unless the test also takes ``store`` or is marked ``migrated``: then
    it is a copy of a store migrated once per test process (the migrations are
    what ``test_migrations`` checks; running them again for each of hundreds of
    tests checks nothing more).
    """
    migrated = "store" in request.fixturenames or bool(request.node.get_closest_marker("migrated"))
    if request.param == "sqlite":
        path = tmp_path / "omnitui.db"
        if migrated:
            shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    import psycopg

    base: str = request.getfixturevalue("pg_server_url")
    template = f" TEMPLATE {request.getfixturevalue('_pg_template')}" if migrated else ""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}{template}")
    try:
        yield _sqlalchemy_url(base, name)
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


@pytest.fixture(scope="session")
def synapse() -> Iterator[SynapseServer]:
    """One real Synapse per test process, with the support bot registered."""
    try:
        server = SynapseServer()
        server.start()
    except SynapseUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Synapse is required in CI and could not be started: {exc}")
        pytest.skip(f"Synapse not available: {exc}")
    server.register(BOT_USER, BOT_PASSWORD)
    try:
        yield server
    finally:
        server.cleanup()
