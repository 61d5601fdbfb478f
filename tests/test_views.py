"""Queries of the query language over the store, on SQLite and PostgreSQL:
each term picks the conversations it says, the built-in views list what the
inbox's filters listed, counts agree with the lists, sorts and pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from omnitui import services
from omnitui.query import parse_query
from omnitui.services import readmarks
from omnitui.services.ingest import ingest
from omnitui.services.views import BUILTIN_VIEWS, View, count_label, count_views, list_view
from storage import queries
from storage.db import Store
from storage.models import conversation_tag_t, customer_tag_t
from storage.queries import triage
from tests.helpers import T0, batch, chat, email, sms

NOW = T0 + timedelta(hours=6)
FAR = datetime(2100, 1, 1, tzinfo=UTC)


@dataclass
class Seed:
    store: Store
    refund: int  # e-mail from ann, open, waiting since T0
    order: int  # sms, pending, bob
    invoice: int  # e-mail from bo, resolved, alice, answered
    chat: int  # telegram, snoozed, alice
    late: int  # e-mail from cy, open, alice, waiting since T0+5h


@pytest.fixture
def seed(store: Store) -> Seed:
    ingest(
        store,
        "shop",
        batch(
            email("r1", minutes=0),
            sms("S1", minutes=30),
            email(
                "i1",
                "bo@example.com",
                minutes=60,
                subject="Invoice",
                body="The invoice lists two licences but the card was charged twice.",
                name="Bo",
            ),
            chat("T1", "4242", minutes=90, body="Grüße, die Rechnung fehlt"),
            email("l1", "cy@example.com", minutes=300, subject="Late", body="Paket kommt spät"),
        ),
    )
    with store.read() as s:
        rows = queries.list_conversations(s, view="all", limit=10)
    by_subject = {r.subject or r.channel: r.id for r in rows}
    seed = Seed(
        store,
        by_subject["Refund please"],
        by_subject["sms"],
        by_subject["Invoice"],
        by_subject["telegram"],
        by_subject["Late"],
    )
    services.set_status(store, seed.order, "pending", "alice")
    services.assign(store, seed.order, "bob", "alice")
    services.set_status(store, seed.invoice, "resolved", "alice")
    services.assign(store, seed.invoice, "alice", "alice")
    services.set_status(store, seed.chat, "snoozed", "alice", snoozed_until=FAR)
    services.assign(store, seed.chat, "alice", "alice")
    services.assign(store, seed.late, "alice", "alice")
    with store.write() as s:
        s.execute(conversation_tag_t.insert().values(conversation_id=seed.refund, tag="billing"))
        s.execute(conversation_tag_t.insert().values(conversation_id=seed.order, tag="vip"))
        invoice_customer = queries.get_conversation(s, seed.invoice)
        assert invoice_customer is not None
        s.execute(
            customer_tag_t.insert().values(customer_id=invoice_customer.customer_id, tag="billing")
        )
    return seed


def ids(seed: Seed, text: str, *, agent: str | None = "alice") -> set[int]:
    rows = list_view(seed.store, parse_query(text), agent=agent, now=NOW, limit=100)
    return {r.id for r in rows}


@pytest.fixture(params=["rare", "common"])
def strategy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with words and tags read as rare (their conversations first)
    and as common (each conversation tested): both must find the same."""
    if request.param == "common":
        monkeypatch.setattr(triage, "RARE_MATCHES", 1)
        monkeypatch.setattr(triage, "COMMON_MATCHES", 0)
    return str(request.param)


