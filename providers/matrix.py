"""The ``matrix`` provider: a bot or agent account's rooms over the
Client-Server API.

Plain HTTPS with ``requests``, as for Telegram: we need /login, /sync,
/join, /send and media downloads from a blocking worker; matrix-nio and
mautrix are asyncio clients with their own loops, and end-to-end encryption
(their main extra) is out of scope for a support inbox bot. The cursor is
/sync's ``next_batch``; each room is a conversation; our own events are
skipped (echoes); invites are accepted when ``accept_invites`` is on.

A reply with files uploads each to the media repository first (nothing is in
the room yet, so a failed upload is a plain error), then posts the text as
an ``m.text`` event and each file as an ``m.image`` (``image/*``) or
``m.file`` event. Every event has its own transaction id from the message's
idempotency key (the key for the text, ``key-f1``, ``key-f2``... for the
files), so sending the message again never posts any part twice. The
homeserver's upload bound (``m.upload.size``) is asked once and kept.

Transaction ids are the homeserver's per device: a password login names the
account's own device (:func:`device_id`), the same in every process and on
every host, so the process that checks an unanswered send after the sender
was killed (``outbox.reconcile``) finds its events and repeats none (each
login as a new device would see none of them and post every part again).

A conversation started here with a user (``omnitui send --to @ann:server``)
has no room yet: :meth:`MatrixProvider.open_thread` finds the direct room the
bot shares with them (its ``m.direct`` account data, else a joined room with
the two of them alone that one of them made, invite only and not
world-readable: a third person's room stays theirs to rejoin or read) or
makes one as every client does (``is_direct``, the
user invited, preset ``trusted_private_chat``) and adds it to ``m.direct``.
The outbox stores the room as the conversation's thread before the message
goes; a room made by a process that died before storing it has the two of
them alone, so the next attempt finds it instead of making another.
"""

from __future__ import annotations

