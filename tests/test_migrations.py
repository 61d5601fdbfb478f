"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.db import Store, current_revision, head_revision


def test_models_and_migrations_agree(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    # the full-text objects are the migrations' own (FTS5 tables, tsvector columns)
    leftovers = [d for d in diff if "fts" not in repr(d) and "search" not in repr(d)]
    assert leftovers == []


def test_a_new_store_is_at_head(store: Store) -> None:
    assert current_revision(store.engine) == head_revision()
