"""Customers: following merges to the customer that remains (the one rule
the faces and services use for a customer id), and merging
one customer into another (nothing is deleted; the other stays a pointer).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlmodel import Session

from omnitui.services.base import InvalidRequest, NotFound, ServiceError, _audit, _get
from storage.db import Store
from storage.models import (
    Customer,
    conversation_t,
    customer_t,
    identity_t,
    message_t,
    note_t,
    utcnow,
)
from storage.queries import id_fits


def live_customer_id(session: Session, customer_id: int) -> int | None:
    """The customer ``customer_id`` is now: itself, or, once merged, the one it
    was merged into (followed to the end); ``None`` when there is no such
    customer. Every face and service that takes a customer id asks this, so a
    merged id means the same customer everywhere."""
    customer = (
        session.get(Customer, customer_id) if id_fits(session, customer_id, customer_t) else None
    )
    seen: set[int] = set()
    while customer is not None and customer.merged_into_id is not None:
        if customer.id in seen:  # a cycle cannot be made by merge_customers; never loop on one
            break
        seen.add(customer.id or 0)
        customer = session.get(Customer, customer.merged_into_id)
    return customer.id if customer is not None else None


def _live_customer(session: Session, customer_id: int) -> Customer:
    """The customer ``customer_id``, following merges to the one that remains."""
    live = live_customer_id(session, customer_id)
    customer = session.get(Customer, live) if live is not None else None
    if customer is None:
        raise NotFound(f"there is no customer {customer_id}")
    return customer


def merge_customers(store: Store, keep_id: int, other_id: int, actor: str) -> Customer:
    """Make ``other_id`` part of ``keep_id``: identities, conversations, messages
    and notes move over; the other customer stays as a pointer (nothing is deleted)."""
    if keep_id == other_id:
        raise InvalidRequest("a customer cannot be merged into itself")
    with store.write() as session:
        # both rows locked first, in id order (PostgreSQL; SQLite's write is
        # one at a time): a merge of the same two the other way round, at the
        # same moment, waits, then finds one merged, instead of making a cycle
        c = customer_t.c
        both = sorted(i for i in {keep_id, other_id} if id_fits(session, i, customer_t))
        session.execute(select(c.id).where(c.id.in_(both)).order_by(c.id).with_for_update())
        keep = _get(session, Customer, keep_id, "customer")
        other = _get(session, Customer, other_id, "customer")
        for cid, cust in ((keep_id, keep), (other_id, other)):
            if cust.merged_into_id is not None:
                raise ServiceError(f"customer {cid} was already merged into {cust.merged_into_id}")
        moved: dict[str, Sequence[int]] = {}
        for name, table in (
            ("identities", identity_t),
            ("conversations", conversation_t),
            ("messages", message_t),
            ("notes", note_t),
        ):
            ids = list(
                session.execute(select(table.c.id).where(table.c.customer_id == other_id)).scalars()
            )
            session.execute(
                update(table).where(table.c.customer_id == other_id).values(customer_id=keep_id)
            )
            moved[name] = ids
        from omnitui.services.tags import move_customer_tags

        tags = move_customer_tags(session, other_id, keep_id)  # the customer's tags go along
        other.merged_into_id = keep_id
        other.version += 1
        keep.version += 1
        keep.updated_at = other.updated_at = utcnow()
        session.add_all([keep, other])
        _audit(
            session,
            actor,
            "merge",
            customer_id=keep_id,
            merged=other_id,
            merged_name=other.name,
            moved=moved,
            tags=tags,
        )
        session.flush()
        return keep
