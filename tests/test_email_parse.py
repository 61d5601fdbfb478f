"""E-mail parsing (providers.email_parse) and quote folding (providers.email_quote)."""

from __future__ import annotations

import random
import socket
import time
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from providers import email_parse
from providers.base import InboundMessage
from providers.email_parse import MAX_TEXT_CHARS, ParsedEmail, no_message_id, parse_message
from providers.email_quote import fold_quoted

HERE = Path(__file__).resolve().parent
WHEN = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
HEAD = b"From: Ann <ann@example.org>\nTo: help@example.com\nMessage-ID: <m1@example.org>\n"


def parse(raw: bytes, key: str = "INBOX/1/1") -> InboundMessage:
    return parse_message(raw, account_key=key, fallback_date=WHEN).message


def plain(body: bytes, ctype: bytes = b"text/plain; charset=utf-8", extra: bytes = b"") -> bytes:
    return HEAD + extra + b"MIME-Version: 1.0\nContent-Type: " + ctype + b"\n\n" + body


def strings(message: InboundMessage) -> list[str]:
    out = [v for f in fields(message) if isinstance(v := getattr(message, f.name), str)]
    return out + list(message.references) + [a.filename for a in message.attachments]


def test_fixture_mixed_forward() -> None:
    parsed = parse_message((HERE / "mail" / "mixed_forward.eml").read_bytes(), account_key="k")
    m = parsed.message
    assert m.message_id == "<mixed-forward-1@example.org>"
    assert m.external_id.startswith(m.message_id + "#")
    assert (m.from_address, m.from_name) == ("anna@example.org", "Anna Müller")
    assert m.to_address == "support@example.com"
    assert m.subject == "Re: Rechnung für März"
    assert m.sent_at == datetime(2024, 1, 2, 9, 15, tzinfo=UTC)
    assert m.in_reply_to == "<older@example.com>"
    assert m.references == ("<root@example.com>", "<older@example.com>", "<folded@example.com>")
    assert parsed.reply_to == m.reply_to == "anna.work@example.org"
    assert m.body_text.startswith("Hallo,\n\ndie Rechnung für März fehlt noch.")
    assert m.body_html == "<p>Hallo,</p><p>die Rechnung für März fehlt noch.</p>"
    files = {a.filename: a for a in m.attachments}
    assert set(files) == {"logo.png", "Rechnung März.pdf", "Ihre Anfrage.eml"}
    assert files["Rechnung März.pdf"].data.startswith(b"%PDF-1.4")
    assert files["logo.png"].content_type == "image/png"
    assert b"Subject: Ihre Anfrage" in files["Ihre Anfrage.eml"].data
    assert m.problem is None and m.channel == "email" and m.direction == "in"
    new, history = fold_quoted(m.body_text)
    assert new == "Hallo,\n\ndie Rechnung für März fehlt noch."
    assert history.startswith("Am 01.01.2024") and history.endswith("Anna Müller")


@pytest.mark.parametrize(
    "charset",
    ["iso-8859-1", "windows-1252", "koi8-r", "shift_jis", "gb2312", "utf-8", "ks_c_5601-1987"],
)
def test_charsets(charset: str) -> None:
    text = {
        "koi8-r": "Привет, мир",
        "shift_jis": "こんにちは世界",
        "gb2312": "你好世界",
        "ks_c_5601-1987": "안녕하세요",
        "windows-1252": "“Smart” quotes \u2013 €5",
    }.get(charset, "Grüße, café")
    m = parse(plain(text.encode(charset), f"text/plain; charset={charset}".encode()))
    assert m.body_text == text and m.problem is None


def test_windows_characters_in_latin1_label() -> None:
    m = parse(plain("“quoted” €".encode("cp1252"), b"text/plain; charset=iso-8859-1"))
    assert m.body_text == "“quoted” €"


