"""Points where a test peer stops mid-request until the test lets it go on,
so a test can act (kill the client with SIGKILL) at exactly that step: the
peer sets ``reached`` when a request gets there, and waits for ``release``.
A gate holds once, and its ``done`` says when the peer is through with the
request (so the test looks at what the peer took only then);
:meth:`Gates.release_all` (every peer's ``stop``) frees whatever still waits."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

#: The longest a peer waits at a gate nobody releases (a test that failed).
HOLD_LIMIT = 60.0


@dataclass
class Gate:
    point: str
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    #: set by the peer once the request held here is over: whatever it took
    #: of it is recorded, and it takes nothing more
    done: threading.Event = field(default_factory=threading.Event)

    def wait_reached(self, timeout: float = 30) -> None:
        """Wait until a request is held here (fails the test after ``timeout``)."""
        assert self.reached.wait(timeout), f"no request reached {self.point!r} in {timeout} s"

    def wait_done(self, timeout: float = 30) -> None:
        """Wait until the peer is through with the request held here."""
        assert self.done.wait(timeout), f"the request held at {self.point!r} did not end"

    def release(self) -> None:
        self.released.set()

    def hold(self) -> None:
        """(The peer) stop here until released."""
        self.reached.set()
        self.released.wait(HOLD_LIMIT)


class Gates:
    """The gates of one peer, by point; each is taken by the first request there."""

    def __init__(self) -> None:
        self._armed: dict[str, Gate] = {}
        self._skips: dict[str, int] = {}
        self._all: list[Gate] = []
        self._lock = threading.Lock()

    def arm(self, point: str, *, skip: int = 0) -> Gate:
        """A gate at ``point`` that lets the first ``skip`` requests pass."""
        gate = Gate(point)
        with self._lock:
            self._armed[point] = gate
            self._skips[point] = skip
            self._all.append(gate)
        return gate

    def take(self, point: str) -> Gate | None:
        """The gate armed at ``point``, disarmed now (``None`` when there is
        none, or when this request is one it lets pass)."""
        with self._lock:
            if point in self._armed and self._skips.get(point, 0) > 0:
                self._skips[point] -= 1
                return None
            return self._armed.pop(point, None)

    def armed(self, point: str) -> bool:
        """Whether this request would hold at ``point``."""
        with self._lock:
            return point in self._armed and self._skips.get(point, 0) == 0

    def hold(self, point: str, *, over: bool = False) -> Gate | None:
        """Stop here if a gate is armed at ``point`` (blocking this thread);
        returns the gate held at. ``over``: the request is over once released
        (else the caller sets ``done`` when it is)."""
        gate = self.take(point)
        if gate is not None:
            gate.hold()
            if over:
                gate.done.set()
        return gate

    def release_all(self) -> None:
        with self._lock:
            gates = list(self._all)
        for gate in gates:
            gate.release()
            gate.done.set()