import hashlib
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
    OutboundAttachment,
    OutboundMessage,
    PermanentError,
    PollBatch,
    ProviderError,
    SendLimits,
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
#: Where the homeserver says its upload bound, newest first.
MEDIA_CONFIG_PATHS = ("/_matrix/client/v1/media/config", "/_matrix/media/v3/config")
UPLOAD_PATH = "/_matrix/media/v3/upload"
#: A member of a room as far as a direct chat goes: in it, or invited to it.
IN_ROOM = ("join", "invite")


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
        self._limits: SendLimits | None = None

    def address_for(self, channel: Channel) -> str:
        return self.settings.user_id

    # -- HTTP ----------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        sending: bool = False,
        prefix: str = API,
        content_type: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """One Client-Server API call (``prefix`` + ``path``). With
        ``sending``, a failure after the request went out is
        :class:`UnconfirmedError`."""
        import requests  # deferred: not needed for --help

        if self._session is None:
            self._session = requests.Session()
        if auth and not self._token:
            self._login()
        headers = {"Authorization": f"Bearer {self._token}"} if auth else {}
        if content_type is not None:
            headers["Content-Type"] = content_type
        url = self.settings.homeserver.rstrip("/") + prefix + path
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
                "device_id": self.settings.device_id
                or device_id(self.account, self.settings.user_id),
                "initial_device_display_name": f"omnitui ({self.account})",
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

    def limits(self, channel: Channel) -> SendLimits:
        """The homeserver's ``m.upload.size`` for each file (asked once); the
        settings' answer while the homeserver cannot be asked."""
        if self._limits is not None:
            return self._limits
        for path in MEDIA_CONFIG_PATHS:
            try:
                config = self._request("GET", "", prefix=path)
            except PermanentError:
                continue  # a homeserver without this endpoint: the older one
            except ProviderError:
                return self.settings.send_limits(channel)
            size = config.get("m.upload.size") if isinstance(config, Mapping) else None
            bound = size if isinstance(size, int) and size > 0 else None
            self._limits = SendLimits(max_attachment_bytes=bound, max_total_bytes=None)
            return self._limits
        return self.settings.send_limits(channel)

    def send(self, message: OutboundMessage) -> SendResult:
        room = _room(message)
        files = message.attachments
        if files:  # the bound costs a request the first time: only when it matters
            refusal = self.limits("matrix").refusal((f.filename, len(f.data)) for f in files)
            if refusal:
                raise PermanentError(f"Matrix: {refusal}")
        # Uploads first: until an event is posted the customer sees nothing.
        urls = [self._upload(file) for file in files]
        # Each event's transaction id follows from the message's own: the
        # homeserver answers a repeated PUT with the first event, so a retried
        # send posts every part once.
        events: list[tuple[str, dict[str, Any]]] = []
        for txn, content in zip(_txns(message), _contents(message, urls), strict=True):
            result = self._request(
                "PUT",
                f"/rooms/{quote(room)}/send/m.room.message/{quote(txn, safe='')}",
                sending=True,
                json=content,
            )
            events.append((txn, result))
        return SendResult(
            external_id=events[0][1]["event_id"], delivery_state="sent", sent_at=datetime.now(UTC)
        )

    def _upload(self, file: OutboundAttachment) -> str:
        """The ``mxc://`` URI of ``file`` in the media repository."""
        result = self._request(
            "POST",
            "",
            prefix=UPLOAD_PATH,
            params={"filename": file.filename},
            content_type=file.content_type or "application/octet-stream",
            data=file.data,
        )
        uri = result.get("content_uri") if isinstance(result, Mapping) else None
        if not isinstance(uri, str) or not uri.startswith("mxc://"):
            raise TransientError(f"Matrix {self.settings.homeserver}: the upload gave no mxc URI")
        return uri

    def find_sent(self, message: OutboundMessage, attempted_at: datetime) -> SendResult | None:
        """Our events with this message's transaction ids among the room's
        newest events; unless all are there, the same PUTs again, which the
        homeserver turns into the first events where it had them
        (transaction ids make them idempotent)."""
        if not message.idempotency_key:
            return None
        room = _room(message)
        page = self._request(
            "GET",
            f"/rooms/{quote(room)}/messages",
            params={"dir": "b", "limit": str(TIMELINE_LIMIT)},
        )
        ours: dict[str, Mapping[str, Any]] = {}
        for event in page.get("chunk", ()):
            txn = (event.get("unsigned") or {}).get("transaction_id")
            if event.get("sender") == self.settings.user_id and isinstance(txn, str):
                ours.setdefault(txn, event)
        wanted = _txns(message)
        if all(txn in ours for txn in wanted):
            first = ours[wanted[0]]
            at = first.get("origin_server_ts")
            return SendResult(
                external_id=first["event_id"],
                delivery_state="sent",
                sent_at=datetime.fromtimestamp(at / 1000, UTC) if at else None,
            )
        return self.send(message)

    # -- direct rooms: a conversation started here with a user -------------------------

    def open_thread(self, message: OutboundMessage) -> str | None:
        """The direct room of a message to a user (``None`` for one to a room):
        see the module docstring. A message to a user's direct room that they
        left is refused (:class:`PermanentError`): nobody would read it.
        Nothing is posted here, so every failure leaves the message unsent
        (a :class:`TransientError` may be retried)."""
        target = message.thread_id or message.to_address
        if target.startswith("@"):
            return self._direct_room(target)
        user = message.to_address
        if (
            user.startswith("@")
            and target in self._m_direct().get(user, ())
            and self._membership(target, user) not in IN_ROOM
        ):
            # their direct room, which they left or whose invite they
            # rejected: the message would be posted to nobody
            raise PermanentError(
                f"Matrix: {user} left their direct room {target} (or rejected its invite): "
                f"nothing was posted; `omnitui send --to {user}` opens a new one"
            )
        return None

    def _direct_room(self, user: str) -> str:
        me = self.settings.user_id
        joined = [room for room in self._joined_rooms() if self._wanted(room)]
        for room in self._m_direct().get(user, ()):
            if room in joined and self._membership(room, user) in IN_ROOM:
                return room
        # a room shared before (or made by an attempt that died before it was
        # stored): one request per joined room, once per user we write to
        for room in joined:
            if self._membership(room, user) in IN_ROOM and self._private_to(room, {me, user}):
                self._remember_direct(user, room)
                return room
        if self.settings.rooms:
            raise PermanentError(
                f"Matrix account {self.account} reads only the rooms in its `rooms` setting, "
                f"and none of them is a direct chat with {user}: a new room would never be "
                "read. Add their room there, or leave `rooms` empty"
            )
        self._check_user(user)
        room = self._create_direct_room(user)
        self._remember_direct(user, room)
        return room

    def _joined_rooms(self) -> list[str]:
        rooms = self._request("GET", "/joined_rooms").get("joined_rooms", [])
        return [room for room in rooms if isinstance(room, str)]

    def _m_direct(self) -> dict[str, list[str]]:
        """The bot's ``m.direct``: the direct rooms it has with each user."""
        path = f"/user/{quote(self.settings.user_id, safe='')}/account_data/m.direct"
        try:
            content = self._request("GET", path)
        except PermanentError:  # M_NOT_FOUND: none recorded yet
            return {}
        if not isinstance(content, Mapping):
            return {}
        return {
            str(user): [room for room in rooms if isinstance(room, str)]
            for user, rooms in content.items()
            if isinstance(rooms, list)
        }

    def _remember_direct(self, user: str, room: str) -> None:
        """Add ``room`` to the bot's ``m.direct`` under ``user``, as clients
        do. A failure here is no harm: the room is found among the joined ones."""
        path = f"/user/{quote(self.settings.user_id, safe='')}/account_data/m.direct"
        try:
            direct = self._m_direct()
            if room in direct.get(user, ()):
                return
            direct[user] = [*direct.get(user, ()), room]
            self._request("PUT", path, json=direct)
        except ProviderError:
            pass

    def _membership(self, room: str, user: str) -> str | None:
        path = f"/rooms/{quote(room)}/state/m.room.member/{quote(user, safe='')}"
        try:
            content = self._request("GET", path)
        except PermanentError:  # never a member, or a room we cannot read
            return None
        membership = content.get("membership") if isinstance(content, Mapping) else None
        return membership if isinstance(membership, str) else None

    def _private_to(self, room: str, pair: set[str]) -> bool:
        """Whether ``room`` is the two of ``pair``'s alone, now and to come:
        they are its only members (or invited), one of them made it (a third
        person who made a room and left it keeps its control), it is invite
        only and not readable by anyone."""
        try:
            events = self._request("GET", f"/rooms/{quote(room)}/state")
        except PermanentError:
            return False
        state = {
            (event.get("type"), event.get("state_key")): event
            for event in (events if isinstance(events, list) else ())
            if isinstance(event, Mapping)
            and isinstance(event.get("type"), str)
            and isinstance(event.get("state_key"), str)
        }

        def content(kind: str, key: str = "") -> Mapping[str, Any]:
            found = (state.get((kind, key)) or {}).get("content")
            return found if isinstance(found, Mapping) else {}

        members = {
            key
            for (kind, key), event in state.items()
            if kind == "m.room.member" and content(kind, str(key)).get("membership") in IN_ROOM
        }
        create = state.get(("m.room.create", "")) or {}
        extra = content("m.room.create").get("additional_creators")
        named = [create.get("sender"), content("m.room.create").get("creator")]
        creators = [who for who in [*named, *(extra if isinstance(extra, list) else ())] if who]
        return (
            members == pair
            and all(isinstance(who, str) and who in pair for who in creators)
            and content("m.room.join_rules").get("join_rule") == "invite"
            and content("m.room.history_visibility").get("history_visibility") != "world_readable"
        )

    def _check_user(self, user: str) -> None:
        """Refuse a user the homeserver does not know before a room is made
        for them (a homeserver that keeps profiles private just answers no)."""
        try:
            self._request("GET", f"/profile/{quote(user, safe='')}")
        except PermanentError as exc:
            # Synapse answers 404 (M_UNKNOWN or M_NOT_FOUND) for a user it does
            # not have, and would make the room and invite nobody
            if str(exc).startswith("Matrix 404 "):
                raise PermanentError(
                    f"Matrix: there is no user {user} (their homeserver does not know them); "
                    "no room was made"
                ) from None

    def _create_direct_room(self, user: str) -> str:
        result = self._request(
            "POST",
            "/createRoom",
            json={"preset": "trusted_private_chat", "is_direct": True, "invite": [user]},
        )
        room = result.get("room_id") if isinstance(result, Mapping) else None
        if not isinstance(room, str) or not room.startswith("!"):
            # the room may exist: the next attempt finds it among the joined ones
            raise TransientError(f"Matrix {self.settings.homeserver}: createRoom gave no room id")
        return room

    def check(self) -> str:
        who = self._request("GET", "/account/whoami")
        return f"Matrix ok ({who.get('user_id')})"

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


