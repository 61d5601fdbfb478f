"""A person's changes to a conversation: assignment and status (snoozes
included), with optimistic locking on ``version`` and an audit event each; a
caller that read an older version gets a :class:`ConflictError` naming who
changed it, and nothing is overwritten.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from omnitui.services.base import STATUSES, ConflictError, InvalidRequest, _audit, _get
from omnitui.when import not_in_future
from storage.db import Store, utc
from storage.models import (
    Conversation,
    audit_t,
    conversation_t,
    utcnow,
)


def _change_conversation(
    store: Store,
    conversation_id: int,
    actor: str,
    action: str,
    expected_version: int | None,
    **values: object,
) -> Conversation:
    with store.write() as session:
        conv = _get(session, Conversation, conversation_id, "conversation")
        if expected_version is not None and conv.version != expected_version:
            raise ConflictError(_conflict_text(session, conv))
        before = {key: getattr(conv, key) for key in values}
        changed = session.execute(
            update(conversation_t)
            .where(conversation_t.c.id == conversation_id, conversation_t.c.version == conv.version)
            .values(version=conv.version + 1, **values)
        ).rowcount  # type: ignore[attr-defined]
        if not changed:
            raise ConflictError(_conflict_text(session, conv))
        _audit(
            session,
            actor,
            action,
            customer_id=conv.customer_id,
            conversation_id=conversation_id,
            before=before,
            after=values,
        )
        session.expire(conv)
        fresh = session.get(Conversation, conversation_id)
        assert fresh is not None
        return fresh


def _conflict_text(session: Session, conv: Conversation) -> str:
    session.refresh(conv)  # the state the winner left, not what we read before
    last = session.execute(
        select(audit_t.c.actor, audit_t.c.action, audit_t.c.at)
        .where(audit_t.c.conversation_id == conv.id)
        .order_by(audit_t.c.id.desc())
        .limit(1)
    ).first()
    who = f" by {last.actor} ({last.action} at {utc(last.at):%Y-%m-%d %H:%M} UTC)" if last else ""
    return (
        f"conversation {conv.id} was changed{who} since you loaded it: it is now "
        f"{conv.status}, assigned to {conv.assignee or 'nobody'}. Nothing was overwritten; "
        "look again and retry."
    )


def assign(
    store: Store,
    conversation_id: int,
    assignee: str | None,
    actor: str,
    *,
    expected_version: int | None = None,
) -> Conversation:
    """Assign a conversation to ``assignee`` (``None`` unassigns)."""
    who = assignee.strip() if assignee else None
    return _change_conversation(
        store, conversation_id, actor, "assign", expected_version, assignee=who or None
    )


def set_status(
    store: Store,
    conversation_id: int,
    status: str,
    actor: str,
    *,
    snoozed_until: datetime | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Conversation:
    """Set a conversation's status. ``snoozed`` needs a ``snoozed_until`` after
    ``now`` (the caller's clock; by default the system's), and no other status
    takes one (a wake-up time on "resolved" would be dropped unseen)."""
    if status not in STATUSES:
        raise InvalidRequest(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
    until = utc(snoozed_until) if snoozed_until is not None else None
    if status != "snoozed" and until is not None:
        raise InvalidRequest(f"a wake-up time goes with snoozed only, not with {status}")
    if status == "snoozed":
        if until is None:
            raise InvalidRequest("snoozing needs a time to wake up (snoozed_until)")
        if until <= utc(now or utcnow()):
            raise InvalidRequest(not_in_future(until))
    return _change_conversation(
        store,
        conversation_id,
        actor,
        "status",
        expected_version,
        status=status,
        snoozed_until=until,
    )
