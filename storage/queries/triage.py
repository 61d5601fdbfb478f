"""The inbox under a query of the query language (:mod:`storage.query_terms`,
parsed by :func:`omnitui.query.parse_query`): one SQL statement over
``conversation`` per page, and one for the counts of every view at once.

How each term becomes SQL (``c`` is the conversation):

* ``status``, ``channel``, ``account``, ``customer``: a column compared;
  ``status:all`` is true; a query naming no status at all gets
  ``c.status IN`` :data:`~storage.query_terms.DEFAULT_STATUSES`.
* ``assignee:me`` / ``NAME`` / ``none``: ``c.assignee`` (negations are
  null-safe: ``-assignee:bob`` keeps the unassigned).
* ``tag:x``: the conversation's tag **or its customer's** tag, as
  ``c.id IN (conversationtag)`` ``OR c.customer_id IN (customertag)``, both
  served by the tag indexes.
* ``unread:me``: the agent's read mark, as the inbox's unread dot shows it.
* ``older``/``newer``: ``c.last_message_at`` against ``now``;
  ``waiting:>4h``: ``c.waiting_since`` older than ``now - 4h`` (``<``: newer).
* words and phrases: a message of the conversation matches, through the
  full-text index of :mod:`storage.queries.search` (FTS5 on SQLite, the
  ``tsvector`` GIN index on PostgreSQL); words match as prefixes, phrases
  as written. Each word may be in a different message of the conversation.

Sorts: ``activity`` (newest activity first), ``waiting`` (longest waiting
first, not waiting last), ``created`` (newest first). Pages by ``offset`` or,
steadier while rows change, by ``after``: the id of the last row shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    and_,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlmodel import Session

from storage.db import utc
from storage.models import (
    conversation_t,
    conversation_tag_t,
    customer_t,
    customer_tag_t,
    message_t,
    readmark_t,
)
from storage.queries.ids import id_fits
from storage.queries.inbox import ConversationRow, conversation_rows, row_columns
from storage.queries.readmarks import MARKED_UNREAD
from storage.queries.search import COMMON_MATCHES, _estimated_rows, search_terms
from storage.query_terms import (
    DEFAULT_STATUSES,
    SORTS,
    And,
    Query,
    Sort,
    Term,
    names_status,
)
from storage.vocabulary import CONVERSATION_STATUSES

c = conversation_t.c


class _Compiler:
    def __init__(self, session: Session, agent: str | None, now: datetime) -> None:
        self.session = session
        self.sqlite = session.get_bind().dialect.name == "sqlite"
        self.agent = agent
        self.now = utc(now)
        self.params = 0
        self.last = ""

    def query(self, query: Query) -> ColumnElement[bool]:
        if isinstance(query, Term):
            if query.kind == "status" and query.negated:
                # the other statuses, not "!=": an IN the status indexes can seek
                others = [s for s in CONVERSATION_STATUSES if s != query.value]
                return false() if query.value == "all" else c.status.in_(others)
            cond = self.term(query)
            return not_(cond) if query.negated else cond
        parts = [self.query(item) for item in query.items]
        if isinstance(query, And):
            return and_(true(), *parts) if parts else true()
        return or_(*parts)

    def term(self, term: Term) -> ColumnElement[bool]:
        kind, value = term.kind, term.value
        if kind == "status":
            return true() if value == "all" else c.status == value
        if kind == "channel":
            return c.channel == value
        if kind == "account":
            return c.account == value
        if kind == "customer":
            number = int(value)
            if not id_fits(self.session, number, customer_t):
                return false()
            return c.customer_id == self._live_customer(number)
        if kind == "assignee":
            if value == "none":
                return c.assignee.is_(None)
            who = (self.agent or "") if value == "me" else value
            # -assignee:bob keeps the unassigned (NOT (NULL = 'bob') is NULL)
            return and_(c.assignee.is_not(None), c.assignee == who)
        if kind == "tag":
            return self.tag(value)
        if kind == "unread":
            return self.unread()
        if kind in ("older", "newer"):
            edge = self.now - timedelta(seconds=term.seconds)
            return c.last_message_at < edge if kind == "older" else c.last_message_at >= edge
        if kind == "waiting":
            edge = self.now - timedelta(seconds=term.seconds)
            since = c.waiting_since < edge if term.longer else c.waiting_since >= edge
            return and_(c.waiting_since.is_not(None), since)
        if kind in ("word", "phrase"):
            return self.words(value, phrase=kind == "phrase")
        raise ValueError(f"unknown term kind {kind!r}")  # the parser makes none

    def unread(self) -> ColumnElement[bool]:
        """As :func:`storage.queries.inbox.list_conversations` marks a row unread."""
        if self.agent is None:
            return false()
        r = readmark_t.c
        mine = and_(r.conversation_id == c.id, r.agent == self.agent)
        # the page query joins the read marks too: correlate the conversation only
        read_before = (
            exists()
            .where(
                mine,
                r.read_at < c.last_message_at,
                or_(c.waiting_since.is_not(None), r.read_at == MARKED_UNREAD),
            )
            .correlate_except(readmark_t)
        )
        never_read = and_(
            c.waiting_since.is_not(None), ~exists().where(mine).correlate_except(readmark_t)
        )
        return or_(read_before, never_read)

    def words(self, value: str, *, phrase: bool) -> ColumnElement[bool]:
        words = search_terms(value)
        if not words:
            return false()
        m = message_t.c
        if self.sqlite:
            fts = '"' + " ".join(words) + '"' if phrase else " ".join(f'"{w}"*' for w in words)
            rowid: ColumnElement[int] = literal_column("rowid")
            matching = (
                select(rowid)
                .select_from(text("message_fts"))
                .where(text(f"message_fts MATCH :{self.param()}").bindparams(**{self.last: fts}))
            )
            match: ColumnElement[bool] = m.id.in_(matching)
            # count the matches in the full-text index itself (it stops at the
            # limit; a join to the messages would read every match first)
            rowids = self._few(matching)
            if rowids is None:
                return exists().where(m.conversation_id == c.id, match).correlate_except(message_t)
            if not rowids:
                return false()
            convs = self.session.execute(
                select(m.conversation_id).where(m.id.in_(rowids)).distinct()
            ).scalars()
            return c.id.in_(sorted(int(i) for i in convs))
        else:
            joiner = " <-> " if phrase else " & "
            tsquery = joiner.join(w if phrase else f"{w}:*" for w in words)
            match = literal_column("message.search").op("@@", return_type=Boolean)(
                func.to_tsquery("simple", tsquery)
            )
            if len(words) > 1 and any(self._common(w) for w in words):
                # the GIN index reads each word's whole list of matches (and a
                # phrase rechecks every row of their intersection): one
                # common word makes that dearer than testing the candidates
                return exists().where(m.conversation_id == c.id, match).correlate_except(message_t)
        few = self._few(select(m.conversation_id).where(match), gin=not self.sqlite)
        if few is not None:
            # a rare word: its few conversations, read from the full-text
            # index (testing every conversation would read them all)
            return c.id.in_(few) if few else false()
        # a common word: test the conversations the other terms leave, in
        # page order, until the page is full
        return exists().where(m.conversation_id == c.id, match).correlate_except(message_t)

    def tag(self, value: str) -> ColumnElement[bool]:
        ct, cu = conversation_tag_t.c, customer_tag_t.c
        own = select(ct.conversation_id).where(ct.tag == value)
        theirs = select(cu.customer_id).where(cu.tag == value)
        few_own, few_theirs = self._few(own), self._few(theirs)
        if few_own is not None and few_theirs is not None:
            # the ids themselves: the planners seek them by key, where they
            # would walk every conversation to test the subqueries' OR
            parts = [c.id.in_(few_own)] if few_own else []
            parts += [c.customer_id.in_(few_theirs)] if few_theirs else []
            return or_(*parts) if parts else false()
        return or_(c.id.in_(own), c.customer_id.in_(theirs))

    def param(self) -> str:
        self.params += 1
        self.last = f"fts_{self.params}"
        return self.last

    def _live_customer(self, customer_id: int) -> int:
        """The customer ``customer_id`` is now (a merged one: the one it was
        merged into, followed to the end), as everywhere else."""
        seen = {customer_id}
        while True:
            into = self.session.execute(
                select(customer_t.c.merged_into_id).where(customer_t.c.id == customer_id)
            ).scalar()
            if into is None or into in seen:
                return customer_id
            seen.add(into)
            customer_id = int(into)

    def _common(self, word: str) -> bool:
        """Whether PostgreSQL's statistics call ``word`` (as a prefix) common."""
        match = literal_column("message.search").op("@@", return_type=Boolean)(
            func.to_tsquery("simple", f"{word}:*")
        )
        return _estimated_rows(self.session, select(message_t.c.id).where(match)) >= COMMON_MATCHES

    def _few(self, ids: Select[Any], *, gin: bool = False) -> list[int] | None:
        """The distinct ids ``ids`` selects when there are fewer than
        :data:`RARE_MATCHES` rows of them (reading at most that many), else
        ``None``. ``gin``: read through the full-text index whatever the
        planner guesses of the words (see :mod:`storage.queries.search`)."""
        if gin:
            # the planner's statistics first: a word they call common is
            # (a bitmap of its matches would cost more than the walk)
            if _estimated_rows(self.session, ids) >= COMMON_MATCHES:
                return None
            self.session.execute(text("SET LOCAL enable_seqscan = off"))
            self.session.execute(text("SET LOCAL enable_indexscan = off"))
        try:
            found = list(self.session.execute(ids.limit(RARE_MATCHES)).scalars())
        finally:
            if gin:
                self.session.execute(text("SET LOCAL enable_seqscan TO DEFAULT"))
                self.session.execute(text("SET LOCAL enable_indexscan TO DEFAULT"))
        if len(found) >= RARE_MATCHES:
            return None
        return sorted({int(i) for i in found})


