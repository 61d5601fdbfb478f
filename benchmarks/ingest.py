"""Ingest speed against the floor SQLite itself sets.

Stores N synthetic messages (about 400-byte bodies, 5,000 customers, e-mail
and SMS mixed) through ``omnitui.services.ingest.ingest`` in provider-sized batches,
then, in the same run, inserts the same rows with a bare ``sqlite3``
``executemany`` into an equivalent message table (same columns and indexes,
FTS5 index kept by a trigger), committing per batch the same way. Prints
messages/s of both and the ratio (target: ingest >= 0.5 x raw).

    .venv/bin/python benchmarks/ingest.py [--messages 100000] [--batch 1000]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.table import Figure, print_table
from omnitui.services.ingest import ingest
from providers.base import InboundMessage, PollBatch
from storage.db import SQLITE_PRAGMAS, open_store

WORDS = [
    "order",
    "refund",
    "invoice",
    "shipping",
    "delay",
    "package",
    "login",
    "password",
    "account",
    "reset",
    "please",
    "thanks",
    "hello",
    "tracking",
    "number",
    "damaged",
    "replacement",
    "card",
    "payment",
    "charge",
    "subscription",
    "cancel",
    "upgrade",
    "plan",
    "support",
    "question",
    "urgent",
    "today",
    "tomorrow",
    "week",
]


def body(rng: random.Random, size: int = 400) -> str:
    out: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(WORDS)
        out.append(word)
        length += len(word) + 1
    return " ".join(out)[:size]


def synthetic(n: int, customers: int, seed: int = 1) -> list[InboundMessage]:
    rng = random.Random(seed)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    msgs = []
    for i in range(n):
        c = rng.randrange(customers)
        at = t0 + timedelta(seconds=i * 7)
        if c % 2 == 0:
            mid = f"<m{i}@bench.example>"
            thread = f"<t{c}-{i // 5000}@bench.example>"
            msgs.append(
                InboundMessage(
                    external_id=mid,
                    channel="email",
                    from_address=f"customer{c}@example.com",
                    to_address="support@shop.example",
                    sent_at=at,
                    body_text=body(rng),
                    from_name=f"Customer {c}",
                    subject=f"Order {c} question",
                    message_id=mid,
                    in_reply_to=thread if i % 3 else None,
                    references=(thread,) if i % 3 else (),
                )
            )
        else:
            msgs.append(
                InboundMessage(
                    external_id=f"SM{i:032x}",
                    channel="sms",
                    from_address=f"+1415{5550000 + c:07d}"[:12],
                    to_address="+14155550199",
                    sent_at=at,
                    body_text=body(rng, 160),
                )
            )
    return msgs


RAW_SCHEMA = """
CREATE TABLE message (id INTEGER PRIMARY KEY, conversation_id INTEGER NOT NULL,
  customer_id INTEGER NOT NULL, account TEXT NOT NULL, channel TEXT NOT NULL,
  direction TEXT NOT NULL, external_id TEXT, email_message_id TEXT, from_address TEXT NOT NULL,
  to_address TEXT NOT NULL, subject TEXT, body_text TEXT NOT NULL, body_html TEXT,
  sent_at TEXT NOT NULL, status TEXT NOT NULL, error TEXT, attempts INTEGER NOT NULL,
  author TEXT, next_attempt_at TEXT, sending_owner TEXT, sending_since TEXT);
CREATE UNIQUE INDEX uq_message ON message(account, external_id);
CREATE INDEX ix_m_conv ON message(conversation_id, sent_at);
CREATE INDEX ix_m_cust ON message(customer_id, sent_at);
CREATE INDEX ix_m_status ON message(status);
CREATE INDEX ix_m_email ON message(account, email_message_id);
CREATE INDEX ix_m_sent ON message(sent_at);
CREATE VIRTUAL TABLE message_fts USING fts5(subject, body_text, content='message',
  content_rowid='id', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER message_fts_ai AFTER INSERT ON message BEGIN
  INSERT INTO message_fts(rowid, subject, body_text) VALUES (new.id, new.subject, new.body_text);
END;
"""


def raw_floor(path: Path, msgs: list[InboundMessage], batch: int) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:  # the same settings omnitui runs with
        db.execute(pragma)
    db.executescript(RAW_SCHEMA)
    rows = [
        (
            i % 20000,
            i % 5000,
            "bench",
            m.channel,
            m.direction,
            m.external_id,
            m.message_id,
            m.from_address,
            m.to_address,
            m.subject,
            m.body_text,
            None,
            m.sent_at.strftime("%Y-%m-%d %H:%M:%S.%f"),
            "received",
            None,
            0,
            None,
            None,
            None,
            None,
        )
        for i, m in enumerate(msgs)
    ]
    sql = "INSERT INTO message VALUES (NULL" + ", ?" * 20 + ")"
    start = time.perf_counter()
    for i in range(0, len(rows), batch):
        db.execute("BEGIN")
        db.executemany(sql, rows[i : i + batch])
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return len(rows) / elapsed


def omnitui_ingest(path: Path, msgs: list[InboundMessage], batch: int) -> float:
    store = open_store(f"sqlite:///{path}", path.parent / "data")
    start = time.perf_counter()
    for i in range(0, len(msgs), batch):
        ingest(store, "bench", PollBatch(messages=tuple(msgs[i : i + batch]), cursors={"": str(i)}))
    elapsed = time.perf_counter() - start
    store.close()
    return len(msgs) / elapsed


def measure(messages: int = 100_000, customers: int = 5_000, batch: int = 1_000) -> Figure:
    msgs = synthetic(messages, customers)
    with tempfile.TemporaryDirectory() as tmp:
        raw = raw_floor(Path(tmp) / "raw.db", msgs, batch)
        ours = omnitui_ingest(Path(tmp) / "omnitui.db", msgs, batch)
    return Figure(
        f"ingest {messages:,} messages, batches of {batch:,}",
        ours,
        raw,
        "msg/s",
        min_ratio=0.5,
        floor_is="sqlite3 executemany of the same rows, same indexes + FTS5, same commits",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=1_000)
    args = parser.parse_args()
    print_table([measure(args.messages, args.customers, args.batch)])


if __name__ == "__main__":
    main()
