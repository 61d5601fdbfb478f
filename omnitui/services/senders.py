"""Who is sending a message, and whether that sender is gone.

A send claims its message with this process's :data:`SENDER_ID` (see
:func:`omnitui.services.outbox.claim`). A process killed mid-send (kill -9,
a crash, the machine's OOM killer) leaves the message ``sending``; the
outbox takes another process's send as dead after a while
(``outbox.STALE_SENDING``), because a sender on another host cannot be
asked. A sender on this machine can: when its process is gone, its message
is unconfirmed at once, so the agent who restarts the console or runs
``omnitui outbox list`` right after the crash sees it, and can retry it,
instead of a message "sending" that nobody sends for five minutes.

The id names the host, the process, a nonce (a pid is reused; the nonce is
not) and where the pid means something: the PID namespace (two containers
can share a host name while their pids name different processes) and the
machine's boot (two machines can share a host name, and every machine's
first namespace has the same number). A pid is only looked up from the
namespace, on the boot, that gave it.
"""

from __future__ import annotations

import os
import sys

from omnitui.services.leases import PROCESS_ID


def _pid_namespace() -> str:
    """This process's PID namespace on this boot of the machine (``""``
    where there is no way to tell)."""
    if not sys.platform.startswith("linux"):
        return ""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as boot:
            booted = boot.read().strip().replace("-", "")[:16]
    except OSError:
        return ""
    return f"ns{namespace}.{booted}" if booted else ""


#: This process as the sender of a message: ``host:pid:nonce:namespace``.
SENDER_ID = f"{PROCESS_ID}:{_pid_namespace()}"


def _finished(pid: int) -> bool:
    """Whether process ``pid`` of this namespace has ended (a zombie has:
    it only waits for its parent to read its exit status)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: alive, another user's
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[:1] == [b"Z"]
    except OSError:
        return False


def gone(owner: str | None) -> bool:
    """Whether the sender ``owner`` (a :data:`SENDER_ID`) is a process of this
    machine that no longer runs. ``False`` when it cannot be told: another
    host, another namespace, an id of another form, a process still there."""
    parts = (owner or "").rsplit(":", 3)
    if len(parts) != 4 or owner == SENDER_ID:
        return False
    host, pid_text, _nonce, namespace = parts
    here = SENDER_ID.rsplit(":", 3)
    if host != here[0] or not namespace or namespace != here[3]:
        return False
    if not (pid_text.isascii() and pid_text.isdigit() and len(pid_text) <= 10):
        return False  # int() would take "1_0", " 7" or other digits; os.kill no pid past C's
    pid = int(pid_text)
    if pid == os.getpid():
        return True  # this pid, another nonce: an earlier process that had it
    return 0 < pid < 2**31 and _finished(pid)
