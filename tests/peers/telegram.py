"""A local stand-in for the Telegram Bot API methods the provider uses:
getUpdates (with offset semantics: updates below the offset are forgotten),
sendMessage, sendPhoto and sendDocument (a multipart/form-data upload, whose
file bytes are recorded as received), getMe, getFile and file downloads; Bot
API error JSON and failures on demand; an upload can be held at a step
(:meth:`TelegramServer.hold`) for a test to act there."""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from tests.peers.gates import Gate, Gates

if TYPE_CHECKING:
    from providers.telegram import TelegramProvider

TOKEN = "123456:test-token-abc"
#: The Bot API's bound on an uploaded photo; bigger ones are refused.
MAX_PHOTO = 10 * 1024 * 1024


@dataclass
class Upload:
    """One sendPhoto / sendDocument as it arrived."""

    method: str
    params: dict[str, Any]  # the other form fields, JSON ones decoded
    field: str  # "photo" or "document"
    filename: str
    content_type: str
    data: bytes


def parse_form(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """(fields, files) of a multipart/form-data body; files map a field to
    (filename, content type, bytes)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    tree = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, Any] = {}
    files: dict[str, Any] = {}
    for part in tree.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        data = part.get_payload(decode=True)
        assert isinstance(data, bytes)  # a form part is a leaf
        if filename is not None:
            files[str(name)] = (str(filename), part.get_content_type(), data)
        else:
            text = data.decode()
            try:
                fields[str(name)] = json.loads(text) if text[:1] in "{[" else text
            except ValueError:
                fields[str(name)] = text
    return fields, files


class TelegramServer:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.updates: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []  # sendMessage's parameters
        self.uploads: list[Upload] = []  # sendPhoto / sendDocument
        #: every send method called, in order
        self.send_order: list[str] = []
        #: faults kept for the next call of one method
        self.method_faults: dict[str, list[dict[str, Any]]] = {}
        self.offsets: list[int] = []
        self.faults: list[dict[str, Any]] = []
        self.files: dict[str, bytes] = {}  # file_id -> content, served under /file/
        self.file_failures: list[int] = []  # HTTP statuses for the next downloads
        self.file_requests: list[str] = []
        self.gates = Gates()
        #: the bytes of an upload's body read before the "body" gate holds
        self.hold_after = 0
        self._next_update = 1000
        self._next_message = 1
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> None:
        self.thread.start()

    def hold(self, point: str, *, skip: int = 0, after_bytes: int = 0) -> Gate:
        """Stop an upload (sendPhoto/sendDocument) at ``point`` until the gate
        is released, after letting ``skip`` uploads pass: ``"request"`` (it
        arrived, none of its body read), ``"body"`` (``after_bytes`` of the
        body read, the rest not) or ``"posted"`` (posted and recorded, not
        yet answered). An upload cut short by its client is not posted."""
        assert point in ("request", "body", "posted"), point
        if point == "body":
            self.hold_after = after_bytes
        return self.gates.arm(point, skip=skip)

    def stop(self) -> None:
        self.gates.release_all()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _ids(self) -> tuple[int, int]:
        with self.lock:
            self._next_update += 1
            self._next_message += 1
            return self._next_update, self._next_message

    def user_says(
        self,
        user_id: int,
        text: str | None = None,
        *,
        first: str = "Ann",
        last: str | None = "Example",
        username: str | None = "ann_ex",
        chat_type: str = "private",
        **extra: Any,
    ) -> int:
        """A message from a user to the bot; returns its message_id."""
        update_id, message_id = self._ids()
        user = {"id": user_id, "is_bot": False, "first_name": first}
        if last:
            user["last_name"] = last
        if username:
            user["username"] = username
        chat_id = user_id if chat_type == "private" else -1000 - user_id
        message = {
            "message_id": message_id,
            "from": user,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type},
            **extra,
        }
        if text is not None:
            message["text"] = text
        self.updates.append({"update_id": update_id, "message": message})
        return message_id

    def user_edits(self, user_id: int, message_id: int, text: str) -> None:
        update_id, _ = self._ids()
        self.updates.append(
            {
                "update_id": update_id,
                "edited_message": {
                    "message_id": message_id,
                    "from": {"id": user_id, "first_name": "Ann"},
                    "chat": {"id": user_id, "type": "private"},
                    "date": int(time.time()) - 60,
                    "edit_date": int(time.time()),
                    "text": text,
                },
            }
        )

    def add_file(self, file_id: str, data: bytes) -> dict[str, Any]:
        """A file users can send; returns the Bot API's description of it."""
        self.files[file_id] = data
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(data)}

    def fail_next(
        self,
        code: int,
        description: str,
        retry_after: int | None = None,
        *,
        method: str | None = None,
    ) -> None:
        """Answer the next call (of ``method`` only, if given) with an error."""
        fault: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            fault["parameters"] = {"retry_after": retry_after}
        if method is None:
            self.faults.append(fault)
        else:
            self.method_faults.setdefault(method, []).append(fault)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                prefix, _, path = self.path.lstrip("/").partition("/bot")
                token, _, file_path = path.partition("/")
                if prefix != "file" or token != server.token:
                    self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    return
                server.file_requests.append(file_path)
                if server.file_failures:
                    self._reply(server.file_failures.pop(0), {"ok": False})
                    return
                data = server.files.get(file_path.rsplit("/", 1)[-1])
                if data is None:
                    self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _hold(self, point: str) -> None:
                held = server.gates.hold(point)
                if held is not None:
                    self.held.append(held)

            def _body(self, upload: bool) -> bytes | None:
                """The request's body, ``None`` when its client went away first."""
                length = int(self.headers.get("Content-Length", 0))
                if not upload:
                    return self.rfile.read(length)
                self._hold("request")
                chunks: list[bytes] = []
                got = 0
                while got < length:
                    try:
                        chunk = self.rfile.read(min(65536, length - got))
                    except OSError:
                        return None
                    if not chunk:
                        return None
                    chunks.append(chunk)
                    got += len(chunk)
                    if got >= server.hold_after and server.gates.armed("body"):
                        self._hold("body")
                return b"".join(chunks)

            def do_POST(self) -> None:
                self.held: list[Gate] = []
                try:
                    self._post()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # a client killed while the request was held: nobody to answer
                finally:
                    for gate in self.held:
                        gate.done.set()

            def _post(self) -> None:
                upload = self.path.endswith(("/sendPhoto", "/sendDocument"))
                raw = self._body(upload)
                if raw is None:
                    return  # cut short: nothing posted, nobody to answer
                ctype = self.headers.get("Content-Type", "")
                files: dict[str, Any] = {}
                if ctype.startswith("multipart/form-data"):
                    params, files = parse_form(ctype, raw)
                else:
                    params = json.loads(raw or b"{}")
                prefix, _, method = self.path.lstrip("/").partition("/")
                if prefix != f"bot{server.token}":
                    self._reply(
                        401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
                    )
                    return
                if server.faults or server.method_faults.get(method):
                    queue = server.method_faults.get(method) or server.faults
                    fault = queue.pop(0)
                    self._reply(fault["error_code"], fault)
                    return
                if method in ("sendPhoto", "sendDocument"):
                    self._upload(method, params, files)
                    return
                result = server._method(method, params)
                if method == "getFile" and result is None:
                    self._reply(
                        400,
                        {
                            "ok": False,
                            "error_code": 400,
                            "description": "Bad Request: wrong file_id",
                        },
                    )
                    return
                self._reply(200, {"ok": True, "result": result})

            def _upload(self, method: str, params: dict[str, Any], files: dict[str, Any]) -> None:
                field = "photo" if method == "sendPhoto" else "document"
                if field not in files:
                    self._reply(
                        400,
                        {"ok": False, "error_code": 400, "description": f"Bad Request: no {field}"},
                    )
                    return
                filename, content_type, data = files[field]
                if field == "photo" and len(data) > MAX_PHOTO:
                    self._reply(
                        400,
                        {"ok": False, "error_code": 400, "description": "Bad Request: too big"},
                    )
                    return
                _, message_id = server._ids()
                server.uploads.append(Upload(method, params, field, filename, content_type, data))
                server.send_order.append(method)
                self._hold("posted")
                message: dict[str, Any] = {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": {"id": int(params["chat_id"]), "type": "private"},
                }
                if "caption" in params:
                    message["caption"] = params["caption"]
                unique = f"up{message_id}"
                described = {"file_id": unique, "file_unique_id": unique, "file_size": len(data)}
                if field == "photo":
                    message["photo"] = [{**described, "width": 1, "height": 1}]
                else:
                    message["document"] = {**described, "file_name": filename}
                self._reply(200, {"ok": True, "result": message})

        return Handler

    def _method(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": int(self.token.split(":")[0]), "is_bot": True, "username": "shop_bot"}
        if method == "getUpdates":
            offset = int(params.get("offset", 0))
            self.offsets.append(offset)
            with self.lock:  # confirmed updates are gone for good, as in Telegram
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                return self.updates[: int(params.get("limit", 100))]
        if method == "getFile":
            file_id = str(params.get("file_id"))
            if file_id not in self.files:
                return None  # answered as an error below
            return {"file_id": file_id, "file_path": f"documents/{file_id}"}
        if method == "sendMessage":
            _, message_id = self._ids()
            self.sent.append(params)
            self.send_order.append(method)
            return {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "text": params["text"],
            }
        return None


def bot_for(server: TelegramServer) -> TelegramProvider:
    """The "tg" account's provider, talking to ``server`` (close it after)."""
    from providers.settings import TelegramSettings
    from providers.telegram import TelegramProvider

    settings = TelegramSettings(name="tg", bot_token_env="UNUSED", api_base=server.url)
    return TelegramProvider("tg", settings, {"bot_token": TOKEN})
