"""Points where a test peer stops mid-request until the test lets it go on,
so a test can act (kill the client with SIGKILL) at exactly that step: the
peer sets ``reached`` when a request gets there, and waits for ``release``.
A gate holds once; :meth:`Gates.release_all` (every peer's ``stop``) frees
whatever still waits."""

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

    def wait_reached(self, timeout: float = 30) -> None:
        """Wait until a request is held here (fails the test after ``timeout``)."""
        assert self.reached.wait(timeout), f"no request reached {self.point!r} in {timeout} s"

    def release(self) -> None:
        self.released.set()


class Gates:
    """The gates of one peer, by point; each is taken by the first request there."""

    def __init__(self) -> None:
        self._armed: dict[str, Gate] = {}
        self._all: list[Gate] = []
        self._lock = threading.Lock()

    def arm(self, point: str) -> Gate:
        gate = Gate(point)
        with self._lock:
            self._armed[point] = gate
            self._all.append(gate)
        return gate

    def take(self, point: str) -> Gate | None:
        """The gate armed at ``point``, disarmed now (``None`` when there is none)."""
        with self._lock:
            return self._armed.pop(point, None)

    def armed(self, point: str) -> bool:
        with self._lock:
            return point in self._armed

    def hold(self, point: str) -> None:
        """Stop here if a gate is armed at ``point`` (blocking this thread)."""
        gate = self.take(point)
        if gate is not None:
            gate.reached.set()
            gate.released.wait(HOLD_LIMIT)

    def release_all(self) -> None:
        with self._lock:
            gates = list(self._all)
        for gate in gates:
            gate.release()
