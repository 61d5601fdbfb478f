"""The ``twilio`` provider: SMS and WhatsApp through the official SDK.

Polling lists Messages to and from each of our numbers from a cursor date
minus a small overlap (Twilio lists newest first with one-second dates, so a
message can land in the second the cursor names); the store drops what it
already has by SID. Our own outbound messages, including ones sent outside
omnitui, come back as ``direction="out"``; those not yet final are kept in
the cursor and fetched again on later polls, so delivered/undelivered shows
up even after the overlap has passed.

WhatsApp takes free-form text only within 24 hours of the customer's last
message; after that only an approved template (a Content SID with its
variables, ``OutboundMessage.template``), and Twilio's refusal (63016) is
:class:`OutsideWindowError`. Files are refused: Twilio fetches media from a
public URL, and omnitui hosts none.

``api_base`` points the SDK at a proxy or a local test server through its
own seam: an ``http_client`` that rewrites the API's base URL.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

from providers.base import (
    FINAL_DELIVERY_STATES,
    AuthError,
    Channel,
    DeliveryState,
    InboundMessage,
    OutboundMessage,
    OutsideWindowError,
    PermanentError,
    PollBatch,
    ProviderError,
    SendLimits,
    SendResult,
    StatusUpdate,
    TransientError,
    UnconfirmedError,
)
from providers.http_errors import never_connected
from providers.settings import TWILIO_NO_FILES, TwilioSettings

log = logging.getLogger("providers.twilio")

TWILIO_BASE = "https://api.twilio.com"
OVERLAP = timedelta(minutes=2)
FIRST_SYNC = timedelta(days=30)
PAGE_SIZE = 500
TIMEOUT = 30.0
MAX_PENDING = 500
#: Twilio's message statuses in the delivery vocabulary. Twilio holds a
#: "queued" or "scheduled" message itself: nothing of ours to send.
STATUS: dict[str, DeliveryState] = {
    "accepted": "queued",
    "scheduled": "scheduled",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "partially_delivered": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}
#: How far back the message list is read to find an unanswered send.
RECONCILE_SKEW = timedelta(minutes=2)
RECONCILE_PAGE = 50
#: "Failed to send freeform message because you are outside the allowed window"
OUTSIDE_WINDOW = 63016


def _wire(channel: str, number: str) -> str:
    return f"whatsapp:{number}" if channel == "whatsapp" else number


def _plain(number: str | None) -> str:
    return (number or "").removeprefix("whatsapp:")


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return parsedate_to_datetime(str(value)).astimezone(UTC)


class TwilioProvider:
    kind: ClassVar[str] = "twilio"

    def __init__(self, account: str, settings: TwilioSettings, secrets: Mapping[str, str]) -> None:
        self.account = account
        self.settings = settings
        self._token = secrets.get("auth_token", "")
        self._numbers: dict[Channel, str] = {"sms": settings.phone_number}
        if settings.whatsapp_number:
            self._numbers["whatsapp"] = _plain(settings.whatsapp_number)
        self.channels: tuple[Channel, ...] = tuple(self._numbers)
        self._api: Any = None

    def address_for(self, channel: Channel) -> str:
        return self._numbers.get(channel, self.settings.phone_number)

    def _client(self) -> Any:
        if self._api is None:
            # deferred: the SDK takes a while to import, and --help must not wait
            from twilio.http.http_client import TwilioHttpClient
            from twilio.rest import Client

            base = (self.settings.api_base or "").rstrip("/")

            class Rebased(TwilioHttpClient):  # type: ignore[misc]
                """Sends to ``api_base``; remembers the last ``Retry-After``."""

                retry_after: str | None = None

                def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
                    if base and url.startswith(TWILIO_BASE):
                        url = base + url[len(TWILIO_BASE) :]
                    response = super().request(method, url, *args, **kwargs)
                    headers = getattr(response, "headers", None) or {}
                    self.retry_after = next(
                        (v for k, v in headers.items() if k.lower() == "retry-after"), None
                    )
                    return response

            self._api = Client(
                self.settings.account_sid, self._token, http_client=Rebased(timeout=TIMEOUT)
            )
        return self._api

    # -- polling -------------------------------------------------------------------

    def _cursor(self, stored: str | None) -> tuple[datetime, list[str]]:
        """Where the last poll stopped, and the SIDs whose outcome is still
        to come. An unreadable cursor (damaged, or written by something else)
        starts over from the first-sync window: the store drops what it has,
        so that costs a longer list, never a duplicate."""
        first_sync = datetime.now(UTC) - FIRST_SYNC
        if not stored:
            return first_sync, []
        try:
            state = json.loads(stored)
            since = state.get("since")
            start = datetime.fromisoformat(since) - OVERLAP if since else first_sync
            if start.tzinfo is None:
                raise ValueError("a time without its zone")
            pending = [str(sid) for sid in state.get("pending", [])]
        except (ValueError, TypeError, AttributeError):
            log.warning(
                "%s: the stored sync cursor is unreadable; polling from the start", self.account
            )
            return first_sync, []
        return start, pending

    def poll(self, cursors: Mapping[str, str]) -> PollBatch:
        since, pending = self._cursor(cursors.get(""))
        found: dict[str, Any] = {}
        with self._errors():
            api = self._client()
            for channel, number in self._numbers.items():
                wire = _wire(channel, number)
                for filters in ({"to": wire}, {"from_": wire}):
                    for m in api.messages.stream(
                        date_sent_after=since, page_size=PAGE_SIZE, **filters
                    ):
                        found.setdefault(m.sid, m)
            for sid in pending:
                if sid not in found:
                    found[sid] = api.messages(sid).fetch()
        messages, updates, newest, still_pending = [], [], since + OVERLAP, []
        for m in found.values():
            at = _when(m.date_sent) or _when(m.date_created) or datetime.now(UTC)
            newest = max(newest, at)
            message = self._inbound(m, at)
            messages.append(message)
            if message.direction == "out":
                state = message.delivery_state or "sent"
                updates.append(StatusUpdate(m.sid, state, message.delivery_error))
                if state not in FINAL_DELIVERY_STATES:
                    still_pending.append(m.sid)
        cursor = {"since": newest.isoformat(), "pending": still_pending[-MAX_PENDING:]}
        return PollBatch(
            messages=tuple(messages),
            cursors={"": json.dumps(cursor)},
            status_updates=tuple(updates),
        )

    def _inbound(self, m: Any, at: datetime) -> InboundMessage:
        channel: Channel = (
            "whatsapp"
            if str(m.from_ or "").startswith("whatsapp:") or str(m.to or "").startswith("whatsapp:")
            else "sms"
        )
        inbound = str(m.direction) == "inbound"
        return InboundMessage(
            external_id=m.sid,
            channel=channel,
            from_address=_plain(m.from_),
            to_address=_plain(m.to),
            sent_at=at,
            body_text=m.body or "",
            direction="in" if inbound else "out",
            delivery_state=None if inbound else STATUS.get(str(m.status), "sent"),
            delivery_error=_delivery_error(m) if not inbound else None,
        )

    # -- sending -------------------------------------------------------------------

    def limits(self, channel: Channel) -> SendLimits:
        return self.settings.send_limits(channel)

    def send(self, message: OutboundMessage) -> SendResult:
        if message.attachments:
            raise PermanentError(TWILIO_NO_FILES)
        channel = message.channel if message.channel in self._numbers else "sms"
        params: dict[str, Any] = {"to": _wire(channel, message.to_address)}
        if message.template is not None:
            params["content_sid"] = message.template.content_sid
            if message.template.variables:
                params["content_variables"] = json.dumps(dict(message.template.variables))
        else:
            params["body"] = message.body_text
        if self.settings.messaging_service_sid and channel == "sms":
            params["messaging_service_sid"] = self.settings.messaging_service_sid
        else:
            params["from_"] = _wire(channel, self._numbers[channel])
        with self._errors(sending=True):
            created = self._client().messages.create(**params)
        return SendResult(
            external_id=created.sid,
            delivery_state=STATUS.get(str(created.status), "queued"),
            sent_at=_when(created.date_created),
        )

    def find_sent(self, message: OutboundMessage, attempted_at: datetime) -> SendResult | None:
        """Twilio's record of an unanswered create: a message from our number
        (any, with a messaging service) to theirs with the same body, created
        at or after the attempt (less a little clock skew), oldest first.
        For a template, Twilio keeps the rendered text: ``body_text`` should
        be that (``TwilioTemplate.render``)."""
        channel = message.channel if message.channel in self._numbers else "sms"
        filters: dict[str, Any] = {"to": _wire(channel, message.to_address)}
        if not (self.settings.messaging_service_sid and channel == "sms"):
            filters["from_"] = _wire(channel, self._numbers[channel])
        earliest = attempted_at - RECONCILE_SKEW
        with self._errors():
            found = [
                m
                for m in self._client().messages.list(page_size=RECONCILE_PAGE, **filters)
                if (m.body or "") == message.body_text
                and str(m.direction) != "inbound"
                and (_when(m.date_created) or earliest) >= earliest
            ]
        if not found:
            return None
        first = min(found, key=lambda m: _when(m.date_created) or earliest)
        return SendResult(
            external_id=first.sid,
            delivery_state=STATUS.get(str(first.status), "queued"),
            sent_at=_when(first.date_created),
        )

    def check(self) -> str:
        with self._errors():
            acc = self._client().api.v2010.accounts(self.settings.account_sid).fetch()
        return f"Twilio ok (account {acc.friendly_name})"

    def close(self) -> None:
        self._api = None

    def _retry_after(self) -> float | None:
        """Seconds the last response asked us to wait (``Retry-After``), if any."""
        value = getattr(getattr(self._api, "http_client", None), "retry_after", None)
        try:
            return max(float(value), 0.0) if value is not None else None
        except ValueError:
            return None  # an HTTP date: the outbox backoff applies

    @contextmanager
    def _errors(self, *, sending: bool = False) -> Iterator[None]:
        """Map the SDK's failures to the provider errors. With ``sending``, a
        failure that may have come after Twilio took the POST is
        :class:`UnconfirmedError`: only an HTTP error answer or a connection
        that never opened is known to have sent nothing."""
        from requests.exceptions import RequestException
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            yield
        except TwilioRestException as exc:
            text = f"Twilio {exc.status}: {exc.code or ''} {exc.msg}".replace("  ", " ")
            if exc.code == OUTSIDE_WINDOW:
                raise OutsideWindowError(f"{OutsideWindowError.MESSAGE} (Twilio 63016)") from None
            if exc.status in (401, 403):
                raise AuthError(f"{text}; check account_sid and the auth token") from None
            if exc.status == 429 or exc.status >= 500:
                raise TransientError(text, retry_after=self._retry_after()) from None
            raise PermanentError(text) from None
        except TwilioException as exc:
            if sending:
                # the answer came but could not be read: Twilio may hold the message
                raise UnconfirmedError(f"Twilio: unreadable answer to the send: {exc}") from None
            # a list page that failed carries the HTTP response, not a code
            response = next((a for a in exc.args if hasattr(a, "status_code")), None)
            status = int(getattr(response, "status_code", 0) or 0)
            text = f"Twilio {status or ''}: {getattr(response, 'text', str(exc))[:200]}"
            if status in (401, 403):
                raise AuthError(f"{text}; check account_sid and the auth token") from None
            if 400 <= status < 500 and status != 429:
                raise PermanentError(text) from None
            raise TransientError(text) from None
        except (RequestException, OSError) as exc:
            text = f"Twilio: {type(exc).__name__}: {str(exc)[:200]}"
            if sending and not never_connected(exc):
                raise UnconfirmedError(
                    f"{text}; the request went out and no answer came: Twilio may have it"
                ) from None
            raise TransientError(text) from None
        except ProviderError:
            raise


def _delivery_error(m: Any) -> str | None:
    """Twilio's error code and words for a message, as one line."""
    if not m.error_code:
        return "canceled" if str(m.status) == "canceled" else None
    if str(m.error_code) == str(OUTSIDE_WINDOW):  # also reported after the create
        return f"{m.error_code} {OutsideWindowError.MESSAGE}"
    return f"{m.error_code} {m.error_message or ''}".strip()
