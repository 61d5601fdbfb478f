"""Storing what a provider's poll found: messages, customers, threads, cursor.

Everything of one batch is written in one transaction together with the
cursor that covers it, so a crash either stores the batch and moves the
cursor, or does neither. Re-ingesting a batch stores nothing new: a message
is unique per (account, external id), and a fetched e-mail is also known by
the rows that carry its plain Message-ID (omnitui/dedupe.py).

The work is done in set-wise Core statements (one lookup per kind of row,
``executemany`` inserts) rather than row by row through the ORM, so ingest
runs near the speed of the database itself (``benchmarks/ingest.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlmodel import Session

from omnitui.addresses import InvalidAddress, normalize_address
from omnitui.services.dedupe import known_external_ids
from omnitui.services.records import (
    conversation_values,
    conversations_by_key,
    ensure_customers,
    find_identities,
)
from omnitui.text import sanitize_filename
from omnitui.threads import (
    SUBJECT_WINDOW_DAYS,
    email_ancestors,
    email_root,
    normalize_subject,
    pair_key,
)
from providers.base import DEFAULT_REGION, PHONE_CHANNELS, InboundMessage, PollBatch, StatusUpdate
from storage.blobs import put_blob
from storage.bulk import bulk_insert, driver_executemany, driver_lookup, driver_time, insert_ids
from storage.db import Store, utc
from storage.models import (
    SyncState,
    attachment_t,
    conversation_t,
    customer_t,
    identity_t,
    message_t,
    syncstate_t,
    utcnow,
)
from storage.vocabulary import REOPENED_BY_CUSTOMER

MESSAGE_COLUMNS = (
    "conversation_id",
    "customer_id",
    "account",
    "channel",
    "direction",
    "external_id",
    "email_message_id",
    "from_address",
    "to_address",
    "to_addresses",
    "cc_addresses",
    "reply_to_addresses",
    "subject",
    "body_text",
    "body_html",
    "sent_at",
    "delivery_state",
    "delivery_error",
    "error",
    "attempts",
)
#: A customer's new message puts these back in front of the team: resolved
#: and snoozed ones, and pending ones (pending means "waiting for the
#: customer", and the customer has answered).
REOPENED_STATUSES = REOPENED_BY_CUSTOMER


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    new_customers: int = 0
    new_conversations: int = 0
    status_updates: int = 0
    problems: int = 0
    conversation_ids: set[int] = field(default_factory=set)


@dataclass
class _Item:
    msg: InboundMessage
    their: str
    ours: str
    sent_at: datetime
    #: ``sent_at`` as the driver stores it (SQLite: sortable UTC text), which
    #: is also how the conversation summary is compared and written back
    stored_at: object = None
    conversation_id: int | None = None
    #: where a local number in this message is read (the configured region)
    region: str = DEFAULT_REGION


#: The address kept for an inbound message that names none we can read.
UNKNOWN_ADDRESS = "(unknown)"
#: A number already in E.164 form, as Twilio and WhatsApp give every number.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def _normalized(channel: str, address: str, region: str) -> str:
    if channel in PHONE_CHANNELS:
        # Services give canonical E.164 numbers: taken as they are, not parsed
        # against the whole numbering plan (a tenth of a millisecond each).
        bare = address[len("whatsapp:") :] if address.startswith("whatsapp:") else address
        if _E164.fullmatch(bare):
            return bare
    # Inbound mail must never be dropped for an odd address: keep it as given.
    try:
        return normalize_address(channel, address, region)
    except InvalidAddress:
        return address.strip() or UNKNOWN_ADDRESS


def ingest(
    store: Store, account: str, batch: PollBatch, *, default_region: str = DEFAULT_REGION
) -> IngestResult:
    """Store ``batch`` from ``account`` and its cursors in one transaction."""
    blobs = {
        id(att): put_blob(store.data_dir, att.data)
        for msg in batch.messages
        for att in msg.attachments
    }
    with store.write() as session:
        result = _store_messages(session, account, batch.messages, default_region, blobs)
        result.status_updates += apply_status_updates(session, account, batch.status_updates)
        save_cursors(session, account, batch.cursors)
    return result


def _store_messages(
    session: Session,
    account: str,
    messages: Sequence[InboundMessage],
    region: str,
    blobs: Mapping[int, str],
) -> IngestResult:
    result = IngestResult()
    known = known_external_ids(session, account, messages)
    items: list[_Item] = []
    echoes: list[StatusUpdate] = []
    dialect = session.get_bind().dialect.name
    for msg in messages:
        stored_as = known.get(msg.external_id)
        if stored_as is not None:
            result.duplicates += 1
            if msg.direction == "out" and msg.delivery_state:
                echoes.append(StatusUpdate(stored_as, msg.delivery_state, msg.delivery_error))
            continue
        known[msg.external_id] = msg.external_id
        theirs, ours = (
            (msg.from_address, msg.to_address)
            if msg.direction == "in"
            else (msg.to_address, msg.from_address)
        )
        items.append(
            _Item(
                msg=msg,
                their=_normalized(msg.channel, theirs, region),
                ours=_normalized(msg.channel, ours, region),
                sent_at=(sent := utc(msg.sent_at)),
                stored_at=driver_time(sent, dialect),
                region=region,
            )
        )
    result.status_updates += apply_status_updates(session, account, echoes)
    if not items:
        return result
    items.sort(key=lambda item: item.sent_at)
    customers = _customers_for(session, account, items, result)
    _assign_conversations(session, account, items, customers, result)
    _insert_messages(session, account, items, customers, blobs, result)
    return result


def _customers_for(
    session: Session, account: str, items: Sequence[_Item], result: IngestResult
) -> dict[tuple[str, str], int]:
    """The customer of every (channel, address) in ``items``, creating the missing ones."""
    names: dict[tuple[str, str], str | None] = {}
    for item in items:
        key = (item.msg.channel, item.their)
        if names.get(key) is None:
            names[key] = item.msg.from_name if item.msg.direction == "in" else None
    _adopt_room_senders(session, account, items, names)
    found, created = ensure_customers(session, names)
    result.new_customers += created
    return found


def _adopt_room_senders(
    session: Session,
    account: str,
    items: Sequence[_Item],
    names: Mapping[tuple[str, str], str | None],
) -> None:
    """Make the first person who writes in a chat room that was addressed
    from here (``omnitui send --to '!room:server'``) the room's customer.

    That send made a placeholder customer whose only identity on the channel
    is the room itself; the sender's identity joins it (and their name
    replaces the room id), so the room and its first writer are one customer,
    not two. Anyone else in the room, or a sender already known, stays as is.
    """
    # (channel, sender) -> (channel, room), in the order the batch is stored
    rooms: dict[tuple[str, str], tuple[str, str]] = {}
    for item in items:
        msg = item.msg
        if msg.direction != "in" or msg.channel == "email" or msg.channel in PHONE_CHANNELS:
            continue
        if msg.thread_id and msg.thread_id != item.their:
            rooms.setdefault((msg.channel, item.their), (msg.channel, msg.thread_id))
    if not rooms:
        return
    known = find_identities(session, list(rooms))
    rooms = {sender: room for sender, room in rooms.items() if sender not in known}
    if not rooms:
        return
    c, i = conversation_t.c, identity_t.c
    owners: dict[tuple[str, str], int] = {}
    for channel, room, owner in session.execute(
        select(c.channel, c.thread_key, c.customer_id).where(
            c.account == account, c.thread_key.in_({room for _ch, room in rooms.values()})
        )
    ):
        owners[(channel, room)] = owner
    identities: dict[int, set[tuple[str, str]]] = {}
    for customer_id, channel, address in session.execute(
        select(i.customer_id, i.channel, i.address).where(i.customer_id.in_(set(owners.values())))
    ):
        identities.setdefault(customer_id, set()).add((channel, address))
    now = utcnow()
    for (channel, sender), room in rooms.items():
        owner = owners.get(room)
        if owner is None or {k for k in identities.get(owner, ()) if k[0] == channel} != {room}:
            continue  # not a placeholder (or no longer: an earlier sender joined it)
        name = names.get((channel, sender))
        session.execute(
            insert(identity_t).values(
                customer_id=owner,
                channel=channel,
                address=sender,
                display_name=name,
                created_at=now,
            )
        )
        identities[owner].add((channel, sender))
        if name and name.strip():
            session.execute(
                update(customer_t)
                .where(customer_t.c.id == owner, customer_t.c.name == room[1])
                .values(name=name.strip(), updated_at=now, version=customer_t.c.version + 1)
            )


def _reply_target(item: _Item) -> str:
    """Where answers to this conversation go: the sender, or its Reply-To
    (unless that names our own address: answers would loop back into our
    mailbox and never reach the customer)."""
    if item.msg.direction != "in":
        return item.their
    for reply_to in (item.msg.reply_to, *item.msg.reply_to_addresses):
        if reply_to:
            target = _normalized(item.msg.channel, reply_to, item.region)
            if target.lower() != item.ours.lower():
                return target
    return item.their


def _thread_key(item: _Item) -> str | None:
    msg = item.msg
    if msg.channel == "email":
        return None
    if msg.thread_id:
        return msg.thread_id
    if msg.channel in PHONE_CHANNELS:
        return pair_key(item.ours, item.their)
    return item.their


def _assign_conversations(
    session: Session,
    account: str,
    items: Sequence[_Item],
    customers: Mapping[tuple[str, str], int],
    result: IngestResult,
) -> None:
    """Set ``conversation_id`` on every item, creating conversations as needed.

    New conversations get a negative placeholder id while the batch is
    threaded (a later message of the batch may join them), then are inserted
    in one statement and the placeholders replaced.
    """
    keyed = {(i.msg.channel, k): i for i in items if (k := _thread_key(i)) is not None}
    emails = [i for i in items if i.msg.channel == "email"]
    by_key = conversations_by_key(session, account, list(keyed))
    email_threads = _EmailThreads(session, account, emails, customers) if emails else None
    new: dict[int, dict[str, Any]] = {}
    for item in items:
        customer_id = customers[(item.msg.channel, item.their)]
        if email_threads is not None and item.msg.channel == "email":
            key, conv_id = email_threads.locate(item, customer_id)
        else:
            key = _thread_key(item) or item.their
            conv_id = by_key.get((item.msg.channel, key))
        if conv_id is None:
            conv_id = -(len(new) + 1)
            new[conv_id] = conversation_values(
                account=account,
                channel=item.msg.channel,
                thread_key=key,
                customer_id=customer_id,
                ours=item.ours,
                theirs=_reply_target(item),
                subject=item.msg.subject,
                at=item.sent_at,
            )
            by_key[(item.msg.channel, key)] = conv_id
            if email_threads is not None and item.msg.channel == "email":
                email_threads.created(item, key, conv_id, customer_id)
        item.conversation_id = conv_id
        if email_threads is not None and item.msg.channel == "email":
            email_threads.remember(item, conv_id)
    if new:
        real = dict(zip(new, insert_ids(session, conversation_t, list(new.values())), strict=True))
        for item in items:
            if item.conversation_id is not None and item.conversation_id < 0:
                item.conversation_id = real[item.conversation_id]
        result.new_conversations += len(new)


class _EmailThreads:
    """Finds the conversation of each e-mail of a batch: by the Message-IDs it
    answers, then by its root id, then by subject with the same customer."""

    def __init__(
        self,
        session: Session,
        account: str,
        emails: Sequence[_Item],
        customers: Mapping[tuple[str, str], int],
    ) -> None:
        self.by_message_id: dict[str, int] = {}
        self.by_root: dict[str, int] = {}
        self.by_subject: dict[tuple[int, str], int] = {}
        ancestors = list(
            {a for i in emails for a in email_ancestors(i.msg.in_reply_to, i.msg.references)}
        )
        for mid, conv_id in driver_lookup(
            session,
            "SELECT email_message_id, conversation_id FROM message "
            "WHERE account = ? AND email_message_id IN ({in})",
            (account,),
            ancestors,
        ):
            self.by_message_id[mid] = conv_id
        roots = list({r for i in emails if (r := self.root(i)) is not None})
        for (_ch, key), conv_id in conversations_by_key(
            session, account, [("email", r) for r in roots]
        ).items():
            self.by_root[key] = conv_id
        customer_ids = list({customers[("email", i.their)] for i in emails})
        since = utcnow() - timedelta(days=SUBJECT_WINDOW_DAYS)
        dialect = session.get_bind().dialect.name
        # Only customer_id and time in SQL, so the (customer_id,
        # last_message_at) index serves it; a customer has few threads.
        rows = driver_lookup(
            session,
            "SELECT customer_id, subject, id, account, channel FROM conversation "
            "WHERE last_message_at >= ? AND customer_id IN ({in}) ORDER BY last_message_at",
            (driver_time(since, dialect),),
            customer_ids,
        )
        for customer_id, subject, conv_id, conv_account, channel in rows:
            if conv_account == account and channel == "email":
                self.by_subject[(customer_id, normalize_subject(subject))] = conv_id

    @staticmethod
    def root(item: _Item) -> str | None:
        msg = item.msg
        return email_root(msg.message_id, msg.in_reply_to, msg.references)

    def locate(self, item: _Item, customer_id: int) -> tuple[str, int | None]:
        msg = item.msg
        key = self.root(item) or msg.external_id
        for mid in email_ancestors(msg.in_reply_to, msg.references):
            if mid in self.by_message_id:
                return key, self.by_message_id[mid]
        if key in self.by_root:
            return key, self.by_root[key]
        subject = normalize_subject(msg.subject)
        if subject:
            conv_id = self.by_subject.get((customer_id, subject))
            if conv_id is not None:
                return key, conv_id
        return key, None

    def created(self, item: _Item, key: str, conv_id: int, customer_id: int) -> None:
        self.by_root[key] = conv_id
        subject = normalize_subject(item.msg.subject)
        if subject:
            self.by_subject[(customer_id, subject)] = conv_id

    def remember(self, item: _Item, conv_id: int) -> None:
        if item.msg.message_id:
            self.by_message_id[item.msg.message_id] = conv_id


def _insert_messages(
    session: Session,
    account: str,
    items: Sequence[_Item],
    customers: Mapping[tuple[str, str], int],
    blobs: Mapping[int, str],
    result: IngestResult,
) -> None:
    conv_ids = list({i.conversation_id for i in items if i.conversation_id is not None})
    convs = _conversation_state(session, conv_ids)
    rows: list[tuple[object, ...]] = []
    for item in items:
        msg = item.msg
        assert item.conversation_id is not None
        conv = convs[item.conversation_id]
        # Nothing stored here is ever in the outbox (outbox_state stays NULL):
        # an outbound message seen on the service was sent by it already.
        outbound = msg.direction == "out"
        rows.append(
            (
                item.conversation_id,
                conv["customer_id"],
                account,
                msg.channel,
                msg.direction,
                msg.external_id,
                msg.message_id,
                msg.from_address,
                msg.to_address,
                _address_list(msg.to_addresses),
                _address_list(msg.cc_addresses),
                _address_list(msg.reply_to_addresses),
                msg.subject,
                msg.body_text,
                msg.body_html,
                item.stored_at,
                (msg.delivery_state or "sent") if outbound else None,
                msg.delivery_error if outbound else None,
                msg.problem,
                0,
            )
        )
        _advance(conv, item)
        result.problems += msg.problem is not None
    bulk_insert(session, message_t, MESSAGE_COLUMNS, rows)
    result.stored += len(rows)
    result.conversation_ids.update(conv_ids)
    _save_conversation_state(session, convs)
    _insert_attachments(session, account, items, blobs)


def _address_list(found: Sequence[str]) -> str | None:
    """E-mail's To or Cc as stored: a JSON list of plain addresses (``None``: none)."""
    return json.dumps(list(found)) if found else None


