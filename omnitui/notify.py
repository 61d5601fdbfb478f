"""How an alert leaves the console: the terminal bell, a desktop notification
asked of the terminal (OSC 9, OSC 777), or a command the agent configures
(``[alerts] notify_cmd``), which reads the event as JSON on stdin.

Everything an event says comes from outside (a customer's name, a subject, a
note), and a terminal obeys escape sequences: the text is cleaned of every
escape sequence and control character, and of the characters that end or
split an OSC (BEL, ESC, ST, and ``;`` in OSC 777's fields), before it is
written; it is also cut short. The command runs without a shell (``shlex``),
with a timeout; its failure is one line in the log and never reaches the
console.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import shlex
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from omnitui.text import clean_text

log = logging.getLogger("omnitui.alerts")

DesktopMode = Literal["off", "osc9", "osc777"]
DESKTOP_MODES: tuple[DesktopMode, ...] = ("off", "osc9", "osc777")
#: seconds a notify_cmd may take before it is stopped
NOTIFY_TIMEOUT = 5.0
#: characters of a title and of a body in a desktop notification
TITLE_MAX = 80
BODY_MAX = 200


@dataclass(frozen=True)
class AlertSettings:
    """``[alerts]`` in the config; everything is off unless asked for (the
    console always shows an alert as a notice)."""

    bell: bool = False
    desktop: DesktopMode = "off"
    #: the command line, as written (split with shlex when run)
    notify_cmd: str | None = None
    notify_timeout: float = NOTIFY_TIMEOUT


def safe_text(value: str, most: int) -> str:
    """``value`` fit to go inside an OSC: one line, no escape sequence, no
    control character (C0, C1: BEL and ST end an OSC), no ``;``."""
    text = clean_text(value, single_line=True).replace(";", ",")
    return text[:most]


def osc_notification(mode: DesktopMode, title: str, body: str) -> str:
    """The escape sequence that asks the terminal for a desktop notification
    (empty for ``off``): OSC 9 (iTerm2, WezTerm, Windows Terminal…) carries one
    text; OSC 777 (rxvt, foot, Ghostty, VTE) a title and a body."""
    title, body = safe_text(title, TITLE_MAX), safe_text(body, BODY_MAX)
    if mode == "osc9":
        return f"\x1b]9;{title}: {body}\x07" if body else f"\x1b]9;{title}\x07"
    if mode == "osc777":
        return f"\x1b]777;notify;{title};{body}\x07"
    return ""


#: bytes of a notify_cmd's stderr kept for the log line (the rest is read and dropped)
STDERR_KEPT = 4096


def run_notify_cmd(command: str, document: Mapping[str, object], timeout: float) -> bool:
    """Run ``command`` (no shell) with ``document`` as JSON on stdin; whether it
    succeeded. A failure, a hang (stopped after ``timeout``, with whatever it
    started) or a command that cannot start is logged as one line, never
    raised. Its stderr is read as it comes and only the first
    :data:`STDERR_KEPT` bytes kept: a command that floods it costs the
    console no memory, and one that leaves a child holding it open is done
    when it exits."""
    try:
        args = shlex.split(command)
    except ValueError as exc:
        log.warning("alerts: notify_cmd cannot be split (%s); fix [alerts] notify_cmd", exc)
        return False
    if not args:
        return False
    name = clean_text(args[0], single_line=True)
    data = json.dumps(document, ensure_ascii=True).encode()
    try:
        process = subprocess.Popen(  # the agent's own command, no shell
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own group: a hang is stopped with its children
        )
    except OSError as exc:
        log.warning("alerts: notify_cmd %s could not run: %s", name, exc.strerror or exc)
        return False
    assert process.stdin is not None and process.stderr is not None
    with process.stdin, process.stderr:
        # the event is a few hundred bytes: it fits the pipe, so a command
        # that never reads its stdin cannot block this write
        with contextlib.suppress(OSError):
            process.stdin.write(data)
            process.stdin.flush()
        with contextlib.suppress(OSError):
            process.stdin.close()
        kept, finished = _read_stderr(process, time.monotonic() + timeout)
    if not finished:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        log.warning("alerts: notify_cmd %s took longer than %.1f s and was stopped", name, timeout)
        return False
    if process.returncode != 0:
        why = clean_text(kept.decode("utf-8", "replace"), single_line=True)[:200]
        log.warning("alerts: notify_cmd %s failed (exit %d): %s", name, process.returncode, why)
        return False
    return True


def _read_stderr(process: subprocess.Popen[bytes], deadline: float) -> tuple[bytes, bool]:
    """Read ``process``'s stderr until it ends or the process exits, keeping
    its first :data:`STDERR_KEPT` bytes; whether the process exited before
    ``deadline``."""
    assert process.stderr is not None
    fd = process.stderr.fileno()
    kept = bytearray()
    open_ = True
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return bytes(kept), process.poll() is not None
            if open_ and selector.select(min(left, 0.2)):
                chunk = os.read(fd, 65536)
                if chunk:
                    kept += chunk[: max(STDERR_KEPT - len(kept), 0)]
                    continue
                open_ = False  # the end of stderr: now wait for the exit
                selector.unregister(fd)
            if not open_:
                try:
                    process.wait(left)
                except subprocess.TimeoutExpired:
                    return bytes(kept), False
                return bytes(kept), True
            if process.poll() is not None:
                return bytes(kept), True  # exited; a child of it may hold stderr open
