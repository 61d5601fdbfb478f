"""kill -9 in the middle of a sync, then a restart: exactly the seeded
messages, no duplicates, the cursor where the last stored batch left it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from omnitui.services.ingest import load_cursors
from storage.db import Store
from storage.models import message_t

BATCHES, PER_BATCH = 60, 100

CHILD = """
import sys
from pathlib import Path
from datetime import UTC, datetime, timedelta
from omnitui.services.ingest import ingest, load_cursors
from providers.base import InboundMessage, PollBatch
from storage.db import open_store

url, data, batches, per = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
store = open_store(url, Path(data))
t0 = datetime(2026, 1, 1, tzinfo=UTC)
while True:
    n = int(load_cursors(store, "crashy").get("", "0"))  # a provider resuming from its cursor
    if n >= batches:
        break
    msgs = tuple(
        InboundMessage(external_id=f"SM{n}-{k}", channel="sms",
                       from_address=f"+1415555{(n * per + k) % 3000:04d}",
                       to_address="+14155550199",
                       sent_at=t0 + timedelta(seconds=n * per + k), body_text="x" * 300)
        for k in range(per)
    )
    ingest(store, "crashy", PollBatch(messages=msgs, cursors={"": str(n + 1)}))
    print(n, flush=True)
"""


def run_child(db_url: str, data: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, db_url, str(data), str(BATCHES), str(PER_BATCH)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ},
    )


def test_kill_9_mid_sync_then_restart(store: Store, db_url: str, tmp_path: Path) -> None:
    child = run_child(db_url, tmp_path / "data")
    assert child.stdout is not None
    for _ in range(5):  # let it store a few batches, then kill it mid-stream
        child.stdout.readline()
    time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(30)
    with store.read() as s:
        partial = s.execute(select(func.count()).select_from(message_t)).scalar_one()
    cursor = int(load_cursors(store, "crashy")[""])
    assert partial == cursor * PER_BATCH  # the cursor covers exactly what is stored
    assert 0 < cursor < BATCHES
    again = run_child(db_url, tmp_path / "data")
    _out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    with store.read() as s:
        total = s.execute(select(func.count()).select_from(message_t)).scalar_one()
        distinct = s.execute(
            select(func.count(func.distinct(message_t.c.external_id)))
        ).scalar_one()
    assert total == distinct == BATCHES * PER_BATCH
    assert load_cursors(store, "crashy")[""] == str(BATCHES)
