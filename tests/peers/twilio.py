"""A local stand-in for Twilio's Messages API, speaking its documented shapes.

Form-encoded create, newest-first list with ``To``/``From``/``DateSent>``
filters and ``PageSize``/``Page`` paging via ``next_page_uri``, RFC 2822
dates, string ``num_segments``, Twilio's error JSON, HTTP Basic auth, and
failures on demand. WhatsApp's 24-hour window is enforced as Twilio does:
free-form text to a number whose last inbound message is older than 24 hours
(or that never wrote) is refused with 63016; a ``ContentSid`` of a template
added with :meth:`TwilioServer.add_template` is accepted and stored with the
text rendered from ``ContentVariables``. State lives in memory; the real
``twilio`` SDK talks to it through the provider's ``api_base``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

E164 = re.compile(r"^(whatsapp:)?\+[1-9]\d{6,14}$")
WINDOW = timedelta(hours=24)
PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")


def rfc2822(at: datetime) -> str:
    return format_datetime(at.astimezone(UTC), usegmt=False).replace("-0000", "+0000")


@dataclass
class Fault:
    status: int
    code: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)


class TwilioServer:
    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "test-token") -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.messages: list[dict[str, Any]] = []  # oldest first
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []
        #: seconds the next creates keep their answer back *after* storing the
        #: message (a slow Twilio; the client's read times out first)
        self.slow_creates: list[float] = []
        #: creates whose connection is dropped after the message is stored
        self.dropped_creates = 0
        #: Content SID -> the approved text with {{1}} placeholders
        self.templates: dict[str, str] = {}
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- state helpers for tests ---------------------------------------------------

    def _record(
        self, *, from_: str, to: str, body: str, direction: str, status: str, at: datetime | None
    ) -> dict[str, Any]:
        now = at or datetime.now(UTC)
        sid = "SM" + uuid.uuid4().hex
        msg: dict[str, Any] = {
            "sid": sid,
            "account_sid": self.account_sid,
            "from": from_,
            "to": to,
            "body": body,
            "direction": direction,
            "status": status,
            "num_segments": "1",
            "num_media": "0",
            "date_created": rfc2822(now),
            "date_updated": rfc2822(now),
            "date_sent": rfc2822(now) if status not in ("queued", "accepted") else None,
            "error_code": None,
            "error_message": None,
            "price": None,
            "price_unit": "USD",
            "messaging_service_sid": None,
            "api_version": "2010-04-01",
            "subresource_uris": {},
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            "_at": now,
        }
        with self.lock:
            self.messages.append(msg)
        return msg

    def add_inbound(self, from_: str, to: str, body: str, at: datetime | None = None) -> str:
        return str(
            self._record(
                from_=from_, to=to, body=body, direction="inbound", status="received", at=at
            )["sid"]
        )

    def add_outbound(
        self,
        from_: str,
        to: str,
        body: str,
        at: datetime | None = None,
        status: str = "delivered",
    ) -> str:
        """A message sent from another tool (delivered, or still ``queued`` or
        ``scheduled`` at Twilio)."""
        return str(
            self._record(
                from_=from_, to=to, body=body, direction="outbound-api", status=status, at=at
            )["sid"]
        )

    def add_template(self, content_sid: str, text: str) -> None:
        """An approved template creates may name by its Content SID."""
        self.templates[content_sid] = text

    def in_window(self, customer: str, now: datetime | None = None) -> bool:
        """Whether ``customer`` (``whatsapp:+...``) wrote in the last 24 hours."""
        now = now or datetime.now(UTC)
        with self.lock:
            return any(
                m["direction"] == "inbound" and m["from"] == customer and now - m["_at"] < WINDOW
                for m in self.messages
            )

    def _render(self, content_sid: str, variables: str | None) -> str | None:
        """The template's text with ``variables`` (JSON) filled, or None when
        a variable is missing or not text."""
        try:
            values = json.loads(variables) if variables else {}
        except ValueError:
            return None
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            return None
        text = self.templates[content_sid]
        if any(m.group(1) not in values for m in PLACEHOLDER.finditer(text)):
            return None
        return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text)

    def posts(self) -> int:
        """How many creates (POSTs to Messages) arrived."""
        return sum(1 for method, path in self.requests if method == "POST" and "/Messages" in path)

    def set_status(self, sid: str, status: str, error_code: int | None = None) -> None:
        with self.lock:
            for m in self.messages:
                if m["sid"] == sid:
                    m["status"] = status
                    m["error_code"] = error_code
                    m["date_sent"] = m["date_sent"] or m["date_created"]

    def fail_next(self, status: int, code: int, message: str, **headers: str) -> None:
        self.faults.append(Fault(status, code, message, headers))

    # -- HTTP ----------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(
                self, status: int, payload: Any, headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                # the client may have timed out and gone, as a real slow server sees it
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def _error(
                self, status: int, code: int, message: str, headers: dict[str, str] | None = None
            ) -> None:
                self._send(
                    status,
                    {
                        "code": code,
                        "message": message,
                        "status": status,
                        "more_info": f"https://www.twilio.com/docs/errors/{code}",
                    },
                    headers,
                )

            def _authorized(self) -> bool:
                expected = base64.b64encode(
                    f"{server.account_sid}:{server.auth_token}".encode()
                ).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    self._error(401, 20003, "Authenticate")
                    return False
                return True

            def _fault(self) -> bool:
                if server.faults:
                    f = server.faults.pop(0)
                    self._error(f.status, f.code, f.message, f.headers)
                    return True
                return False

            def do_GET(self) -> None:
                server.requests.append(("GET", self.path))
                if not self._authorized() or self._fault():
                    return
                parts = urlsplit(self.path)
                base = f"/2010-04-01/Accounts/{server.account_sid}"
                if parts.path == f"{base}.json":
                    self._send(
                        200,
                        {
                            "sid": server.account_sid,
                            "friendly_name": "Test account",
                            "status": "active",
                        },
                    )
                elif parts.path == f"{base}/Messages.json":
                    self._send(200, server._page(parts.path, parse_qs(parts.query)))
                elif parts.path.startswith(f"{base}/Messages/") and parts.path.endswith(".json"):
                    sid = parts.path.rsplit("/", 1)[1].removesuffix(".json")
                    found = [m for m in server.messages if m["sid"] == sid]
                    if found:
                        self._send(200, {k: v for k, v in found[0].items() if k[0] != "_"})
                    else:
                        self._error(404, 20404, f"The requested resource {sid} was not found")
                else:
                    self._error(404, 20404, "The requested resource was not found")

            def do_POST(self) -> None:
                server.requests.append(("POST", self.path))
                if not self._authorized() or self._fault():
                    return
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if (
                    urlsplit(self.path).path
                    != f"/2010-04-01/Accounts/{server.account_sid}/Messages.json"
                ):
                    self._error(404, 20404, "The requested resource was not found")
                    return
                to = form.get("To", "")
                if not E164.match(to):
                    self._error(400, 21211, f"Invalid 'To' Phone Number: {to}")
                    return
                sid = form.get("ContentSid")
                if sid is not None:
                    if sid not in server.templates:
                        self._error(400, 21655, "The ContentSid is Invalid")
                        return
                    body = server._render(sid, form.get("ContentVariables"))
                    if body is None:
                        self._error(400, 21656, "The ContentVariables Parameter is invalid")
                        return
                elif "Body" not in form:
                    self._error(400, 21602, "Message body is required.")
                    return
                else:
                    body = form["Body"]
                    if to.startswith("whatsapp:") and not server.in_window(to):
                        self._error(
                            400,
                            63016,
                            "Failed to send freeform message because you are outside the "
                            "allowed window. If you are using WhatsApp, please use a Message "
                            "Template.",
                        )
                        return
                msg = server._record(
                    from_=form.get("From", ""),
                    to=to,
                    body=body,
                    direction="outbound-api",
                    status="queued",
                    at=None,
                )
                if sid is not None:
                    msg["_content_sid"] = sid
                    msg["_content_variables"] = form.get("ContentVariables")
                if server.dropped_creates:
                    server.dropped_creates -= 1
                    self.close_connection = True
                    self.connection.shutdown(2)  # stored, then the line goes dead
                    return
                if server.slow_creates:
                    time.sleep(server.slow_creates.pop(0))
                self._send(201, {k: v for k, v in msg.items() if not k.startswith("_")})

        return Handler

    def _page(self, path: str, query: dict[str, list[str]]) -> dict[str, Any]:
        def one(name: str) -> str | None:
            return query.get(name, [None])[0]

        size = int(one("PageSize") or 50)
        page = int(one("Page") or 0)
        after = one("DateSent>")
        since = datetime.fromisoformat(after.replace("Z", "+00:00")) if after else None
        with self.lock:
            rows = [
                m
                for m in reversed(self.messages)  # newest first
                if (one("To") is None or m["to"] == one("To"))
                and (one("From") is None or m["from"] == one("From"))
                and (since is None or m["_at"] >= since)
            ]
        chunk = rows[page * size : (page + 1) * size]
        filters = {k: v[0] for k, v in query.items() if k not in ("Page", "PageToken")}

        def uri(n: int) -> str:
            return f"{path}?{urlencode({**filters, 'Page': n, 'PageSize': size})}"

        return {
            "messages": [{k: v for k, v in m.items() if not k.startswith("_")} for m in chunk],
            "page": page,
            "page_size": size,
            "uri": uri(page),
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1) if (page + 1) * size < len(rows) else None,
            "previous_page_uri": uri(page - 1) if page else None,
            "start": page * size,
            "end": page * size + len(chunk),
        }