#: Matches below which a word or a tag is rare: its conversations are read
#: first (at most this many rows) and the statement seeks them by id; above,
#: each conversation the other terms leave is tested, in page order.
RARE_MATCHES = 2000


#: run before a page or a count on PostgreSQL (see :func:`_serial`)
SERIAL = "SET LOCAL max_parallel_workers_per_gather = 0"


def _serial(session: Session) -> None:
    """No parallel workers for the statement to come (PostgreSQL): a page or
    a count walks an index for milliseconds, and starting workers costs more
    than that (measured: 87 ms of a 106 ms page on a busy server)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(SERIAL))


def condition(
    session: Session, query: Query, *, agent: str | None, now: datetime
) -> ColumnElement[bool]:
    """``query`` as a WHERE condition over ``conversation`` (the default
    statuses added when it names none); ``me`` is ``agent``."""
    compiler = _Compiler(session, agent, now)
    cond = compiler.query(query)
    if not names_status(query):
        cond = and_(c.status.in_(DEFAULT_STATUSES), cond)
    return cond


def _order(sort: Sort) -> list[ColumnElement[Any]]:
    if sort == "activity":
        return [c.last_message_at.desc(), c.id.desc()]
    if sort == "created":
        return [c.created_at.desc(), c.id.desc()]
    if sort == "waiting":
        return [c.waiting_since.is_(None), c.waiting_since.asc(), c.id.asc()]
    raise ValueError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")


def _after(session: Session, sort: Sort, after: int) -> ColumnElement[bool]:
    """The rows that come after conversation ``after`` in ``sort`` order."""
    if not id_fits(session, after, conversation_t):
        return false()
    anchor = session.execute(
        select(c.last_message_at, c.created_at, c.waiting_since).where(c.id == after)
    ).first()
    if anchor is None:
        return false()
    if sort == "activity":
        at = anchor.last_message_at
        return or_(c.last_message_at < at, and_(c.last_message_at == at, c.id < after))
    if sort == "created":
        at = anchor.created_at
        return or_(c.created_at < at, and_(c.created_at == at, c.id < after))
    since = anchor.waiting_since
    if since is None:
        return and_(c.waiting_since.is_(None), c.id > after)
    return or_(
        c.waiting_since.is_(None),
        c.waiting_since > since,
        and_(c.waiting_since == since, c.id > after),
    )


def find_conversations(
    session: Session,
    query: Query,
    *,
    agent: str | None,
    now: datetime,
    sort: Sort = "activity",
    limit: int = 100,
    offset: int = 0,
    after: int | None = None,
    with_preview: bool = True,
) -> list[ConversationRow]:
    """The conversations ``query`` matches, as the inbox lists them (with their
    tags and the agent's unread marks), ``limit`` at a time in ``sort`` order,
    from ``offset`` or after conversation ``after``."""
    order = _order(sort)
    _serial(session)
    # the page's ids first, then its columns: the preview (a read of the
    # newest message) is made for the page's rows only, not for every row a
    # sort has to see first (two statuses cannot walk one index in order)
    page = select(c.id).where(condition(session, query, agent=agent, now=now))
    if after is not None:
        page = page.where(_after(session, sort, after))
    ids = page.order_by(*order).limit(limit).offset(offset).subquery("page")
    stmt: Select[Any] = (
        select(*row_columns(with_preview=with_preview))
        .select_from(ids)
        .join(conversation_t, c.id == ids.c.id)
        .join(customer_t, customer_t.c.id == c.customer_id)
    )
    read_at: ColumnElement[datetime | None] = literal(None)
    if agent is not None:
        read_at = readmark_t.c.read_at
        stmt = stmt.outerjoin(
            readmark_t, and_(readmark_t.c.conversation_id == c.id, readmark_t.c.agent == agent)
        )
    stmt = stmt.add_columns(read_at.label("read_at")).order_by(*order)
    return conversation_rows(session, stmt, agent=agent)


def matching_ids(
    session: Session,
    query: Query,
    *,
    agent: str | None,
    now: datetime,
    limit: int,
) -> list[int]:
    """The ids of (at most ``limit``) conversations ``query`` matches, newest
    activity first: what a bulk action acts on."""
    stmt = (
        select(c.id)
        .where(condition(session, query, agent=agent, now=now))
        .order_by(*_order("activity"))
        .limit(limit)
    )
    return [int(i) for i in session.execute(stmt).scalars()]


def count_conversations(
    session: Session,
    queries: Mapping[str, Query],
    *,
    agent: str | None,
    now: datetime,
    limit: int | None = None,
) -> dict[str, int]:
    """How many conversations each of ``queries`` matches, in one statement
    (one count per query, joined with UNION ALL, so each count is served by
    the index its own condition can use). With ``limit``, each count stops
    past it: ``limit + 1`` means "more than ``limit``" (counting 300,000
    resolved conversations exactly costs more than every other view together,
    and nobody acts on that number)."""
    names: Sequence[str] = list(queries)
    if not names:
        return {}
    _serial(session)
    parts = []
    for n, name in enumerate(names):
        cond = condition(session, queries[name], agent=agent, now=now)
        if limit is None:
            part = select(literal(n).label("n"), func.count().label("count")).where(cond)
            part = part.select_from(conversation_t)
        else:
            capped = select(c.id).where(cond).limit(limit + 1).subquery()
            part = select(literal(n).label("n"), func.count().label("count")).select_from(capped)
        parts.append(part)
    stmt = parts[0] if len(parts) == 1 else union_all(*parts)
    counts = {int(n): int(count) for n, count in session.execute(stmt)}
    return {name: counts.get(n, 0) for n, name in enumerate(names)}


@dataclass(frozen=True)
class ConversationState:
    """What a bulk action needs of a conversation: its id, customer, the
    version it was read at and the fields an action may change."""

    id: int
    customer_id: int
    version: int
    status: str
    assignee: str | None
    snoozed_until: datetime | None


def _states(session: Session, where: ColumnElement[bool], limit: int) -> list[ConversationState]:
    stmt = (
        select(c.id, c.customer_id, c.version, c.status, c.assignee, c.snoozed_until)
        .where(where)
        .order_by(*_order("activity"))
        .limit(limit)
    )
    return [
        ConversationState(
            int(r.id),
            int(r.customer_id),
            int(r.version),
            r.status,
            r.assignee,
            utc(r.snoozed_until) if r.snoozed_until else None,
        )
        for r in session.execute(stmt)
    ]


def matching_states(
    session: Session, query: Query, *, agent: str | None, now: datetime, limit: int
) -> list[ConversationState]:
    """The conversations (at most ``limit``) ``query`` matches, newest
    activity first, as a bulk action acts on them."""
    return _states(session, condition(session, query, agent=agent, now=now), limit)


def conversation_states(session: Session, ids: Sequence[int]) -> dict[int, ConversationState]:
    """The conversations ``ids`` names (ids that name none are left out)."""
    found: dict[int, ConversationState] = {}
    usable = [i for i in dict.fromkeys(ids) if id_fits(session, i, conversation_t)]
    for start in range(0, len(usable), 500):
        chunk = usable[start : start + 500]
        found.update((s.id, s) for s in _states(session, c.id.in_(chunk), len(chunk)))
    return found