@pytest.mark.parametrize("charset", ["x-unknown", "utf-99"])
def test_unknown_charset_kept(charset: str) -> None:
    m = parse(plain("naïve text".encode(), f"text/plain; charset={charset}".encode()))
    assert m.body_text == "naïve text"
    assert m.problem is not None and f"unknown charset {charset}" in m.problem
    m = parse(plain(b"caf\xe9 \xff", f"text/plain; charset={charset}".encode()))
    assert m.body_text.startswith("caf") and m.problem is not None


def test_invalid_bytes_in_declared_charset() -> None:
    m = parse(plain(b"ok \xff\xfe end"))
    assert m.body_text.startswith("ok ") and m.body_text.endswith(" end")
    assert m.problem is not None and "utf-8" in m.problem


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"=?iso-8859-1?q?Caf=E9_cr=E8me?=", "Café crème"),
        (b"=?utf-8?b?w6l0w6k=?= and =?UTF-8?Q?more?=", "été and more"),
        (b"=?utf-8?q?Gr=C3=BC?= =?utf-8?q?=C3=9Fe?=", "Grüße"),  # adjacent words join
        (b"Re: =?utf-8?q?unterminated", "Re: =?utf-8?q?unterminated"),
        (b"=?x-klingon?q?abc?=", "abc"),
        (b"Folded\n  subject\twith\x01controls", "Folded  subject with controls"),
        (b"caf\xe9 latin-1 raw", "café latin-1 raw"),
        ("raw UTF-8 Grüße".encode(), "raw UTF-8 Grüße"),
    ],
)
def test_subject_decoding(header: bytes, expected: str) -> None:
    m = parse(HEAD + b"Subject: " + header + b"\n\nbody\n")
    assert m.subject == expected


@pytest.mark.parametrize(
    "header", [b"=?utf-8?B?!!!?=", b"=?utf-8?q?=ZZ?=", b"=?=?=?", b"=?NONE?B?VEVTVA=?="]
)
def test_broken_encoded_words_never_crash(header: bytes) -> None:
    m = parse(HEAD + b"Subject: " + header + b"\n\nbody\n")
    assert isinstance(m.subject, str) and m.body_text == "body\n"


@pytest.mark.parametrize(
    ("header", "name", "address"),
    [
        (b"=?utf-8?q?M=C3=BCller=2C_Hans?= <hans@example.de>", "Müller, Hans", "hans@example.de"),
        (b'"Doe, Jane" <jane@example.com>, other@example.com', "Doe, Jane", "jane@example.com"),
        (b"plain@example.com", None, "plain@example.com"),
        ('"Jöhn" <jöhn@exämple.org>'.encode(), "Jöhn", "jöhn@exämple.org"),
        (b"bob@example.com (Bob Smith)", "Bob Smith", "bob@example.com"),
    ],
)
def test_from_header(header: bytes, name: str | None, address: str) -> None:
    m = parse(b"From: " + header + b"\nTo: a@b.c\n\nhi\n")
    assert (m.from_name, m.from_address) == (name, address)
    assert m.problem is None


def test_missing_or_junk_from_is_a_problem() -> None:
    m = parse(b"To: a@b.c\nSubject: x\n\nhi\n")
    assert m.from_address == "" and m.problem == "no From header"
    m = parse(b"From: Mikel\nTo: a@b.c\n\nhi\n")
    assert m.from_address and m.problem == "sender address not understood"


def test_ids_and_references() -> None:
    raw = (
        b"From: a@b.c\nMessage-ID: bare-id@example.com\n"
        b"In-Reply-To: <first@x> <second@x>\n"
        b"References: <root@x> not-an-id <first@x> <> <first@x>\n <broken\n @x>\n\nhi\n"
    )
    m = parse(raw)
    assert m.message_id == "<bare-id@example.com>" and m.external_id.startswith(m.message_id)
    assert m.in_reply_to == "<first@x>"
    assert m.references == ("<root@x>", "<first@x>", "<broken@x>")


def test_long_references_keep_root_and_nearest() -> None:
    refs = b" ".join(f"<r{i}@x>".encode() for i in range(300))
    m = parse(b"From: a@b.c\nReferences: " + refs + b"\n\nhi\n")
    assert len(m.references) == 100
    assert m.references[0] == "<r0@x>" and m.references[-1] == "<r299@x>"