def _conversation_state(session: Session, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    state: dict[int, dict[str, Any]] = {}
    rows = driver_lookup(
        session,
        "SELECT id, customer_id, status, last_message_at, waiting_since, snoozed_until, "
        "message_count, version, our_address FROM conversation WHERE id IN ({in})",
        (),
        ids,
    )
    for cid, customer_id, status, last, waiting, snoozed, count, version, ours in rows:
        state[cid] = {
            "customer_id": customer_id,
            "our_address": ours,
            "status": status,
            # kept in driver form: compared with items' stored_at, written back as is
            "last_message_at": last,
            "waiting_since": waiting,
            "snoozed_until": snoozed,
            "message_count": count,
            "version": version,
            "changed_status": False,
        }
    return state


def _advance(conv: dict[str, Any], item: _Item) -> None:
    """Fold one new message into its conversation's summary columns."""
    conv["message_count"] += 1
    if not conv["our_address"] and item.ours != UNKNOWN_ADDRESS:
        # A conversation started here before our side's address was known
        # (a Telegram bot's id is only in its token, which a console without
        # the secret cannot read): the first message polled names it.
        conv["our_address"] = item.ours
    last = conv["last_message_at"]
    if item.stored_at > last:
        conv["last_message_at"] = item.stored_at
    if item.msg.direction == "in":
        if conv["waiting_since"] is None:
            conv["waiting_since"] = item.stored_at
        if conv["status"] in REOPENED_STATUSES:
            conv["status"] = "open"
            conv["changed_status"] = True
    elif item.stored_at >= last:
        conv["waiting_since"] = None


def _save_conversation_state(session: Session, convs: Mapping[int, dict[str, Any]]) -> None:
    rows = [
        (
            c["status"],
            c["last_message_at"],
            c["waiting_since"],
            # a reopened conversation is no longer snoozed
            None if c["changed_status"] else c["snoozed_until"],
            c["message_count"],
            # A reopen changes what an agent sees: other editors must notice.
            c["version"] + (1 if c["changed_status"] else 0),
            c["our_address"],
            cid,
        )
        for cid, c in convs.items()
    ]
    driver_executemany(
        session,
        "UPDATE conversation SET status = ?, last_message_at = ?, waiting_since = ?, "
        "snoozed_until = ?, message_count = ?, version = ?, our_address = ? WHERE id = ?",
        rows,
    )


def _insert_attachments(
    session: Session, account: str, items: Sequence[_Item], blobs: Mapping[int, str]
) -> None:
    with_files = [i.msg for i in items if i.msg.attachments]
    if not with_files:
        return
    stmt = select(message_t.c.external_id, message_t.c.id).where(
        message_t.c.account == account,
        message_t.c.external_id.in_([m.external_id for m in with_files]),
    )
    ids = {external_id: message_id for external_id, message_id in session.execute(stmt)}
    session.execute(
        insert(attachment_t),
        [
            {
                "message_id": ids[m.external_id],
                "filename": sanitize_filename(att.filename),
                "content_type": att.content_type,
                "size": len(att.data),
                "sha256": blobs[id(att)],
            }
            for m in with_files
            for att in m.attachments
        ],
    )


def apply_status_updates(session: Session, account: str, updates: Iterable[StatusUpdate]) -> int:
    """Record later delivery states of outbound messages; returns how many changed.

    Only the delivery state moves: the outbox's own state is never touched
    by what a provider says."""
    changed = 0
    m = message_t.c
    for upd in updates:
        stmt = (
            update(message_t)
            .where(
                m.account == account,
                m.external_id == upd.external_id,
                m.direction == "out",
                m.delivery_state.is_distinct_from(upd.state)
                | m.delivery_error.is_distinct_from(upd.error),
            )
            .values(delivery_state=upd.state, delivery_error=upd.error)
        )
        changed += session.execute(stmt).rowcount  # type: ignore[attr-defined]
    return changed


def save_cursors(session: Session, account: str, cursors: Mapping[str, str]) -> None:
    """Store the cursors of ``account`` and mark the poll successful."""
    now = utcnow()
    if not cursors:
        return
    stmt = select(SyncState).where(syncstate_t.c.account == account)
    existing = {s.scope: s for s in session.execute(stmt).scalars()}
    for scope, cursor in cursors.items():
        state = existing.get(scope) or SyncState(account=account, scope=scope)
        state.cursor = cursor
        state.last_success_at = now
        state.last_error = None
        session.add(state)


def load_cursors(store: Store, account: str) -> dict[str, str]:
    with store.read() as session:
        stmt = select(syncstate_t.c.scope, syncstate_t.c.cursor).where(
            syncstate_t.c.account == account
        )
        return {scope: cursor for scope, cursor in session.execute(stmt) if cursor is not None}
