"""Finding and creating the rows every write path needs: customers by
address, and conversations by thread key. Shared by ingest and the outbox."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import insert, select, tuple_
from sqlmodel import Session

from storage.models import conversation_t, customer_t, identity_t, utcnow

CHUNK = 400  # bound parameters per IN (...) lookup; far below every engine's limit

T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def find_identities(
    session: Session, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """customer id by (channel, normalized address), for the keys that exist."""
    found: dict[tuple[str, str], int] = {}
    for part in chunks(keys):
        stmt = select(identity_t.c.channel, identity_t.c.address, identity_t.c.customer_id).where(
            tuple_(identity_t.c.channel, identity_t.c.address).in_(part)
        )
        for channel, address, customer_id in session.execute(stmt):
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
    stmt = insert(customer_t).returning(customer_t.c.id, sort_by_parameter_order=True)
    ids = list(session.execute(stmt, rows).scalars())
    session.execute(
        insert(identity_t),
        [
            {
                "customer_id": cid,
                "channel": ch,
                "address": addr,
                "display_name": names[(ch, addr)],
                "created_at": now,
            }
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
    c = conversation_t.c
    for part in chunks(keys):
        stmt = select(c.channel, c.thread_key, c.id).where(
            c.account == account, tuple_(c.channel, c.thread_key).in_(part)
        )
        for channel, key, conv_id in session.execute(stmt):
            found[(channel, key)] = conv_id
    return found


def create_conversation(
    session: Session,
    *,
    account: str,
    channel: str,
    thread_key: str,
    customer_id: int,
    ours: str,
    theirs: str,
    subject: str | None,
    at: datetime,
) -> int:
    """A new open conversation with no messages yet; returns its id."""
    stmt = insert(conversation_t).returning(conversation_t.c.id)
    values = {
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
        "created_at": utcnow(),
        "version": 1,
    }
    return int(session.execute(stmt, values).scalar_one())
