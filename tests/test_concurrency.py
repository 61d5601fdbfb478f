"""Many processes on one store at once: nothing lost, nothing overwritten."""

from __future__ import annotations

import multiprocessing
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

from sqlalchemy import func, select

from omnitui import services
from omnitui.services.ingest import ingest
from storage.db import Store, open_store
from storage.models import Conversation, note_t
from tests.helpers import batch, sms

WRITERS = 8
#: with every writer started before the first writes, this many each keep
#: all eight writing at once for most of the run
NOTES_EACH = 150


def _write_notes(url: str, data_dir: str, customer_id: int, writer: int, start: Barrier) -> None:
    store = open_store(url, Path(data_dir))
    try:
        start.wait(60)  # all at once, not one after another
        for n in range(NOTES_EACH):
            services.add_note(
                store, f"agent{writer}", f"note {writer}/{n}", customer_id=customer_id
            )
    finally:
        store.close()


def _assign(
    url: str,
    data_dir: str,
    conversation_id: int,
    version: int,
    who: str,
    out: Queue[tuple[str, str]],
) -> None:
    store = open_store(url, Path(data_dir))
    try:
        services.assign(store, conversation_id, who, who, expected_version=version)
        out.put(("won", who))
    except services.ConflictError as exc:
        out.put(("told", str(exc)))
    finally:
        store.close()


def test_concurrent_writers_lose_no_note(store: Store, db_url: str) -> None:
    ingest(store, "shop", batch(sms("SM1")))
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(WRITERS)
    procs = [
        ctx.Process(target=_write_notes, args=(db_url, str(store.data_dir), 1, w, start))
        for w in range(WRITERS)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * WRITERS
    with store.read() as s:
        assert (
            s.execute(select(func.count()).select_from(note_t)).scalar_one() == WRITERS * NOTES_EACH
        )


def test_two_processes_assigning_one_wins_one_is_told(store: Store, db_url: str) -> None:
    ingest(store, "shop", batch(sms("SM1")))
    with store.read() as s:
        conv = s.execute(select(Conversation)).scalar_one()
    ctx = multiprocessing.get_context("spawn")
    out: Queue[tuple[str, str]] = ctx.Queue()
    procs = [
        ctx.Process(
            target=_assign, args=(db_url, str(store.data_dir), conv.id, conv.version, who, out)
        )
        for who in ("alice", "bob")
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    results = sorted(out.get(timeout=10) for _ in procs)
    assert [r[0] for r in results] == ["told", "won"]
    winner = results[1][1]
    assert f"by {winner}" in results[0][1] and f"assigned to {winner}" in results[0][1]
