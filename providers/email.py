"""The ``imap`` provider: polls IMAP folders and sends replies over SMTP.

Polling keeps one IMAP connection and, per folder, a cursor of
``UIDVALIDITY:last UID``. A folder whose UIDNEXT shows nothing new costs one
SELECT; new mail is fetched with ``BODY.PEEK[]`` (never marked read unless
``mark_seen``) in batches, each returned with the cursor that covers it. A
UIDVALIDITY change starts the folder over; the store drops what it already
has by external id (Message-ID + content digest, providers/email_identity.py),
so nothing is duplicated and a different mail reusing a Message-ID is kept.

Mail without a Message-ID gets a stand-in named by a hash of its bytes rather
than folder/UIDVALIDITY/UID: the hash survives a UIDVALIDITY change, so even
such mail is not stored twice after a re-sync. Whatever the parser could not
read or had to cut, it keeps the fetched bytes of as ``original.eml``.

A reply carries its Cc in a header and its Bcc only in the SMTP envelope
(RCPT TO): no Bcc header is ever written, neither in the mail sent nor in the
copy appended to the Sent folder. Files go as base64 MIME parts, non-ASCII
names as RFC 2231 ``filename*``. A mail over ``max_message_bytes`` is refused
before the server is reached.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import logging
import re
import smtplib
import socket
import ssl
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import Any, ClassVar, Literal

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from providers.base import (
    AuthError,
    Channel,
    InboundMessage,
    OutboundMessage,
    PermanentError,
    PollBatch,
    ProviderError,
    SendLimits,
    SendResult,
    TransientError,
    UnconfirmedError,
)
from providers.email_parse import parse_message
from providers.settings import ImapSettings

FETCH_BATCH = 200
TIMEOUT = 30.0
_CONTENT_TYPE = re.compile(r"([a-z0-9][a-z0-9!#$&^_.+-]*)/([a-z0-9][a-z0-9!#$&^_.+-]*)")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


log = logging.getLogger("providers.email")


def _cursor(uidvalidity: int, last_uid: int) -> str:
    return f"{uidvalidity}:{last_uid}"


def _parse_cursor(value: str | None) -> tuple[int, int] | None:
    try:
        validity, last = (value or "").split(":")
        return int(validity), int(last)
    except ValueError:
        return None


def _has_body(fetched: Mapping[int, Any], uid: int) -> bool:
    data = fetched.get(uid)
    return data is not None and b"BODY[]" in data


def _context() -> ssl.SSLContext:
    return ssl.create_default_context()


class EmailProvider:
    kind: ClassVar[str] = "imap"
    channels: tuple[Channel, ...] = ("email",)

    def __init__(self, account: str, settings: ImapSettings, secrets: Mapping[str, str]) -> None:
        self.account = account
        self.settings = settings
        self._password = secrets.get("password", "")
        self._smtp_password = secrets.get("smtp_password") or self._password
        self._imap: IMAPClient | None = None
        self.address = parseaddr(settings.from_address)[1].lower() or settings.username.lower()

    # -- the Provider protocol ------------------------------------------------

    def address_for(self, channel: Channel) -> str:
        return self.address

    def poll(self, cursors: Mapping[str, str]) -> PollBatch:
        folders = list(self.settings.folders)
        if self.settings.sent_folder and self.settings.sent_folder not in folders:
            folders.append(self.settings.sent_folder)
        messages: list[InboundMessage] = []
        new_cursors: dict[str, str] = {}
        more = False
        with self._errors("IMAP"):
            client = self._client()
            for folder in folders:
                found, cursor, left = self._poll_folder(client, folder, cursors.get(folder))
                messages.extend(found)
                if cursor is not None:
                    new_cursors[folder] = cursor
                more = more or left
        return PollBatch(messages=tuple(messages), cursors=new_cursors, more=more)

    def limits(self, channel: Channel) -> SendLimits:
        return self.settings.send_limits(channel)

    def send(self, message: OutboundMessage) -> SendResult:
        try:
            mail = self._compose(message)
            size = len(mail.as_bytes())
        except (ValueError, TypeError) as exc:  # e.g. a header the policy refuses
            raise PermanentError(f"the mail cannot be written: {exc}") from None
        if size > self.settings.max_message_bytes:
            raise PermanentError(
                f"the mail is {size / (1024 * 1024):.1f} MB with its files encoded; the "
                f"account sends up to {self.settings.max_message_bytes / (1024 * 1024):.1f} MB "
                "(max_message_bytes)"
            )
        recipients = _envelope(message)
        try:
            refused = self._submit(mail, recipients)
        except ProviderError as exc:
            raise _without_bcc(exc, message.bcc) from None
        if self.settings.sent_folder:
            self._append_sent(mail)
        if refused:
            # The others have it: sending again would give them a second copy.
            words = "; ".join(f"{a}: {_reply_words(r)}" for a, r in refused.items())
            raise _without_bcc(
                UnconfirmedError(
                    f"SMTP sent the mail to {len(recipients) - len(refused)} of "
                    f"{len(recipients)} recipients and refused {words}; it is not sent again"
                ),
                message.bcc,
            )
        return SendResult(
            external_id=str(mail["Message-ID"]), delivery_state="sent", sent_at=datetime.now(UTC)
        )

    def _submit(self, mail: EmailMessage, recipients: list[str]) -> dict[str, Any]:
        """Hand ``mail`` to the SMTP server for ``recipients``; the refused ones."""
        with self._errors("SMTP"):
            smtp = self._smtp()
            try:
                refused = smtp.send_message(mail, to_addrs=recipients)
            except OSError as exc:
                # After the final "." the server may have queued the mail;
                # only its reply (a response error) says for sure it did not.
                if _data_ended(smtp) and not isinstance(exc, smtplib.SMTPResponseException):
                    raise UnconfirmedError(
                        f"SMTP {self.settings.smtp_host}:{self.settings.smtp_port}: "
                        f"{_words(exc)} after the whole message was sent; the server may "
                        "have accepted it"
                    ) from None
                raise
            finally:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()
        return dict(refused)

    def check(self) -> str:
        """Log in to IMAP and SMTP without changing anything."""
        with self._errors("IMAP"):
            client = self._client()
            status = client.folder_status(self.settings.folders[0], ["MESSAGES"])
        with self._errors("SMTP"):
            smtp = self._smtp()
            smtp.quit()
        count = status.get(b"MESSAGES", "?")
        return f"IMAP ok ({self.settings.folders[0]}: {count} messages), SMTP ok"

    def close(self) -> None:
        if self._imap is not None:
            with contextlib.suppress(IMAPClientError, OSError):
                self._imap.logout()
            self._imap = None

    # -- IMAP -------------------------------------------------------------------

    def _client(self) -> IMAPClient:
        if self._imap is not None:
            try:
                self._imap.noop()
                return self._imap
            except (IMAPClientError, OSError):
                self._imap = None  # the server went away: connect again
        s = self.settings
        client = IMAPClient(
            s.host,
            port=s.port,
            ssl=s.security == "tls",
            ssl_context=_context() if s.security == "tls" else None,
            timeout=TIMEOUT,
        )
        if s.security == "starttls":
            client.starttls(_context())
        client.login(s.username, self._password)
        self._imap = client
        return client

    def _poll_folder(
        self, client: IMAPClient, folder: str, cursor: str | None
    ) -> tuple[list[InboundMessage], str | None, bool]:
        info = client.select_folder(folder, readonly=not self.settings.mark_seen)
        validity = int(info[b"UIDVALIDITY"])
        uidnext = int(info.get(b"UIDNEXT", 0))
        known = _parse_cursor(cursor)
        last = known[1] if known is not None and known[0] == validity else 0
        if uidnext and uidnext <= last + 1:
            return [], _cursor(validity, last), False
        uids = sorted(u for u in client.search(["UID", f"{last + 1}:*"]) if u > last)
        if not uids:
            return [], _cursor(validity, last), False
        batch, left = uids[:FETCH_BATCH], len(uids) > FETCH_BATCH
        fetched = dict(client.fetch(batch, ["BODY.PEEK[]", "INTERNALDATE"]))
        batch, left = self._up_to_a_gap(client, folder, batch, fetched, left)
        if not batch:
            return [], _cursor(validity, last), False
        direction = "out" if folder == self.settings.sent_folder else "in"
        messages = [
            self._inbound(fetched[uid], direction) for uid in batch if _has_body(fetched, uid)
        ]
        if self.settings.mark_seen and direction == "in":
            client.add_flags(batch, [b"\\Seen"])
        return messages, _cursor(validity, batch[-1]), left

    def _up_to_a_gap(
        self,
        client: IMAPClient,
        folder: str,
        batch: list[int],
        fetched: dict[int, Any],
        left: bool,
    ) -> tuple[list[int], bool]:
        """The UIDs of ``batch`` the cursor may move past.

        A FETCH answer may lack a mail's body (a server under load, a proxy
        that cut the answer): the cursor must not move past it, or that mail
        is never read. Missing bodies are asked for once more; a UID gone
        from the folder meanwhile (expunged) is passed over, one that still
        exists ends the batch before it, so the next poll tries it again.
        """
        missing = [uid for uid in batch if not _has_body(fetched, uid)]
        if not missing:
            return batch, left
        fetched.update(client.fetch(missing, ["BODY.PEEK[]", "INTERNALDATE"]))
        missing = [uid for uid in missing if not _has_body(fetched, uid)]
        if not missing:
            return batch, left
        still_there = set(client.search(["UID", ",".join(str(uid) for uid in missing)]))
        stuck = [uid for uid in missing if uid in still_there]
        if not stuck:
            return batch, left
        log.warning(
            "%s: the server sent no body for UID %d in %s; it is read again next poll",
            self.account,
            stuck[0],
            folder,
        )
        return [uid for uid in batch if uid < stuck[0]], False

    def _inbound(self, data: Mapping[bytes, Any], direction: str) -> InboundMessage:
        raw: bytes = data[b"BODY[]"]
        internal = data.get(b"INTERNALDATE")
        fallback = (
            internal.astimezone(UTC) if isinstance(internal, datetime) and internal.tzinfo else None
        )
        key = f"sha256-{hashlib.sha256(raw).hexdigest()[:32]}"
        parsed = parse_message(raw, account_key=key, fallback_date=fallback)
        if direction == "out":
            return replace(parsed.message, direction="out", delivery_state="sent")
        if parsed.reply_to and parsed.reply_to != parsed.message.from_address:
            return replace(parsed.message, reply_to=parsed.reply_to)
        return parsed.message

    def _append_sent(self, mail: EmailMessage) -> None:
        # The reply is already delivered: a failed copy to Sent must not
        # turn it into a failed (and then re-sent) message.
        try:
            client = self._client()
            client.append(self.settings.sent_folder, mail.as_bytes(), flags=[b"\\Seen"])
        except (IMAPClientError, OSError):
            self._imap = None

    # -- SMTP -------------------------------------------------------------------

    def _smtp(self) -> smtplib.SMTP:
        s = self.settings
        smtp: smtplib.SMTP
        # EHLO with our own mail domain: smtplib's default asks DNS for this
        # host's FQDN, which can stall for seconds where DNS is unreachable.
        helo = parseaddr(s.from_address)[1].rpartition("@")[2] or "localhost"
        if s.smtp_security == "tls":
            smtp = _TrackedSMTPSSL(
                s.smtp_host, s.smtp_port, local_hostname=helo, timeout=TIMEOUT, context=_context()
            )
        else:
            smtp = _TrackedSMTP(s.smtp_host, s.smtp_port, local_hostname=helo, timeout=TIMEOUT)
            if s.smtp_security == "starttls":
                smtp.starttls(context=_context())
        user = s.smtp_username or s.username
        if self._smtp_password and user:
            smtp.login(user, self._smtp_password)
        return smtp

    def _compose(self, message: OutboundMessage) -> EmailMessage:
        mail = EmailMessage()
        name, address = parseaddr(self.settings.from_address)
        mail["From"] = formataddr((name, address)) if name else address
        mail["To"] = _ascii_domain(message.to_address)
        mail["Subject"] = message.subject or ""
        mail["Date"] = format_datetime(datetime.now(UTC))
        mail["Message-ID"] = message.message_id or make_msgid(domain=address.rpartition("@")[2])
        if message.in_reply_to:
            mail["In-Reply-To"] = message.in_reply_to
        if message.references:
            mail["References"] = " ".join(message.references)
        mail["Auto-Submitted"] = "no"
        if message.cc:
            mail["Cc"] = ", ".join(_ascii_domain(a) for a in message.cc)
        mail.set_content(message.body_text, charset="utf-8")
        for attachment in message.attachments:
            found = _CONTENT_TYPE.fullmatch(attachment.content_type.strip().lower())
            main, sub = found.groups() if found else ("application", "octet-stream")
            # bytes always go base64; the policy writes a non-ASCII name as
            # RFC 2231 filename*=utf-8''...
            name = _file_name(attachment.filename)
            mail.add_attachment(attachment.data, maintype=main, subtype=sub, filename=name)
        return mail

    # -- errors -------------------------------------------------------------------

    def _errors(self, what: str) -> _ErrorMapper:
        return _ErrorMapper(self, what)


def _envelope(message: OutboundMessage) -> list[str]:
    """RCPT TO: the To, Cc and Bcc addresses, once each (Bcc is nowhere else)."""
    seen: dict[str, str] = {}
    for address in (message.to_address, *message.cc, *message.bcc):
        plain = _ascii_domain(parseaddr(address)[1] or address.strip())
        if plain:
            seen.setdefault(plain.lower(), plain)
    return list(seen.values())


def _ascii_domain(address: str) -> str:
    """``address`` with an international domain in its IDNA form
    (``ann@bücher.de`` as ``ann@xn--bcher-kva.de``): what every server takes
    in RCPT TO and what a header may hold (an encoded word inside an address
    is no address). A domain IDNA cannot encode is left as it is."""
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return address


def _without_bcc(exc: ProviderError, bcc: tuple[str, ...]) -> ProviderError:
    """``exc`` with every Bcc address in its words (a refused recipient, a
    server reply echoing it) replaced: the error is kept on the message and
    shown to every agent, and the Bcc is hidden from all but its author."""
    text = str(exc)
    for address in bcc:
        plain = parseaddr(address)[1] or address.strip()
        if plain:
            text = re.sub(re.escape(plain), "a Bcc recipient", text, flags=re.IGNORECASE)
    if text == str(exc):
        return exc
    hidden = copy.copy(exc)
    hidden.args = (text, *exc.args[1:])
    return hidden


def _file_name(name: str) -> str:
    """The name a file is sent under: no path, no control characters."""
    cleaned = _UNSAFE_NAME.sub("_", name).strip(" .")
    return cleaned[-200:] or "file"


def _reply_words(reply: tuple[int, bytes | str]) -> str:
    code, raw = reply
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    return f"{code} {text}"[:200]


class _DataTracking:
    """Notes when the end of DATA (the final ".") has gone out: from then on
    a lost connection or a timeout leaves the outcome unknown."""

    data_ended = False
    _in_data = False

    def data(self, msg: Any) -> tuple[int, bytes]:
        self._in_data = True
        try:
            return super().data(msg)  # type: ignore[misc, no-any-return]
        finally:
            self._in_data = False

    def send(self, s: Any) -> None:
        super().send(s)  # type: ignore[misc]
        if self._in_data and isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.data_ended = True


class _TrackedSMTP(_DataTracking, smtplib.SMTP):
    pass


class _TrackedSMTPSSL(_DataTracking, smtplib.SMTP_SSL):
    pass


def _data_ended(smtp: smtplib.SMTP) -> bool:
    return bool(getattr(smtp, "data_ended", False))


class _ErrorMapper:
    """Turns IMAP/SMTP/socket failures into the typed provider errors, with the
    server's words (never a password)."""

    def __init__(self, provider: EmailProvider, what: str) -> None:
        self.provider = provider
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, _tb: object
    ) -> Literal[False]:
        if exc is None:
            return False
        s = self.provider.settings
        host = f"{s.host}:{s.port}" if self.what == "IMAP" else f"{s.smtp_host}:{s.smtp_port}"
        where = f"{self.what} {host}"
        if isinstance(exc, (LoginError, smtplib.SMTPAuthenticationError)):
            self.provider.close()
            raise AuthError(
                f"{where}: login refused ({_words(exc)}); check the username and password"
            ) from None
        if isinstance(exc, (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused)):
            code, text = _smtp_reply(exc)
            error = TransientError if 400 <= code < 500 else PermanentError
            raise error(f"{where}: {code} {text}") from None
        if isinstance(exc, ssl.SSLError):
            raise TransientError(
                f"{where}: TLS failed ({exc.reason or exc}); check security/port"
            ) from None
        if isinstance(exc, (socket.timeout, TimeoutError)):
            self.provider.close()
            raise TransientError(f"{where}: timed out") from None
        if isinstance(exc, (OSError, IMAPClientError, smtplib.SMTPException)):
            self.provider.close()
            raise TransientError(f"{where}: {_words(exc)}") from None
        return False


def _words(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        code, text = _smtp_reply(exc)
        return f"{code} {text}"
    return (str(exc) or type(exc).__name__)[:300]


def _smtp_reply(exc: BaseException) -> tuple[int, str]:
    """The SMTP code and the server's words from an smtplib error."""
    raw: bytes | str
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, raw = next(iter(exc.recipients.values()))
    else:
        assert isinstance(exc, smtplib.SMTPResponseException)
        code, raw = exc.smtp_code, exc.smtp_error
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    return int(code), text