def test_missing_message_id_gets_stable_fallback() -> None:
    raw = b"From: a@b.c\nSubject: no id\n\nhi\n"
    first, again = parse(raw, "INBOX/7/42"), parse(raw, "INBOX/7/42")
    assert first.external_id == again.external_id
    assert first.message_id == no_message_id("INBOX/7/42") == "<INBOX/7/42@no-message-id.omnitui>"
    assert parse(raw, "INBOX/7/43").message_id != first.message_id
    empty_id = parse(b"From: a@b.c\nMessage-ID: <>\n\nhi\n").message_id
    assert empty_id is not None and empty_id.endswith("omnitui>")
    assert no_message_id("we ird<key>") == "<we_ird_key_@no-message-id.omnitui>"


def test_reply_to() -> None:
    parsed = parse_message(
        b"From: a@b.c\nReply-To: Team <team@b.c>\n\nhi\n", account_key="k", fallback_date=WHEN
    )
    assert parsed.reply_to == parsed.message.reply_to == "team@b.c"
    same = parse_message(b"From: a@b.c\nReply-To: a@b.c\n\nhi\n", account_key="k")
    assert same.reply_to == "a@b.c" and same.message.reply_to is None
    assert parse_message(b"From: a@b.c\n\nhi\n", account_key="k").reply_to is None


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        (b"Tue, 02 Jan 2024 10:15:00 +0100", datetime(2024, 1, 2, 9, 15, tzinfo=UTC)),
        (b"Tue, 02 Jan 2024 10:15:00 -0000", datetime(2024, 1, 2, 10, 15, tzinfo=UTC)),
        (b"2024-01-02T10:15:00+02:00", datetime(2024, 1, 2, 8, 15, tzinfo=UTC)),
        (b"yesterday-ish", WHEN),
        (b"Wed, 15 Dec 2010    59:10 -0500", WHEN),
        (b"Fri, 01 Jan 2100 00:00:00 +0000", WHEN),  # the future is not believed
        (None, WHEN),
    ],
)
def test_dates(date: bytes | None, expected: datetime) -> None:
    header = b"Date: " + date + b"\n" if date is not None else b""
    m = parse(b"From: a@b.c\n" + header + b"\nhi\n")
    assert m.sent_at == expected and m.sent_at.tzinfo is not None and m.problem is None


def test_date_defaults_to_now_and_fallback_to_utc() -> None:
    m = parse_message(b"From: a@b.c\n\nhi\n", account_key="k").message
    assert abs(m.sent_at - datetime.now(UTC)) < timedelta(minutes=1)
    naive = datetime(2024, 5, 1, 8, 0)
    m = parse_message(b"From: a@b.c\n\nhi\n", account_key="k", fallback_date=naive).message
    assert m.sent_at == naive.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("cte", "body"),
    [
        (b"quoted-printable", b"Gr=C3=BC=C3=9Fe, soft=\n break =E2=82=AC\n"),
        (b"base64", b"R3LDvMOfZSwgc29mdCBicmVhayDigqwK\n"),
        (b"BASE64;", b"R3LDvMOfZSwgc29mdCBicmVhayDigqwK\n"),  # junk after the name
        (b"base64 ", b"R3LDvMOfZSwgc29mdCBicmVhayDigqwK\n"),
        (b" Quoted-Printable (comment)", b"Gr=C3=BC=C3=9Fe, soft=\n break =E2=82=AC\n"),
        (b"base64", b"R3LDvMOfZSwgc29mdCBicmVhayDigqwK!!"),  # stray characters
    ],
)
def test_transfer_encodings(cte: bytes, body: bytes) -> None:
    m = parse(plain(body, extra=b"Content-Transfer-Encoding: " + cte + b"\n"))
    assert m.body_text == "Grüße, soft break €\n"


@pytest.mark.parametrize("cte", [b"8bit", b"7-bit", b"spam", b"", b"x-token"])
def test_identity_and_garbage_transfer_encodings(cte: bytes) -> None:
    m = parse(plain("Grüße\n".encode(), extra=b"Content-Transfer-Encoding: " + cte + b"\n"))
    assert m.body_text == "Grüße\n"


