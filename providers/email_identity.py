"""Which e-mail is which: the external id of a fetched mail.

A Message-ID alone does not name one mail: broken mailers and scripts reuse
one for different messages. So the store's key for a fetched mail is
``<message-id>#<content digest>``: the same mail seen again (in another
folder, after a UIDVALIDITY change, re-fetched) gets the same key, a
different mail with the same Message-ID another one. ``message_id`` stays
the plain Message-ID, which threading and replies use.

The digest is taken from the raw bytes, not from what the parser made of
them, so a later change to the parser never makes known mail look new. It
covers what a sender wrote and nothing a server adds on the way or on
storing: From, To, Cc, Date and Subject as written (unfolded, runs of white
space as one space) and the body section, with line endings as LF, trailing
white space and trailing blank lines dropped and mbox ">From " quoting
undone (a copy that passed through an mbox store reads the same). Received,
Return-Path, DKIM and X-* headers, which differ between two copies of one
mail, are not in it.
"""

from __future__ import annotations

import hashlib
import re

#: The headers that, with the body, make a mail what it is.
DIGEST_HEADERS = ("from", "to", "cc", "date", "subject")
DIGEST_HEX = 32  # 128 bits: no two different mails of one Message-ID collide
SEPARATOR = "#"  # never part of a Message-ID, which ends at its ">"

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FIELD = re.compile(rb"([!-9;-~]+)[ \t]*:(.*)", re.S)
_SPACE = re.compile(rb"[ \t\r\n]+")
_TRAILING = re.compile(rb"[ \t]+\n")
_MBOX_QUOTE = re.compile(rb"^>+(?=From )", re.M)


def content_digest(raw: bytes) -> str:
    """The hex digest that tells two mails with one Message-ID apart."""
    end = _HEADER_END.search(raw)
    head, body = (raw[: end.start()], raw[end.end() :]) if end else (raw, b"")
    values: dict[bytes, bytes] = {}
    for line in re.split(rb"\r?\n(?![ \t])", head):
        found = _FIELD.match(line)
        if found is not None:
            name = found.group(1).lower()
            if name.decode("ascii") in DIGEST_HEADERS and name not in values:
                values[name] = _SPACE.sub(b" ", found.group(2)).strip()
    # (each pass only where it has something to do: a digest per fetched mail)
    body = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if b" \n" in body or b"\t\n" in body:
        body = _TRAILING.sub(b"\n", body)
    if b">From " in body:
        body = _MBOX_QUOTE.sub(b"", body)
    body = body.rstrip(b" \t\n")
    digest = hashlib.sha256()
    for name in DIGEST_HEADERS:
        digest.update(name.encode("ascii") + b":" + values.get(name.encode("ascii"), b"") + b"\n")
    digest.update(b"\n" + body)
    return digest.hexdigest()[:DIGEST_HEX]


def mail_external_id(message_id: str, raw: bytes) -> str:
    """The store's key for the mail ``raw`` whose Message-ID is ``message_id``."""
    return f"{message_id}{SEPARATOR}{content_digest(raw)}"
