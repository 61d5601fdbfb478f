"""Snoozed conversations wake up at their time.

A snooze is only a promise until something compares ``snoozed_until`` with
the clock: :func:`wake_due_snoozes` does, and makes each due conversation
``open`` again *in the store*, so every console, the CLI and the reports agree.
The poller calls it every round, each console on its periodic check (in a
worker) and the CLI before listing conversations; whichever comes first wins,
the others find nothing left to do.

Each wake-up is a conditional UPDATE (same id, same ``version``, still
snoozed) that bumps ``version``: an agent who changed the conversation a
moment earlier is never overwritten, and two processes never wake one twice.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select, update

from storage.db import Store, utc
from storage.models import audit_t, conversation_t, utcnow

#: Who the audit trail names for a wake-up: no person did it.
WAKE_ACTOR = "omnitui"
#: At most this many conversations are woken per call (the next call takes the rest).
WAKE_BATCH = 500


def wake_due_snoozes(
    store: Store, now: datetime | None = None, *, actor: str = WAKE_ACTOR
) -> list[int]:
    """Reopen every conversation snoozed until ``now`` or earlier; returns their ids.

    Each is audited as action ``"wake"`` by ``actor``. Costs one indexed read
    when nothing is due (the consoles call it every second), a write only
    when something is.
    """
    at = utc(now or utcnow())
    c = conversation_t.c
    with store.read() as session:
        due = session.execute(
            select(c.id, c.customer_id, c.version, c.snoozed_until)
            .where(c.status == "snoozed", c.snoozed_until.is_not(None), c.snoozed_until <= at)
            .order_by(c.snoozed_until, c.id)
            .limit(WAKE_BATCH)
        ).all()
    if not due:
        return []
    woken: list[int] = []
    with store.write() as session:
        for row in due:
            changed = session.execute(
                update(conversation_t)
                .where(c.id == row.id, c.version == row.version, c.status == "snoozed")
                .values(status="open", snoozed_until=None, version=row.version + 1)
            ).rowcount  # type: ignore[attr-defined]
            if not changed:
                continue  # changed meanwhile (an agent, a new message, another waker)
            until = utc(row.snoozed_until)
            detail = {
                "before": {"status": "snoozed", "snoozed_until": until.isoformat()},
                "after": {"status": "open", "snoozed_until": None},
            }
            session.execute(
                audit_t.insert().values(
                    at=at,
                    actor=actor,
                    action="wake",
                    customer_id=row.customer_id,
                    conversation_id=row.id,
                    detail=json.dumps(detail, sort_keys=True),
                )
            )
            woken.append(int(row.id))
    return woken
