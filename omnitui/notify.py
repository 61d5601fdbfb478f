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

import json
import logging
import shlex
import subprocess
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


def run_notify_cmd(command: str, document: Mapping[str, object], timeout: float) -> bool:
    """Run ``command`` (no shell) with ``document`` as JSON on stdin; whether it
    succeeded. A failure, a hang (stopped after ``timeout``) or a command that
    cannot start is logged as one line, never raised."""
    try:
        args = shlex.split(command)
    except ValueError as exc:
        log.warning("alerts: notify_cmd cannot be split (%s); fix [alerts] notify_cmd", exc)
        return False
    if not args:
        return False
    name = clean_text(args[0], single_line=True)
    try:
        done = subprocess.run(  # the agent's own command, no shell
            args,
            input=json.dumps(document, ensure_ascii=True).encode(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        log.warning("alerts: notify_cmd %s took longer than %.1f s and was stopped", name, timeout)
        return False
    except OSError as exc:
        log.warning("alerts: notify_cmd %s could not run: %s", name, exc.strerror or exc)
        return False
    if done.returncode != 0:
        why = clean_text(done.stderr.decode("utf-8", "replace"), single_line=True)[:200]
        log.warning("alerts: notify_cmd %s failed (exit %d): %s", name, done.returncode, why)
        return False
    return True
