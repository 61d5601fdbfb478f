"""Who polls an account: at most one process at a time.

The lease lives in the account's SyncState row (owner + expiry). A poller
takes it when it is free, its own or expired, renews it on every round, and
gives it up when it stops; a process that dies simply lets it expire. So a
team can run one ``omnitui sync --watch`` and any number of consoles, whose
own pollers stand back while the daemon holds the account.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storage.db import Store, utc
from storage.models import SyncState, syncstate_t, utcnow

#: This process, as lease owner and outbox sender: host, pid and a nonce
#: (a pid is reused after a restart; the nonce is not).
PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
LEASE_TTL = timedelta(seconds=90)


def acquire(
    store: Store, account: str, owner: str = PROCESS_ID, ttl: timedelta = LEASE_TTL
) -> str | None:
    """Take or renew the lease on ``account``; returns None on success, else
    the current holder."""
    for _attempt in range(2):  # a concurrent first insert of the row: look again
        try:
            return _acquire(store, account, owner, ttl)
        except IntegrityError:
            continue
    return _acquire(store, account, owner, ttl)


def _acquire(store: Store, account: str, owner: str, ttl: timedelta) -> str | None:
    now = utcnow()
    with store.write() as session:
        state = session.execute(
            select(SyncState)
            .where(syncstate_t.c.account == account, syncstate_t.c.scope == "")
            .with_for_update()
        ).scalar_one_or_none()
        if state is None:
            state = SyncState(account=account, scope="")
        holder, expires = state.lease_owner, state.lease_expires_at
        if holder not in (None, owner) and expires is not None and expires > now:
            return holder
        state.lease_owner = owner
        state.lease_expires_at = now + ttl
        session.add(state)
    return None


def release(store: Store, account: str, owner: str = PROCESS_ID) -> None:
    """Give the lease up, if we hold it."""
    with store.write() as session:
        state = session.execute(
            select(SyncState)
            .where(syncstate_t.c.account == account, syncstate_t.c.scope == "")
            .with_for_update()
        ).scalar_one_or_none()
        if state is not None and state.lease_owner == owner:
            state.lease_owner = None
            state.lease_expires_at = None
            session.add(state)


def holders(store: Store, accounts: list[str], owner: str = PROCESS_ID) -> dict[str, str]:
    """The accounts among ``accounts`` whose lease another process holds now, and who."""
    if not accounts:
        return {}
    s = syncstate_t.c
    now = utcnow()
    with store.read() as session:
        rows = session.execute(
            select(s.account, s.lease_owner, s.lease_expires_at).where(
                s.account.in_(accounts), s.scope == "", s.lease_owner.is_not(None)
            )
        ).all()
    return {
        account: holder
        for account, holder, expires in rows
        if holder != owner and expires is not None and utc(expires) > now
    }
