"""Who an e-mail goes to: the address rules both faces use, once.

* :func:`addresses` reads what a person typed (``--cc``, the composer's Cc
  line: one address or a comma-separated list, display names allowed) into
  plain, lower-cased, checked addresses, or raises :class:`InvalidRequest`
  naming the bad one (as ``repr``, so an escape sequence is shown, never
  played).
* :func:`checked` is what :func:`omnitui.services.messages.reply` and
  ``send_new`` apply to an :class:`Extras` before anything is queued: To, Cc
  and Bcc only on e-mail, each address valid, once across the three lists
  (To before Cc before Bcc), one To, at most :data:`MAX_RECIPIENTS` in all.
* :func:`reply_all` is the reply-all rule on plain data; :func:`reply_all_for`
  applies it to the message a reply to a conversation answers (its newest
  received e-mail: the one the reply's In-Reply-To names).

The reply-all rule: To is the sender, or its Reply-To when it has one (a
Reply-To naming several: the first is To, the others join Cc); Cc is the
message's other To and Cc recipients, less every address of ours (each
configured account's, and the one the mail came in on) and less the To. The
conversation's customer is never added by itself: a reply-all answers who
the message named.

Reply-To is not a column of ``message`` (migration 0004 has To and Cc
only). It is read from the header block of the mail's bytes as fetched where
those are kept (``original.eml``, for a mail the parser could not read
whole, under the data directory): every address it lists. Else it is the
conversation's own answer address (the Reply-To of the mail that began it,
see services.ingest) when the answered mail comes from the same sender as
that one; else the sender is the To.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import Session

from omnitui.services.base import AccountInfo, InvalidRequest, _get
from providers.email_parse import ORIGINAL
from storage.blobs import read_blob
from storage.db import Store
from storage.models import Conversation, attachment_t, message_t
from storage.queries.timeline import address_list

if TYPE_CHECKING:
    from omnitui.services.messages import Extras

#: The most recipients (To, Cc and Bcc together) one message may have: more
#: is a mailing list, which a help desk should not become (and most servers
#: refuse a few hundred RCPT TO).
MAX_RECIPIENTS = 100
#: RFC 5321's longest path; a longer "address" is junk or an attack.
MAX_ADDRESS_CHARS = 254

# What a mailbox may look like here: a dot-atom local part and a domain of
# dot-separated labels (international letters allowed), at least one dot.
# Stricter than RFC 5322 on purpose: quoted local parts and address literals
# are never a customer's, and they are where header tricks hide.
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
_MAILBOX = re.compile(rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})+")
# controls (an escape sequence, CR/LF: a header injection) and invisible marks
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
#: The most header bytes read from a stored mail to find its Reply-To.
_HEADER_BYTES = 256 * 1024


def address(text: str, what: str = "address") -> str:
    """One e-mail address as typed (``ann@example.com`` or ``Ann <ann@example.com>``),
    plain and lower-cased; :class:`InvalidRequest` names it when it is not one."""
    shown = repr(text[:80]) + ("…" if len(text) > 80 else "")
    if _CONTROLS.search(text):
        raise InvalidRequest(f"the {what} {shown} contains control characters: nothing was queued")
    found = getaddresses([text.replace(";", ",")])
    if len(found) != 1:
        raise InvalidRequest(f"the {what} {shown} is not one e-mail address: nothing was queued")
    plain = found[0][1].strip().lower()
    if len(plain) > MAX_ADDRESS_CHARS or not _MAILBOX.fullmatch(plain):
        raise InvalidRequest(
            f"the {what} {shown} is not an e-mail address (expected name@example.com): "
            "nothing was queued"
        )
    return plain


def addresses(values: Iterable[str], what: str = "address") -> tuple[str, ...]:
    """Every address in ``values`` (each one address or a comma-separated
    list; empty items skipped), plain, once each, in order."""
    seen: dict[str, None] = {}
    for value in values:
        if _CONTROLS.search(value):
            address(value, what)  # raises, naming it
        for part in _split(value):
            seen.setdefault(address(part, what), None)
            if len(seen) > MAX_RECIPIENTS:
                raise _too_many(len(seen))
    return tuple(seen)


def _split(value: str) -> list[str]:
    """``value`` cut at the commas (and semicolons) between addresses, not
    those inside a quoted display name."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char in ",;" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _too_many(count: int) -> InvalidRequest:
    return InvalidRequest(
        f"{count} recipients: at most {MAX_RECIPIENTS} (To, Cc and Bcc together); "
        "nothing was queued"
    )