def test_each_term(seed: Seed, strategy: str) -> None:
    s = seed
    everyone = {s.refund, s.order, s.invoice, s.chat, s.late}
    assert ids(s, "status:all") == everyone
    assert ids(s, "") == {s.refund, s.order, s.late}  # the default: open and pending
    assert ids(s, "status:open") == {s.refund, s.late}
    assert ids(s, "status:snoozed") == {s.chat}
    assert ids(s, "-status:resolved") == everyone - {s.invoice}
    assert ids(s, "-status:all") == set()
    assert ids(s, "assignee:me status:all") == {s.invoice, s.chat, s.late}
    assert ids(s, "assignee:none") == {s.refund}
    assert ids(s, "assignee:bob") == {s.order}
    assert ids(s, "-assignee:bob status:all") == everyone - {s.order}  # the unassigned too
    assert ids(s, "channel:sms") == {s.order}
    assert ids(s, "channel:email status:all") == {s.refund, s.invoice, s.late}
    assert ids(s, "account:shop status:all") == everyone
    assert ids(s, "account:other status:all") == set()
    assert ids(s, "tag:billing status:all") == {s.refund, s.invoice}  # own or the customer's
    assert ids(s, "-tag:billing status:all") == {s.order, s.chat, s.late}
    assert ids(s, "tag:vip OR tag:billing") == {s.refund, s.order}
    assert ids(s, "tag:nothing") == set()
    assert ids(s, "older:4h status:all") == {s.refund, s.order, s.invoice, s.chat}
    assert ids(s, "older:5h status:all") == {s.refund, s.order}
    assert ids(s, "newer:1h status:all") == {s.late}
    assert ids(s, "waiting:>4h") == {s.refund, s.order}
    assert ids(s, "waiting:>4h status:all") == everyone - {s.late}
    assert ids(s, "waiting:<4h") == {s.late}
    assert ids(s, "-waiting:>4h status:all") == {s.late}
    assert ids(s, "refund") == {s.refund}
    assert ids(s, "REFU") == {s.refund}  # a prefix, any case
    assert ids(s, "invoice status:all") == {s.invoice}
    assert ids(s, '"card was charged" status:all') == {s.invoice}
    assert ids(s, '"charged was card" status:all') == set()
    assert ids(s, "Grüße status:all") == {s.chat}
    assert ids(s, "-refund") == {s.order, s.late}
    assert ids(s, "zebracorn") == set()
    customer = queries.get_customer
    with s.store.read() as session:
        row = queries.get_conversation(session, s.refund)
        assert row is not None and customer(session, row.customer_id) is not None
    assert ids(s, f"customer:{row.customer_id} status:all") == {s.refund}
    assert ids(s, "customer:9999999999999999999 status:all") == set()  # beyond any id


def test_unread_follows_the_read_marks(seed: Seed) -> None:
    s = seed
    waiting = {s.refund, s.order, s.late}  # the customer spoke last; nobody read it
    assert ids(s, "unread:me") == waiting
    readmarks.mark_read(s.store, "alice", s.refund)
    assert ids(s, "unread:me") == waiting - {s.refund}
    assert ids(s, "-unread:me") == {s.refund}
    readmarks.mark_unread(s.store, "alice", s.invoice)
    assert ids(s, "unread:me status:all") == {s.order, s.late, s.chat, s.invoice}
    assert ids(s, "unread:me", agent="bob") == waiting  # marks are per agent
    rows = list_view(s.store, parse_query("status:all"), agent="alice", now=NOW)
    assert {r.id for r in rows if r.unread} == ids(s, "unread:me status:all")


def test_every_read_mark_moves_the_change_marker(seed: Seed) -> None:
    """What a console polls to redraw: a read or unread mark moves it (so
    ``unread:me`` counts follow a read in another console), and a mark
    stays one row per agent and conversation."""
    from sqlalchemy import func, select

    from storage.models import readmark_t

    def marker() -> queries.ChangeMarker:
        with seed.store.read() as session:
            return queries.change_marker(session)

    seen = [marker()]
    for mark in (readmarks.mark_read, readmarks.mark_read, readmarks.mark_unread):
        mark(seed.store, "alice", seed.refund)
        seen.append(marker())
        assert seen[-1] != seen[-2], mark.__name__
    readmarks.mark_read(seed.store, "bob", seed.refund)
    assert marker() != seen[-1]
    with seed.store.read() as session:
        rows = session.execute(
            select(readmark_t.c.agent, func.count()).group_by(readmark_t.c.agent)
        ).all()
    assert sorted((agent, int(n)) for agent, n in rows) == [("alice", 1), ("bob", 1)]


