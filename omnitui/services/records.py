"""Finding and creating the rows every write path needs: customers by
address, and conversations by thread key. Shared by ingest and the outbox."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session

from storage.bulk import bulk_insert, driver_lookup, driver_time, insert_ids
from storage.models import customer_t, identity_t, utcnow


def _by_first(keys: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for first, second in dict.fromkeys(keys):
        grouped.setdefault(first, []).append(second)
    return grouped


def find_identities(
    session: Session, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """customer id by (channel, normalized address), for the keys that exist."""
    # One "channel = ? AND address IN (...)" per channel: both engines serve
    # it from the unique index, where a row-value IN may scan the table.
    found: dict[tuple[str, str], int] = {}
    for channel, addresses in _by_first(keys).items():
        for address, customer_id in driver_lookup(
            session,
            "SELECT address, customer_id FROM identity WHERE channel = ? AND address IN ({in})",
            (channel,),
            addresses,
        ):
            found[(channel, address)] = customer_id
    return found


def ensure_customers(
    session: Session, names: Mapping[tuple[str, str], str | None]
) -> tuple[dict[tuple[str, str], int], int]:
    """The customer of every (channel, normalized address) key of ``names``.

    A key with no identity yet gets a new customer, named by the given display
    name or else the address. Returns the mapping and how many were created.
    """
    found = find_identities(session, list(names))
    missing = [key for key in names if key not in found]
    if not missing:
        return found, 0
    now = utcnow()
    rows = [
        {
            "name": (names[key] or "").strip() or key[1],
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        for key in missing
    ]
    ids = insert_ids(session, customer_t, rows)
    dialect = session.get_bind().dialect.name
    bulk_insert(
        session,
        identity_t,
        ("customer_id", "channel", "address", "display_name", "created_at"),
        [
            (cid, ch, addr, names[(ch, addr)], driver_time(now, dialect))
            for cid, (ch, addr) in zip(ids, missing, strict=True)
        ],
    )
    found.update(zip(missing, ids, strict=True))
    return found, len(missing)


def conversations_by_key(
    session: Session, account: str, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """conversation id by (channel, thread key) within ``account``, for the keys that exist."""
    found: dict[tuple[str, str], int] = {}
    for channel, thread_keys in _by_first(keys).items():
        for key, conv_id in driver_lookup(
            session,
            "SELECT thread_key, id FROM conversation "
            "WHERE account = ? AND channel = ? AND thread_key IN ({in})",
            (account, channel),
            thread_keys,
        ):
            found[(channel, key)] = conv_id
    return found


def conversation_values(
    *,
    account: str,
    channel: str,
    thread_key: str,
    customer_id: int,
    ours: str,
    theirs: str,
    subject: str | None,
    at: datetime,
) -> dict[str, Any]:
    """The row of a new open conversation with no messages yet."""
    return {
        "customer_id": customer_id,
        "account": account,
        "channel": channel,
        "thread_key": thread_key,
        "our_address": ours,
        "their_address": theirs,
        "subject": subject,
        "status": "open",
        "last_message_at": at,
        "message_count": 0,
        # a conversation starts with its first message (imported history too)
        "created_at": min(at, utcnow()),
        "version": 1,
    }
