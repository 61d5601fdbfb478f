"""A TCP proxy in front of a real peer that can lose the peer's answer.

The request always reaches the peer whole, so the peer acts on it (posts
the message); with ``lose_next_answers`` set, the answer to it is read from
the peer and thrown away, and the client's connection is closed: exactly
what a client sees when the network drops after the service took a request.
Loopback only; every thread stops with :meth:`stop`.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from contextlib import suppress


class LostAnswerProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.lose_next_answers = 0
        #: which requests' answers count for ``lose_next_answers``, by their
        #: request line (``None``: any): a client may ask other things first
        self.losing: Callable[[bytes], bool] | None = None
        self.lost = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def start(self) -> LostAnswerProxy:
        self._accepting.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._accepting.join(timeout=5)
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _take_loss(self, request: bytes) -> bool:
        line = request.split(b"\r\n", 1)[0]
        with self._lock:
            if self.lose_next_answers and (self.losing is None or self.losing(line)):
                self.lose_next_answers -= 1
                self.lost += 1
                return True
            return False

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

    def _serve(self, client: socket.socket) -> None:
        """One request per connection: forward it, then pass or lose the answer."""
        upstream = socket.create_connection(self.upstream, timeout=10)
        client.settimeout(10)
        with client, upstream:
            request = _read_http_message(client)
            if not request:
                return
            # one request per upstream connection keeps the bookkeeping simple
            upstream.sendall(_without_keepalive(request))
            answer = _read_until_closed(upstream)
            if self._take_loss(request):
                with suppress(OSError):
                    client.shutdown(socket.SHUT_RDWR)
                return
            with suppress(OSError):
                client.sendall(answer)


def read_head(sock: socket.socket) -> tuple[bytes, bytes, int] | None:
    """An HTTP message's head, what of its body came with it, and the body's
    Content-Length; ``None`` when the connection closed before the head ended."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return head, body, length


def _read_http_message(sock: socket.socket) -> bytes:
    started = read_head(sock)
    if started is None:
        return b""
    head, body, length = started
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _without_keepalive(request: bytes) -> bytes:
    head, _, body = request.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body


def _read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return data
        if not chunk:
            return data
        data += chunk
