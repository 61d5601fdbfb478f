"""A throwaway PostgreSQL cluster for the test session.

Started with the server's own ``initdb`` and ``pg_ctl`` in a temporary
directory on a free loopback port (as the ``postgres`` user when we are
root, since the server refuses to run as root), tuned for speed (no fsync),
and stopped and deleted at the end, also when the run fails. With
``OMNITUI_TEST_PG_URL`` set, that server is used instead.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

START_TIMEOUT = 60


class PostgresUnavailable(Exception):
    """No PostgreSQL server could be started; the message says why."""


def _bin(name: str) -> str | None:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """One postgres server in a temp dir; ``url`` is a libpq URL to its ``postgres`` db."""

    def __init__(self) -> None:
        self.dir: Path | None = None
        self.port = 0
        self.url = ""
        self._as_user: list[str] = []

    def start(self) -> str:
        initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise PostgresUnavailable(
                "PostgreSQL server binaries not found: run scripts/install-test-deps.sh "
                "(or apt-get install postgresql)"
            )
        self.dir = Path(tempfile.mkdtemp(prefix="omnitui-pg-"))
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root but there is no postgres user") from None
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self.port = _free_port()
        data = self.dir / "data"
        self._run(
            [initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]
        )
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        atexit.register(self.stop)
        self._run(
            [
                pg_ctl,
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(self.dir / "log"),
                "-w",
                "-t",
                str(START_TIMEOUT),
                "start",
            ]
        )
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        return self.url

    def _run(self, cmd: list[str]) -> None:
        proc = subprocess.run(
            [*self._as_user, *cmd],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=START_TIMEOUT + 30,
        )
        if proc.returncode != 0:
            raise PostgresUnavailable(
                f"{Path(cmd[0]).name} failed ({proc.returncode}): "
                f"{(proc.stderr or proc.stdout).strip()[-800:]}\n{self.log_tail()}"
            )

    def log_tail(self) -> str:
        log = self.dir / "log" if self.dir else None
        if log and log.exists():
            return "server log:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        return ""

    def stop(self) -> None:
        if self.dir is None:
            return
        pg_ctl = _bin("pg_ctl")
        data = self.dir / "data"
        if pg_ctl and (data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                subprocess.run(
                    [*self._as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                    capture_output=True,
                    timeout=60,
                    stdin=subprocess.DEVNULL,
                )
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
