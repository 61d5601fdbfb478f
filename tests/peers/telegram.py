"""A local stand-in for the Telegram Bot API methods the provider uses:
getUpdates (with offset semantics: updates below the offset are forgotten),
sendMessage, getMe, getFile and file downloads; Bot API error JSON and
failures on demand."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "123456:test-token-abc"


class TelegramServer:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.updates: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.offsets: list[int] = []
        self.faults: list[dict[str, Any]] = []
        self.files: dict[str, bytes] = {}  # file_id -> content, served under /file/
        self.file_failures: list[int] = []  # HTTP statuses for the next downloads
        self.file_requests: list[str] = []
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

    def stop(self) -> None:
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

    def fail_next(self, code: int, description: str, retry_after: int | None = None) -> None:
        fault: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            fault["parameters"] = {"retry_after": retry_after}
        self.faults.append(fault)

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

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                params = json.loads(self.rfile.read(length) or b"{}")
                prefix, _, method = self.path.lstrip("/").partition("/")
                if prefix != f"bot{server.token}":
                    self._reply(
                        401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
                    )
                    return
                if server.faults:
                    fault = server.faults.pop(0)
                    self._reply(fault["error_code"], fault)
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
            return {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "text": params["text"],
            }
        return None
