"""Finding a customer: names without regard to accents, phone numbers in any
format, on both engines."""

from __future__ import annotations

import pytest

from omnitui.services.ingest import ingest
from omnitui.services.lookup import find_customers
from storage.db import Store
from storage.fold import fold
from tests.helpers import batch, email, sms


@pytest.fixture
def people(store: Store) -> Store:
    ingest(
        store,
        "shop",
        batch(
            email("z1", "zoe@example.com", name="Zoë Krüger"),
            email("z2", "ZK@example.com", name="ZOË KRÜGER-Ŀ", minutes=1),
            email("j1", "jose@example.com", name="José Núñez", minutes=2),
            email("p1", "percent@example.com", name="100% Ann_X", minutes=3),
            sms("SM1", "+14155550100", minutes=4),
            sms("SM2", "+442079460958", minutes=5),
        ),
    )
    return store


def _names(store: Store, query: str) -> list[str]:
    with store.read() as session:
        return sorted(r.name for r in find_customers(session, query, default_region="US"))


def test_names_match_without_accents_or_case(people: Store) -> None:
    assert _names(people, "zoe") == ["ZOË KRÜGER-Ŀ", "Zoë Krüger"]
    assert _names(people, "krüger") == ["ZOË KRÜGER-Ŀ", "Zoë Krüger"]
    assert _names(people, "jose nunez") == ["José Núñez"]
    assert _names(people, "JOSÉ") == ["José Núñez"]


def test_like_wildcards_in_a_query_are_plain_characters(people: Store) -> None:
    assert _names(people, "100%") == ["100% Ann_X"]
    assert _names(people, "n_x") == ["100% Ann_X"]
    assert _names(people, "%") == ["100% Ann_X"]


@pytest.mark.parametrize(
    "typed", ["(415) 555-0100", "+1 415 555 0100", "4155550100", "415.555.0100", "555-0100"]
)
def test_a_phone_number_matches_in_any_format(people: Store, typed: str) -> None:
    assert _names(people, typed) == ["+14155550100"]


def test_a_national_number_is_read_with_the_default_region(people: Store) -> None:
    with people.read() as session:
        found = find_customers(session, "020 7946 0958", default_region="GB")
        assert [r.name for r in found] == ["+442079460958"]
        assert find_customers(session, "020 7946 0958", default_region="US") == []


def test_fold() -> None:
    assert fold("Zoë Øre Łódź") == "zoe ore lodz"
    assert fold("Straße") == "straße"  # one letter stays one letter
    assert fold("李雷") == "李雷"
