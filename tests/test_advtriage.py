"""Adversarial checks of today's triage changes (bulk on PostgreSQL in one
statement, read marks and the change marker, views naming an agent), on
both engines: each test failed on the code before its fix."""

from __future__ import annotations

from sqlalchemy import select

from omnitui.services.bulk import BulkChange, bulk_update
from omnitui.services.ingest import ingest
from omnitui.services.tags import add_tags, remove_tags
from storage import queries
from storage.db import Store
from storage.models import audit_t
from tests.helpers import batch, email


def two_conversations(store: Store) -> list[int]:
    ingest(store, "shop", batch(email("a1", minutes=0), email("b1", "bo@example.com", minutes=1)))
    with store.read() as s:
        return [r.id for r in queries.list_conversations(s, view="all")]


def tag_details(store: Store, conversation_id: int) -> list[tuple[str, str]]:
    """The conversation's tag audit rows as stored: (action, detail text)."""
    a = audit_t.c
    with store.read() as s:
        rows = s.execute(
            select(a.action, a.detail)
            .where(a.conversation_id == conversation_id, a.action.in_(("tag", "untag")))
            .order_by(a.id)
        )
        return [(r[0], r[1]) for r in rows]


def test_a_bulk_tag_in_another_script_is_audited_as_a_single_change_writes_it(
    store: Store,
) -> None:
    # before: PostgreSQL's one statement wrote jsonb's text, ["café", "日本"],
    # where a single change (and SQLite's bulk) writes ["caf\u00e9", ...]
    single, bulk = two_conversations(store)
    tags = ["café", "日本", "𠀀x", "b"]  # a letter beyond the BMP: a surrogate pair in JSON
    add_tags(store, "carol", tags, conversation_id=single)
    remove_tags(store, "carol", ["日本", "zz", "café"], conversation_id=single)
    bulk_update(store, "carol", [bulk], BulkChange(tag=tuple(tags)))
    bulk_update(store, "carol", [bulk], BulkChange(untag=("日本", "zz", "café")))
    assert tag_details(store, bulk) == tag_details(store, single)
    assert tag_details(store, bulk)[1] == (
        "untag",
        '{"on": "conversation", "tags": ["\\u65e5\\u672c", "caf\\u00e9"]}',
    )
