"""`omnitui sync --watch` as a daemon: polls, logs one line per poll (no
library's request logging), stops cleanly on SIGTERM and gives its lease back."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from omnitui.services import leases
from storage.db import Store
from storage.queries import list_conversations
from tests.peers.twilio import TwilioServer

CONFIG = """
[[accounts]]
name = "demo"
kind = "demo"
poll_interval = 1
"""


def test_watch_polls_until_sigterm_then_releases_the_lease(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(CONFIG)
    env = {**os.environ, "OMNITUI_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "omnitui.cli",
            "--config",
            str(config),
            "--db",
            db_url,
            "sync",
            "--watch",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with store.read() as s:
                if list_conversations(s, view="all", limit=1):
                    break
            time.sleep(0.2)
        assert leases.acquire(store, "demo", "someone-else") is not None  # the daemon holds it
        time.sleep(1.5)  # at least one more poll
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    polls = [line for line in err.splitlines() if "poll account=demo" in line]
    assert len(polls) >= 2 and "stored=" in polls[0]
    assert leases.acquire(store, "demo", "someone-else") is None  # given back on exit


def test_two_pollers_started_at_once_one_polls(store: Store, db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(CONFIG)
    env = {**os.environ, "OMNITUI_DATA_DIR": str(tmp_path / "data")}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "omnitui.cli",
                "--config",
                str(config),
                "--db",
                db_url,
                "sync",
                "--watch",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        time.sleep(6)
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        logs = [proc.communicate(timeout=30)[1] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    polled = [
        sum("poll account=demo" in line and "held_by=-" in line for line in log.splitlines())
        for log in logs
    ]
    stood_back = [
        sum("poll account=demo" in line and "held_by=-" not in line for line in log.splitlines())
        for log in logs
    ]
    assert sorted(p > 0 for p in polled) == [False, True], logs  # exactly one polled
    assert max(stood_back) > 0  # the other saw the lease and did nothing


def test_the_log_has_one_line_per_poll_not_the_twilio_sdks_requests(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    server = TwilioServer()
    server.start()
    server.add_inbound("+14155550100", "+14155550199", "Hello?")
    config = tmp_path / "c.toml"
    config.write_text(
        f"""
[[accounts]]
name = "sms"
kind = "twilio"
account_sid = "{server.account_sid}"
auth_token_env = "OMNITUI_TEST_TWILIO_TOKEN"
phone_number = "+14155550199"
api_base = "{server.url}"
poll_interval = 0.5
"""
    )
    env = {
        **os.environ,
        "OMNITUI_DATA_DIR": str(tmp_path / "data"),
        "OMNITUI_TEST_TWILIO_TOKEN": server.auth_token,
    }
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "omnitui.cli", "--config", str(config), "--db", db_url),
            *("sync", "--watch"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stderr is not None

    def read_lines() -> None:
        for line in proc.stderr or ():
            lines.put(line)

    reader = threading.Thread(target=read_lines)
    reader.start()
    seen: list[str] = []
    try:
        while sum("poll account=sms" in line for line in seen) < 3:
            seen.append(lines.get(timeout=60))  # each poll's line, as it is written
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(30)
        server.stop()
    while not lines.empty():
        seen.append(lines.get())
    assert proc.returncode == 0, seen
    assert server.requests  # it did talk to "Twilio"
    assert all("poll account=sms" in line for line in seen), seen
    assert "stored=1" in seen[0]
