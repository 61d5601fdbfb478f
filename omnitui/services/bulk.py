"""Bulk actions: assign, status (snooze included), tag and untag many
conversations at once, and merge their customers, each conversation on its
own.

Every conversation is changed in a transaction of its own, with the audit
events a single change leaves (``assign``, ``status``, ``tag``, ``untag``),
so a failure on one leaves the others done and each is undone alone.
Conflicts are as for one conversation (:mod:`omnitui.services.conversations`):
a conversation whose ``version`` moved since it was read (by the caller,
when it passes ``versions``, else by this service when it picks the
targets) is reported as a ``conflict`` and left as the other agent left it;
nothing is overwritten. A conversation that already is as asked is
``unchanged`` (no version bump, no audit event).

The result is one :class:`BulkResult` per conversation, in the order given
(a query's: newest activity first). ``dry_run`` reads and reports what
would change (``would_change``) without writing anything.

Merge: the customers of the given conversations become one, the customer of
the *first* conversation (or ``keep_customer_id``): each other customer is
merged into it by :func:`omnitui.services.customers.merge_customers` (one
transaction per customer, audited there); every conversation of a merged
customer reports it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    Connection,
    Text,
    any_,
    bindparam,
    delete,
    exists,
    func,
    literal_column,
    null,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError

from omnitui.events import describe_event
from omnitui.services.base import STATUSES, InvalidRequest, ServiceError, _get
from omnitui.services.conversations import _conflict_text
from omnitui.services.tags import apply_tags, normalized, tag_event
from omnitui.when import not_in_future
from storage.db import Store, store_unavailable, utc
from storage.models import Conversation, audit_t, conversation_t, conversation_tag_t, utcnow
from storage.queries.triage import ConversationState, conversation_states, matching_states
from storage.query_terms import Query

#: the most conversations one bulk action takes
MAX_BULK = 10_000

Outcome = Literal["changed", "unchanged", "would_change", "conflict", "not_found", "failed"]
#: outcomes that mean the action did not happen on that conversation
NOT_DONE: frozenset[str] = frozenset({"conflict", "not_found", "failed"})


@dataclass(frozen=True)
class BulkChange:
    """What to do to each conversation: ``assign`` a name (``unassign``
    clears it), set ``status`` (``snoozed`` needs ``snoozed_until``), add
    ``tag`` and remove ``untag`` tags. Fields left empty change nothing."""

    assign: str | None = None
    unassign: bool = False
    status: str | None = None
    snoozed_until: datetime | None = None
    tag: tuple[str, ...] = ()
    untag: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (self.assign or self.unassign or self.status or self.tag or self.untag)


@dataclass(frozen=True)
class BulkResult:
    """What a bulk action did to one conversation: ``outcome``, the changes
    in the timeline's words (done, or for ``would_change`` to be done), and
    for a conflict or failure why (``detail``)."""

    conversation_id: int
    outcome: Outcome
    changes: tuple[str, ...] = ()
    detail: str | None = None


def _checked(change: BulkChange, now: datetime) -> BulkChange:
    if change.is_empty():
        raise InvalidRequest("nothing to do: give an assignment, a status or tags")
    if change.assign and change.unassign:
        raise InvalidRequest("assign or unassign, not both")
    status, until = change.status, change.snoozed_until
    if status is not None and status not in STATUSES:
        raise InvalidRequest(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
    if until is not None and status != "snoozed":
        raise InvalidRequest("a wake-up time goes with snoozed only")
    if status == "snoozed":
        if until is None:
            raise InvalidRequest("snoozing needs a time to wake up")
        if utc(until) <= utc(now):
            raise InvalidRequest(not_in_future(utc(until)))
    tag = normalized(change.tag) if change.tag else ()
    untag = normalized(change.untag) if change.untag else ()
    if both := set(tag) & set(untag):
        raise InvalidRequest(f"tag and untag {', '.join(sorted(both))} at once: pick one")
    assignee = change.assign.strip() if change.assign else None
    return BulkChange(assignee, change.unassign, status, utc(until) if until else None, tag, untag)


def _field_changes(state: ConversationState, change: BulkChange) -> dict[str, dict[str, object]]:
    """The conversation's fields to change, by audit action: {"assign": values, ...}."""
    out: dict[str, dict[str, object]] = {}
    if change.assign or change.unassign:
        who = None if change.unassign else change.assign
        if state.assignee != who:
            out["assign"] = {"assignee": who}
    if change.status is not None:
        until = change.snoozed_until if change.status == "snoozed" else None
        if (state.status, state.snoozed_until) != (change.status, until):
            out["status"] = {"status": change.status, "snoozed_until": until}
    return out


