"""Polling accounts and draining the outbox.

:func:`sync_once` does one full round for one account: poll until the
provider has nothing more, storing each batch with its cursor, then deliver
what waits in the outbox; :func:`sync_round` does it once for each account
(``omnitui sync --once``). Errors are recorded on the account's SyncState
(shown by ``omnitui sync``, ``doctor`` and the TUI) and never stop other
accounts. :func:`watch` repeats rounds on each account's own interval with
exponential backoff and jitter after failures, until asked to stop; a store
that cannot serve for a while (locked, full, a PostgreSQL restart) and
unexpected errors are logged and waited out, never the end of a worker.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from omnitui.services import leases, outbox, snoozes
from omnitui.services.ingest import ingest, load_cursors
from providers.base import (
    DEFAULT_REGION,
    AuthError,
    PermanentError,
    Provider,
    ProviderError,
    TransientError,
)
from storage.db import Store, StoreUnavailable
from storage.models import SyncState, syncstate_t, utcnow

log = logging.getLogger("omnitui.services.sync")

#: At most this many batches per round, so one huge mailbox cannot starve the others.
MAX_BATCHES_PER_ROUND = 50
MAX_BACKOFF = 900.0
#: Longest wait before trying a store that could not serve again.
STORE_BACKOFF_MAX = 60.0


@dataclass
class SyncReport:
    """What one round did for one account."""

    account: str
    stored: int = 0
    duplicates: int = 0
    new_customers: int = 0
    status_updates: int = 0
    sent: int = 0
    send_failed: int = 0
    error: str | None = None
    error_kind: str | None = None
    #: seconds the service asked us to wait before the next poll (rate limits)
    retry_after: float | None = None
    #: another process polls this account (it holds the lease): nothing was done
    held_by: str | None = None
    conversation_ids: set[int] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return self.error is None


def record_error(store: Store, account: str, message: str) -> None:
    """Remember the latest poll error of ``account`` (the message must hold no secret)."""
    with store.write() as session:
        state = session.execute(
            select(SyncState).where(syncstate_t.c.account == account, syncstate_t.c.scope == "")
        ).scalar_one_or_none() or SyncState(account=account, scope="")
        state.last_error = message[:1000]
        state.last_error_at = utcnow()
        session.add(state)


def _record_success(store: Store, account: str) -> None:
    with store.write() as session:
        state = session.execute(
            select(SyncState).where(syncstate_t.c.account == account, syncstate_t.c.scope == "")
        ).scalar_one_or_none() or SyncState(account=account, scope="")
        state.last_success_at = utcnow()
        state.last_error = None
        session.add(state)


def _error_kind(exc: ProviderError) -> str:
    if isinstance(exc, AuthError):
        return "auth"
    if isinstance(exc, TransientError):
        return "transient"
    if isinstance(exc, PermanentError):
        return "permanent"
    return "error"


def sync_once(
    store: Store,
    provider: Provider,
    *,
    default_region: str = DEFAULT_REGION,
    send: bool = True,
    owner: str = leases.PROCESS_ID,
) -> SyncReport:
    """Poll ``provider`` until it has nothing more, then deliver its due outbox.

    Does nothing (``held_by`` says who) while another process holds the
    account's lease; the lease is taken or renewed otherwise.
    """
    report = SyncReport(provider.account)
    holder = leases.acquire(store, provider.account, owner)
    if holder is not None:
        report.held_by = holder
        return report
    try:
        for _ in range(MAX_BATCHES_PER_ROUND):
            batch = provider.poll(load_cursors(store, provider.account))
            result = ingest(store, provider.account, batch, default_region=default_region)
            report.stored += result.stored
            report.duplicates += result.duplicates
            report.new_customers += result.new_customers
            report.status_updates += result.status_updates
            report.conversation_ids |= result.conversation_ids
            if not batch.more:
                break
        _record_success(store, provider.account)
    except ProviderError as exc:
        report.error, report.error_kind = f"{provider.account}: {exc}", _error_kind(exc)
        report.retry_after = exc.retry_after if isinstance(exc, TransientError) else None
        record_error(store, provider.account, str(exc))
    report.conversation_ids.update(snoozes.wake_due_snoozes(store))  # due even with no console
    if send:
        for message_id in outbox.due(store, provider.account):
            try:
                delivery = outbox.deliver(store, provider, message_id)
            except outbox.OutboxError:
                continue  # claimed by another worker meanwhile
            if delivery.state == "sent":
                report.sent += 1
            else:
                report.send_failed += 1
        for found in outbox.reconcile(store, provider):
            report.sent += 1
            log.info("reconciled message=%d external_id=%s", found.message_id, found.external_id)
    return report


def sync_round(
    store: Store, providers: Sequence[Provider], *, default_region: str = DEFAULT_REGION
) -> list[SyncReport]:
    """One round of each account (``omnitui sync --once``), the same round
    :func:`watch` repeats: first the sends a dead process left behind are
    marked unconfirmed (as :func:`watch` does before its first round), then
    each account is polled and its due outbox delivered (:func:`sync_once`)
    and its lease given back, so the next poller need not wait for it to expire.
    """
    outbox.recover_interrupted(store)
    reports = []
    for provider in providers:
        reports.append(sync_once(store, provider, default_region=default_region))
        leases.release(store, provider.account)
    return reports


def next_delay(interval: float, failures: int, retry_after: float | None = None) -> float:
    """Seconds until the next round: the interval, or after failures an
    exponential backoff with jitter (so many clients do not retry in step);
    never sooner than a rate limit's ``retry_after`` (up to the backoff cap)."""
    if failures == 0:
        return interval
    base = min(interval * 2.0 ** min(failures, 10), MAX_BACKOFF)
    delay = base * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security
    return max(delay, min(retry_after or 0.0, MAX_BACKOFF))