def test_a_mark_on_a_conversation_that_is_not_there_is_not_found(seed: Seed) -> None:
    from omnitui.services import NotFound

    for mark in (readmarks.mark_read, readmarks.mark_unread):
        with pytest.raises(NotFound, match="no conversation 999999"):
            mark(seed.store, "alice", 999999)


def test_rows_carry_their_tags_and_the_customers(seed: Seed) -> None:
    rows = {
        r.id: r for r in list_view(seed.store, parse_query("status:all"), agent="alice", now=NOW)
    }
    assert rows[seed.refund].tags == ("billing",)
    assert rows[seed.invoice].tags == () and rows[seed.invoice].customer_tags == ("billing",)
    with seed.store.read() as session:
        row = queries.get_conversation(session, seed.order)
    assert row is not None and row.tags == ("vip",)


def test_builtin_views_list_what_the_filters_listed(seed: Seed) -> None:
    assert [v.key for v in BUILTIN_VIEWS] == ["1", "2", "3", "4", "5", "6", "7"]
    assert tuple(v.name for v in BUILTIN_VIEWS) == queries.INBOX_FILTERS
    for view in BUILTIN_VIEWS:
        with seed.store.read() as session:
            old = queries.list_conversations(session, view=view.name, agent="alice")
        new = list_view(seed.store, view, agent="alice", now=NOW)
        assert new == old, view.name


def test_counts_agree_with_the_lists(seed: Seed, strategy: str) -> None:
    extra = (
        View("billing", "b", "tag:billing status:all"),
        View("words", None, "refund OR invoice status:all"),
        View("unread", None, "unread:me"),
        View("waiting", None, "waiting:>1h -tag:vip", sort="waiting"),
    )
    views = BUILTIN_VIEWS + extra
    counted = count_views(seed.store, views, agent="alice", now=NOW)
    counts = counted.counts
    assert counted.problems == {}
    assert counts == {v.name: len(list_view(seed.store, v, agent="alice", now=NOW)) for v in views}
    assert counts["all"] == 5 and counts["mine"] == 2 and counts["billing"] == 2
    capped = count_views(seed.store, views, agent="alice", now=NOW, limit=2).counts
    assert capped == {name: min(n, 3) for name, n in counts.items()}
    assert count_label(capped["all"], 2) == "2+" and count_label(2, 2) == "2"


def test_sorts_and_pages(seed: Seed) -> None:
    s = seed
    query = parse_query("status:all")
    newest = [r.id for r in list_view(s.store, query, agent="alice", now=NOW)]
    assert newest == [s.late, s.chat, s.invoice, s.order, s.refund]
    waiting = [r.id for r in list_view(s.store, query, agent="alice", now=NOW, sort="waiting")]
    assert waiting == [s.refund, s.order, s.invoice, s.chat, s.late]  # longest waiting first
    created = [r.id for r in list_view(s.store, query, agent="alice", now=NOW, sort="created")]
    assert set(created) == set(newest)
    for sort in ("activity", "waiting", "created"):
        whole = [r.id for r in list_view(s.store, query, agent="alice", now=NOW, sort=sort)]
        paged: list[int] = []
        after = None
        while True:
            page = list_view(
                s.store,
                query,
                agent="alice",
                now=NOW,
                sort=sort,
                limit=2,
                after=after,
            )
            if not page:
                break
            paged += [r.id for r in page]
            after = page[-1].id
        assert paged == whole, sort
        by_offset = [
            r.id
            for off in range(0, 6, 2)
            for r in list_view(
                s.store, query, agent="alice", now=NOW, sort=sort, limit=2, offset=off
            )
        ]
        assert by_offset == whole, sort
    assert list_view(s.store, query, agent="alice", now=NOW, after=2**70) == []
