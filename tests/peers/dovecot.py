"""A real Dovecot IMAP server for the tests, in a throwaway directory.

Started from Debian's ``dovecot-imapd`` with a config of our own (nothing of
/etc/dovecot is read): loopback only, a free port, plaintext login allowed
(it never leaves 127.0.0.1), users in a passwd-file, maildirs in the temp
directory. Mail is delivered with ``doveadm save`` so Dovecot assigns the
UIDs, as it would for mail arriving over LMTP.
"""

from __future__ import annotations

import atexit
import contextlib
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"

CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
# no growing delay after failed logins (the wrong-password tests) for loopback
login_trusted_networks = 127.0.0.0/8
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users/%u
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u allow_all_users=yes
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


class DovecotUnavailable(Exception):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DovecotServer:
    host = "127.0.0.1"

    def __init__(self) -> None:
        if not Path(DOVECOT).exists():
            raise DovecotUnavailable("dovecot is not installed: run scripts/install-test-deps.sh")
        self.root = Path(tempfile.mkdtemp(prefix="omnitui-dovecot-"))
        self.port = _free_port()
        self.passwords: dict[str, str] = {}
        user = pwd.getpwnam("dovecot")
        (self.root / "mail").mkdir()
        os.chown(self.root / "mail", user.pw_uid, user.pw_gid)
        os.chmod(self.root, 0o755)
        self.config = self.root / "dovecot.conf"
        self.config.write_text(
            CONFIG.format(root=self.root, port=self.port, uid=user.pw_uid, gid=user.pw_gid)
        )
        self._running = False
        atexit.register(self.stop)

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> None:
        # Output to a file, not a pipe: the daemon keeps the descriptors open
        # and a pipe would never see EOF.
        with open(self.root / "start.out", "wb") as out:
            code = subprocess.call(
                [DOVECOT, "-c", str(self.config)], stdout=out, stderr=out, stdin=subprocess.DEVNULL
            )
        if code != 0:
            started = (self.root / "start.out").read_text(errors="replace").strip()
            raise DovecotUnavailable(f"dovecot did not start: {started}\n{self.log()}")
        self._running = True
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), 0.5),
            ):
                return
            time.sleep(0.05)
        raise DovecotUnavailable(f"dovecot did not listen on {self.port}\n{self.log()}")

    def stop(self) -> None:
        if self._running:
            subprocess.call(
                [DOVEADM, "-c", str(self.config), "stop"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and (self.root / "run" / "master.pid").exists():
                time.sleep(0.05)
            self._running = False

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    # -- users and mail -------------------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        # One passwd-file per user: Dovecot opens a new user's file on first
        # use, where one shared file would be re-read only when its mtime
        # (one-second resolution) changes.
        self.passwords[name] = password
        users = self.root / "users"
        users.mkdir(exist_ok=True)
        (users / name).write_text(f"{name}:{{PLAIN}}{password}::::::\n")

    def _doveadm(self, *args: str, data: bytes | None = None) -> str:
        proc = subprocess.run(
            [DOVEADM, "-c", str(self.config), *args], input=data, capture_output=True, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)}: {proc.stderr.decode(errors='replace')}")
        return proc.stdout.decode(errors="replace")

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        self._doveadm("save", "-u", user, "-m", folder, data=raw)

    def create_folder(self, user: str, folder: str) -> None:
        self._doveadm("mailbox", "create", "-u", user, folder)

    def set_uidvalidity(self, user: str, folder: str, value: int) -> None:
        self._doveadm("mailbox", "update", "-u", user, "--uid-validity", str(value), folder)

    def imap(self, user: str) -> imaplib.IMAP4:
        conn = imaplib.IMAP4(self.host, self.port)
        conn.login(user, self.passwords[user])
        return conn

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        out = self._doveadm("mailbox", "status", "-u", user, "uidvalidity", folder)
        return int(out.strip().split("=")[-1])
