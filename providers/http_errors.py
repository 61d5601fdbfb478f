"""Which HTTP failures surely sent nothing.

A send that fails before the request left (a refused connection, a
connection that timed out opening, a name that did not resolve, a TLS
handshake that failed) can be retried safely. Any other failure (a read
timeout, a connection dropped while the answer was coming) may come after
the service took the request, so the message is ``unconfirmed`` and never
sent again by itself.
"""

from __future__ import annotations


def never_connected(exc: BaseException) -> bool:
    """Whether the ``requests`` failure ``exc`` happened before the request was sent."""
    from requests.exceptions import ConnectionError as RequestsConnectionError
    from requests.exceptions import ConnectTimeout, InvalidURL, ProxyError, SSLError
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

    if isinstance(exc, ConnectTimeout | SSLError | ProxyError | InvalidURL):
        return True
    if isinstance(exc, RequestsConnectionError):
        cause = exc.args[0] if exc.args else None
        reason = cause.reason if isinstance(cause, MaxRetryError) else cause
        return isinstance(reason, NewConnectionError | ConnectTimeoutError)
    return isinstance(exc, ConnectionRefusedError)
