"""The ``telegram`` provider: a bot's private chats over the Bot API.

Plain HTTPS with ``requests`` (already installed with the Twilio SDK) rather
than python-telegram-bot or aiogram: we need four methods (getUpdates,
sendMessage, getMe, getFile) and file downloads, called from a blocking
worker, and both libraries are asyncio frameworks built around their own
polling loop. Photos, documents, voice and video come as attachments (up to
the Bot API's 20 MB); larger files stay a placeholder that says so.

A reply with files goes as one upload call per file (multipart/form-data):
sendPhoto for a JPEG, PNG or WebP picture up to the Bot API's 10 MB for
photos, sendDocument for anything else up to 50 MB. The text rides as the
first file's caption when it fits (1,024 characters), else it is posted first
with sendMessage. Each call is classified as one send is; once one part is
posted, any later failure leaves the message ``unconfirmed`` (sending it again
would post the first parts twice).

The cursor is the getUpdates offset. Telegram forgets updates below the
offset we send, so an update is acknowledged only by the poll after the one
whose batch the store kept: a failed store write re-reads the same updates.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

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
from providers.settings import TELEGRAM_MAX_PHOTO, TelegramSettings

log = logging.getLogger("providers.telegram")

DEFAULT_API = "https://api.telegram.org"
TIMEOUT = 30.0
BATCH = 100
#: Files held in memory for one batch before the rest waits for the next poll.
MAX_BATCH_BYTES = 64 * 1024 * 1024
#: (kind, file name and content type when the message gives none)
FILE_KINDS = (
    ("document", "file", "application/octet-stream"),
    ("audio", "audio.mp3", "audio/mpeg"),
    ("video", "video.mp4", "video/mp4"),
    ("voice", "voice.ogg", "audio/ogg"),
    ("video_note", "video-note.mp4", "video/mp4"),
)
#: The longest caption, in UTF-16 code units as Telegram counts them.
MAX_CAPTION = 1024
#: Pictures sendPhoto takes (others, GIF and SVG among them, go as documents).
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\"]+')


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _file_name(name: str) -> str:
    """The name a file is uploaded under: no path, no quotes or control characters."""
    return _UNSAFE_NAME.sub("_", name).strip(" .")[-200:] or "file"


def _name(user: Mapping[str, Any]) -> str:
    full = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p)
    handle = f"@{user['username']}" if user.get("username") else ""
    return " ".join(p for p in (full, handle) if p) or str(user.get("id", "?"))


def _placeholder(message: Mapping[str, Any]) -> str:
    """What a non-text message shows: kind and what is known of the file."""
    if "photo" in message:
        biggest = max(message["photo"], key=lambda p: p.get("width", 0) * p.get("height", 0))
        return f"[photo {biggest.get('width')}x{biggest.get('height')}]"
    if "document" in message:
        doc = message["document"]
        size = doc.get("file_size")
        kb = f", {max(1, size // 1024)} KB" if isinstance(size, int) else ""
        return f"[document {doc.get('file_name', 'file')}{kb}]"
    for kind in ("voice", "audio", "video", "sticker", "location", "contact"):
        if kind in message:
            return f"[{kind}]"
    return "[unsupported message]"


@dataclass(frozen=True)
class _File:
    file_id: str
    name: str
    content_type: str
    size: int | None


def _file_of(message: Mapping[str, Any]) -> _File | None:
    """The file a message carries (the biggest size of a photo), if any."""
    if message.get("photo"):
        p = max(message["photo"], key=lambda p: p.get("width", 0) * p.get("height", 0))
        if "file_id" in p:
            unique = p.get("file_unique_id") or p["file_id"][:16]
            return _File(p["file_id"], f"photo-{unique}.jpg", "image/jpeg", p.get("file_size"))
    for kind, name, content_type in FILE_KINDS:
        f = message.get(kind)
        if isinstance(f, Mapping) and "file_id" in f:
            return _File(
                f["file_id"],
                f.get("file_name") or name,
                f.get("mime_type") or content_type,
                f.get("file_size"),
            )
    return None


class TelegramProvider:
    kind: ClassVar[str] = "telegram"
    channels: tuple[Channel, ...] = ("telegram",)

    def __init__(
        self, account: str, settings: TelegramSettings, secrets: Mapping[str, str]
    ) -> None:
        self.account = account
        self.settings = settings
        self._token = secrets.get("bot_token", "")
        self.bot_id = self._token.split(":", 1)[0] or "bot"
        self._session: Any = None

    def address_for(self, channel: Channel) -> str:
        return f"bot{self.bot_id}"

    def limits(self, channel: Channel) -> SendLimits:
        return self.settings.send_limits(channel)

    def _call(
        self,
        method: str,
        *,
        sending: bool = False,
        upload: tuple[str, OutboundAttachment] | None = None,
        **params: Any,
    ) -> Any:
        """Call ``method``; ``upload`` (form field, file) sends it as
        multipart/form-data. With ``sending``, a failure after the request
        went out is :class:`UnconfirmedError` (Telegram may have posted it)."""
        import requests  # deferred like every SDK: not needed for --help

        if self._session is None:
            self._session = requests.Session()
        base = (self.settings.api_base or DEFAULT_API).rstrip("/")
        body: dict[str, Any] = {"json": params}
        if upload is not None:
            field, file = upload
            form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
            body = {
                "data": form,
                "files": {field: (_file_name(file.filename), file.data, file.content_type)},
            }
        try:
            response = self._session.post(
                f"{base}/bot{self._token}/{method}", timeout=TIMEOUT, **body
            )
            payload = response.json()
        except requests.RequestException as exc:
            # the URL holds the token: never let it into the message
            text = f"Telegram {method}: {type(exc).__name__}"
            if sending and not never_connected(exc):
                raise UnconfirmedError(
                    f"{text}: the request went out and no answer came; Telegram may have posted it"
                ) from None
            raise TransientError(text) from None
        except ValueError:
            text = f"Telegram {method}: HTTP {response.status_code}, not JSON"
            if sending and response.status_code < 300:
                raise UnconfirmedError(f"{text}; Telegram may have posted it") from None
            if response.status_code == 413:
                raise PermanentError(f"{text}: the file is too large for Telegram") from None
            raise TransientError(text) from None
        if payload.get("ok"):
            return payload.get("result")
        code = int(payload.get("error_code") or response.status_code)
        text = f"Telegram {method}: {code} {payload.get('description', '')}".strip()
        if code == 401 or code == 404:
            raise AuthError(f"{text}; check the bot token")
        if code == 409:
            raise PermanentError(
                f"{text}; a webhook is set or another poller runs: "
                "remove the webhook (deleteWebhook) or stop the other poller"
            )
        if code == 429 or code >= 500:
            retry = (payload.get("parameters") or {}).get("retry_after")
            raise TransientError(text, retry_after=float(retry) if retry else None)
        raise PermanentError(text)

    def _offset(self, stored: str | None) -> int:
        """The getUpdates offset the last poll left. An unreadable one starts
        from what Telegram still holds (the store drops what it has)."""
        try:
            offset = int(stored or 0)
        except ValueError:
            offset = -1
        if offset < 0:
            log.warning(
                "%s: the stored sync cursor is unreadable; polling from the start", self.account
            )
            return 0
        return offset

    def poll(self, cursors: Mapping[str, str]) -> PollBatch:
        offset = self._offset(cursors.get(""))
        updates = self._call(
            "getUpdates",
            offset=offset,
            timeout=0,
            limit=BATCH,
            allowed_updates=["message", "edited_message"],
        )
        messages: list[InboundMessage] = []
        fetched = 0
        for update in updates:
            if fetched > MAX_BATCH_BYTES:
                # enough files in memory for one batch: the rest comes next poll
                return PollBatch(messages=tuple(messages), cursors={"": str(offset)}, more=True)
            offset = max(offset, int(update["update_id"]) + 1)
            message = update.get("message") or update.get("edited_message")
            if not message or message.get("chat", {}).get("type") != "private":
                continue  # support happens in private chats with the bot
            inbound = self._inbound(message, edited="edited_message" in update)
            fetched += sum(len(a.data) for a in inbound.attachments)
            messages.append(inbound)
        return PollBatch(
            messages=tuple(messages), cursors={"": str(offset)}, more=len(updates) >= BATCH
        )

    def _download(self, file: _File) -> tuple[tuple[InboundAttachment, ...], str]:
        """The file's bytes as an attachment, or none and why not (a note for
        the placeholder). Network trouble is transient: the update is not
        acknowledged, so the next poll tries again."""
        import requests

        if file.size is not None and file.size > MAX_ATTACHMENT:
            return (), f"too big to fetch: {file.size // (1024 * 1024)} MB"
        try:
            info = self._call("getFile", file_id=file.file_id)
        except PermanentError:
            return (), "the file could not be fetched"
        path = (info or {}).get("file_path")
        if not path:
            return (), "the file could not be fetched"
        base = (self.settings.api_base or DEFAULT_API).rstrip("/")
        try:
            with self._session.get(
                f"{base}/file/bot{self._token}/{path}", timeout=TIMEOUT, stream=True
            ) as response:
                if response.status_code in (400, 403, 404, 410):
                    return (), "the file is no longer available"
                if response.status_code != 200:
                    raise TransientError(f"Telegram file download: HTTP {response.status_code}")
                data = read_capped(response)
                if data is None:
                    return (), "too big to fetch"
        except requests.RequestException as exc:
            # the URL holds the token: never let it into the message
            raise TransientError(f"Telegram file download: {type(exc).__name__}") from None
        return (InboundAttachment(file.name, file.content_type, data),), ""

    def _inbound(self, message: Mapping[str, Any], *, edited: bool) -> InboundMessage:
        chat = str(message["chat"]["id"])
        sender = message.get("from") or message["chat"]
        text = message.get("text") or message.get("caption") or ""
        attachments: tuple[InboundAttachment, ...] = ()
        if not message.get("text"):
            file = None if edited else _file_of(message)
            placeholder = _placeholder(message)
            if file is not None:
                attachments, why = self._download(file)
                if why:
                    placeholder = f"{placeholder[:-1]}, {why}]"
            text = f"{placeholder} {text}".strip()
        ext = f"{chat}:{message['message_id']}"
        if edited:
            ext += f":edit:{message.get('edit_date', 0)}"
            text = f"(edited) {text}"
        stamp = message.get("edit_date") if edited else message.get("date")
        at = datetime.fromtimestamp(float(stamp or 0), UTC)
        return InboundMessage(
            external_id=ext,
            channel="telegram",
            from_address=str(sender["id"]),
            to_address=self.address_for("telegram"),
            sent_at=at,
            body_text=text,
            from_name=_name(sender),
            thread_id=chat,
            attachments=attachments,
        )

    def send(self, message: OutboundMessage) -> SendResult:
        chat = message.thread_id or message.to_address
        files = message.attachments
        refusal = self.limits("telegram").refusal((f.filename, len(f.data)) for f in files)
        if refusal:
            raise PermanentError(f"Telegram: {refusal}")
        first: dict[str, Any] = {}
        replied = (message.reply_to_external_id or "").split(":")
        if len(replied) >= 2 and replied[0] == chat:
            first["reply_parameters"] = {
                "message_id": int(replied[1]),
                "allow_sending_without_reply": True,
            }
        text = message.body_text
        caption = text if files and text and _utf16_len(text) <= MAX_CAPTION else None
        # (method, params, upload) for each part, in the order the customer sees them
        calls: list[tuple[str, dict[str, Any], tuple[str, OutboundAttachment] | None]] = []
        if not files or (text and caption is None):
            calls.append(("sendMessage", {"text": text}, None))
        for file in files:
            photo = (
                file.content_type.lower() in PHOTO_TYPES and len(file.data) <= TELEGRAM_MAX_PHOTO
            )
            params = {"caption": caption} if caption is not None and not calls else {}
            field = "photo" if photo else "document"
            calls.append(("sendPhoto" if photo else "sendDocument", params, (field, file)))
        posted: list[Any] = []
        for n, (method, params, upload) in enumerate(calls):
            extra = first if n == 0 else {}
            try:
                posted.append(
                    self._call(method, sending=True, upload=upload, chat_id=chat, **params, **extra)
                )
            except ProviderError as exc:
                if not posted:
                    raise
                raise UnconfirmedError(
                    f"Telegram posted {n} of {len(calls)} parts of the message, then: {exc}; "
                    "it is not sent again, so nothing is posted twice"
                ) from None
        sent = posted[0]
        return SendResult(
            external_id=f"{chat}:{sent['message_id']}",
            delivery_state="sent",
            sent_at=datetime.fromtimestamp(sent.get("date", 0), UTC),
        )

    def check(self) -> str:
        me = self._call("getMe")
        return f"Telegram ok (@{me.get('username', '?')})"

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
