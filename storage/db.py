"""Engine, sessions and schema upgrades for SQLite and PostgreSQL.

SQLite is opened in WAL mode with foreign keys on and a busy timeout, so many
TUIs and one sync process on a host share the file. Write transactions start
with ``BEGIN IMMEDIATE``: a deferred transaction that later wants to write can
fail at once with "database is locked" instead of waiting out the busy timeout.

A store that is there but cannot serve right now (locked by another writer,
read-only, full, a PostgreSQL server restarting or out of reach) raises
:class:`StoreUnavailable`, classified here once from the driver's error, so
the CLI says "try again" (exit 75) and the poller and the console wait it out.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlmodel import Session

from storage import fold

BUSY_TIMEOUT_MS = 10_000
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    # WAL makes NORMAL durable against application crashes; only a power
    # loss can take back the last transactions.
    "PRAGMA synchronous=NORMAL",
    # Checkpoint every ~40 MB of WAL rather than 4 MB: a page rewritten by
    # several ingest batches is copied back once (about 10% faster ingest).
    "PRAGMA wal_autocheckpoint=10000",
    "PRAGMA cache_size=-32768",
)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class StoreError(Exception):
    """The store cannot be opened or upgraded; the message says why and what to do."""


class StoreURLError(StoreError):
    """The database URL is unusable as written (unparseable, an unknown database or
    driver, the driver not installed): a configuration error, exit code 2."""

    code = 2


#: How each supported database is reached, and where its driver comes from.
SUPPORTED = "sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
POSTGRES_DRIVER = "psycopg"
POSTGRES_INSTALL = "pip install 'omnitui[postgres]'"


class StoreUnavailable(StoreError):
    """The store cannot serve right now, for a reason that passes (a lock, a
    restarting server) or that someone can fix (a full disk, a read-only file):
    trying again later is the remedy. ``reason`` is one of ``locked``,
    ``read-only``, ``full``, ``cannot-open``, ``unreachable``."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


# SQLite's primary result codes (the low byte of the extended code).
_SQLITE_REASONS = {5: "locked", 6: "locked", 8: "read-only", 13: "full", 14: "cannot-open"}
_SQLITE_WORDS = (
    ("database is locked", "locked"),
    ("database table is locked", "locked"),
    ("readonly database", "read-only"),
    ("database or disk is full", "full"),
    ("unable to open database file", "cannot-open"),
)
# PostgreSQL SQLSTATEs: the server going away or not yet back, out of room or
# connection slots, or a read-only (standby) server.
_PG_STATES = {
    "57P01": "unreachable",  # admin_shutdown: the server is stopping
    "57P02": "unreachable",  # crash_shutdown
    "57P03": "unreachable",  # cannot_connect_now: starting up or shutting down
    "53100": "full",  # disk_full
    "53300": "unreachable",  # too_many_connections
    "25006": "read-only",  # read_only_sql_transaction
    "55P03": "locked",  # lock_not_available: lock_timeout ran out
}
_PG_WORDS = (
    "connection refused",
    "could not connect",
    "connection failed",
    "server closed the connection",
    "terminating connection",
    "the database system is",  # … starting up / shutting down / in recovery mode
    "connection timeout",
    "timeout expired",
    "no route to host",
    "network is unreachable",
    "connection reset",
    "broken pipe",
    "ssl syscall error",
)
_WHAT_TO_DO = {
    "locked": "the store is locked by another program (still busy after {busy} s): "
    "try again in a moment; if it stays locked, look for a stuck omnitui or sqlite3 "
    "process using {where}",
    "read-only": "the store at {where} cannot be written (read-only file, directory, "
    "mount or server): make it writable, then try again",
    "full": "the disk holding the store at {where} is full: free some space, then try again",
    "cannot-open": "the store file at {where} cannot be opened: check that it and its "
    "directory exist and are readable and writable, then try again",
    "unreachable": "the database server at {where} is unreachable or restarting: "
    "try again when it is back up",
}


_OS_REASONS = {
    errno.EROFS: "read-only",
    errno.EACCES: "read-only",
    errno.EPERM: "read-only",
    errno.ENOSPC: "full",
    errno.EDQUOT: "full",
}


