"""A TCP proxy in front of a real HTTP peer (Synapse) that holds one
request at a step until the test lets it go on, so the test can kill the
client (SIGKILL) exactly there: in the middle of sending the request's
body, before the request reaches the peer, or after the peer answered and
before the answer reaches the client.

One request per connection, as in :mod:`tests.peers.lost_answer` (the
upstream is asked with ``Connection: close``, so its answer tells the
client not to reuse the connection). A request its client cut short is
never forwarded. Loopback only; every thread stops with :meth:`stop`.
"""

from __future__ import annotations

import socket
import threading
from contextlib import suppress
from dataclasses import dataclass

from tests.peers.gates import Gate, Gates
from tests.peers.lost_answer import _read_until_closed, _without_keepalive, read_head


@dataclass(frozen=True)
class _Rule:
    point: str  # "body" | "answer"
    method: str
    path_part: str
    after_bytes: int


class HoldingProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.gates = Gates()
        self._rules: dict[str, _Rule] = {}
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def hold(
        self, point: str, method: str, path_part: str, *, skip: int = 0, after_bytes: int = 0
    ) -> Gate:
        """Hold the next ``method`` request whose path contains ``path_part``
        (after letting ``skip`` such requests pass) at ``point``: ``"body"``
        (``after_bytes`` of its body read, or all of a shorter one; nothing
        forwarded yet) or
        ``"answer"`` (the peer acted on it and answered; the answer not yet
        passed on)."""
        assert point in ("body", "answer"), point
        with self._lock:
            self._rules[point] = _Rule(point, method, path_part, after_bytes)
        return self.gates.arm(point, skip=skip)

    def start(self) -> HoldingProxy:
        self._accepting.start()
        return self

    def stop(self) -> None:
        self.gates.release_all()
        self._stop.set()
        self._accepting.join(timeout=5)
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _rule(self, point: str, head: bytes) -> _Rule | None:
        method, _, rest = head.partition(b" ")
        path = rest.partition(b" ")[0].decode("latin-1")
        with self._lock:
            rule = self._rules.get(point)
        if rule is None or rule.method != method.decode("latin-1") or rule.path_part not in path:
            return None
        return rule

    def _serve(self, client: socket.socket) -> None:
        held: list[Gate] = []
        client.settimeout(30)
        try:
            with client:
                request = self._read_request(client, held)
                if request is None:
                    return  # the client went away mid-request: the peer never sees it
                with socket.create_connection(self.upstream, timeout=30) as upstream:
                    upstream.sendall(_without_keepalive(request))
                    answer = _read_until_closed(upstream)
                if self._rule("answer", request) is not None:
                    gate = self.gates.hold("answer")
                    if gate is not None:
                        held.append(gate)
                with suppress(OSError):
                    client.sendall(answer)
        except OSError:
            pass  # a killed client
        finally:
            for gate in held:
                gate.done.set()

    def _read_request(self, sock: socket.socket, held: list[Gate]) -> bytes | None:
        started = read_head(sock)
        if started is None:
            return None
        head, body, length = started
        rule = self._rule("body", head)
        while len(body) < length:
            if rule is not None and len(body) >= rule.after_bytes:
                self._hold_body(held)
                rule = None
            chunk = sock.recv(min(65536, length - len(body)))
            if not chunk:
                return None
            body += chunk
        if rule is not None:  # all of it came at once: held before it goes on
            self._hold_body(held)
        if held and _gone(sock):
            return None  # killed while held: what it had sent never reaches the peer
        return head + b"\r\n\r\n" + body

    def _hold_body(self, held: list[Gate]) -> None:
        gate = self.gates.hold("body")
        if gate is not None:
            held.append(gate)


def _gone(sock: socket.socket) -> bool:
    """Whether the client has closed its side (a killed process's socket)."""
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.settimeout(timeout)
