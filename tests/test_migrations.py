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
