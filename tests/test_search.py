"""Full-text search returns the newest matches first, for rare and common
words alike, on both engines (each takes its own path to them)."""

from __future__ import annotations

import pytest

from omnitui.services.ingest import ingest
from storage import queries
from storage.db import Store
from tests.helpers import batch, email


@pytest.fixture
def searchable(store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    # a small window, so that 60 messages make "refund" a common word
    monkeypatch.setattr(queries, "SEARCH_WINDOW", 20)
    ingest(
        store,
        "shop",
        batch(
            *(
                email(
                    f"m{i}",
                    f"c{i % 7}@example.com",
                    minutes=i,
                    subject=f"Case {i}",
                    body=f"refund number {i}" + (" zebra" if i in (3, 4, 5) else ""),
                )
                for i in range(60)
            )
        ),
    )
    return store


def test_a_common_word_gives_the_newest_matches(searchable: Store) -> None:
    with searchable.read() as s:
        hits = queries.search(s, "refund", limit=10)
    assert [h.subject for h in hits] == [f"Case {i}" for i in range(59, 49, -1)]


def test_a_rare_word_gives_all_its_matches_newest_first(searchable: Store) -> None:
    with searchable.read() as s:
        hits = queries.search(s, "zeb")  # prefixes match
    assert [h.subject for h in hits] == ["Case 5", "Case 4", "Case 3"]


def test_no_match_and_no_words(searchable: Store) -> None:
    with searchable.read() as s:
        assert queries.search(s, "nothing-like-this") == []
        assert queries.search(s, "  ?! ") == []


LITERAL_QUERIES = [
    '"gate',
    "gate*",
    "gate -door",
    "(gate) door",
    "gate:door",
    "[gate]",
    "[/] gate",
    "gate AND door",
    "NOT gate",
    "NEAR(gate door)",
    "gate NEAR/x door",
    "gate OR door",
    "{gate}^",
    "gate & door | !near <-> door:*",
    "gate\\ 'door'",
]


@pytest.mark.parametrize("query", LITERAL_QUERIES)
def test_search_syntax_is_taken_literally(searchable: Store, query: str) -> None:
    """FTS5 and tsquery operators in a query are words or separators, never
    syntax: every word must match, on both engines, and nothing fails."""
    ingest(
        searchable,
        "shop",
        batch(email("ops", subject="Operators", body="Gate NEAR the AND OR NOT door [x] (y)")),
    )
    with searchable.read() as s:
        assert [h.subject for h in queries.search(s, query)] == ["Operators"]
        assert queries.search(s, f"{query} refund") == []  # OR is no operator: all must match
