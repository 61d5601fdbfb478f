"""Every figure of the report against a small store computed by hand."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from omnitui import services
from omnitui.services.ingest import ingest
from storage import reports
from storage.bulk import CHUNK
from storage.business_hours import BusinessHours
from storage.db import Store
from storage.models import audit_t, conversation_t
from tests.helpers import T0, at, batch, email, sms

HOUR = 3600.0
FRIDAY_4PM = -(2 * 24 + 17) * 60  # Friday 27 February 2026 16:00 UTC, in minutes from T0


def seed(store: Store) -> dict[str, int]:
    ingest(
        store,
        "shop",
        batch(
            email("a1", minutes=0),  # A: ann, e-mail
            email("a2", direction="out", minutes=5, delivery_state="failed"),  # never arrived
            email("a3", direction="out", minutes=30),  # first response: 30 min
            email("a4", minutes=60),
            sms("B1", "+14155550111", minutes=10),  # B: bob, SMS
            sms("B2", "+14155550111", direction="out", minutes=130),  # first response: 120 min
            sms("C1", "+14155550122", minutes=20),  # C: carl, waiting
        ),
    )
    with store.read() as s:
        ids = {row.their_address: row.id for row in s.execute(conversation_t.select())}
    conv = {"A": ids["ann@example.com"], "B": ids["+14155550111"], "C": ids["+14155550122"]}
    services.assign(store, conv["A"], "alice", "alice")
    services.assign(store, conv["B"], "bob", "bob")
    services.set_status(store, conv["A"], "resolved", "alice")
    with store.write() as s:  # fix the clock-made times to the hand-computed ones
        for key, minutes in (("A", 0), ("B", 10), ("C", 20)):
            s.execute(
                update(conversation_t)
                .where(conversation_t.c.id == conv[key])
                .values(created_at=at(minutes))
            )
        s.execute(update(audit_t).where(audit_t.c.action == "status").values(at=at(180)))
    return conv


def test_every_figure(store: Store) -> None:
    seed(store)
    now = T0 + timedelta(hours=5)
    with store.read() as s:
        r = reports.report(s, since=T0 - timedelta(days=1), now=now)
    email_, sms_ = r.by_channel["email"].summary(), r.by_channel["sms"].summary()
    assert email_ == {
        "opened": 1,
        "resolved": 1,
        "messages_in": 2,
        "messages_out": 2,
        "failed_sends": 1,
        "first_response_median_s": 0.5 * HOUR,
        "first_response_p90_s": 0.5 * HOUR,
        "resolution_median_s": 3 * HOUR,
        "resolution_p90_s": 3 * HOUR,
        "backlog": {"<1h": 0, "1-4h": 0, "4-24h": 0, "1-3d": 0, ">3d": 0},
    }
    assert sms_ == {
        "opened": 2,
        "resolved": 0,
        "messages_in": 2,
        "messages_out": 1,
        "failed_sends": 0,
        "first_response_median_s": 2 * HOUR,
        "first_response_p90_s": 2 * HOUR,
        "resolution_median_s": None,
        "resolution_p90_s": None,
        # C waits since 09:20, now is 14:00: 4 h 40 min
        "backlog": {"<1h": 0, "1-4h": 0, "4-24h": 1, "1-3d": 0, ">3d": 0},
    }
    assert sorted(r.by_agent) == ["(unassigned)", "alice", "bob"]
    assert r.by_agent["alice"].summary()["resolved"] == 1
    assert r.by_agent["bob"].first_response_s == [2 * HOUR]
    assert r.by_agent["(unassigned)"].backlog["4-24h"] == 1


def test_filters_and_period(store: Store) -> None:
    seed(store)
    now = T0 + timedelta(hours=5)
    with store.read() as s:
        only_sms = reports.report(s, since=T0 - timedelta(days=1), now=now, channel="sms")
        only_bob = reports.report(s, since=T0 - timedelta(days=1), now=now, agent="bob")
        later = reports.report(s, since=T0 + timedelta(hours=4), now=now)
    assert list(only_sms.by_channel) == ["sms"]
    assert list(only_bob.by_agent) == ["bob"] and only_bob.by_channel["sms"].opened == 1
    assert later.by_channel["sms"].opened == 0 and later.by_channel["sms"].backlog["4-24h"] == 1


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]
    assert reports.percentile(values, 0.5) == 5.0
    assert reports.percentile(values, 0.9) == 9.0
    assert reports.percentile([], 0.5) is None


def test_daily_series(store: Store) -> None:
    seed(store)
    with store.read() as s:
        r = reports.report(s, since=T0 - timedelta(days=1), now=T0 + timedelta(hours=5))
    assert r.days() == ["2026-03-01", "2026-03-02"]
    assert r.daily_in == {"2026-03-02": 4}
    assert sorted(r.daily_response_s["2026-03-02"]) == [0.5 * HOUR, 2 * HOUR]


def test_business_hours(store: Store) -> None:
    ingest(
        store,
        "shop",
        batch(
            sms("D1", "+14155550133", minutes=FRIDAY_4PM),  # D: asked Friday 16:00
            sms("D2", "+14155550133", direction="out", minutes=60),  # answered Monday 10:00
            sms("E1", "+14155550144", minutes=FRIDAY_4PM),  # E: waiting since Friday 16:00
        ),
    )
    with store.read() as s:
        ids = {row.their_address: row.id for row in s.execute(conversation_t.select())}
    services.set_status(store, ids["+14155550133"], "resolved", "alice")
    with store.write() as s:
        s.execute(update(conversation_t).values(created_at=at(FRIDAY_4PM)))
        s.execute(update(audit_t).where(audit_t.c.action == "status").values(at=at(120)))
    office = BusinessHours.parse("Mon-Fri 09:00-17:00")
    now = T0 + timedelta(hours=5)
    with store.read() as s:
        business = reports.report(s, since=T0 - timedelta(days=7), now=now, hours=office)
        wall = reports.report(s, since=T0 - timedelta(days=7), now=now)
    b, w = business.by_channel["sms"], wall.by_channel["sms"]
    # Friday 16-17 and Monday 09-10; on the wall, 66 h
    assert b.first_response_s == [2 * HOUR] and w.first_response_s == [66 * HOUR]
    # resolved Monday 11:00: Friday 16-17 and Monday 09-11
    assert b.resolution_s == [3 * HOUR] and w.resolution_s == [67 * HOUR]
    assert business.daily_response_s == {"2026-02-27": [2 * HOUR]}
    # the backlog stays wall-clock: E has waited 70 h (6 business hours)
    assert b.backlog == w.backlog and b.backlog["1-3d"] == 1
    assert business.clock == "business hours Mon-Fri 09:00-17:00 UTC"
    assert wall.clock == "wall"


def test_a_period_with_more_conversations_than_one_statement_takes(store: Store) -> None:
    # thousands of ids are read a chunk at a time (PostgreSQL refuses a
    # statement with more than 65,535 parameters; each chunk stays far below)
    n = CHUNK * 2 + 7
    ingest(store, "shop", batch(*(email(f"m{i}", f"c{i}@example.com") for i in range(n))))
    with store.write() as s:
        s.execute(
            audit_t.insert(),
            [
                {
                    "at": at(60),
                    "actor": "alice",
                    "action": "status",
                    "conversation_id": conv_id,
                    "detail": '{"after": {"status": "resolved"}}',
                }
                for conv_id in range(1, n + 1)
            ],
        )
    with store.read() as s:
        r = reports.report(s, since=T0 - timedelta(days=1), now=T0 + timedelta(hours=5))
    figures = r.by_channel["email"].summary()
    assert (figures["opened"], figures["resolved"], figures["messages_in"]) == (n, n, n)
