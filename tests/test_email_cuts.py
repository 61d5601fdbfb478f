"""Nothing is cut silently: whatever parsing cuts or drops, the problem says
what, and the mail's bytes are kept whole as original.eml beside it.

Each cut path is taken once (bounds lowered where the real one would make a
slow test), the message stored on both engines, and the attachment read
back; one real 30 MB mail goes through Dovecot.
"""

from __future__ import annotations

from collections.abc import Callable

import html2text
import pytest
from sqlalchemy import select

from omnitui.services.ingest import ingest
from omnitui.services.sync import sync_once
from providers import email_parse
from providers.email import EmailProvider
from providers.email_parse import parse_message
from storage.blobs import read_blob
from storage.db import Store
from storage.models import Attachment, Message
from tests.helpers import batch
from tests.mail_fixtures import Mailbox, raw, stored

HEAD = b"From: Ann <ann@example.org>\r\nTo: help@example.com\r\nMessage-ID: <m1@example.org>\r\n"


def mime(body: bytes, ctype: bytes = b"text/plain; charset=utf-8", extra: bytes = b"") -> bytes:
    return HEAD + extra + b"MIME-Version: 1.0\r\nContent-Type: " + ctype + b"\r\n\r\n" + body


def parts(count: int) -> bytes:
    one = b"--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=a.png\r\n"
    one += b"\r\nx\r\n"
    return mime(one * count + b"--b--\r\n", b"multipart/mixed; boundary=b")


def nested(depth: int) -> bytes:
    opening = b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
        for i in range(depth)
    )
    inner = b"--b%d\r\nContent-Type: text/plain\r\n\r\ndeep\r\n" % depth
    return mime(opening + inner, b"multipart/mixed; boundary=b0")


def explode(*args: object, **kwargs: object) -> None:
    raise RuntimeError("boom")


Patch = Callable[[pytest.MonkeyPatch], None]


def bounds(**values: int) -> Patch:
    def patch(monkeypatch: pytest.MonkeyPatch) -> None:
        for name, value in values.items():
            monkeypatch.setattr(email_parse, name, value)

    return patch


def broken_html2text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html2text.HTML2Text, "handle", explode)


def unparseable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(email_parse, "_parse", explode)
    monkeypatch.setattr(email_parse, "MAX_RAW_FALLBACK", 100)


def nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    pass


LONG_LIST = b", ".join(b"person%d@example.com" % i for i in range(4000))  # over 65,536
CUTS: dict[str, tuple[bytes, Patch, str]] = {
    "text body": (mime(b"x" * 500), bounds(MAX_TEXT_CHARS=100), "text cut at 100 of 500"),
    "html body": (
        mime(b"<p>" + b"y" * 500 + b"</p>", b"text/html"),
        bounds(MAX_HTML_CHARS=100),
        "HTML cut at 100 of 507 characters",
    ),
    "html conversion": (
        mime(b"<p>hello</p>", b"text/html"),
        broken_html2text,
        "HTML not converted (RuntimeError): shown with its tags stripped",
    ),
    "raw text of an unparseable mail": (
        mime(b"z" * 500),
        unparseable,
        "raw text cut at 100 of",
    ),
    "part count": (parts(20), bounds(MAX_PARTS=5), "too many or too deeply nested parts skipped"),
    "part depth": (nested(8), bounds(MAX_DEPTH=3), "too many or too deeply nested parts skipped"),
    "address header": (
        HEAD.replace(b"To: help@example.com", b"To: " + LONG_LIST) + b"\r\nhi\r\n",
        nothing,
        "To header cut at 65,536 of",
    ),
    "part header": (
        mime(
            b"--b\r\nContent-Type: text/plain; x=" + b"q" * 70_000 + b"\r\n\r\nhi\r\n--b--\r\n",
            b"multipart/mixed; boundary=b",
        ),
        nothing,
        "Content-Type header cut at 65,536 of 70,0",
    ),
    "subject": (
        mime(b"hi", extra=b"Subject: " + b"s" * 3000 + b"\r\n"),
        nothing,
        "Subject cut at 2,000 characters (3,000 as sent)",
    ),
    "sender": (
        mime(b"hi").replace(b"From: Ann <ann@example.org>", b"From: (" + b"n" * 300 + b")"),
        nothing,
        "From cut at 200 of 302 characters",
    ),
    "references": (
        mime(
            b"hi", extra=b"References: " + b" ".join(b"<r%d@x>" % i for i in range(150)) + b"\r\n"
        ),
        nothing,
        "References cut to 100 of 150 ids",
    ),
    "over-long id": (
        mime(b"hi", extra=b"In-Reply-To: <" + b"i" * 1200 + b"@x>\r\n"),
        nothing,
        "In-Reply-To: 1 id(s) of 998 characters or more dropped",
    ),
    "NUL characters": (mime(b"a\x00b\x00c"), nothing, "2 NUL character(s) removed from the text"),
}


@pytest.mark.parametrize("cut", list(CUTS))
def test_each_cut_is_named_and_the_original_kept_whole(
    cut: str, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, patch, named = CUTS[cut]
    patch(monkeypatch)
    m = parse_message(data, account_key="k").message
    assert m.problem is not None and named in m.problem, m.problem
    ingest(store, "mail", batch(m, cursor=None))
    with store.read() as s:
        row = s.execute(select(Message)).scalar_one()
        files = s.execute(select(Attachment).where(Attachment.message_id == row.id)).scalars()
        original = [a for a in files if a.filename == "original.eml"]
    assert row.error is not None and named in row.error
    assert len(original) == 1 and original[0].content_type == "message/rfc822"
    assert read_blob(store.data_dir, original[0].sha256) == data


def test_mail_without_cuts_carries_no_original() -> None:
    m = parse_message(mime(b"<p>" + b"y" * 500 + b"</p>", b"text/html"), account_key="k").message
    assert m.problem is None and m.attachments == ()


def test_a_problem_too_long_to_keep_is_cut_visibly() -> None:
    part = b"--b\r\nContent-Type: text/plain; charset=x-unknown-%d\r\n\r\nhi\r\n"
    data = mime(
        b"".join(part % i for i in range(30)) + b"--b--\r\n", b"multipart/mixed; boundary=b"
    )
    problem = parse_message(data, account_key="k").message.problem
    assert problem is not None and len(problem) == email_parse.MAX_PROBLEM
    assert problem.startswith("unknown charset x-unknown-0: ") and problem.endswith("…")


def test_dovecot_a_30_mb_text_body_is_cut_and_kept_whole(
    store: Store, mailbox: Mailbox, provider: EmailProvider
) -> None:
    line = "All work and no play makes a long log line. " * 2 + "\r\n"
    body = line * (30 * 1024 * 1024 // len(line))
    mail = raw(1, subject="Log dump", body=body)
    mailbox.deliver(mail)
    assert sync_once(store, provider).stored == 1
    (m,) = stored(store)
    assert len(m.body_text) < email_parse.MAX_TEXT_CHARS + 100
    assert m.error is not None
    text = (body + "\r\n").replace("\r", "")
    assert f"text cut at 1,000,000 of {len(text):,} characters" in m.error
    with store.read() as s:
        (original,) = s.execute(select(Attachment)).scalars()
    assert original.filename == "original.eml" and original.size == len(mail)
    assert read_blob(store.data_dir, original.sha256) == mail
