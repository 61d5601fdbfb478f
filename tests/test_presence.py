"""Presence rows (omnitui.services.presence) on both engines: announced with
an expiry, refreshed by upsert, read only while unexpired, withdrawn, cleaned
up; never audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from omnitui.services import InvalidRequest, presence
from omnitui.services.ingest import ingest
from storage.db import Store
from storage.models import audit_t, conversation_t, presence_t
from tests.helpers import T0, batch, email, sms

TTL = timedelta(seconds=12)


def two_conversations(store: Store) -> tuple[int, int]:
    ingest(store, "shop", batch(email("e1"), sms("SM1", "+14155550177", minutes=3)))
    with store.read() as session:
        first, second = sorted(session.execute(select(conversation_t.c.id)).scalars())
    return first, second


def rows(store: Store) -> int:
    with store.read() as session:
        return int(session.execute(select(func.count()).select_from(presence_t)).scalar() or 0)


def test_others_see_an_announcement_until_it_expires(store: Store) -> None:
    one, two = two_conversations(store)
    presence.announce(store, "ann", one, "viewing", TTL, now=T0)
    presence.announce(store, "ann", one, "composing", TTL, now=T0)
    presence.announce(store, "bob", two, "viewing", TTL, now=T0)
    seen = presence.present(store, None, T0 + timedelta(seconds=1), except_agent="bob")
    assert seen == {one: [("ann", "composing"), ("ann", "viewing")]}
    assert presence.present(store, [two], T0, except_agent="ann") == {two: [("bob", "viewing")]}
    assert presence.present(store, [], T0) == {}
    # gone once expired, though the rows are still there
    assert presence.present(store, None, T0 + TTL) == {}
    assert rows(store) == 3


def test_a_refresh_moves_the_expiry_on_without_a_second_row(store: Store) -> None:
    one, _ = two_conversations(store)
    presence.announce(store, "ann", one, "viewing", TTL, now=T0)
    presence.announce(store, "ann", one, "viewing", TTL, now=T0 + timedelta(seconds=10))
    assert rows(store) == 1
    later = T0 + timedelta(seconds=20)  # past the first expiry, inside the refreshed one
    assert presence.present(store, [one], later) == {one: [("ann", "viewing")]}


def test_withdraw_clears_one_activity_a_conversation_or_everything(store: Store) -> None:
    one, two = two_conversations(store)
    for conv in (one, two):
        for activity in ("viewing", "composing"):
            presence.announce(store, "ann", conv, activity, TTL, now=T0)
    presence.announce(store, "bob", one, "viewing", TTL, now=T0)
    presence.withdraw(store, "ann", one, "composing")
    assert presence.present(store, [one], T0) == {one: [("ann", "viewing"), ("bob", "viewing")]}
    presence.withdraw(store, "ann", two)
    assert two not in presence.present(store, None, T0)
    presence.withdraw(store, "ann")
    assert presence.present(store, None, T0) == {one: [("bob", "viewing")]}


def test_cleanup_drops_expired_rows_only(store: Store) -> None:
    one, two = two_conversations(store)
    presence.announce(store, "ann", one, "viewing", TTL, now=T0)
    presence.announce(store, "bob", two, "viewing", TTL, now=T0 + timedelta(seconds=30))
    assert presence.cleanup(store, T0 + timedelta(seconds=13)) == 1
    assert rows(store) == 1
    assert presence.present(store, None, T0 + timedelta(seconds=31)) == {two: [("bob", "viewing")]}


def test_presence_is_never_audited(store: Store) -> None:
    one, _ = two_conversations(store)
    with store.read() as session:
        before = session.execute(select(func.count()).select_from(audit_t)).scalar()
    presence.announce(store, "ann", one, "composing", TTL, now=T0)
    presence.withdraw(store, "ann", one)
    presence.cleanup(store, T0)
    with store.read() as session:
        assert session.execute(select(func.count()).select_from(audit_t)).scalar() == before


def test_an_unknown_activity_is_refused(store: Store) -> None:
    one, _ = two_conversations(store)
    with pytest.raises(InvalidRequest, match="viewing or composing"):
        # a word outside PresenceActivity, as an untyped caller could pass it
        presence.announce(store, "ann", one, "typing", TTL)  # type: ignore[arg-type]
    assert rows(store) == 0


@pytest.mark.parametrize("skew", [-60, 3600])
def test_presence_keeps_to_the_stores_clock_not_the_consoles(
    store: Store, monkeypatch: pytest.MonkeyPatch, skew: int
) -> None:
    # ann's machine is a minute slow (or an hour fast): her console's own
    # clock (what the service once read) must not decide when her row expires
    one, _ = two_conversations(store)
    real = datetime.now(UTC)
    monkeypatch.setattr(
        "omnitui.services.presence.utcnow", lambda: real + timedelta(seconds=skew), raising=False
    )
    presence.announce(store, "ann", one, "viewing", TTL)
    monkeypatch.undo()
    # bob, on time, sees her (a slow clock wrote no row already expired) ...
    assert presence.present(store, [one], except_agent="bob") == {one: [("ann", "viewing")]}
    # ... and not once TTL has passed (a fast clock's row does not linger)
    assert presence.present(store, [one], real + TTL + timedelta(seconds=5)) == {}