def multipart(subtype: str, *parts: tuple[str, str]) -> bytes:
    body = "".join(f"--b\nContent-Type: {ct}\n\n{text}\n" for ct, text in parts)
    return plain(f"{body}--b--\n".encode(), f'multipart/{subtype}; boundary="b"'.encode())


def test_alternative_prefers_plain_and_keeps_html() -> None:
    m = parse(
        multipart(
            "alternative",
            ("text/plain; charset=utf-8", "plain version"),
            ("text/html; charset=utf-8", "<p>html <b>version</b></p>"),
        )
    )
    assert m.body_text == "plain version"
    assert m.body_html == "<p>html <b>version</b></p>"


def test_alternative_with_empty_plain_uses_html() -> None:
    m = parse(multipart("alternative", ("text/plain", "  "), ("text/html", "<p>the real text</p>")))
    assert m.body_text.strip() == "the real text"


def test_mixed_joins_inline_text_parts() -> None:
    m = parse(multipart("mixed", ("text/plain", "first"), ("text/plain", "second")))
    assert m.body_text == "first\n\nsecond"


def test_html_only_is_converted_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsing must never touch the network")

    for name in ("socket", "create_connection", "getaddrinfo", "gethostbyname"):
        monkeypatch.setattr(socket, name, no_network)
    html = (
        b"<html><head><style>p {color: red}</style><script>alert('pwned')</script></head>"
        b'<body><p>Hello <b>there</b></p><img src="http://tracker.example/pixel.gif" alt=x>'
        b'<p>See <a href="https://example.com/help">help</a></p>'
        b"<blockquote>old text</blockquote></body></html>"
    )
    m = parse(plain(html, b"text/html; charset=utf-8"))
    assert "Hello" in m.body_text and "there" in m.body_text
    assert "https://example.com/help" in m.body_text
    assert "pwned" not in m.body_text and "color" not in m.body_text
    assert "tracker.example" not in m.body_text
    assert m.body_html == html.decode()
    assert "> old text" in m.body_text


def test_html_charset_from_meta() -> None:
    html = '<meta charset="windows-1251"><p>Привет</p>'.encode("cp1251")
    m = parse(plain(html, b"text/html"))
    assert "Привет" in m.body_text and m.body_html is not None and "Привет" in m.body_html


def test_attachments() -> None:
    msg = EmailMessage()
    msg["From"] = "a@b.c"
    msg.set_content("see attached")
    msg.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="Grüße ß.pdf")
    msg.add_attachment(b"root:x", maintype="text", subtype="plain", filename="../../etc/passwd")
    msg.add_attachment(b"\x89PNG", maintype="image", subtype="png", filename="pic.png")
    list(msg.iter_attachments())[-1].replace_header(
        "Content-Disposition", 'inline; filename="pic.png"'
    )
    msg.add_attachment(b"BEGIN:VCALENDAR", maintype="text", subtype="calendar")
    m = parse(msg.as_bytes())
    assert m.body_text == "see attached\n"
    got = [(a.filename, a.content_type, a.data) for a in m.attachments]
    assert got[:3] == [
        ("Grüße ß.pdf", "application/pdf", b"%PDF"),
        ("../../etc/passwd", "text/plain", b"root:x"),
        ("pic.png", "image/png", b"\x89PNG"),
    ]
    assert got[3][1:] == ("text/calendar", b"BEGIN:VCALENDAR") and got[3][0].endswith(".ics")


@pytest.mark.parametrize(
    "disposition",
    [
        b"attachment; filename*=UTF-8''%C3%A9t%C3%A9%20report.txt",
        b"attachment; filename*0*=utf-8''%C3%A9t%C3%A9; filename*1=\" report.txt\"",
        b'attachment; filename="=?utf-8?q?=C3=A9t=C3=A9_report.txt?="',
        b"attachment; filename==?utf-8?q?=C3=A9t=C3=A9_report.txt?=",
        b"attachment; filename=\xc3\xa9t\xc3\xa9 report.txt",
    ],
)
def test_attachment_filename_encodings(disposition: bytes) -> None:
    raw = multipart("mixed", ("text/plain", "body"))[: -len(b"--b--\n")] + (
        b"--b\nContent-Type: text/plain\nContent-Disposition: " + disposition + b"\n\nfile\n--b--\n"
    )
    m = parse(raw)
    assert [a.filename for a in m.attachments] == ["été report.txt"] and m.body_text == "body"


