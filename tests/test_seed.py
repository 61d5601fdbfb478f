"""The benchmark store generator keeps working on both engines (a small N)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from benchmarks.seed import BIG_ADDRESS, seed
from storage import queries
from storage.models import conversation_t, message_t, note_t


def test_seed_fills_a_small_store(db_url: str, tmp_path: Path) -> None:
    store = seed(db_url, tmp_path / "data", messages=600, customers=60, big=50)
    try:
        with store.read() as s:
            count = s.execute(select(func.count()).select_from(message_t)).scalar_one()
            channels = set(s.execute(select(message_t.c.channel).distinct()).scalars())
            statuses = set(s.execute(select(conversation_t.c.status).distinct()).scalars())
            notes = s.execute(select(func.count()).select_from(note_t)).scalar_one()
            (big,) = queries.list_customers(s, query=BIG_ADDRESS)
            big_messages = len(queries.timeline(s, big.id, limit=1000))
        assert count == 600
        assert channels == {"email", "sms", "whatsapp", "telegram", "matrix"}
        assert "resolved" in statuses and "open" in statuses
        assert notes > 0
        assert big_messages >= 50
    finally:
        store.close()
