"""Tags on conversations and customers: add, remove, list.

A tag is written as :func:`omnitui.tagnames.normalize_tag` says (trimmed,
lower case, letters, digits and ``_ - / . :``); a bad one is refused before
anything changes, with the reason. Adding a tag a record has, or removing
one it lacks, changes nothing and leaves no trace (a script may repeat
itself); every real change is one audit event (``tag`` or ``untag``, with
the tags in its detail), which the other consoles see as a change.

A customer's tags are shared by all their conversations: ``tag:vip`` in a
query matches a conversation tagged vip *or* whose customer is (see
:mod:`storage.queries.triage`). A merged customer id means the customer it
was merged into, as everywhere.

Tags do not touch a conversation's ``version``: they are a set, and adding
one never undoes anybody's assignment or status.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Table, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from omnitui.services.base import InvalidRequest, NotFound, _get
from omnitui.services.customers import live_customer_id
from omnitui.tagnames import TagError, normalize_tag
from storage.db import Store
from storage.models import Conversation, audit_t, conversation_tag_t, customer_tag_t, utcnow

#: the most tags one request may add or remove
MAX_TAGS_PER_CHANGE = 20


@dataclass(frozen=True)
class TagChange:
    """What a tag request did: on which record (``conversation`` or
    ``customer`` and its id), which tags it ``added`` or ``removed`` (only
    those that changed), and the record's tags now."""

    target: Literal["conversation", "customer"]
    id: int
    added: tuple[str, ...]
    removed: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class TagCount:
    """``tags list``: a tag and how many conversations and customers carry it."""

    tag: str
    conversations: int
    customers: int


def normalized(tags: Sequence[str]) -> tuple[str, ...]:
    """``tags`` normalized, once each, in the order given; :class:`InvalidRequest`
    naming the first bad one."""
    if not tags:
        raise InvalidRequest("give at least one tag")
    if len(tags) > MAX_TAGS_PER_CHANGE:
        raise InvalidRequest(f"at most {MAX_TAGS_PER_CHANGE} tags at a time")
    out: list[str] = []
    for raw in tags:
        try:
            tag = normalize_tag(raw)
        except TagError as exc:
            shown = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in raw[:40])
            raise InvalidRequest(f"tag {shown!r}: {exc}") from None
        if tag not in out:
            out.append(tag)
    return tuple(out)


def _target(
    session: Session, conversation_id: int | None, customer_id: int | None
) -> tuple[Literal["conversation", "customer"], int, int | None]:
    """The record a request names: its kind, id, and the customer to audit under."""
    if (conversation_id is None) == (customer_id is None):
        raise InvalidRequest("give exactly one of a conversation or a customer")
    if conversation_id is not None:
        conv = _get(session, Conversation, conversation_id, "conversation")
        return "conversation", conversation_id, conv.customer_id
    assert customer_id is not None
    live = live_customer_id(session, customer_id)
    if live is None:
        raise NotFound(f"there is no customer {customer_id}")
    return "customer", live, live


def _tags_of(session: Session, target: str, key: int) -> tuple[str, ...]:
    table = conversation_tag_t if target == "conversation" else customer_tag_t
    column = table.c.conversation_id if target == "conversation" else table.c.customer_id
    return tuple(sorted(session.execute(select(table.c.tag).where(column == key)).scalars()))


#: what the tag writes run on: the session of a service, or the connection
#: a bulk action keeps for its thousand small transactions
Executor = Session | Connection


def apply_tags(
    session: Executor,
    actor: str,
    wanted: Sequence[str],
    *,
    add: bool,
    target: Literal["conversation", "customer"],
    key: int,
    audit_customer: int | None,
    audit: bool = True,
) -> list[str]:
    """Add (or remove) the normalized tags ``wanted`` on one record inside
    the caller's transaction; the tags that changed, in ``wanted``'s order.
    What changed is audited (``tag``/``untag``) unless ``audit`` is false
    (then the caller writes the event, as a bulk action does with its own)."""
    table = conversation_tag_t if target == "conversation" else customer_tag_t
    column = table.c.conversation_id if target == "conversation" else table.c.customer_id
    if add:
        # one by one, tolerating a tag another agent added a moment ago
        changed = [t for t in wanted if _insert_once(session, table, column.key, key, t)]
    else:
        stmt = _statement("delete", _dialect(session), table, column.key)
        gone = set(session.execute(stmt, {"key": key, "tags": list(wanted)}).scalars())
        changed = [t for t in wanted if t in gone]
    if changed and audit:
        session.execute(
            audit_t.insert(), [tag_event(actor, add, target, key, audit_customer, changed)]
        )
    return changed


