"""Forwarding a message: from any channel, to someone by e-mail.

A forward is a new e-mail conversation with the recipient (a customer found
or made by their address), queued like any new message. Its text is the
agent's cover note (and the agent's signature, under the note, not after
the original), then a "Forwarded message" block naming the original's
From, Date, Subject, To and Cc, then the original's text; the original's
files go with it as attachments (the bytes as stored: the data directory for
received files, the store's ``blob`` table for files we queued). The parser's
own copy of a received mail (``original.eml``) is not forwarded: its text and
files are. ``message.forwarded_from_id`` links the forward to the original,
whose timeline says "forwarded to ADDR by AGENT".
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import format_datetime

from sqlalchemy import select
from sqlmodel import Session

from omnitui.services.base import AccountInfo, InvalidRequest, NotFound, ServiceError
from omnitui.services.messages import Extras, _account_for, send_new
from omnitui.services.recipients import address, addresses
from omnitui.services.signing import signature_for
from omnitui.signatures import SEPARATOR as SIGNATURE_LINE
from omnitui.signatures import sign
from omnitui.text import one_line
from providers.base import OutboundAttachment
from providers.email_parse import ORIGINAL
from storage.blobs import read_blob
from storage.db import Store, utc
from storage.models import attachment_t, blob_t, customer_t, message_t
from storage.queries import id_fits
from storage.queries.timeline import address_list

SEPARATOR = "---------- Forwarded message ----------"


@dataclass(frozen=True)
class Original:
    """What a forward quotes of the message it forwards."""

    id: int
    account: str
    channel: str
    sender: str
    date: str
    subject: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    text: str
    files: tuple[OutboundAttachment, ...]

    def block(self) -> str:
        """The "Forwarded message" block: its headers, then its text."""
        lines = [SEPARATOR, f"From: {self.sender}", f"Date: {self.date}"]
        lines.append(f"Subject: {self.subject or ''}")
        if self.to:
            lines.append(f"To: {', '.join(self.to)}")
        if self.cc:
            lines.append(f"Cc: {', '.join(self.cc)}")
        return "\n".join(lines) + "\n\n" + self.text

    def forward_subject(self) -> str:
        subject = one_line(self.subject) or f"{self.channel} message from {self.sender}"
        return subject if subject.lower().startswith("fwd:") else f"Fwd: {subject}"


def _files(store: Store, session: Session, message_id: int) -> tuple[OutboundAttachment, ...]:
    a = attachment_t.c
    rows = session.execute(
        select(a.filename, a.content_type, a.sha256)
        .where(a.message_id == message_id)
        .order_by(a.id)
    ).all()
    files = []
    for row in rows:
        if row.filename == ORIGINAL and row.content_type == "message/rfc822":
            continue  # the parser's copy of the whole mail, not a file the sender attached
        data = session.execute(
            select(blob_t.c.data).where(blob_t.c.sha256 == row.sha256)
        ).scalar_one_or_none()
        if data is None:
            try:
                data = read_blob(store.data_dir, row.sha256)
            except OSError:
                raise ServiceError(
                    f"the file {row.filename!r} of message {message_id} is not in this host's "
                    f"data directory ({store.data_dir}): forward it from the host that "
                    "received it; nothing was queued"
                ) from None
            if hashlib.sha256(data).hexdigest() != row.sha256:
                raise ServiceError(
                    f"the file {row.filename!r} of message {message_id} is damaged in this "
                    f"host's data directory ({store.data_dir}): its bytes are not those "
                    "received; nothing was queued"
                )
        files.append(OutboundAttachment(row.filename, row.content_type, bytes(data)))
    return tuple(files)


def original(store: Store, message_id: int) -> Original:
    """Message ``message_id`` as a forward quotes it (:class:`NotFound` if none)."""
    m, c = message_t.c, customer_t.c
    with store.read() as session:
        row = (
            session.execute(
                select(
                    m.id,
                    m.account,
                    m.channel,
                    m.direction,
                    m.from_address,
                    m.to_address,
                    m.to_addresses,
                    m.cc_addresses,
                    m.subject,
                    m.body_text,
                    m.sent_at,
                    m.author,
                    c.name,
                )
                .join(customer_t, c.id == m.customer_id)
                .where(m.id == message_id)
            ).first()
            if id_fits(session, message_id, message_t)
            else None
        )
        if row is None:
            raise NotFound(f"there is no message {message_id}")
        files = _files(store, session, message_id)
    name = row.name if row.direction == "in" else row.author
    named = one_line(name) if name and name != row.from_address else ""
    sender = f"{named} <{row.from_address}>" if named else row.from_address
    return Original(
        id=row.id,
        account=row.account,
        channel=row.channel,
        sender=sender,
        date=format_datetime(utc(row.sent_at)),
        subject=row.subject,
        to=address_list(row.to_addresses) or ((row.to_address,) if row.to_address else ()),
        cc=address_list(row.cc_addresses),
        text=row.body_text,
        files=files,
    )


def forward(
    store: Store,
    accounts: Mapping[str, AccountInfo],
    message_id: int,
    to: str,
    author: str,
    *,
    note: str = "",
    cc: tuple[str, ...] = (),
    subject: str | None = None,
) -> int:
    """Queue a forward of ``message_id`` to ``to`` by e-mail, with the cover
    ``note`` first; returns the new message's id. Nothing is queued when the
    address is not one, or a file cannot be read."""
    recipient = address(to, "To address")
    copies = addresses(cc, "Cc address")
    quoted = original(store, message_id)
    account = quoted.account if "email" in _channels(accounts, quoted.account) else None
    if account is None and not any("email" in info.channels for info in accounts.values()):
        raise InvalidRequest("no configured account carries e-mail: a forward goes by e-mail")
    cover = note.strip("\n")
    # signed here, under the cover note: after the quoted original the
    # agent's signature would read as part of what is forwarded
    signature = signature_for(_account_for(accounts, "email", account), "email", author)
    if signature:
        cover = sign(cover, signature) if cover.strip() else f"{SIGNATURE_LINE}\n{signature}"
    body = f"{cover}\n\n{quoted.block()}" if cover.strip() else quoted.block()
    return send_new(
        store,
        accounts,
        channel="email",
        body=body,
        author=author,
        to=recipient,
        account=account,
        subject=subject or quoted.forward_subject(),
        extras=Extras(cc=copies, files=quoted.files, forwarded_from_id=quoted.id, signed=False),
    )


def _channels(accounts: Mapping[str, AccountInfo], name: str) -> tuple[str, ...]:
    info = accounts.get(name)
    return info.channels if info is not None else ()
