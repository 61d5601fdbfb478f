"""A console killed with SIGKILL while the agent types keeps the draft:
the real program under a pseudo-terminal, as an agent runs it."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from storage.db import open_store
from tests.tui.conftest import seed

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")


class Terminal:
    """A process on the slave side of a pty; what it draws is read from the master."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.proc = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self.seen = b""

    def wait_for(self, text: str, seconds: float = 30.0) -> None:
        deadline = time.monotonic() + seconds
        while text.encode() not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0 and self.proc.poll() is None, (text, self.seen[-2000:])
            ready, _, _ = select.select([self.master], [], [], min(left, 0.2))
            if ready:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:
                    continue

    def read_for(self, seconds: float) -> None:
        """Take what the console draws for ``seconds``, as a terminal does (a
        console whose output nobody reads stalls on a full pty)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.seen = (self.seen + os.read(self.master, 65536))[-100_000:]
                except OSError:
                    return

    def type(self, keys: str) -> None:
        self.seen = b""
        os.write(self.master, keys.encode())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        os.close(self.master)


def test_a_console_killed_while_typing_keeps_the_draft(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'kill.db'}"
    store = open_store(db, tmp_path / "data")
    try:
        seed(store)
    finally:
        store.close()
    config = tmp_path / "config.toml"
    config.write_text('[agent]\nname = "alice"\n', encoding="utf-8")
    data = tmp_path / "data"
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "OMNITUI_DATA_DIR": str(data),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    code = "from omnitui.cli import main; main()"
    term = Terminal([sys.executable, "-c", code, "--config", str(config), "--db", db], env)
    try:
        term.wait_for("Carl Chat")  # the inbox is up (newest first: Carl's Telegram chat)
        term.type("\r")
        term.wait_for("Hi from Telegram")  # Carl's timeline
        term.type("r")
        term.wait_for("REPLY")
        # steady typing, no pause at all, then kill -9 mid-word
        text = "steady typing until the power goes out, mid-sentence"
        typed: list[tuple[float, str]] = []
        for n, char in enumerate(text, start=1):
            os.write(term.master, char.encode())
            typed.append((time.monotonic(), text[:n]))
            term.read_for(0.05)  # an agent's typing rhythm (the screen is read meanwhile)
        killed_at = time.monotonic()
        os.killpg(term.proc.pid, signal.SIGKILL)  # no handler, no atexit, nothing runs
        term.proc.wait(10)
    finally:
        term.close()
    assert killed_at - typed[0][0] > 2.0
    # everything typed more than a second before the kill is on disk
    due = [prefix for at, prefix in typed if at <= killed_at - 1.0][-1]
    saved = json.loads((data / "drafts.json").read_text(encoding="utf-8"))
    (body,) = [d["body"] for d in saved.values()]
    assert body.startswith(due) and text.startswith(body), (due, body)
