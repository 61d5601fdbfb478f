"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.db import HEAD_REVISION, Store, StoreError, current_revision, head_revision, open_store


def test_models_and_migrations_agree(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    # the full-text objects are the migrations' own (FTS5 tables, tsvector columns)
    leftovers = [d for d in diff if "fts" not in repr(d) and "search" not in repr(d)]
    assert leftovers == []


def test_a_new_store_is_at_head(store: Store) -> None:
    assert current_revision(store.engine) == head_revision()


def test_the_fast_revision_check_knows_the_newest_migration() -> None:
    # open_store skips Alembic when the stored revision equals HEAD_REVISION;
    # a new migration must move it, or stores would never be upgraded.
    assert head_revision() == HEAD_REVISION


def test_a_store_from_a_newer_omnitui_is_refused_clearly(store: Store, tmp_path: Path) -> None:
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'older'")
    url = store.engine.url.render_as_string(hide_password=False)
    with pytest.raises(StoreError, match=r"revision 'older'.*newer omnitui"):
        open_store(url, tmp_path)


def test_0003_splits_the_old_status_into_outbox_and_delivery_states(db_url: str) -> None:
    """A store from before the split: what the provider said never lands in
    the outbox, and what the provider already took is sent."""
    from alembic import command

    from storage.db import _alembic_config, make_engine

    engine = make_engine(db_url)
    command.upgrade(_alembic_config(engine), "0002")
    rows = [
        # (direction, author, external_id, channel, status, error)
        ("in", None, "in-1", "sms", "received", None),
        ("out", None, "echo-queued", "sms", "queued", None),  # another tool's, at Twilio
        ("out", None, "echo-failed", "sms", "failed", "30003 Unreachable"),
        ("out", "alice", "SM-taken", "sms", "queued", None),  # ours, Twilio took it
        ("out", "alice", None, "sms", "queued", None),  # ours, not sent yet
        ("out", "alice", "<m@x>", "email", "queued", None),  # ours, e-mail knows its id
        ("out", "alice", None, "telegram", "unconfirmed", "process stopped"),
        ("out", "alice", "SM-done", "sms", "delivered", None),
    ]
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO customer (id, name, created_at, updated_at, version) "
            "VALUES (1, 'Ann', '2026-01-01', '2026-01-01', 1)"
        )
        conn.exec_driver_sql(
            "INSERT INTO conversation (id, customer_id, account, channel, thread_key, "
            "our_address, their_address, status, last_message_at, message_count, created_at, "
            "version) VALUES (1, 1, 'a', 'sms', 'k', 'o', 't', 'open', '2026-01-01', 0, "
            "'2026-01-01', 1)"
        )
        for n, (direction, author, ext, channel, status, error) in enumerate(rows, start=1):
            conn.exec_driver_sql(
                "INSERT INTO message (id, conversation_id, customer_id, account, channel, "
                "direction, external_id, from_address, to_address, body_text, sent_at, status, "
                "error, attempts, author) VALUES (%s, 1, 1, 'a', %s, %s, %s, 'f', 't', 'b', "
                "'2026-01-01', %s, %s, 0, %s)".replace("%s", "?" if "sqlite" in db_url else "%s"),
                (n, channel, direction, ext, status, error, author),
            )
    command.upgrade(_alembic_config(engine), "head")
    with engine.connect() as conn:
        got = conn.exec_driver_sql(
            "SELECT outbox_state, delivery_state, delivery_error, error FROM message ORDER BY id"
        ).all()
    engine.dispose()
    assert [tuple(r) for r in got] == [
        (None, None, None, None),
        (None, "queued", None, None),
        (None, "failed", "30003 Unreachable", None),
        ("sent", "queued", None, None),
        ("queued", None, None, None),
        ("queued", None, None, None),
        ("unconfirmed", None, None, "process stopped"),
        ("sent", "delivered", None, None),
    ]
