"""What the inbox asks of the views, tags and bulk services, in the shapes
the screen works with. Every function here but :func:`query_problem` and
:func:`views_for` reads or writes the store: call it in a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from omnitui.query import QueryError, parse_query
from omnitui.services import tags
from omnitui.services.bulk import NOT_DONE, BulkChange, bulk_merge, bulk_update
from omnitui.services.views import (
    View,
    ViewCounts,
    count_views,
    list_view,
    team_spelled,
    unknown_agent,
)
from omnitui.tui.saved_views import SavedView
from storage import queries
from storage.db import Store
from storage.queries import ConversationRow

#: The most conversations "mark all" marks at once (a bulk action over more is
#: the CLI's: ``omnitui conversations bulk --query``).
MARK_ALL_LIMIT = 5000


def query_problem(text: str) -> tuple[int, int, str] | None:
    """Where ``text`` fails to parse and why, or None (pure: no store)."""
    try:
        parse_query(text)
    except QueryError as exc:
        return exc.position, exc.length, exc.message
    return None


def unknown_assignee(
    store: Store, text: str, *, team_names: Sequence[str], me: str
) -> tuple[int, int, str] | None:
    """Where ``text`` (a query that parses) names an assignee nobody on the
    team has, and why, or None: a typo would match nothing and look like an
    empty inbox (the CLI refuses it too; the rule is
    :func:`omnitui.services.views.team_spelled`'s)."""
    problem = unknown_agent(store, parse_query(text), configured=team_names, me=me)
    if problem is None:
        return None
    term, why = problem
    return term.position, term.length, why


def typed_view(text: str, sort: str) -> View:
    """A typed query as a view without a name (``QueryError`` if it does not parse)."""
    return View("", None, text, sort)  # type: ignore[arg-type]


def views_for(
    configured: Sequence[View], saved: Sequence[SavedView]
) -> tuple[list[View], list[View], list[str]]:
    """Every view (built in and the config's, then the agent's saved ones whose
    names and keys are free), the saved ones kept, and why any was left out."""
    views = list(configured)
    names = {v.name.casefold() for v in views}
    keys = {v.key for v in views if v.key}
    mine: list[View] = []
    problems: list[str] = []
    for entry in saved:
        if entry.name.casefold() in names:
            problems.append(f"saved view {entry.name!r}: a view of the config has this name")
            continue
        try:
            view = from_saved(entry)
        except ValueError as exc:
            problems.append(f"saved view {entry.name!r}: {exc}")
            continue
        if view.key in keys:
            problems.append(f"saved view {entry.name!r}: its key {view.key!r} is taken; no key")
            view = View(view.name, None, view.query, view.sort)
        mine.append(view)
        names.add(view.name.casefold())
        if view.key:
            keys.add(view.key)
    return views + mine, mine, problems


def from_saved(saved: SavedView) -> View:
    """A saved view; ``ValueError`` (a :class:`QueryError` is one) when its
    query or sort cannot be read."""
    return View(saved.name, saved.key or None, saved.query, saved.sort)  # type: ignore[arg-type]


def fetch(
    store: Store,
    view: View,
    *,
    agent: str,
    now: datetime,
    limit: int,
    offset: int = 0,
    team_names: Sequence[str] = (),
) -> list[ConversationRow]:
    """A page of ``view``, with tags. ``assignee:NAME`` is spelled as on the
    team; a name nobody has is refused (``UnknownAgent``, told as "Not
    done"), as the CLI does: a typo would look like an empty view."""
    tree = team_spelled(store, view.tree, configured=team_names, me=agent)
    return list_view(store, tree, agent=agent, now=now, limit=limit, offset=offset, sort=view.sort)


def count(
    store: Store,
    views: Sequence[View],
    *,
    agent: str,
    now: datetime,
    team_names: Sequence[str] = (),
) -> ViewCounts:
    """Each view's count, by name (one statement for all; names read as
    :func:`fetch` reads them), and why a view that cannot be listed has none."""
    return count_views(store, views, agent=agent, now=now, configured=team_names)


def versions(
    store: Store, view: View, *, agent: str, now: datetime, team_names: Sequence[str] = ()
) -> dict[int, int]:
    """Conversation id -> version of (at most :data:`MARK_ALL_LIMIT` of) the
    conversations ``view`` lists, for "mark all"."""
    rows = fetch(store, view, agent=agent, now=now, limit=MARK_ALL_LIMIT, team_names=team_names)
    return {row.id: row.version for row in rows}


@dataclass(frozen=True)
class Outcome:
    """What a bulk action did: changed, already so, and why not for the rest."""

    changed: tuple[int, ...]
    unchanged: tuple[int, ...]
    problems: dict[int, str]


def bulk(
    store: Store, op: str, versions: dict[int, int], value: object, agent: str, now: datetime
) -> Outcome:
    """Do ``op`` (assign, status, tag, untag, merge) with ``value`` to the
    conversations of ``versions`` (id -> the version the agent saw), each in
    its own transaction (:mod:`omnitui.services.bulk`)."""
    ids = list(versions)
    if op == "merge":
        keep = value if isinstance(value, int) else None
        results = bulk_merge(store, agent, ids, keep_customer_id=keep)
    else:
        results = bulk_update(store, agent, ids, _change(op, value), versions=versions, now=now)
    return Outcome(
        tuple(r.conversation_id for r in results if r.outcome == "changed"),
        tuple(r.conversation_id for r in results if r.outcome == "unchanged"),
        {
            r.conversation_id: r.detail or r.outcome.replace("_", " ")
            for r in results
            if r.outcome in NOT_DONE
        },
    )


def _change(op: str, value: object) -> BulkChange:
    if op == "assign":
        who = value if isinstance(value, str) and value else None
        return BulkChange(assign=who, unassign=who is None)
    if op == "status" and isinstance(value, tuple):
        status, until = value
        return BulkChange(
            status=str(status), snoozed_until=until if isinstance(until, datetime) else None
        )
    if op in ("tag", "untag") and isinstance(value, str):
        return BulkChange(tag=(value,)) if op == "tag" else BulkChange(untag=(value,))
    raise ValueError(f"no bulk action {op!r} with {value!r}")


#: Above this many conversations, "remove a tag" offers every tag in use
#: rather than reading each conversation's own.
READ_EACH = 200


def tags_of(store: Store, ids: Sequence[int]) -> tuple[list[tuple[str, int]], tuple[str, ...]]:
    """The tags in use (with how many conversations and customers carry each)
    and the tags conversations ``ids`` carry (each in use, for many)."""
    in_use = [(t.tag, t.conversations + t.customers) for t in tags.list_tags(store)]
    if len(ids) > READ_EACH:
        return in_use, tuple(t for t, _n in in_use)
    current: set[str] = set()
    with store.read() as session:
        for conversation_id in ids:
            row = queries.get_conversation(session, conversation_id)
            if row is not None:
                current.update(row.tags)
    return in_use, tuple(sorted(current))


def customer_tags(store: Store, customer_id: int) -> tuple[list[tuple[str, int]], tuple[str, ...]]:
    """The tags in use, and those of customer ``customer_id``."""
    in_use = [(t.tag, t.conversations + t.customers) for t in tags.list_tags(store)]
    with store.read() as session:
        rows = queries.customer_conversations(session, customer_id, limit=1)
    return in_use, rows[0].customer_tags if rows else ()


def tag_conversation(
    store: Store, conversation_id: int, tag: str, agent: str, *, add: bool
) -> bool:
    """Tag conversation ``conversation_id`` (or untag); whether that changed anything."""
    change = tags.add_tags if add else tags.remove_tags
    done = change(store, agent, [tag], conversation_id=conversation_id)
    return bool(done.added or done.removed)


def tag_customer(store: Store, customer_id: int, tag: str, agent: str, *, add: bool) -> bool:
    """Tag customer ``customer_id`` (or untag); whether that changed anything."""
    change = tags.add_tags if add else tags.remove_tags
    done = change(store, agent, [tag], customer_id=customer_id)
    return bool(done.added or done.removed)