def device_id(account: str, user_id: str) -> str:
    """The device every omnitui process logs in as for ``account`` (one per
    account and user: its transaction ids are shared, see the module)."""
    return "OMNITUI" + hashlib.sha256(f"{account}|{user_id}".encode()).hexdigest()[:10].upper()


def _room(message: OutboundMessage) -> str:
    """The room ``message`` goes to. A user id is no room: the outbox opens
    their direct room first (:meth:`MatrixProvider.open_thread`) and stores it."""
    room = message.thread_id or message.to_address
    if room.startswith("@"):
        raise PermanentError(
            f"Matrix: {room} is a user, not a room: their direct room was not opened first"
        )
    return room


def _has_text(message: OutboundMessage) -> bool:
    return bool(message.body_text) or not message.attachments


def _txns(message: OutboundMessage) -> list[str]:
    """The transaction id of each event of ``message``: the text's is the
    idempotency key itself (as before files existed), the files' add -f1, -f2..."""
    key = message.idempotency_key or uuid.uuid4().hex
    files = [f"{key}-f{n}" for n in range(1, len(message.attachments) + 1)]
    return [key, *files] if _has_text(message) else files


def _contents(message: OutboundMessage, urls: list[str]) -> list[dict[str, Any]]:
    """The content of each event of ``message``, in the order of :func:`_txns`."""
    contents: list[dict[str, Any]] = []
    if _has_text(message):
        contents.append({"msgtype": "m.text", "body": message.body_text})
    for file, url in zip(message.attachments, urls, strict=True):
        mimetype = file.content_type or "application/octet-stream"
        contents.append(
            {
                "msgtype": "m.image" if mimetype.lower().startswith("image/") else "m.file",
                "body": file.filename,
                "filename": file.filename,
                "url": url,
                "info": {"mimetype": mimetype, "size": len(file.data)},
            }
        )
    return contents
