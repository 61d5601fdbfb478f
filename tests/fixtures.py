"""Fixtures over the store, loaded as a plugin (see pyproject's addopts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.db import Store, open_store


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    """A new, migrated store on SQLite or PostgreSQL (``db_url`` is parametrized)."""
    opened = open_store(db_url, tmp_path / "data")
    try:
        yield opened
    finally:
        opened.close()