def _words(action: str, after: Mapping[str, object]) -> str:
    return describe_event(action, json.loads(json.dumps({"after": after}, default=str)))


@dataclass(frozen=True)
class _Step:
    """One conversation's change, planned: the columns to set (none for a
    change of tags only), the audit rows of those (``assign``/``status``),
    and the tags to add and remove."""

    actor: str
    state: ConversationState
    values: dict[str, object]
    events: tuple[dict[str, object], ...]
    tag: tuple[str, ...]
    untag: tuple[str, ...]
    at: datetime

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(str(e["action"]) for e in self.events)


@dataclass(frozen=True)
class _Done:
    """The tags a conversation's change added and removed (in the order asked)."""

    tagged: tuple[str, ...]
    untagged: tuple[str, ...]


@contextmanager
def _writer(store: Store) -> Iterator[Connection]:
    """One connection for the whole action, each conversation committed on
    its own (as :meth:`storage.db.Store.write` would, without a connection
    and an ORM session set up for each of a thousand). On PostgreSQL it is
    in autocommit: each conversation's change is one statement there
    (:class:`_OneStatement`), a transaction of its own."""
    options: dict[str, Any] = {"immediate": True}
    if store.dialect == "postgresql":
        options["isolation_level"] = "AUTOCOMMIT"
    try:
        with store.engine.connect().execution_options(**options) as conn:
            yield conn
    except DBAPIError as exc:
        if unavailable := store_unavailable(exc, store.engine.url):
            raise unavailable from exc
        raise


_UPDATES: dict[tuple[str, ...], Any] = {}
_AUDIT = audit_t.insert()


def _update(names: tuple[str, ...]) -> Any:
    """The conditional UPDATE of these fields, built once (see tags._statement)."""
    if names not in _UPDATES:
        c = conversation_t.c
        _UPDATES[names] = (
            update(conversation_t)
            .where(c.id == bindparam("b_id"), c.version == bindparam("b_version"))
            # the 1 written into the SQL, not bound: the same construct is a
            # CTE of _OneStatement, where an untyped parameter has no type
            .values(version=c.version + literal_column("1"), **{n: bindparam(n) for n in names})
        )
    return _UPDATES[names]