def test_forwarded_message_becomes_eml() -> None:
    inner = "From: x@y.z\nSubject: Original question\n\nThe original.\n"
    m = parse(multipart("mixed", ("text/plain", "fyi"), ("message/rfc822", inner)))
    assert [a.filename for a in m.attachments] == ["Original question.eml"]
    assert m.attachments[0].content_type == "message/rfc822"
    assert b"The original." in m.attachments[0].data
    m = parse(multipart("mixed", ("message/rfc822", "From: x@y.z\n\nno subject\n")))
    assert [a.filename for a in m.attachments] == ["forwarded.eml"]


def test_boundary_never_found() -> None:
    m = parse(plain(b"just text, no parts\n", b'multipart/mixed; boundary="nowhere"'))
    assert "just text, no parts" in m.body_text
    assert m.problem is not None and "malformed MIME structure" in m.problem


def test_boundary_never_closed() -> None:
    raw = plain(
        b"--b\nContent-Type: text/plain\n\nvisible\n--b\nContent-Type: application/pdf\n"
        b"Content-Disposition: attachment; filename=a.pdf\n\n%PDF-cut",
        b'multipart/mixed; boundary="b"',
    )
    m = parse(raw)
    assert m.body_text == "visible"
    assert [a.filename for a in m.attachments] == ["a.pdf", "original.eml"]
    assert m.problem is not None and "never closed" in m.problem


def test_multipart_without_boundary_parameter() -> None:
    m = parse(plain(b"--x\n\nsome text\n", b"multipart/mixed"))
    assert "some text" in m.body_text and m.problem is not None


def nested(depth: int) -> bytes:
    opening = b"".join(
        b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1) for i in range(depth)
    )
    closing = b"".join(b"--b%d--\n" % i for i in reversed(range(depth)))
    inner = b"--b%d\nContent-Type: text/plain\n\ndeep\n" % depth
    return plain(opening + inner + closing, b"multipart/mixed; boundary=b0")


def test_deep_nesting_is_bounded() -> None:
    m = parse(nested(300))
    assert m.problem == "malformed MIME structure: too many or too deeply nested parts skipped"
    m = parse(nested(3000))  # deeper than the stdlib parser can recurse
    assert (m.from_address, m.message_id) == ("ann@example.org", "<m1@example.org>")
    assert m.body_text.startswith("--b0\n") and "deep" in m.body_text
    assert m.problem == "malformed MIME structure: too deeply nested, shown as raw text"


def test_too_many_parts_is_bounded() -> None:
    part = b"--b\nContent-Type: image/png\nContent-Disposition: attachment; filename=a.png\n\nx\n"
    m = parse(plain(part * 5000 + b"--b--\n", b"multipart/mixed; boundary=b"))
    assert len(m.attachments) == email_parse.MAX_PARTS - 1 + 1  # and original.eml
    assert m.problem is not None and "too many" in m.problem


def test_huge_headers_are_cheap() -> None:
    words = b"=?utf-8?b?w6k=?= " * 50_000
    raw = b"From: " + b"a@b.c, " * 50_000 + b"\nTo: " + words + b"<x@y.z>\nSubject: " + words
    started = time.monotonic()
    m = parse(raw + b"\nContent-Type: text/plain; " + b"a=b; " * 50_000 + b"\n\nbody\n")
    assert time.monotonic() - started < 5
    assert m.from_address == "a@b.c" and m.subject is not None and m.subject.startswith("é")
    assert m.body_text == "body\n"


