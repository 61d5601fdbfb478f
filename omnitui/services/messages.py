"""Composing: replies, new messages and notes. The rules of what may be
queued (a text fit for its channel, a subject a new e-mail needs, the thread a
channel switch continues) live here once; the message is written ``queued``
before any network call (see :mod:`omnitui.services.outbox`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import make_msgid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from omnitui.addresses import InvalidAddress, normalize_address
from omnitui.services import recipients, whatsapp_window
from omnitui.services.base import AccountInfo, InvalidRequest, ServiceError, _get
from omnitui.services.customers import _live_customer
from omnitui.services.mentions import record_mentions
from omnitui.services.outgoing_files import check_files
from omnitui.services.records import conversation_values, conversations_by_key, ensure_customers
from omnitui.services.signing import signed_body
from omnitui.text import one_line
from omnitui.threads import pair_key, reply_subject
from providers.base import (
    CHANNELS,
    CHAT_CHANNELS,
    DEFAULT_REGION,
    PHONE_CHANNELS,
    OutboundAttachment,
)
from storage.bulk import insert_ids
from storage.db import Store
from storage.models import (
    Conversation,
    Note,
    attachment_t,
    blob_t,
    conversation_t,
    identity_t,
    message_t,
    utcnow,
)
from storage.vocabulary import ACTIVE_STATUSES


def _utf16_units(text: str) -> int:
    # how Twilio and Telegram count: an emoji outside the BMP is two
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _json_bytes(text: str) -> int:
    # a Matrix event is limited as JSON, where quotes and controls are escaped
    return _utf8_bytes(json.dumps(text, ensure_ascii=False)) - 2


#: The most text one message may carry per channel: (limit, unit, counter, why).
#: Twilio refuses more than 1,600 characters, and bills a long SMS as one
#: segment per 153 (GSM-7) or 67 (UCS-2) characters (a 50 MB file piped to
#: ``omnitui send`` became one message of 342,672 segments); Telegram takes
#: 4,096 characters; a Matrix event, envelope included, at most 64 KiB. E-mail
#: has no hard limit, so 10 MB of text keeps a pasted file from becoming a
#: mail nobody can open.
BODY_LIMITS: Mapping[str, tuple[int, str, Callable[[str], int], str]] = {
    "sms": (1600, "characters", _utf16_units, "Twilio's limit for one message"),
    "whatsapp": (1600, "characters", _utf16_units, "Twilio's limit for one message"),
    "telegram": (4096, "characters", _utf16_units, "Telegram's limit for one message"),
    "matrix": (60_000, "bytes", _json_bytes, "a Matrix event is at most 64 KB"),
    "email": (10 * 1024 * 1024, "bytes", _utf8_bytes, "10 MB of text"),
}


_SURROGATE = re.compile("[\ud800-\udfff]")


def _text_rules(body: str, what: str, done: str) -> None:
    if not body.strip():
        raise InvalidRequest(f"the {what} is empty: nothing was {done}")
    if "\x00" in body:  # PostgreSQL cannot store it, and no channel carries it
        raise InvalidRequest(
            f"the {what} contains a NUL character (U+0000), which is not text: nothing was {done}"
        )
    if _SURROGATE.search(body):  # bytes that were not UTF-8 (argv is decoded leniently)
        raise InvalidRequest(f"the {what} is not valid UTF-8 text: nothing was {done}")


def _outgoing(channel: str, body: str, subject: str | None) -> str | None:
    """Check a message before it is queued; returns its subject on one line.

    A CR or LF in a subject would end the mail header, so SMTP refuses the
    message after it was queued (or an injected header goes out): it is folded.
    """
    _text_rules(body, "message", "queued")
    if channel in BODY_LIMITS:
        most, unit, count, why = BODY_LIMITS[channel]
        size = count(body)
        if size > most:
            raise InvalidRequest(
                f"the message is too long for {channel}: {size:,} {unit}, at most {most:,} "
                f"({why}). Nothing was queued: shorten it, or send it another way."
            )
    return one_line(subject) or None


def _needs_subject(channel: str, subject: str | None) -> None:
    """A message that starts an e-mail thread needs a subject given for it
    (``omnitui send``, a reply switched to e-mail with no open thread there;
    the console asks for one, the CLI's ``--subject``)."""
    if channel == "email" and not subject:
        raise InvalidRequest("a new e-mail needs a subject: nothing was queued")


@dataclass(frozen=True)
class Extras:
    """What an outgoing message carries besides its text, as its author chose.

    ``to`` (e-mail) replaces the conversation's customer as the To (a
    reply-all answers the message's sender); ``cc`` and ``bcc`` are further
    e-mail recipients (Bcc goes to the envelope only, never into a visible
    header). ``files`` are kept in the store with the queued message, so a
    retry sends the same bytes from any host. ``template`` names one of the
    account's approved WhatsApp templates, with ``variables`` to fill it.
    ``signed``: ``None`` follows the account's rule for the channel.
    ``forwarded_from_id``: the message this one forwards (services.forward).
    """

    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    files: tuple[OutboundAttachment, ...] = ()
    template: str | None = None
    variables: tuple[tuple[str, str], ...] = ()
    signed: bool | None = None
    forwarded_from_id: int | None = None


NO_EXTRAS = Extras()


def _json_list(addresses: tuple[str, ...]) -> str | None:
    return json.dumps(list(addresses)) if addresses else None


def _blob_insert(session: Session, digest: str, data: bytes) -> Any:
    """The insert of a blob that another transaction may be storing at the
    same moment (two agents sending the same file): the same content, so the
    second insert does nothing instead of failing on the duplicate key."""
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    return (
        insert(blob_t)
        .values(sha256=digest, size=len(data), data=data)
        .on_conflict_do_nothing(index_elements=[blob_t.c.sha256])
    )


def _store_files(session: Session, message_id: int, files: tuple[OutboundAttachment, ...]) -> None:
    """The files of a queued message: their bytes once per content (``blob``)
    and one attachment row each, in the same transaction as the message."""
    for file in files:
        digest = hashlib.sha256(file.data).hexdigest()
        known = session.execute(
            select(blob_t.c.sha256).where(blob_t.c.sha256 == digest)
        ).scalar_one_or_none()
        if known is None:
            session.execute(_blob_insert(session, digest, file.data))
        session.execute(
            attachment_t.insert().values(
                message_id=message_id,
                filename=file.filename,
                content_type=file.content_type,
                size=len(file.data),
                sha256=digest,
            )
        )


def _queue(
    session: Session,
    *,
    conversation: Conversation,
    body: str,
    author: str,
    subject: str | None,
    extras: Extras = NO_EXTRAS,
    accounts: Mapping[str, AccountInfo] | None = None,
) -> int:
    info = (accounts or {}).get(conversation.account)
    # files the channel cannot carry are refused first: no text makes them fit
    check_files(info, conversation.channel, extras.files)
    # WhatsApp's window and templates (a template's text becomes the body)
    body, template = whatsapp_window.admit(
        session, conversation, info, body, extras.template, extras.variables
    )
    # signed once, here; a template goes as approved, never signed
    body = _signed(info, conversation, body, author, extras.signed if template is None else False)
    subject = _outgoing(conversation.channel, body, subject)
    extras = recipients.checked(conversation.channel, extras)  # To/Cc/Bcc: e-mail, valid, once
    now = utcnow()
    email_id = None
    if conversation.channel == "email":
        domain = conversation.our_address.rpartition("@")[2] or None
        email_id = make_msgid(domain=domain)
    values = {
        "conversation_id": conversation.id,
        "customer_id": conversation.customer_id,
        "account": conversation.account,
        "channel": conversation.channel,
        "direction": "out",
        # e-mail knows its id before sending; other channels learn it from the provider
        "external_id": email_id,
        "email_message_id": email_id,
        "from_address": conversation.our_address,
        "to_address": extras.to[0] if extras.to else conversation.their_address,
        "subject": subject if conversation.channel == "email" else None,
        "body_text": body,
        "sent_at": now,
        "outbox_state": "queued",
        "attempts": 0,
        "author": author,
        "template": template,
    }
    if conversation.channel == "email":
        values["to_addresses"] = _json_list(extras.to or (conversation.their_address,))
        values["cc_addresses"] = _json_list(extras.cc)
        values["bcc_addresses"] = _json_list(extras.bcc)
    if extras.forwarded_from_id is not None:
        values["forwarded_from_id"] = extras.forwarded_from_id
    message_id = int(
        session.execute(message_t.insert().returning(message_t.c.id), values).scalar_one()
    )
    _store_files(session, message_id, extras.files)
    session.execute(
        update(conversation_t)
        .where(conversation_t.c.id == conversation.id)
        .values(
            last_message_at=now,
            waiting_since=None,
            message_count=conversation_t.c.message_count + 1,
        )
    )
    return message_id


def _signed(
    info: AccountInfo | None,
    conversation: Conversation,
    body: str,
    author: str,
    signed: bool | None,
) -> str:
    """The body as sent: signed by the account's rule (``signed``: the
    author's choice), once, here."""
    _text_rules(body, "message", "queued")  # a signature alone is not a message
    return signed_body(body, info, conversation.channel, author, signed)


def _account_for(
    accounts: Mapping[str, AccountInfo], channel: str, preferred: str | None
) -> AccountInfo:
    if channel not in CHANNELS:
        raise InvalidRequest(f"unknown channel {channel!r}: use one of {', '.join(CHANNELS)}")
    if preferred is not None:
        info = accounts.get(preferred)
        if info is None:
            raise InvalidRequest(
                f"there is no account named {preferred!r} (known: {', '.join(accounts) or 'none'})"
            )
        if channel not in info.channels:
            raise InvalidRequest(
                f"account {preferred!r} does not carry {channel}"
                f" (it carries {', '.join(info.channels)})"
            )
        return info
    for info in accounts.values():
        if channel in info.channels:
            return info
    raise InvalidRequest(f"no configured account carries {channel}: add one to the config")


def _thread_key(
    session: Session, info: AccountInfo, channel: str, customer_id: int, theirs: str
) -> str:
    """The thread a new message to ``theirs`` on ``channel`` belongs to (e-mail: a new one)."""
    ours = info.addresses.get(channel, "")
    if channel == "email":
        return make_msgid(domain=ours.rpartition("@")[2] or None)  # a new thread
    if channel in PHONE_CHANNELS:
        return pair_key(ours, theirs)
    # chat: a room named itself (a Matrix room id) is that room; else the
    # customer's room is where they talk to us (a Matrix room id is not
    # their user id); a chat with no room yet is keyed by them, until the
    # outbox opens one (services.outbox._opened_thread)
    if _room_conversation(session, info.name, channel, theirs) is not None:
        return theirs
    if channel == "matrix" and theirs.startswith("@"):
        # a Matrix user: the customer's latest room may be shared with others;
        # the outbox finds the room that is the two of them alone (and the
        # conversation the store has for it, services.outbox._store_thread)
        return theirs
    room = session.execute(
        select(conversation_t.c.thread_key)
        .where(
            conversation_t.c.customer_id == customer_id,
            conversation_t.c.account == info.name,
            conversation_t.c.channel == channel,
        )
        .order_by(conversation_t.c.last_message_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    return room or theirs


def _room_conversation(
    session: Session, account: str, channel: str, address: str
) -> tuple[int, int] | None:
    """(id, customer id) of the conversation keyed by ``address`` on
    ``account``: the chat room a message addressed to the room joins."""
    c = conversation_t.c
    found = session.execute(
        select(c.id, c.customer_id).where(
            c.account == account, c.channel == channel, c.thread_key == address
        )
    ).first()
    return None if found is None else (int(found.id), int(found.customer_id))


def _recipient(session: Session, account: str, channel: str, address: str) -> int:
    """The customer a new message to ``address`` is for. A chat room the store
    has a conversation for is its customer's (the person who writes there),
    whatever identity the room id has; else the customer with that identity,
    or a new one. A new customer for a room is a placeholder: ingest makes
    the first person who writes in the room that customer
    (services.ingest._adopt_room_senders), not one more."""
    if channel in CHAT_CHANNELS:
        room = _room_conversation(session, account, channel, address)
        if room is not None:
            return _live_customer(session, room[1]).id or room[1]
    found, _created = ensure_customers(session, {(channel, address): None})
    return found[(channel, address)]


def _conversation_for(
    session: Session,
    info: AccountInfo,
    channel: str,
    customer_id: int,
    theirs: str,
    subject: str | None,
) -> Conversation:
    """The conversation a new message to ``theirs`` continues, or a new one."""
    ours = info.addresses.get(channel, "")
    key = _thread_key(session, info, channel, customer_id, theirs)
    existing = conversations_by_key(session, info.name, [(channel, key)]).get((channel, key))
    conv_id = (
        existing
        or insert_ids(
            session,
            conversation_t,
            [
                conversation_values(
                    account=info.name,
                    channel=channel,
                    thread_key=key,
                    customer_id=customer_id,
                    ours=ours,
                    theirs=theirs,
                    subject=subject,
                    at=utcnow(),
                )
            ],
        )[0]
    )
    conv = session.get(Conversation, conv_id)
    assert conv is not None
    return conv


@dataclass(frozen=True)
class ReplyTarget:
    """Where a reply to a conversation on ``channel`` goes: the console shows
    this and sends to this, so what the agent reads is where the reply lands."""

    channel: str
    #: the customer's address on ``channel``
    address: str
    #: the conversation the reply joins; ``None``: it starts a new one
    conversation_id: int | None
    #: that conversation's subject (e-mail), or ``None``
    subject: str | None = None


def _reply_target(
    session: Session, accounts: Mapping[str, AccountInfo], conv: Conversation, channel: str | None
) -> ReplyTarget:
    if channel is None or channel == conv.channel:
        return ReplyTarget(conv.channel, conv.their_address, conv.id, conv.subject)
    address = (
        session.execute(
            select(identity_t.c.address)
            .where(identity_t.c.customer_id == conv.customer_id, identity_t.c.channel == channel)
            .order_by(identity_t.c.id)
        )
        .scalars()
        .first()
    )
    if address is None:
        raise ServiceError(
            f"customer {conv.customer_id} has no {channel} address: send with "
            f"`omnitui send --channel {channel} --to ADDRESS`, then merge the customers"
        )
    info = _account_for(accounts, channel, None)
    c = conversation_t.c
    if channel == "email":
        # continue the customer's most recent open or pending e-mail thread, if any
        carriers = [a.name for a in accounts.values() if "email" in a.channels]
        found = session.execute(
            select(c.id, c.subject)
            .where(
                c.customer_id == conv.customer_id,
                c.channel == "email",
                c.account.in_(carriers),
                c.status.in_(ACTIVE_STATUSES),
            )
            .order_by(c.last_message_at.desc(), c.id.desc())
            .limit(1)
        ).first()
        if found is not None:
            return ReplyTarget(channel, address, int(found.id), found.subject)
        return ReplyTarget(channel, address, None, None)
    key = _thread_key(session, info, channel, conv.customer_id, address)
    existing = conversations_by_key(session, info.name, [(channel, key)]).get((channel, key))
    if existing is None:
        return ReplyTarget(channel, address, None, None)
    subject = session.execute(select(c.subject).where(c.id == existing)).scalar_one_or_none()
    return ReplyTarget(channel, address, existing, subject)


def reply_target(
    store: Store,
    accounts: Mapping[str, AccountInfo],
    conversation_id: int,
    channel: str | None = None,
) -> ReplyTarget:
    """Where :func:`reply` on ``channel`` would put a reply to ``conversation_id``:
    the conversation itself on its own channel; on another channel the
    customer's conversation there (for e-mail their most recent open or pending
    thread), or a new one (``conversation_id`` ``None``)."""
    with store.read() as session:
        conv = _get(session, Conversation, conversation_id, "conversation")
        return _reply_target(session, accounts, conv, channel)


def reply(
    store: Store,
    accounts: Mapping[str, AccountInfo],
    conversation_id: int,
    body: str,
    author: str,
    *,
    channel: str | None = None,
    subject: str | None = None,
    extras: Extras = NO_EXTRAS,
) -> int:
    """Queue a reply to a conversation; returns the queued message's id.

    With ``channel`` other than the conversation's, the reply goes to the
    customer's address on that channel, continuing their conversation there
    (see :func:`reply_target`: on e-mail their open thread) or starting one.
    """
    if channel is not None and channel not in CHANNELS:
        raise InvalidRequest(f"unknown channel {channel!r}: use one of {', '.join(CHANNELS)}")
    subject = one_line(subject) or None
    with store.write() as session:
        conv = _get(session, Conversation, conversation_id, "conversation")
        into: Conversation = conv
        named: str | None = subject or reply_subject(conv.subject)
        if channel is not None and channel != conv.channel:
            target = _reply_target(session, accounts, conv, channel)
            if target.conversation_id is not None:
                joined = session.get(Conversation, target.conversation_id)
                assert joined is not None
                into, named = joined, subject or reply_subject(joined.subject)
            else:
                _needs_subject(channel, subject)  # the agent names a new e-mail thread
                info = _account_for(accounts, channel, None)
                into = _conversation_for(
                    session,
                    info,
                    channel,
                    conv.customer_id,
                    target.address,
                    subject or conv.subject,
                )
                named = subject or conv.subject
        return _queue(
            session,
            conversation=into,
            body=body,
            author=author,
            subject=named,
            extras=extras,
            accounts=accounts,
        )


def send_new(
    store: Store,
    accounts: Mapping[str, AccountInfo],
    *,
    channel: str,
    body: str,
    author: str,
    to: str | None = None,
    customer_id: int | None = None,
    account: str | None = None,
    subject: str | None = None,
    default_region: str = DEFAULT_REGION,
    extras: Extras = NO_EXTRAS,
) -> int:
    """Queue a new outbound message to an address or a customer; returns its id."""
    info = _account_for(accounts, channel, account)
    subject = one_line(subject) or None  # it also names a new conversation
    _needs_subject(channel, subject)
    with store.write() as session:
        if to is not None:
            if channel == "email":
                # one address, checked as a Cc is: "a@x, b@y" would go to a
                # alone and say "sent"; a CR/LF is refused, not cut off
                to = recipients.address(to, "To address")
            try:
                address = normalize_address(channel, to, default_region)
            except InvalidAddress as exc:
                raise InvalidRequest(str(exc)) from None
            cust = _recipient(session, info.name, channel, address)
        elif customer_id is not None:
            cust = _live_customer(session, customer_id).id or customer_id
            address_row = (
                session.execute(
                    select(identity_t.c.address)
                    .where(identity_t.c.customer_id == cust, identity_t.c.channel == channel)
                    .order_by(identity_t.c.id)
                )
                .scalars()
                .first()
            )
            if address_row is None:
                raise ServiceError(f"customer {customer_id} has no {channel} address; use --to")
            address = address_row
        else:
            raise InvalidRequest("say who to send to: --to ADDRESS or --customer ID")
        conv = _conversation_for(session, info, channel, cust, address, subject)
        return _queue(
            session,
            conversation=conv,
            body=body,
            author=author,
            subject=subject,
            extras=extras,
            accounts=accounts,
        )


def add_note(
    store: Store,
    author: str,
    body: str,
    *,
    customer_id: int | None = None,
    conversation_id: int | None = None,
    team: Sequence[str] = (),
) -> int:
    """Write an internal note on a customer or a conversation; returns its id.

    Each ``@name`` of the team (the store's people and ``team``, the config's
    ``[agent] team``) in it is a mention, written in the same transaction
    (:mod:`omnitui.services.mentions`)."""
    _text_rules(body, "note", "saved")
    with store.write() as session:
        if conversation_id is not None:
            customer_id = _get(session, Conversation, conversation_id, "conversation").customer_id
        elif customer_id is not None:
            customer_id = _live_customer(session, customer_id).id
        else:
            raise InvalidRequest("say where the note goes: --customer ID or --conversation ID")
        assert customer_id is not None
        note = Note(
            customer_id=customer_id, conversation_id=conversation_id, author=author, body=body
        )
        session.add(note)
        session.flush()
        assert note.id is not None
        record_mentions(session, note.id, author, body, configured=team)
        return note.id