class WatchFailed(Exception):
    """A poller worker died in a way it cannot recover from (the message says
    which account and why): the process should exit non-zero, so a service
    manager restarts it."""


def store_delay(failures: int, interval: float) -> float:
    """Seconds before trying a store that could not serve again: short at first
    (a lock usually passes in seconds), doubling up to a minute, with jitter;
    never longer than the account's own interval would be after failures."""
    base = min(2.0 ** min(failures, 10), STORE_BACKOFF_MAX, max(interval, 1.0) * 2.0**failures)
    return base * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security


def watch(
    store: Store,
    providers: Sequence[tuple[Provider, float]],
    *,
    stop: threading.Event,
    default_region: str = DEFAULT_REGION,
    on_report: Callable[[SyncReport], None] | None = None,
) -> None:
    """Run rounds for each (provider, interval) until ``stop`` is set.

    A round in progress is finished before returning, so no batch is cut off.
    A store that cannot serve (locked, read-only, full, a restarting server)
    and any unexpected error in a round are logged as one line and waited out
    with backoff; the worker carries on. Only a worker that dies outright
    ends the watch early, by raising :class:`WatchFailed` once the others
    have finished their rounds: the caller exits non-zero, never quietly.
    """
    # One worker per account, so a slow or hanging server delays only its own
    # account; each keeps its own interval and backoff.
    deaths: list[str] = []
    recovery = _Recovery(store)
    workers = [
        threading.Thread(
            target=_guarded,
            args=(deaths, stop, _watch_one, store, provider, interval, stop, default_region),
            kwargs={"on_report": on_report, "recovery": recovery},
            name=f"sync-{provider.account}",
            daemon=True,
        )
        for provider, interval in providers
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if deaths:
        raise WatchFailed("; ".join(deaths))


class _Recovery:
    """Marks the sends a dead process left behind, once, before the first round
    that finds the store serving (a round that cannot reach it fails as usual)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = threading.Lock()
        self.done = False

    def __call__(self) -> None:
        with self.lock:
            if not self.done:
                outbox.recover_interrupted(self.store)
                self.done = True


def _guarded(
    deaths: list[str], stop: threading.Event, target: Callable[..., None], *args: Any, **kw: Any
) -> None:
    """Run a worker; if it dies of something not even its loop catches (a
    BaseException), log it, note it and stop the others."""
    try:
        target(*args, **kw)
    except BaseException as exc:  # noqa: BLE001 - its last word: logged, then the watch ends
        name = threading.current_thread().name
        deaths.append(f"{name} died: {type(exc).__name__}: {exc}")
        log.critical("worker %s died: %s: %s; stopping", name, type(exc).__name__, exc)
        stop.set()


def _watch_one(
    store: Store,
    provider: Provider,
    interval: float,
    stop: threading.Event,
    default_region: str,
    on_report: Callable[[SyncReport], None] | None = None,
    recovery: Callable[[], None] | None = None,
) -> None:
    failures = 0
    store_failures = 0
    while not stop.is_set():
        delay: float
        try:
            if recovery is not None:
                recovery()
            report = sync_once(store, provider, default_region=default_region)
            store_failures = 0
        except StoreUnavailable as exc:
            # the store is locked, read-only, full or restarting: wait it out
            store_failures += 1
            delay = store_delay(store_failures, interval)
            report = SyncReport(provider.account, error=str(exc), error_kind="store")
        except Exception as exc:  # a bug or a provider's surprise: restart the round
            failures += 1
            delay = next_delay(interval, failures)
            report = SyncReport(
                provider.account, error=f"{type(exc).__name__}: {exc}", error_kind="crash"
            )
            log.debug("round of %s failed", provider.account, exc_info=True)
            _record_quietly(store, provider.account, f"unexpected error: {report.error}")
        else:
            failures = 0 if report.ok else failures + 1
            delay = next_delay(interval, failures, report.retry_after)
        log.log(
            logging.WARNING if report.error_kind in ("store", "crash") else logging.INFO,
            "poll account=%s stored=%d duplicates=%d sent=%d send_failed=%d error=%s held_by=%s%s",
            report.account,
            report.stored,
            report.duplicates,
            report.sent,
            report.send_failed,
            report.error_kind or "-",
            report.held_by or "-",
            f" next_in={delay:.0f}s: {_one_line(report.error)}"
            if report.error_kind in ("store", "crash")
            else "",
        )
        if on_report is not None:
            on_report(report)
        stop.wait(delay)
    try:
        leases.release(store, provider.account)
    except Exception as exc:  # noqa: BLE001 - the lease expires by itself
        log.warning("lease of %s not given back (it expires by itself): %s", provider.account, exc)


def _record_quietly(store: Store, account: str, message: str) -> None:
    """Show the failure on the account's health line, if the store lets us."""
    with contextlib.suppress(StoreUnavailable):  # the poll line in the log says it already
        record_error(store, account, message)


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())[:300]
