"""Turn one RFC 5322 message, as fetched from IMAP, into an InboundMessage.

API: ``parse_message(raw, *, account_key, fallback_date=None) -> ParsedEmail``
(``.message``, ``.reply_to``) and ``no_message_id(account_key)``.

It never raises: what could not be understood, and whatever was cut or
dropped (a body over its size bound, parts past MAX_PARTS, a header too long
to read whole, over-long ids, HTML that could not be converted, NUL
characters), is named in ``message.problem`` ("; "-joined reasons), the rest
is kept, and the mail's bytes as fetched are attached as ``original.eml``,
so nothing is lost for good. If parsing fails outright, the body is the raw
bytes as UTF-8 with replacements (1 MB).

``message_id`` = the Message-ID with its brackets, else
``no_message_id(account_key)``: stable across polls, and replies can still
name it in In-Reply-To. ``external_id`` is that id and a digest of the
content (providers/email_identity.py): one Message-ID reused for different
mails gives different external ids. Reply-To is ``ParsedEmail.reply_to``
when present and ``message.reply_to`` only when it differs from the sender.
Every To and Cc address, in order and once each, goes to
``message.to_addresses`` / ``message.cc_addresses`` (at most MAX_RECIPIENTS
of each; display names, RFC 2047 included, are read and left out, so an
encoded comma in a name never splits an address). ``sent_at`` is UTC; a
missing or unreadable Date (common, not a problem) uses ``fallback_date``
(IMAP INTERNALDATE) or now, and so does one over two days after it (spam
pinning itself to the top). Nothing here opens a socket: html2text converts
offline, image URLs are dropped, no part (message/external-body) is followed.

The MIME tree is parsed with compat32 and header values are read with
``email.policy.default``'s header classes (RFC 2047, address lists), one at
a time and only up to _MODERN_LIMIT characters: parsing the tree with the
modern policy was measured 12x slower on a many-part mail and took 3 GB for
one 340 kB header (a hostile mail would stall the poll), and compat32 reads
the broken parameters real mail has (unquoted boundaries with "=").
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email.errors as errors
import mimetypes
import quopri
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.header import decode_header
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32, default
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

import html2text

from providers.base import InboundAttachment, InboundMessage
from providers.email_identity import mail_external_id

MAX_TEXT_CHARS = 1_000_000
MAX_HTML_CHARS = 2_000_000
MAX_RAW_FALLBACK = 1_000_000
MAX_DEPTH = 40
MAX_PARTS = 2000
_MODERN_LIMIT = 16_384  # longer header values skip the (slow, hungry) modern parser
_LEGACY_LIMIT = 65_536  # and only this much of them is read at all
_MAX_ID = 998  # RFC 5322's line limit; a longer "id" is junk
_MAX_REFERENCES = 100
MAX_SUBJECT = 2000
MAX_PROBLEM = 500
MAX_RECIPIENTS = 500
ORIGINAL = "original.eml"
# The headers read for the message itself, whose excess over _LEGACY_LIMIT is cut.
_READ_HEADERS = ("From", "Sender", "To", "Cc", "Delivered-To", "Reply-To", "Date")

_Bodies = tuple[list[str], list[str]]  # (plain texts, HTML sources)

_CTYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")
_ID_TOKEN = re.compile(r"<([^<>]*)>")
_UNQUOTED_NAME = re.compile(r"""\b(?:file)?name\s*=\s*([^"';\s][^;"]*?)\s*(?:;|$)""", re.I)
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")
_SPACED_NAME = re.compile(rb"^([!-9;-~]+)[ \t]+:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# One plain address, perhaps behind a plain or quoted display name: the From
# and To of most mail. Read directly, as both general parsers would read it;
# they cost about a millisecond a header.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDR = rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_DISPLAY = r""""(?P<quoted>[A-Za-z0-9 .,'_-]*)"|(?P<name>[A-Za-z0-9 '_-]*)"""
_SIMPLE_ADDRESS = re.compile(rf"\s*(?:(?:{_DISPLAY})\s*<(?P<inside>{_ADDR})>|(?P<bare>{_ADDR}))\s*")
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([\w.:-]{1,40})""", re.I)
# Names mail software uses that Python does not know, mapped to codecs it does.
_CHARSET_ALIASES = {"iso-8859-8-i": "iso-8859-8", "x-sjis": "shift_jis", "windows-31j": "cp932"}
# Senders label text with the narrow charset and use the wide one's extra
# characters (Windows quotes in "iso-8859-1", GBK in "gb2312"); the superset
# decodes everything the narrow one does the same way.
_SUPERSETS = {"iso8859-1": "cp1252", "gb2312": "gb18030", "gbk": "gb18030"}
_SUPERSETS |= {"shift_jis": "cp932", "euc_kr": "cp949", "big5": "cp950"}
# Text codecs that would turn mail bytes into something other than its text.
_REFUSED_CODECS = {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined"}
# Python's own table only, not the host's mime.types: names the same everywhere.
_MIME_TYPES = mimetypes.MimeTypes(filenames=())
_MIME_TYPES.add_type("text/calendar", ".ics")
_DEFECTS: dict[type[errors.MessageDefect], str] = {
    errors.CloseBoundaryNotFoundDefect: "multipart never closed (message may be cut off)",
    errors.NoBoundaryInMultipartDefect: "multipart without a boundary",
}


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    """The message plus its Reply-To address (None when absent)."""

    message: InboundMessage
    reply_to: str | None


def no_message_id(account_key: str) -> str:
    """The stable stand-in Message-ID for mail that has none."""
    safe = re.sub(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]", "_", account_key)[:200]
    return f"<{safe}@no-message-id.omnitui>"


def parse_message(
    raw: bytes, *, account_key: str, fallback_date: datetime | None = None
) -> ParsedEmail:
    """Parse ``raw``; never raises (see the module docstring)."""
    when = _utc(fallback_date) if fallback_date is not None else datetime.now(UTC)
    try:
        parsed = _parse(raw, account_key, when)
    except Exception as exc:  # noqa: BLE001 - any bytes must still give a message
        parsed = _unparsed(raw, account_key, when, exc)
    message = parsed.message
    if message.problem is None:
        return parsed
    # Whatever could not be read, or was cut, is still in the bytes as fetched.
    original = InboundAttachment(ORIGINAL, "message/rfc822", raw)
    message = replace(message, attachments=(*message.attachments, original))
    return ParsedEmail(message=message, reply_to=parsed.reply_to)


def _unparsed(raw: bytes, account_key: str, when: datetime, exc: Exception) -> ParsedEmail:
    problems = [f"could not parse message: {type(exc).__name__}: {str(exc)[:300]}"]
    text = _cap_text(raw[:MAX_RAW_FALLBACK].decode("utf-8", errors="replace"), problems.append)
    if len(raw) > MAX_RAW_FALLBACK:
        text += f"\n\n[… truncated: {len(raw) - MAX_RAW_FALLBACK} more bytes]"
        problems.append(f"raw text cut at {MAX_RAW_FALLBACK:,} of {len(raw):,} bytes")
    found = re.search(rb"^Message-ID:[ \t]*(<[!-;=?-~]{1,900}>)", raw[:65536], re.I | re.M)
    mid = found.group(1).decode("ascii") if found else no_message_id(account_key)
    message = InboundMessage(
        external_id=mail_external_id(mid, raw), channel="email", from_address="",
        to_address="", sent_at=when, body_text=text, message_id=mid,
        problem=_problem_text(problems),
    )  # fmt: skip
    return ParsedEmail(message=message, reply_to=None)


def _parse(raw: bytes, account_key: str, when: datetime) -> ParsedEmail:
    problems: list[str] = []
    msg = _read_tree(raw, problems)
    if _raw_header(msg, "From") is None:
        # A junk line or "Name  :" (obsolete syntax) ends the header block
        # early and takes From with it: retry with that block repaired.
        repaired, dropped = _repair_headers(raw)
        retry = _read_tree(repaired, [])
        if _raw_header(retry, "From") is not None:
            msg = retry
            if dropped:
                problems.append(f"skipped {dropped} malformed header line(s)")
    note = problems.append
    message_id = _first_id(_raw_header(msg, "Message-ID"), note, "Message-ID")
    message_id = message_id or no_message_id(account_key)
    _long_headers(msg, _READ_HEADERS, note)
    senders = _addresses(msg, "From") or _addresses(msg, "Sender")
    from_name, from_address = senders[0] if senders else (None, "")
    if not senders and _raw_header(msg, "From") is None:
        problems.append("no From header")
    elif not from_address or "@" not in from_address:
        problems.append("sender address not understood")
        if not from_address:
            shown = _clean_line(_header(msg, "From") or "")
            from_address = shown[:200]
            if len(shown) > 200:
                problems.append(f"From cut at 200 of {len(shown):,} characters")
    to = _addresses(msg, "To") or _addresses(msg, "Cc") or _addresses(msg, "Delivered-To")
    to_all, cc_all = _recipients(msg, "To", note), _recipients(msg, "Cc", note)
    replies = [address for _, address in _addresses(msg, "Reply-To") if address]
    subject = _subject(msg, note)
    in_reply_to = _first_id(_raw_header(msg, "In-Reply-To"), note, "In-Reply-To")
    references = _references(_raw_header(msg, "References"), note)
    walker = _Walker(problems)
    texts, htmls = walker.walk(msg, 0)
    body_text, body_html = _bodies(texts, htmls, note)
    message = InboundMessage(
        external_id=mail_external_id(message_id, raw),
        channel="email",
        from_address=from_address,
        to_address=to[0][1] if to else "",
        sent_at=_sent_at(_header(msg, "Date"), when),
        body_text=body_text,
        from_name=from_name,
        subject=subject,
        body_html=body_html,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        attachments=tuple(walker.attachments),
        problem=_problem_text(problems),
        reply_to=replies[0] if replies and replies[0] != from_address else None,
        reply_to_addresses=tuple(dict.fromkeys(replies)),
        to_addresses=to_all,
        cc_addresses=cc_all,
    )
    return ParsedEmail(message=message, reply_to=replies[0] if replies else None)


def _recipients(msg: Message, name: str, note: Callable[[str], None]) -> tuple[str, ...]:
    """The addresses of header ``name``, once each in their order (the case
    of the first spelling kept), at most MAX_RECIPIENTS."""
    seen: dict[str, str] = {}
    for _, address in _addresses(msg, name):
        address = address.strip()
        if address and "@" in address and len(address) <= _MAX_ID:
            seen.setdefault(address.lower(), address)
    if len(seen) > MAX_RECIPIENTS:
        note(f"{name} lists {len(seen):,} addresses; the first {MAX_RECIPIENTS} are kept")
    return tuple(seen.values())[:MAX_RECIPIENTS]


def _bodies(
    texts: list[str], htmls: list[str], note: Callable[[str], None]
) -> tuple[str, str | None]:
    """(body text, HTML source), each within its bound; what is cut is noted."""
    html = "\n".join(htmls)
    if len(html) > MAX_HTML_CHARS:
        note(f"HTML cut at {MAX_HTML_CHARS:,} of {len(html):,} characters")
        html = html[:MAX_HTML_CHARS]
    html = _without_nul(html, "HTML", note)
    text = "\n\n".join(t for t in texts if t.strip())
    if not text and html:
        text = _html_to_text(html, note)
    return _cap_text(text, note), html or None


def _subject(msg: Message, note: Callable[[str], None]) -> str | None:
    raw = _raw_header(msg, "Subject")
    if raw is None:
        return None
    subject = _clean_line(_header(msg, "Subject") or "")
    if len(subject) > MAX_SUBJECT or len(raw) > _LEGACY_LIMIT:
        note(f"Subject cut at {MAX_SUBJECT:,} characters ({len(raw):,} as sent)")
    return subject[:MAX_SUBJECT]


def _long_headers(part: Message, names: tuple[str, ...], note: Callable[[str], None]) -> None:
    """Note the headers of ``names`` too long to be read whole (see _LEGACY_LIMIT)."""
    for name in names:
        raw = _raw_header(part, name)
        if raw is not None and len(raw) > _LEGACY_LIMIT:
            note(f"{name} header cut at {_LEGACY_LIMIT:,} of {len(raw):,} characters")


def _problem_text(problems: list[str]) -> str | None:
    text = "; ".join(problems)
    if not text:
        return None
    return text if len(text) <= MAX_PROBLEM else text[: MAX_PROBLEM - 1] + "…"


def _read_tree(raw: bytes, problems: list[str]) -> Message:
    try:
        return BytesParser(policy=compat32).parsebytes(raw)
    except Exception:  # noqa: BLE001 - RecursionError on very deep nesting
        msg = BytesParser(policy=compat32).parsebytes(raw, headersonly=True)
    # The headers are kept; the body is shown as the raw text it is.
    del msg["Content-Type"]
    problems.append("malformed MIME structure: too deeply nested, shown as raw text")
    return msg


def _repair_headers(raw: bytes) -> tuple[bytes, int]:
    """Drop non-header lines from the header block, close up "Name  :"."""
    end = re.search(rb"\r?\n\r?\n", raw)
    if end is None:
        return raw, 0
    lines = raw[: end.start()].split(b"\n")
    kept: list[bytes] = []
    for line in lines:
        fixed = _SPACED_NAME.sub(rb"\1:", line)
        if _HEADER_LINE.match(fixed) or (kept and line[:1] in (b" ", b"\t")):
            kept.append(fixed)
    return b"\n".join(kept) + raw[end.start() :], len(lines) - len(kept)


class _Walker:
    """Walks the MIME tree: body candidates come back from ``walk``,
    everything else lands in ``attachments``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        self.attachments: list[InboundAttachment] = []
        self.parts = 0

    def walk(self, part: Message, depth: int) -> _Bodies:
        for defect in getattr(part, "defects", ()):
            if type(defect) in _DEFECTS:
                self._problem(f"malformed MIME structure: {_DEFECTS[type(defect)]}")
        self.parts += 1
        if depth > MAX_DEPTH or self.parts > MAX_PARTS:
            self._problem("malformed MIME structure: too many or too deeply nested parts skipped")
            return [], []
        _long_headers(part, ("Content-Type", "Content-Disposition"), self._problem)
        ctype, charset, disposition, filename = _part_info(part)
        if ctype.startswith("message/"):
            self._attach(part, ctype, _serialize(part), filename)
            return [], []
        if part.is_multipart():
            found = [self.walk(c, depth + 1) for c in part.get_payload() if isinstance(c, Message)]
            if ctype == "multipart/alternative":
                # Plain text is what the console shows; HTML only when no
                # alternative has real plain text (some send an empty one).
                texts = next((t for t, _ in found if any(x.strip() for x in t)), [])
                return texts, next((h for _, h in reversed(found) if h), [])
            return [t for f in found for t in f[0]], [h for f in found for h in f[1]]
        if filename is None and disposition != "attachment":
            if ctype.startswith("multipart/"):
                # Its boundary was never found: the content is shown as text
                # (an empty one lost nothing, so that is no problem).
                text = self._text(part, charset, html=False)
                if text.strip():
                    self._problem("malformed MIME structure: multipart boundary never found")
                return [text], []
            if ctype == "text/plain":
                return [self._text(part, charset, html=False)], []
            if ctype == "text/html":
                return [], [self._text(part, charset, html=True)]
        self._attach(part, ctype, _payload_bytes(part), filename)
        return [], []

    def _text(self, part: Message, charset: str | None, *, html: bool) -> str:
        data = _payload_bytes(part)
        if charset is None and html:
            found = _META_CHARSET.search(data[:4096])
            charset = found.group(1).decode("ascii") if found else None
        return _decode(data, charset, self._problem)

    def _attach(self, part: Message, ctype: str, data: bytes, filename: str | None) -> None:
        if filename is None:
            if not data:
                return  # an empty unnamed part carries nothing worth a file
            filename = _generated_name(part, ctype, len(self.attachments) + 1)
        self.attachments.append(InboundAttachment(filename, ctype, data))

    def _problem(self, reason: str) -> None:
        if reason not in self.problems:
            self.problems.append(reason)


def _raw_header(part: Message, name: str) -> str | None:
    for key, value in part.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _modern(name: str, raw: str) -> Any:
    """The modern policy's reading of one header, or None when it fails or
    the value is too long (or 8-bit: it would turn non-UTF-8 into U+FFFD)."""
    if len(raw) > _MODERN_LIMIT or not raw.isascii():
        return None
    try:
        return default.header_factory(name, re.sub(r"[\r\n]", "", raw))
    except Exception:  # noqa: BLE001 - the caller falls back to the raw value
        return None


def _header(part: Message, name: str) -> str | None:
    raw = _raw_header(part, name)
    if raw is None:
        return None
    if raw.isascii() and "=?" not in raw and len(raw) <= _MODERN_LIMIT:
        return re.sub(r"[\r\n]", "", raw)  # no encoded words: all the parser would do
    parsed = _modern(name, raw)
    return _clean(str(parsed)) if parsed is not None else _decode_words(raw[:_LEGACY_LIMIT])


def _addresses(part: Message, name: str) -> list[tuple[str | None, str]]:
    """(display name, address) pairs, from the modern parser when it finds an
    address, else from the lenient legacy splitter (which also supplies names
    given in the old "addr (Name)" form)."""
    raw = _raw_header(part, name)
    if raw is None:
        return []
    simple = _SIMPLE_ADDRESS.fullmatch(raw)
    if simple:
        display = (simple["quoted"] or simple["name"] or "").strip()
        return [(display or None, simple["inside"] or simple["bare"])]
    return _any_addresses(name, raw)


def _any_addresses(name: str, raw: str) -> list[tuple[str | None, str]]:
    # Encoded words are decoded after splitting, so an encoded comma cannot
    # split a name.
    pairs = getaddresses([_unfold(raw[:_LEGACY_LIMIT])])
    legacy = [(_clean_line(_decode_words(n)), _decode_words(a).strip(" \t<>")) for n, a in pairs]
    names = {a: n or None for n, a in legacy}
    try:
        listed = getattr(_modern(name, raw), "addresses", ())
        modern = [(_clean_line(a.display_name), _clean_line(a.addr_spec)) for a in listed]
    except Exception:  # noqa: BLE001 - the legacy result stands
        modern = []
    if any(address for _, address in modern):
        return [(n or names.get(a), a) for n, a in modern]
    return [(n or None, a) for n, a in legacy if n or a]


def _part_info(part: Message) -> tuple[str, str | None, str | None, str | None]:
    """(content type, charset, disposition, filename) from compat32's lenient
    parameter parsing, on the headers as text (8-bit bytes decoded)."""
    view = Message()
    for key, value in part.raw_items():
        if key.lower() in ("content-type", "content-disposition"):
            view[key] = _clean(_unfold(str(value)[:_LEGACY_LIMIT]))
    view.set_default_type(part.get_default_type())  # message/rfc822 in a digest
    found = _CTYPE.match(view.get_content_type())
    ctype = found.group(0) if found else "application/octet-stream"
    charset, disposition = view.get_content_charset(), view.get_content_disposition()
    try:
        name = view.get_filename()
    except Exception:  # noqa: BLE001 - a broken RFC 2231 name: the file stays, unnamed
        name = None
    if name is None or "=?" in name:
        return ctype, charset, disposition, None if name is None else _decode_words(name)
    for header in ("Content-Disposition", "Content-Type"):
        # Old mailers leave names with spaces unquoted; compat32 may keep the
        # whole name already, but a trailing comment or quote can cut it.
        found = _UNQUOTED_NAME.search(str(view.get(header, "")))
        if found and found.group(1).startswith(name):
            name = found.group(1)
            break
    return ctype, charset, disposition, _clean(name)


def _generated_name(part: Message, ctype: str, number: int) -> str:
    if ctype in ("message/rfc822", "message/global"):
        inner = part.get_payload() if part.is_multipart() else None
        first = inner[0] if isinstance(inner, list) and inner else None
        subject = _clean_line(_header(first, "Subject") or "") if isinstance(first, Message) else ""
        return f"{subject[:100]}.eml" if subject else "forwarded.eml"
    extension = _MIME_TYPES.guess_extension(ctype, strict=False)
    if extension is None:
        extension = ".txt" if ctype.startswith(("text/", "message/")) else ".bin"
    return f"part-{number}{extension}"


def _payload_bytes(part: Message) -> bytes:
    """A leaf's decoded content; an unknown transfer encoding gives the bytes
    as sent (Python's own decoding is kept: it is lenient already)."""
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - decoding is lenient; this is belt and braces
        data = None
    if not isinstance(data, bytes):
        return b""
    seen = str(part.get("Content-Transfer-Encoding", "")).lower()  # as Python matched it
    cte = re.sub(r"[^a-z0-9-].*", "", seen.strip(), flags=re.S)
    if seen != cte:  # Python decodes exact names only: "base64;" arrives as sent
        if cte == "base64":
            cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
            cleaned = cleaned[: len(cleaned) - (len(cleaned) % 4 == 1)]
            try:
                return base64.b64decode(cleaned + b"=" * (-len(cleaned) % 4))
            except (binascii.Error, ValueError):
                return data
        if cte == "quoted-printable":
            return quopri.decodestring(data)
    return data


def _serialize(part: Message) -> bytes:
    """A message/* part as bytes: the enclosed message (RFC 822 form), or
    the body of a delivery-status and the like."""
    inner = part.get_payload()
    out: list[bytes] = []
    for chunk in inner if isinstance(inner, list) else [inner]:
        if isinstance(chunk, Message):
            try:
                out.append(chunk.as_bytes(policy=compat32))  # compat32: no refolding
            except Exception:  # noqa: BLE001 - regeneration may trip on junk
                out.append(str(chunk).encode("utf-8", "surrogateescape"))
        elif isinstance(chunk, str):
            out.append(chunk.encode("utf-8", "surrogateescape"))
    return b"\n".join(out)


def _codec(charset: str) -> str | None:
    name = charset.strip().strip("\"'").lower()
    try:
        info = codecs.lookup(_CHARSET_ALIASES.get(name, name))
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        return None
    if info.name in _REFUSED_CODECS or not getattr(info, "_is_text_encoding", True):
        return None  # e.g. "zlib" or "unicode-escape": not a way to spell text
    return _SUPERSETS.get(info.name, info.name)


def _guess(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _decode(data: bytes, charset: str | None, problem: Callable[[str], None]) -> str:
    codec = _codec(charset) if charset is not None else "ascii"
    if codec is None:
        text = _guess(data)
        how = "shown with replacements" if "\ufffd" in text else "read as UTF-8"
        problem(f"unknown charset {_clean_line(charset or '')[:40]}: {how}")
        return text
    if codec == "ascii":
        return _guess(data)  # 8-bit text labelled (or defaulting to) ASCII is routine
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        problem(f"invalid {_clean_line(charset or '')[:40]} text: shown with replacements")
        return data.decode(codec, errors="replace")
    except Exception:  # noqa: BLE001 - a broken codec must not lose the body
        return _guess(data)


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def _clean(value: str) -> str:
    """Raw 8-bit bytes (surrogate-escaped by the parser) back to text; NUL and
    lone surrogates removed, as no database stores them."""
    try:
        data = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = value.encode("utf-8", "surrogatepass")
    return _guess(data).replace("\x00", "")


def _clean_line(value: str) -> str:
    return _CONTROL.sub(" ", _clean(value)).strip()


def _decode_words(raw: str) -> str:
    """RFC 2047 decoding that leaves broken encoded words as they are."""
    value = _clean(_unfold(raw))
    try:
        chunks = decode_header(value)
    except Exception:  # noqa: BLE001 - e.g. bad base64 in a word
        return value
    return _clean(
        "".join(c if isinstance(c, str) else _decode(c, cs, lambda _: None) for c, cs in chunks)
    )


def _ids(value: str | None, note: Callable[[str], None] | None = None, name: str = "") -> list[str]:
    found: list[str] = []
    junk = 0
    for token in _ID_TOKEN.findall(_clean(value or "")):
        token = re.sub(r"\s+", "", token)  # folding can split an id
        junk += len(token) >= _MAX_ID
        if token and len(token) < _MAX_ID and f"<{token}>" not in found:
            found.append(f"<{token}>")
    if junk and note is not None:
        note(f"{name}: {junk} id(s) of {_MAX_ID} characters or more dropped")
    return found


def _first_id(
    value: str | None, note: Callable[[str], None] | None = None, name: str = ""
) -> str | None:
    ids = _ids(value, note, name)
    bare = _clean(value or "").strip()
    if not ids and "@" in bare and not re.search(r"[\s<>]", bare):
        if len(bare) < _MAX_ID:
            return f"<{bare}>"  # some mailers drop the brackets
        if note is not None:
            note(f"{name}: an id of {_MAX_ID} characters or more dropped")
    return ids[0] if ids else None


def _references(value: str | None, note: Callable[[str], None]) -> tuple[str, ...]:
    ids = _ids(value, note, "References")
    if len(ids) > _MAX_REFERENCES:
        # The first names the thread root; the last are the nearest parents.
        note(f"References cut to {_MAX_REFERENCES} of {len(ids)} ids (root and nearest kept)")
        ids = ids[:1] + ids[-(_MAX_REFERENCES - 1) :]
    return tuple(ids)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sent_at(value: str | None, fallback: datetime) -> datetime:
    parsed: datetime | None = None
    for read in (parsedate_to_datetime, datetime.fromisoformat):
        try:
            parsed = _utc(read((value or "").strip()))
            break
        except Exception:  # noqa: BLE001, S112 - unreadable dates are common
            continue
    if parsed is None or parsed > fallback + timedelta(days=2):
        return fallback
    return parsed


def _html_to_text(source: str, note: Callable[[str], None]) -> str:
    converter = html2text.HTML2Text()
    converter.ignore_images = True  # nothing to show in a terminal, nothing to fetch
    converter.body_width = 0  # the terminal wraps
    converter.unicode_snob = True  # keep "é", not "e"
    try:
        return str(converter.handle(source))
    except Exception as exc:  # noqa: BLE001 - html2text on hostile markup: strip tags crudely
        note(f"HTML not converted ({type(exc).__name__}): shown with its tags stripped")
        return re.sub(r"<[^>]*>", "", source)


def _without_nul(text: str, what: str, note: Callable[[str], None]) -> str:
    """``text`` without NUL, which no database stores; how many went is noted."""
    count = text.count("\x00")
    if count:
        note(f"{count:,} NUL character(s) removed from the {what}")
    return text.replace("\x00", "")


def _cap_text(text: str, note: Callable[[str], None]) -> str:
    text = _without_nul(text.replace("\r\n", "\n").replace("\r", "\n"), "text", note)
    if len(text) > MAX_TEXT_CHARS:
        more = len(text) - MAX_TEXT_CHARS
        note(f"text cut at {MAX_TEXT_CHARS:,} of {len(text):,} characters")
        text = f"{text[:MAX_TEXT_CHARS]}\n\n[… truncated: {more} more characters]"
    return text