def test_empty_inputs() -> None:
    assert parse(b"From: a@b.c\n\n").body_text == ""
    m = parse(b"")
    assert m.body_text == "" and m.problem == "no From header" and m.external_id
    m = parse(b"From: a@b.c\nContent-Type: multipart/mixed; boundary=x\n\n")
    assert m.body_text == "" and m.problem is None


def test_nul_bytes_never_reach_strings() -> None:
    raw = (
        b"From: A\x00nn <a\x00@b.c>\nSubject: nul\x00here\nMessage-ID: <id\x00@x>\n"
        b"Content-Type: text/html\n\n<p>bo\x00dy</p>\x00"
    )
    m = parse(raw)
    assert not any("\x00" in s for s in strings(m))
    assert "body" in m.body_text


def test_huge_body_is_truncated() -> None:
    m = parse(plain(b"x" * (3 * 1024 * 1024)))
    assert m.body_text.startswith("x" * 1000)
    assert m.body_text.endswith(
        f"[… truncated: {3 * 1024 * 1024 - MAX_TEXT_CHARS} more characters]"
    )
    assert len(m.body_text) < MAX_TEXT_CHARS + 100


def test_obsolete_header_syntax_is_repaired() -> None:
    m = parse(b"Received: x\njunk line\nFrom  : Ann <ann@b.c>\nSubject : Hi\n\nbody\n")
    assert (m.from_address, m.subject, m.body_text) == ("ann@b.c", "Hi", "body\n")
    assert m.problem == "skipped 1 malformed header line(s)"


def test_total_failure_returns_raw_text(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(email_parse, "_parse", explode)
    parsed = parse_message(b"Message-ID: <x@y>\n\nsome \xff text", account_key="k")
    m = parsed.message
    assert isinstance(parsed, ParsedEmail) and m.channel == "email"
    assert m.body_text == "Message-ID: <x@y>\n\nsome \ufffd text"
    assert m.message_id == "<x@y>" and m.problem == "could not parse message: RuntimeError: boom"
    big = parse_message(b"a" * (email_parse.MAX_RAW_FALLBACK + 10), account_key="k").message
    assert big.body_text.endswith("[… truncated: 10 more bytes]")
    assert big.message_id == no_message_id("k")


def test_random_damage_never_raises() -> None:
    seed = (HERE / "mail" / "mixed_forward.eml").read_bytes()
    rng = random.Random(5322)
    for _ in range(300):
        data = bytearray(seed)
        for _ in range(rng.randint(1, 40)):
            pos = rng.randrange(len(data))
            action = rng.random()
            if action < 0.4:
                data[pos] = rng.randrange(256)
            elif action < 0.7:
                del data[pos : pos + rng.randint(1, 50)]
            else:
                data[pos:pos] = rng.choice([b"\n", b"--outer", b"=?utf-8?b?", b"\x00", b"\r"])
        m = parse(bytes(data))
        assert m.external_id and m.channel == "email"
        assert not any("\x00" in s for s in strings(m))


# -- quoted history -------------------------------------------------------------


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, 1 Jan 2024 at 10:00, Jane Doe <jane@example.com> wrote:",
        "Am 01.01.2024 um 10:00 schrieb Max Mustermann <max@example.de>:",
        "Le lun. 1 janv. 2024 à 10:00, Marie <marie@example.fr> a écrit :",
        "El lun, 1 ene 2024 a las 10:00, Juan (<juan@example.es>) escribió:",
        "Op ma 1 jan. 2024 om 10:00 schreef Piet <piet@example.nl>:",
    ],
)
def test_fold_attribution_and_quote(attribution: str) -> None:
    text = f"Thanks, that helped!\n\n{attribution}\n> old question\n> more\n"
    assert fold_quoted(text) == (
        "Thanks, that helped!",
        f"{attribution}\n> old question\n> more",
    )


def test_fold_wrapped_gmail_attribution() -> None:
    text = "Yes.\n\nOn Mon, Jan 1, 2024 at 10:00 AM Jane Doe <\njane@example.com> wrote:\n\n> q\n"
    assert fold_quoted(text) == ("Yes.", "On Mon, Jan 1, 2024 at 10:00 AM Jane Doe <\n"
                                 "jane@example.com> wrote:\n\n> q")  # fmt: skip


