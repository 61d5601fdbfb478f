"""The ``matrix`` provider: a bot or agent account's rooms over the
Client-Server API.

Plain HTTPS with ``requests``, as for Telegram: we need /login, /sync,
/join, /send and media downloads from a blocking worker; matrix-nio and
mautrix are asyncio clients with their own loops, and end-to-end encryption
(their main extra) is out of scope for a support inbox bot. The cursor is
/sync's ``next_batch``; each room is a conversation; our own events are
skipped (echoes); invites are accepted when ``accept_invites`` is on.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

from providers.base import (
    AuthError,
    Channel,
    InboundAttachment,
    InboundMessage,
    OutboundMessage,
    PermanentError,
    PollBatch,
    SendResult,
    TransientError,
    UnconfirmedError,
)
from providers.download import MAX_ATTACHMENT, read_capped
from providers.http_errors import never_connected
from providers.settings import MatrixSettings

API = "/_matrix/client/v3"
TIMEOUT = 30.0
#: Events per room in one /sync; more arrived since the last poll come from
#: /messages (a "limited" timeline), so none is ever skipped.
TIMELINE_LIMIT = 50
#: Gap events read per room and poll at most (a room that got more while we
#: were away keeps its newest ones).
MAX_GAP_EVENTS = 10_000
MEDIA_TYPES = ("m.image", "m.file", "m.audio", "m.video")
#: Authenticated media (Matrix 1.11), then the older unauthenticated path.
MEDIA_PATHS = ("/_matrix/client/v1/media/download", "/_matrix/media/v3/download")


class MatrixProvider:
    kind: ClassVar[str] = "matrix"
    channels: tuple[Channel, ...] = ("matrix",)

    def __init__(self, account: str, settings: MatrixSettings, secrets: Mapping[str, str]) -> None:
        self.account = account
        self.settings = settings
        self._password = secrets.get("password")
        self._token = secrets.get("access_token")
        self._session: Any = None
        self._names: dict[str, str] = {}

    def address_for(self, channel: Channel) -> str:
        return self.settings.user_id

    # -- HTTP ----------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, auth: bool = True, sending: bool = False, **kwargs: Any
    ) -> Any:
        """One Client-Server API call. With ``sending``, a failure after the
        request went out is :class:`UnconfirmedError`."""
        import requests  # deferred: not needed for --help

        if self._session is None:
            self._session = requests.Session()
        if auth and not self._token:
            self._login()
        headers = {"Authorization": f"Bearer {self._token}"} if auth else {}
        url = self.settings.homeserver.rstrip("/") + API + path
        try:
            response = self._session.request(
                method, url, headers=headers, timeout=TIMEOUT, **kwargs
            )
        except requests.RequestException as exc:
            text = f"Matrix {self.settings.homeserver}: {type(exc).__name__}"
            if sending and not never_connected(exc):
                raise UnconfirmedError(
                    f"{text}: the request went out and no answer came; the homeserver may "
                    "have posted it"
                ) from None
            raise TransientError(text) from None
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if response.status_code < 300:
            if sending and "event_id" not in payload:
                raise UnconfirmedError(
                    f"Matrix {self.settings.homeserver}: the answer to the send has no event id"
                )
            return payload
        code = payload.get("errcode", "")
        text = f"Matrix {response.status_code} {code}: {payload.get('error', '')}".strip()
        if response.status_code == 401 and self._password and auth and code == "M_UNKNOWN_TOKEN":
            self._token = None  # the token expired: log in again next time
        # M_FORBIDDEN is a wrong password at /login, but a refused room elsewhere
        refused_login = path.startswith("/login") and response.status_code in (401, 403)
        if refused_login or (response.status_code == 401 and code != "M_FORBIDDEN"):
            raise AuthError(f"{text}; check user_id and the password or access token")
        if response.status_code == 429 or response.status_code >= 500:
            retry_ms = payload.get("retry_after_ms")
            raise TransientError(text, retry_after=retry_ms / 1000 if retry_ms else None)
        raise PermanentError(text)

    def _login(self) -> None:
        if not self._password:
            raise AuthError("Matrix: no access token and no password to log in with")
        result = self._request(
            "POST",
            "/login",
            auth=False,
            json={
                "type": "m.login.password",
                "password": self._password,
                "identifier": {"type": "m.id.user", "user": self.settings.user_id},
            },
        )
        self._token = result["access_token"]

    # -- the Provider protocol -------------------------------------------------------

    def poll(self, cursors: Mapping[str, str]) -> PollBatch:
        since = cursors.get("")
        params = {
            "timeout": "0",
            "filter": json.dumps({"room": {"timeline": {"limit": TIMELINE_LIMIT}}}),
        }
        if since:
            params["since"] = since
        data = self._request("GET", "/sync", params=params)
        rooms = data.get("rooms", {})
        if self.settings.accept_invites:
            for room_id in rooms.get("invite", {}):
                if self._wanted(room_id):
                    self._request("POST", f"/join/{quote(room_id)}", json={})
        messages = []
        for room_id, room in rooms.get("join", {}).items():
            if not self._wanted(room_id):
                continue
            for event in room.get("state", {}).get("events", []) + room.get("timeline", {}).get(
                "events", []
            ):
                self._learn_name(event)
            timeline = room.get("timeline", {})
            events = list(timeline.get("events", []))
            if timeline.get("limited") and since and timeline.get("prev_batch"):
                events = self._gap(room_id, timeline["prev_batch"], since) + events
            for event in events:
                message = self._inbound(room_id, event)
                if message is not None:
                    messages.append(message)
        return PollBatch(messages=tuple(messages), cursors={"": data["next_batch"]})

    def _gap(self, room_id: str, prev_batch: str, since: str) -> list[Mapping[str, Any]]:
        """The events between the last poll and this sync's timeline, oldest
        first: /sync sends only the newest of a busy room ("limited")."""
        older: list[Mapping[str, Any]] = []
        token = prev_batch
        while len(older) < MAX_GAP_EVENTS:
            page = self._request(
                "GET",
                f"/rooms/{quote(room_id)}/messages",
                params={"dir": "b", "from": token, "to": since, "limit": "100"},
            )
            chunk = page.get("chunk", [])
            older.extend(chunk)
            token = page.get("end")
            if not chunk or not token:
                break
        return list(reversed(older))

    def _wanted(self, room_id: str) -> bool:
        return not self.settings.rooms or room_id in self.settings.rooms

    def _learn_name(self, event: Mapping[str, Any]) -> None:
        if event.get("type") == "m.room.member" and event.get("content", {}).get("displayname"):
            self._names[event.get("state_key", "")] = event["content"]["displayname"]

    def _inbound(self, room_id: str, event: Mapping[str, Any]) -> InboundMessage | None:
        if event.get("type") != "m.room.message" or event.get("sender") == self.settings.user_id:
            return None  # state events, and our own messages coming back
        content = event.get("content", {})
        body = content.get("body", "")
        attachments: tuple[InboundAttachment, ...] = ()
        if content.get("msgtype") not in (None, "m.text", "m.notice", "m.emote"):
            kind = str(content.get("msgtype", "")).removeprefix("m.")
            why = ""
            if content.get("msgtype") in MEDIA_TYPES:
                attachments, why = self._media(content)
            body = f"[{kind}{', ' + why if why else ''}] {body}".strip()
        sender = event["sender"]
        return InboundMessage(
            external_id=event["event_id"],
            channel="matrix",
            from_address=sender,
            to_address=self.settings.user_id,
            sent_at=datetime.fromtimestamp(event.get("origin_server_ts", 0) / 1000, UTC),
            body_text=body,
            from_name=self._names.get(sender, sender.split(":")[0].lstrip("@")),
            thread_id=room_id,
            attachments=attachments,
        )

    def _media(self, content: Mapping[str, Any]) -> tuple[tuple[InboundAttachment, ...], str]:
        """The file of an image/file/audio/video event, or none and why not.
        Trouble reaching the server is transient (the batch is read again)."""
        import requests

        url = content.get("url")
        if not isinstance(url, str) or not url.startswith("mxc://"):
            return (), "encrypted or without a file"
        raw_info = content.get("info")
        info: Mapping[str, Any] = raw_info if isinstance(raw_info, Mapping) else {}
        size = info.get("size")
        if isinstance(size, int) and size > MAX_ATTACHMENT:
            return (), f"too big to fetch: {size // (1024 * 1024)} MB"
        server_media = url.removeprefix("mxc://")
        home = self.settings.homeserver.rstrip("/")
        for path in MEDIA_PATHS:
            try:
                response = self._session.get(
                    f"{home}{path}/{server_media}",
                    headers={"Authorization": f"Bearer {self._token}"},
                    timeout=TIMEOUT,
                    stream=True,
                )
            except requests.RequestException as exc:
                raise TransientError(
                    f"Matrix media {self.settings.homeserver}: {type(exc).__name__}"
                ) from None
            with response:
                if response.status_code == 404 and path != MEDIA_PATHS[-1]:
                    continue  # a server without authenticated media
                if response.status_code in (404, 403, 410):
                    return (), "the file is no longer available"
                if response.status_code != 200:
                    raise TransientError(f"Matrix media: HTTP {response.status_code}")
                data = read_capped(response)
                if data is None:
                    return (), "too big to fetch"
                name = str(content.get("filename") or content.get("body") or "file")
                ctype = str(
                    info.get("mimetype")
                    or response.headers.get("Content-Type")
                    or "application/octet-stream"
                )
                return (InboundAttachment(name, ctype, data),), ""
        return (), "the file is no longer available"

    def send(self, message: OutboundMessage) -> SendResult:
        room = message.thread_id or message.to_address
        # The transaction id is the message's own: the homeserver answers a
        # repeated PUT with the first event, so a retried send is posted once.
        txn = quote(message.idempotency_key or uuid.uuid4().hex, safe="")
        result = self._request(
            "PUT",
            f"/rooms/{quote(room)}/send/m.room.message/{txn}",
            sending=True,
            json={"msgtype": "m.text", "body": message.body_text},
        )
        return SendResult(
            external_id=result["event_id"], delivery_state="sent", sent_at=datetime.now(UTC)
        )

    def find_sent(self, message: OutboundMessage, attempted_at: datetime) -> SendResult | None:
        """Our event with this message's transaction id among the room's newest
        events; else the same PUT again, which the homeserver turns into the
        first event if it had it (transaction ids make it idempotent)."""
        if not message.idempotency_key:
            return None
        room = message.thread_id or message.to_address
        page = self._request(
            "GET",
            f"/rooms/{quote(room)}/messages",
            params={"dir": "b", "limit": str(TIMELINE_LIMIT)},
        )
        for event in page.get("chunk", ()):
            unsigned = event.get("unsigned") or {}
            if (
                event.get("sender") == self.settings.user_id
                and unsigned.get("transaction_id") == message.idempotency_key
            ):
                at = event.get("origin_server_ts")
                return SendResult(
                    external_id=event["event_id"],
                    delivery_state="sent",
                    sent_at=datetime.fromtimestamp(at / 1000, UTC) if at else None,
                )
        return self.send(message)

    def check(self) -> str:
        who = self._request("GET", "/account/whoami")
        return f"Matrix ok ({who.get('user_id')})"

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