def checked(channel: str, extras: Extras) -> Extras:
    """``extras`` with its To, Cc and Bcc checked and cleaned for ``channel``
    (see the module docstring), or :class:`InvalidRequest` saying what is wrong."""
    if not (extras.to or extras.cc or extras.bcc):
        return extras
    if channel != "email":
        named = "/".join(
            n for n, v in (("To", extras.to), ("Cc", extras.cc), ("Bcc", extras.bcc)) if v
        )
        raise InvalidRequest(
            f"{named} recipients are e-mail only; {channel} has one recipient, the customer: "
            "nothing was queued"
        )
    to = addresses(extras.to, "To address")
    if len(to) > 1:
        raise InvalidRequest(
            f"an e-mail goes to one To address ({len(to)} given): put the others in Cc; "
            "nothing was queued"
        )
    cc = tuple(a for a in addresses(extras.cc, "Cc address") if a not in to)
    bcc = tuple(a for a in addresses(extras.bcc, "Bcc address") if a not in to and a not in cc)
    if len(to) + len(cc) + len(bcc) > MAX_RECIPIENTS:
        raise _too_many(len(to) + len(cc) + len(bcc))
    return replace(extras, to=to, cc=cc, bcc=bcc)


def _plain(values: Iterable[str]) -> list[str]:
    """The readable addresses of ``values`` (stored or parsed), lower-cased;
    what is not an address is dropped (a reply-all never fails on junk Cc)."""
    out: list[str] = []
    for value in values:
        try:
            out.append(address(value))
        except InvalidRequest:
            continue
    return out