@pytest.mark.parametrize(
    "marker",
    [
        "-----Original Message-----\nFrom: Support\nSent: Monday",
        "----- Ursprüngliche Nachricht -----\nVon: Support",
        "________________________________\nFrom: Support <s@example.com>\nSent: Monday",
        "From: Support <s@example.com>\nSent: Monday, January 1, 2024 10:00\nTo: me",
        "**From:** Support <s@example.com>\n**Sent:** Monday",
        "De : Support\nEnvoyé : lundi",
    ],
)
def test_fold_outlook(marker: str) -> None:
    text = f"New answer here.\n\n{marker}\nSubject: old\n\nold body\n"
    new, history = fold_quoted(text)
    assert new == "New answer here." and history.startswith(marker.splitlines()[0])


def test_fold_signature() -> None:
    assert fold_quoted("Hi,\nplease call me.\n-- \nAnn\n+49 123") == (
        "Hi,\nplease call me.",
        "-- \nAnn\n+49 123",
    )
    assert fold_quoted("Hi\n--\nAnn") == ("Hi", "--\nAnn")


def test_fold_keeps_inline_answers() -> None:
    text = "> Is it broken?\nYes.\n\n> Since when?\nMonday.\n\n> Anything else?\n> Bye\n"
    new, history = fold_quoted(text)
    assert new == "> Is it broken?\nYes.\n\n> Since when?\nMonday."
    assert history == "> Anything else?\n> Bye"


@pytest.mark.parametrize(
    "text",
    [
        "Just a message.\nOn Monday we talked about it.\nThanks",
        "> only a quote\n> nothing new\n",
        "-- \nonly a signature",
        "On Monday I wrote: the thing.\nmore text",
        "",
        "no markers\nat all\n",
        "From: the web form\nName: Ann\nMessage: help",
    ],
)
def test_fold_leaves_text_alone(text: str) -> None:
    assert fold_quoted(text) == (text.rstrip(), "")


@pytest.mark.parametrize(
    "marker", ["---------- Forwarded message ---------", "Begin forwarded message:"]
)
def test_fold_keeps_forwarded_content(marker: str) -> None:
    text = f"Please see below.\n\n{marker}\nFrom: X <x@y.z>\nDate: Mon\n\nHelp!\n-- \nX\n"
    assert fold_quoted(text) == (text.rstrip(), "")
    text = f"See below.\n-- \nAnn\n\n{marker}\nFrom: X\nDate: Mon\n\nHelp!"
    assert fold_quoted(text) == ("See below.", text[len("See below.\n") :])


def test_fold_prose_with_wrote_needs_a_quote() -> None:
    text = "Hi,\nmy colleague Bob wrote:\nthe printer is broken.\n"
    assert fold_quoted(text) == (text.rstrip(), "")


SIMPLE_ADDRESSES = [
    "ann@example.com",
    "  ann@example.com ",
    "Ann Example <ann@example.com>",
    '"Example, Ann" <ann.b@mail.example.co.uk>',
    "<ann@example.com>",
    "O'Brien <o.brien+support@example.com>",
    '"Dr. Ann Q. Example" <ann@example.com>',
]


@pytest.mark.parametrize("raw", SIMPLE_ADDRESSES)
def test_plain_addresses_read_directly_as_the_general_parsers_read_them(raw: str) -> None:
    assert email_parse._SIMPLE_ADDRESS.fullmatch(raw), raw
    msg = EmailMessage()
    msg["From"] = raw
    assert email_parse._addresses(msg, "From") == email_parse._any_addresses("From", raw)


@pytest.mark.parametrize(
    "raw",
    [
        "=?utf-8?q?J=C3=BCrgen?= <j@example.com>",
        "a@example.com, b@example.com",
        "Ann (x) <a@b.org>",
    ],
)
def test_other_addresses_take_the_general_parsers(raw: str) -> None:
    assert not email_parse._SIMPLE_ADDRESS.fullmatch(raw)