def _reason(exc: BaseException) -> str | None:
    if isinstance(exc, OSError):
        return _OS_REASONS.get(exc.errno or 0)
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in _SQLITE_REASONS:
        return _SQLITE_REASONS[code & 0xFF]
    state = getattr(orig, "sqlstate", None)
    if isinstance(state, str):
        if state in _PG_STATES:
            return _PG_STATES[state]
        if state.startswith("08"):  # connection_exception and its kin
            return "unreachable"
    text = str(orig).lower()
    for words, reason in _SQLITE_WORDS:
        if words in text:
            return reason
    if type(orig).__module__.startswith("psycopg") and (
        any(words in text for words in _PG_WORDS)
        or (isinstance(exc, DBAPIError) and exc.connection_invalidated)
    ):
        return "unreachable"
    return None


def store_unavailable(exc: BaseException, url: Any = None) -> StoreUnavailable | None:
    """``exc`` as a :class:`StoreUnavailable` when it says the store cannot
    serve right now (see the class), else ``None``. The one place that reads
    drivers' error codes and texts; ``url`` names the store in the message."""
    if isinstance(exc, StoreUnavailable):
        return exc
    if not isinstance(exc, DBAPIError | OSError):
        return None
    reason = _reason(exc)
    if reason is None:
        return None
    where = "the store"
    if url is not None:
        parsed = make_url(url) if isinstance(url, str) else url
        where = (
            parsed.database or "the store"
            if parsed.get_backend_name() == "sqlite"
            else redact_url(parsed.render_as_string(hide_password=False))
        )
    message = _WHAT_TO_DO[reason].format(where=where, busy=f"{BUSY_TIMEOUT_MS / 1000:g}")
    return StoreUnavailable(message, reason)


def utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (naive input is taken as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Hand transaction control to the "begin" hook below (pysqlite's own
    # implicit BEGIN cannot be made IMMEDIATE).
    dbapi_conn.isolation_level = None
    # names compared without accents (storage/fold.py)
    dbapi_conn.create_function(fold.SQL_NAME, 1, fold.fold, deterministic=True)
    cur = dbapi_conn.cursor()
    for pragma in SQLITE_PRAGMAS:
        cur.execute(pragma)
    cur.close()


def _sqlite_on_begin(conn: Any) -> None:
    immediate = conn.get_execution_options().get("immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def parse_url(url: str) -> URL:
    """``url`` checked and made explicit: ``postgresql://`` means psycopg (3).

    Raises :class:`StoreURLError` for an unparseable URL, a database other
    than SQLite or PostgreSQL, or a driver omnitui does not use; the message
    never contains the password.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # their text repeats the URL, password and all
        raise StoreURLError(f"not a database URL: {redact_url(url)}; use {SUPPORTED}") from None
    backend, explicit, driver = parsed.drivername.partition("+")
    if backend == "sqlite":
        if explicit and driver != "pysqlite":
            raise StoreURLError(
                f"unsupported SQLite driver {driver!r} in {redact_url(url)}: use sqlite:///PATH"
            )
        return parsed
    if backend == "postgresql":
        if not explicit:
            return parsed.set(drivername=f"postgresql+{POSTGRES_DRIVER}")
        if driver != POSTGRES_DRIVER:
            raise StoreURLError(
                f"unsupported PostgreSQL driver {driver!r} in {redact_url(url)}: omnitui uses "
                f"psycopg (3): write postgresql+psycopg://USER@HOST/DB and install it with "
                f"{POSTGRES_INSTALL}"
            )
        return parsed
    raise StoreURLError(f"unsupported database {backend!r} in {redact_url(url)}: use {SUPPORTED}")


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the settings omnitui relies on."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        # a "file:" URI (``?uri=true``) names its file after the scheme
        if database and database != ":memory:" and not parsed.query.get("uri"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    try:
        engine = create_engine(parsed, pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        raise StoreURLError(
            f"the PostgreSQL driver ({exc.name}) is not installed: {POSTGRES_INSTALL}"
        ) from None
    event.listen(engine, "connect", _postgres_on_connect)
    return engine


def _postgres_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # A write waiting on a row another session holds gives up as SQLite's
    # busy timeout does (SQLSTATE 55P03, "locked", exit 75) instead of
    # waiting for ever behind a stuck transaction.
    with dbapi_conn.cursor() as cur:
        cur.execute(f"SET lock_timeout = {int(BUSY_TIMEOUT_MS)}")
    dbapi_conn.commit()


@dataclass
class Store:
    """An open store: its engine plus where attachment bytes live."""

    engine: Engine
    data_dir: Path

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads; nothing it does is committed. Raises
        :class:`StoreUnavailable` when the store cannot serve right now."""
        try:
            with Session(self.engine) as session:
                yield session
        except DBAPIError as exc:
            if unavailable := store_unavailable(exc, self.engine.url):
                raise unavailable from exc
            raise

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose work is committed together when the block ends
        (rolled back if it raises). Raises :class:`StoreUnavailable` when the
        store cannot take it right now; then nothing of the block is kept."""
        try:
            with (
                self.engine.connect().execution_options(immediate=True) as conn,
                Session(bind=conn, expire_on_commit=False) as session,
            ):
                try:
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
        except DBAPIError as exc:
            if unavailable := store_unavailable(exc, self.engine.url):
                raise unavailable from exc
            raise

    def close(self) -> None:
        self.engine.dispose()


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


#: The newest migration. Checked against Alembic's own head by a test; kept
#: here so that opening an up-to-date store costs one SELECT instead of
#: importing Alembic (a tenth of a second at every command's start).
HEAD_REVISION = "0006"


def _stored_revision(engine: Engine) -> str | None:
    """The store's revision read directly (``None`` when it has none yet)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        return str(revision) if revision is not None else None


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Bring the schema to the newest revision; returns (before, after)."""
    from alembic import command

    before = current_revision(engine)
    command.upgrade(_alembic_config(engine), "head")
    return before, current_revision(engine)


def _upgrade_known(engine: Engine, url: str, revision: str | None) -> None:
    from alembic.util import CommandError

    try:
        upgrade(engine)
    except CommandError:
        raise StoreError(
            f"the store at {redact_url(url)} is at schema revision {revision!r}, which this "
            "omnitui does not know: it was made by a newer omnitui; upgrade omnitui"
        ) from None


def open_store(url: str, data_dir: Path, *, migrate: bool = True) -> Store:
    """Open the store at ``url``; a new or older store is upgraded first."""
    engine = make_engine(url)
    try:
        if migrate and (revision := _stored_revision(engine)) != HEAD_REVISION:
            _upgrade_known(engine, url, revision)
    except StoreError:
        engine.dispose()
        raise
    except (SQLAlchemyError, OSError) as exc:  # the driver's text says why
        engine.dispose()
        if unavailable := store_unavailable(exc, engine.url):
            raise unavailable from None
        raise StoreError(
            f"cannot open the store at {redact_url(url)}: {scrub(str(exc), url)}"
        ) from None
    return Store(engine=engine, data_dir=data_dir)


def redact_url(url: str) -> str:
    """``url`` with any password hidden (also a ``?password=`` and in a URL that
    does not parse), for messages and logs."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return _redact_unparsed(url)
    if "password" in parsed.query:
        parsed = parsed.update_query_dict({"password": "***"})
    return parsed.render_as_string(hide_password=True).replace("%2A%2A%2A", "***")


def _redact_unparsed(url: str) -> str:
    # whatever sits between "scheme://user:" and the last "@" may be a password
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.partition(":")[0]
        rest = f"{user}:***@{host}" if ":" in credentials else f"{credentials}@{host}"
    rest = re.sub(r"(?i)(password=)[^&]*", r"\1***", rest)
    return f"{scheme}{sep}{rest}"[:200]


def scrub(text: str, url: str) -> str:
    """``text`` (say, a driver's error) with the password of ``url`` taken out."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return text
    for secret in (parsed.password, parsed.query.get("password")):
        if isinstance(secret, str) and secret:
            text = text.replace(secret, "***")
    return text