def reply_all(
    sender: str,
    reply_to: Sequence[str],
    to: Sequence[str],
    cc: Sequence[str],
    ours: Iterable[str],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The To and Cc of a reply-all to a message from ``sender`` (with its
    ``reply_to``, ``to`` and ``cc`` headers' addresses); ``ours`` are our own
    addresses, never answered. See the module docstring for the rule."""
    own = {a.lower() for a in ours}
    answer = [a for a in _plain(reply_to) if a not in own] or [
        a for a in _plain([sender]) if a not in own
    ]
    first = tuple(answer[:1])
    seen: dict[str, None] = {}
    for candidate in [*answer[1:], *_plain(to), *_plain(cc)]:
        if candidate not in own and candidate not in first:
            seen.setdefault(candidate, None)
    return first, tuple(seen)


def our_addresses(accounts: Mapping[str, AccountInfo], *more: str) -> frozenset[str]:
    """Every e-mail address of ours: each configured account's, and ``more``
    (the address a conversation's mail came in on)."""
    found = {info.addresses.get("email", "") for info in accounts.values()} | set(more)
    return frozenset(a.strip().lower() for a in found if a and "@" in a)


@dataclass(frozen=True)
class ReplyAll:
    """Who a reply-all to a conversation goes to, and the message it answers
    (``None``: the conversation has no received e-mail: To is its customer)."""

    to: tuple[str, ...]
    cc: tuple[str, ...]
    message_id: int | None


def stored_reply_to(store: Store, session: Session, message_id: int) -> list[str]:
    """The Reply-To addresses of received mail ``message_id``, from its bytes as
    fetched (``original.eml``); empty when it has none or they are not here."""
    a = attachment_t.c
    digest = session.execute(
        select(a.sha256)
        .where(
            a.message_id == message_id,
            a.filename == ORIGINAL,
            a.content_type == "message/rfc822",
        )
        .order_by(a.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if digest is None:
        return []
    try:
        raw = read_blob(store.data_dir, digest)
    except OSError:
        return []  # another host's data directory: the sender answers
    head = raw[:_HEADER_BYTES].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    header = BytesHeaderParser(policy=compat32).parsebytes(head + b"\r\n\r\n")
    values = [str(v) for v in header.get_all("Reply-To") or []]
    return [addr for _name, addr in getaddresses(values) if addr]


def _thread_reply_to(session: Session, conv: Conversation, sender: str) -> list[str]:
    """The conversation's answer address, when ``sender`` also wrote the mail
    that began it (whose Reply-To that address is)."""
    m = message_t.c
    first = session.execute(
        select(m.from_address)
        .where(m.conversation_id == conv.id, m.direction == "in")
        .order_by(m.sent_at, m.id)
        .limit(1)
    ).scalar_one_or_none()
    if first is None or first.strip().lower() != sender.strip().lower():
        return []
    return [conv.their_address] if conv.their_address.lower() != sender.lower() else []


def reply_all_for(
    store: Store, accounts: Mapping[str, AccountInfo], conversation_id: int
) -> ReplyAll:
    """The To and Cc of a reply-all to ``conversation_id``: the rule applied to
    its newest received e-mail (:class:`NotFound` for no such conversation)."""
    m = message_t.c
    with store.read() as session:
        conv = _get(session, Conversation, conversation_id, "conversation")
        if conv.channel != "email":
            raise InvalidRequest(
                f"conversation {conversation_id} is on {conv.channel}: reply-all is for e-mail"
            )
        row = session.execute(
            select(m.id, m.from_address, m.to_addresses, m.cc_addresses, m.reply_to_addresses)
            .where(m.conversation_id == conversation_id, m.direction == "in")
            .order_by(m.sent_at.desc(), m.id.desc())
            .limit(1)
        ).first()
        if row is None:
            return ReplyAll((conv.their_address,), (), None)
        reply_to = (
            address_list(row.reply_to_addresses)  # stored since migration 0006
            or stored_reply_to(store, session, row.id)
            or _thread_reply_to(session, conv, row.from_address)
        )
    ours = our_addresses(accounts, conv.our_address)
    to, cc = reply_all(
        row.from_address,
        reply_to,
        address_list(row.to_addresses),
        address_list(row.cc_addresses),
        ours,
    )
    return ReplyAll(to or (conv.their_address,), cc, int(row.id))


def reply_extras(
    store: Store,
    accounts: Mapping[str, AccountInfo],
    conversation_id: int,
    *,
    everyone: bool = False,
    cc: Sequence[str] = (),
    bcc: Sequence[str] = (),
) -> Extras:
    """The recipients of a reply to ``conversation_id`` as ``omnitui reply``
    takes them: with ``everyone`` (``--all``) the reply-all's To and Cc, then
    the ``cc`` and ``bcc`` given (checked when the reply is queued)."""
    from omnitui.services.messages import Extras

    if not everyone:
        return Extras(cc=tuple(cc), bcc=tuple(bcc))
    found = reply_all_for(store, accounts, conversation_id)
    return Extras(to=found.to, cc=(*found.cc, *cc), bcc=tuple(bcc))


def from_lines(to: str, cc: str, bcc: str) -> Extras:
    """The recipients of the composer's header lines as typed (each line one
    address or a comma-separated list; an empty To: the customer). Checked
    when the reply is queued, as the CLI's are."""
    from omnitui.services.messages import Extras

    def line(text: str) -> tuple[str, ...]:
        return (text,) if text.strip() else ()

    return Extras(to=line(to), cc=line(cc), bcc=line(bcc))