class _Writes:
    """One conversation's change through SQLAlchemy, statement by statement
    in a transaction of its own, with the tags' own helpers (as a single
    change runs them). SQLite's way: there a statement costs no round trip."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def write(self, step: _Step) -> _Done | None:
        """Apply ``step``: the tags it added and removed, or None on a
        conflict (then nothing was written)."""
        state, events = step.state, list(step.events)
        done: dict[bool, list[str]] = {True: [], False: []}
        self.conn.begin()
        try:
            if step.values:
                params = {"b_id": state.id, "b_version": state.version, **step.values}
                statement = _update(tuple(sorted(step.values)))
                if not self.conn.execute(statement, params).rowcount:
                    self.conn.rollback()
                    return None
            for tags, add in ((step.tag, True), (step.untag, False)):
                if not tags:
                    continue
                done[add] = apply_tags(
                    self.conn,
                    step.actor,
                    tags,
                    add=add,
                    target="conversation",
                    key=state.id,
                    audit_customer=state.customer_id,
                    audit=False,
                )
                if done[add]:
                    customer = state.customer_id
                    events.append(
                        tag_event(step.actor, add, "conversation", state.id, customer, done[add])
                    )
            if events:
                self.conn.execute(_AUDIT, events)
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        return _Done(tuple(done[True]), tuple(done[False]))


class _OneStatement:
    """PostgreSQL: one conversation's whole change as one statement, the
    UPDATE, the tag INSERT or DELETE and the audit rows chained as
    data-modifying CTEs, each write after the UPDATE only when it matched
    the version read (so a conflict writes nothing). In autocommit, the
    statement is the conversation's transaction: one round trip where
    statement by statement took five (a bulk action's time on PostgreSQL
    was the waiting on those). The tag event's detail is built by the
    server from the tags it really added or removed, as ``tag_event``
    writes it (the same JSON text, see the tests).

    The statement runs compiled, on the driver's own cursor (SQLAlchemy's
    cost per statement was half of the rest); driver errors are wrapped as
    SQLAlchemy's, so a store fault still reads as one
    (:func:`storage.db.store_unavailable`), and a connection the error
    broke is invalidated, as SQLAlchemy does for its own statements (else
    it went back to the pool as if alive, whose reset then failed and
    logged a traceback)."""

    def __init__(self, conn: Connection) -> None:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        self.conn = conn
        self.raw: Any = raw
        self.dialect = conn.dialect
        self.errors: type[Exception] = conn.dialect.loaded_dbapi.Error

    def write(self, step: _Step) -> _Done | None:
        names = tuple(sorted(step.values))
        key = (names, step.actions, bool(step.tag), bool(step.untag))
        if key not in _ONE:
            _ONE[key] = str(_one_statement(*key).compile(dialect=self.dialect))
        sql = _ONE[key]
        state = step.state
        params: dict[str, object] = {
            "b_id": state.id,
            "b_version": state.version,
            "at": step.at,
            "actor": step.actor,
            "customer_id": state.customer_id,
            "add": list(step.tag),
            "drop": list(step.untag),
            "add_json": [json.dumps(t) for t in step.tag],
            "drop_json": [json.dumps(t) for t in step.untag],
            **step.values,
            **{f"detail_{e['action']}": e["detail"] for e in step.events},
        }
        try:
            with self.raw.cursor() as cur:
                cur.execute(sql, params)
                went, added, dropped = cur.fetchone()
        except self.errors as exc:
            error: Any = exc  # the driver's Error (self.errors)
            gone = self.dialect.is_disconnect(error, self.raw, None)
            if gone:
                self.conn.invalidate(exc)
            raise DBAPIError.instance(
                sql, params, exc, self.errors, hide_parameters=True, connection_invalidated=gone
            ) from exc
        if not went:
            return None
        return _Done(
            tuple(t for t in step.tag if t in set(added or ())),
            tuple(t for t in step.untag if t in set(dropped or ())),
        )


_ONE: dict[tuple[tuple[str, ...], tuple[str, ...], bool, bool], str] = {}


def _one_statement(names: tuple[str, ...], actions: tuple[str, ...], tag: bool, untag: bool) -> Any:
    """The statement of :class:`_OneStatement` for a change of the columns
    ``names`` (audited as ``actions``), adding and/or removing tags."""
    c, ct, a = conversation_t.c, conversation_tag_t, audit_t.c
    went: Any = true()
    if names:
        changed = _update(names).returning(c.id).cte("changed")
        went = exists(select(changed.c.id))
    tags_type = ARRAY(ct.c.tag.type)
    # what the statement answers: went, added, dropped (None: not asked)
    results: dict[str, Any] = {"add": null(), "drop": null()}

    def row(action: str, detail: Any, when: Any) -> Any:
        return select(
            bindparam("at", type_=a.at.type),
            bindparam("actor", type_=a.actor.type),
            _text(action),
            bindparam("customer_id", type_=a.customer_id.type),
            bindparam("b_id", type_=a.conversation_id.type),
            detail,
        ).where(when)

    audit_rows = [row(x, bindparam(f"detail_{x}", type_=a.detail.type), went) for x in actions]
    for wanted, asked, add in (("add", tag, True), ("drop", untag, False)):
        if not asked:
            continue
        if add:
            given = (
                func.unnest(bindparam("add", type_=tags_type))
                .table_valued("tag")
                .render_derived("given")
            )
            done = (
                pg_insert(ct)
                .from_select(
                    ["conversation_id", "tag", "created_at"],
                    select(
                        bindparam("b_id", type_=ct.c.conversation_id.type),
                        given.c.tag,
                        bindparam("at", type_=ct.c.created_at.type),
                    ).where(went),
                )
                .on_conflict_do_nothing()
                .returning(ct.c.tag)
                .cte("added")
            )
        else:
            done = (
                delete(ct)
                .where(
                    ct.c.conversation_id == bindparam("b_id"),
                    ct.c.tag == any_(bindparam("drop", type_=tags_type)),
                    went,
                )
                .returning(ct.c.tag)
                .cte("dropped")
            )
        results[wanted] = select(func.array_agg(done.c.tag)).scalar_subquery()
        # the tags in the order asked, as tag_event lists them, each as
        # json.dumps wrote it (``{wanted}_json``): the text tag_event writes,
        # byte for byte, also for a tag in another script (jsonb's own text
        # would write café where json.dumps writes caf\u00e9)
        order = (
            func.unnest(
                bindparam(wanted, type_=tags_type), bindparam(f"{wanted}_json", type_=tags_type)
            )
            .table_valued("tag", "json", with_ordinality="n")
            .render_derived(f"{wanted}_order")
        )
        listed = (
            select(func.string_agg(order.c.json, aggregate_order_by(_text(", "), order.c.n)))
            .where(order.c.tag.in_(select(done.c.tag)))
            .scalar_subquery()
        )
        detail = _text('{"on": "conversation", "tags": [') + listed + _text("]}")
        audit_rows.append(row("tag" if add else "untag", detail, exists(select(done.c.tag))))
    statement = select(
        went.label("went"), results["add"].label("add"), results["drop"].label("drop")
    )
    if audit_rows:
        columns = ["at", "actor", "action", "customer_id", "conversation_id", "detail"]
        audited = audit_t.insert().from_select(columns, union_all(*audit_rows)).cte("audited")
        statement = statement.add_cte(audited)
    return statement


def _text(constant: str) -> Any:
    """A constant of ours written into the SQL (the statement runs with only
    the parameters :class:`_OneStatement` names)."""
    return literal_column(f"'{constant}'", Text)


def _writes(conn: Connection) -> _Writes | _OneStatement:
    return _OneStatement(conn) if conn.dialect.name == "postgresql" else _Writes(conn)


def _apply(
    store: Store,
    writes: _Writes | _OneStatement,
    actor: str,
    state: ConversationState,
    change: BulkChange,
) -> BulkResult:
    """``change`` on one conversation, in a transaction of its own."""
    fields = _field_changes(state, change)
    now = utcnow()
    events = tuple(
        {
            "at": now,
            "actor": actor,
            "action": action,
            "customer_id": state.customer_id,
            "conversation_id": state.id,
            "detail": json.dumps(
                {"after": after, "before": {k: getattr(state, k) for k in after}},
                default=str,
                sort_keys=True,
            ),
        }
        for action, after in fields.items()
    )
    values = {k: v for f in fields.values() for k, v in f.items()}
    step = _Step(actor, state, values, events, change.tag, change.untag, now)
    done = writes.write(step)
    if done is None:
        return _conflict(store, state.id)
    said = [_words(action, after) for action, after in fields.items()]
    if done.tagged:
        said.append(describe_event("tag", {"tags": list(done.tagged), "on": "conversation"}))
    if done.untagged:
        said.append(describe_event("untag", {"tags": list(done.untagged), "on": "conversation"}))
    return BulkResult(state.id, "changed" if said else "unchanged", tuple(said))


def _conflict(store: Store, conversation_id: int) -> BulkResult:
    with store.read() as session:
        conv = _get(session, Conversation, conversation_id, "conversation")
        return BulkResult(conversation_id, "conflict", (), _conflict_text(session, conv))


def _planned(state: ConversationState, change: BulkChange, tags: set[str]) -> BulkResult:
    said = [_words(action, after) for action, after in _field_changes(state, change).items()]
    adding = [t for t in change.tag if t not in tags]
    dropping = [t for t in change.untag if t in tags]
    if adding:
        said.append(describe_event("tag", {"tags": adding, "on": "conversation"}))
    if dropping:
        said.append(describe_event("untag", {"tags": dropping, "on": "conversation"}))
    return BulkResult(state.id, "would_change" if said else "unchanged", tuple(said))


def target_versions(
    store: Store, query: Query, *, agent: str | None, now: datetime, limit: int = MAX_BULK
) -> dict[int, int]:
    """The conversations ``query`` matches, newest activity first, each with
    the version it matched at (give them to :func:`bulk_update` as
    ``versions``: one changed after it matched is a conflict, not
    overwritten); :class:`InvalidRequest` when more than ``limit`` match."""
    with store.read() as session:
        found = matching_states(session, query, agent=agent, now=now, limit=limit + 1)
    if len(found) > limit:
        raise InvalidRequest(
            f"the query matches more than {limit:,} conversations: narrow it down "
            "(a bulk action takes at most that many)"
        )
    return {s.id: s.version for s in found}


def targets(
    store: Store, query: Query, *, agent: str | None, now: datetime, limit: int = MAX_BULK
) -> list[int]:
    """The conversations ``query`` matches, newest activity first, for a bulk
    action; :class:`InvalidRequest` when more than ``limit`` do."""
    return list(target_versions(store, query, agent=agent, now=now, limit=limit))


def _states(store: Store, ids: Sequence[int]) -> dict[int, ConversationState]:
    if len(ids) > MAX_BULK:
        raise InvalidRequest(f"at most {MAX_BULK:,} conversations at a time")
    with store.read() as session:
        return conversation_states(session, ids)


def bulk_update(
    store: Store,
    actor: str,
    conversation_ids: Sequence[int],
    change: BulkChange,
    *,
    versions: Mapping[int, int] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> list[BulkResult]:
    """Apply ``change`` to each of ``conversation_ids`` (see the module
    docstring); ``versions``: the version the caller saw of each (a
    conversation changed since is a conflict)."""
    at = utc(now or utcnow())
    checked = _checked(change, at)
    ids = list(dict.fromkeys(conversation_ids))
    states = _states(store, ids)
    tags: dict[int, set[str]] = {}
    if dry_run and (checked.tag or checked.untag):
        ct = conversation_tag_t.c
        with store.read() as session:
            for start in range(0, len(ids), 500):
                chunk = [i for i in ids[start : start + 500] if i in states]
                for conv_id, tag in session.execute(
                    select(ct.conversation_id, ct.tag).where(ct.conversation_id.in_(chunk))
                ):
                    tags.setdefault(conv_id, set()).add(tag)
    results: list[BulkResult] = []
    with _writer(store) as session:
        writes = _writes(session)
        for conv_id in ids:
            state = states.get(conv_id)
            if state is None:
                results.append(
                    BulkResult(conv_id, "not_found", (), f"there is no conversation {conv_id}")
                )
                continue
            seen = versions.get(conv_id) if versions is not None else None
            if seen is not None and seen != state.version:
                results.append(_conflict(store, conv_id))
                continue
            if dry_run:
                results.append(_planned(state, checked, tags.get(conv_id, set())))
                continue
            results.append(_apply(store, writes, actor, state, checked))
    return results


def bulk_merge(
    store: Store,
    actor: str,
    conversation_ids: Sequence[int],
    *,
    keep_customer_id: int | None = None,
    dry_run: bool = False,
) -> list[BulkResult]:
    """Merge the customers of ``conversation_ids`` into one (see the module
    docstring): the customer of the first conversation, or ``keep_customer_id``."""
    from omnitui.services.customers import live_customer_id, merge_customers

    ids = list(dict.fromkeys(conversation_ids))
    states = _states(store, ids)
    with store.read() as session:
        live = {
            i: live_customer_id(session, s.customer_id) or s.customer_id for i, s in states.items()
        }
        keep = None
        if keep_customer_id is not None:
            keep = live_customer_id(session, keep_customer_id)
            if keep is None:
                raise InvalidRequest(f"there is no customer {keep_customer_id} to keep")
    if keep is None:
        first = next((live[i] for i in ids if i in live), None)
        if first is None:
            return [BulkResult(i, "not_found", (), f"there is no conversation {i}") for i in ids]
        keep = first
    outcome: dict[int, BulkResult] = {}
    for other in dict.fromkeys(live[i] for i in ids if i in live and live[i] != keep):
        words = f"customer {other} merged into customer {keep}"
        mine = [i for i in ids if live.get(i) == other]
        if dry_run:
            result = BulkResult(0, "would_change", (words,))
        else:
            try:
                merge_customers(store, keep, other, actor)
                result = BulkResult(0, "changed", (words,))
            except ServiceError as exc:
                result = BulkResult(0, "conflict", (), str(exc))
        for i in mine:
            outcome[i] = BulkResult(i, result.outcome, result.changes, result.detail)
    return [
        outcome.get(i)
        or (
            BulkResult(i, "unchanged")
            if i in live
            else BulkResult(i, "not_found", (), f"there is no conversation {i}")
        )
        for i in ids
    ]