def tag_event(
    actor: str,
    add: bool,
    target: str,
    key: int,
    audit_customer: int | None,
    tags: Sequence[str],
) -> dict[str, object]:
    """The audit row of a tag change (action ``tag`` or ``untag``)."""
    return {
        "at": utcnow(),
        "actor": actor,
        "action": "tag" if add else "untag",
        "customer_id": audit_customer,
        "conversation_id": key if target == "conversation" else None,
        "detail": json.dumps({"on": target, "tags": list(tags)}, sort_keys=True),
    }


def _change(
    store: Store,
    actor: str,
    tags: Sequence[str],
    *,
    add: bool,
    conversation_id: int | None,
    customer_id: int | None,
) -> TagChange:
    wanted = normalized(tags)
    with store.write() as session:
        target, key, audit_customer = _target(session, conversation_id, customer_id)
        changed = apply_tags(
            session,
            actor,
            wanted,
            add=add,
            target=target,
            key=key,
            audit_customer=audit_customer,
        )
        now = _tags_of(session, target, key)
    done = tuple(changed)
    return TagChange(target, key, done if add else (), () if add else done, now)


_STATEMENTS: dict[tuple[str, str, str], Any] = {}


def _statement(kind: str, dialect: str, table: Table, column: str) -> Any:
    """The tag statements, built once each (a bulk action runs them a
    thousand times: building and keying a statement costs more than running it)."""
    key = (kind, dialect, table.name)
    if key not in _STATEMENTS:
        if kind == "insert":
            insert = sqlite_insert if dialect == "sqlite" else pg_insert
            stmt: Any = (
                insert(table)
                .values({column: bindparam("key"), "tag": bindparam("tag")})
                .on_conflict_do_nothing()
                .returning(table.c.tag)
            )
        else:
            stmt = (
                delete(table)
                .where(
                    table.c[column] == bindparam("key"),
                    table.c.tag.in_(bindparam("tags", expanding=True)),
                )
                .returning(table.c.tag)
            )
        _STATEMENTS[key] = stmt
    return _STATEMENTS[key]


def _dialect(session: Executor) -> str:
    bind = session if isinstance(session, Connection) else session.get_bind()
    return bind.dialect.name


def _insert_once(session: Executor, table: Table, column: str, key: int, tag: str) -> bool:
    """Insert the tag row unless it is there; whether this call inserted it
    (by RETURNING: psycopg's rowcount here is -1)."""
    stmt = _statement("insert", _dialect(session), table, column)
    return session.execute(stmt, {"key": key, "tag": tag}).first() is not None


def move_customer_tags(session: Session, from_id: int, to_id: int) -> list[str]:
    """A merge: the tags of customer ``from_id`` go to ``to_id`` (which keeps
    its own); the ones moved, for the merge's audit event."""
    cu = customer_tag_t.c
    tags = list(session.execute(select(cu.tag).where(cu.customer_id == from_id)).scalars())
    for tag in tags:
        _insert_once(session, customer_tag_t, "customer_id", to_id, tag)
    session.execute(delete(customer_tag_t).where(cu.customer_id == from_id))
    return sorted(tags)


def add_tags(
    store: Store,
    actor: str,
    tags: Sequence[str],
    *,
    conversation_id: int | None = None,
    customer_id: int | None = None,
) -> TagChange:
    """Tag a conversation or a customer (exactly one) with ``tags``."""
    return _change(
        store, actor, tags, add=True, conversation_id=conversation_id, customer_id=customer_id
    )


def remove_tags(
    store: Store,
    actor: str,
    tags: Sequence[str],
    *,
    conversation_id: int | None = None,
    customer_id: int | None = None,
) -> TagChange:
    """Take ``tags`` off a conversation or a customer (exactly one)."""
    return _change(
        store, actor, tags, add=False, conversation_id=conversation_id, customer_id=customer_id
    )


def list_tags(store: Store) -> list[TagCount]:
    """Every tag in use, alphabetically, with how many conversations and
    customers carry it (what the console completes from)."""
    counts: dict[str, list[int]] = {}
    with store.read() as session:
        for table, slot in ((conversation_tag_t, 0), (customer_tag_t, 1)):
            for tag, n in session.execute(select(table.c.tag, func.count()).group_by(table.c.tag)):
                counts.setdefault(tag, [0, 0])[slot] = int(n)
    return [TagCount(tag, *counts[tag]) for tag in sorted(counts)]
