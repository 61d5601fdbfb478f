"""Views: a named query of the query language with a key and a sort, shown
in the inbox with its live count.

The seven filters the inbox always had are the built-in views, with the
same names, keys (1-7) and rows; the config's ``[[views]]`` add more (their
queries are checked when the config is loaded, see
:func:`omnitui.config.load_config`). Both faces list a view's page with
:func:`list_view` and every view's count with :func:`count_views` (one
statement for all of them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from omnitui.query import Query, parse_query
from storage.query_terms import SORTS, Sort

if TYPE_CHECKING:
    from omnitui.config import ViewSetting
    from storage.db import Store
    from storage.queries import ConversationRow


@dataclass(frozen=True)
class View:
    """A view: ``name`` (unique), ``key`` (the inbox key that shows it, or
    ``None``), ``query`` (its text in the query language) and ``sort``
    (one of :data:`~storage.query_terms.SORTS`). Made with a query that does
    not parse, it raises :class:`omnitui.query.QueryError`."""

    name: str
    key: str | None
    query: str
    sort: Sort = "activity"
    builtin: bool = False
    tree: Query = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValueError(f"unknown sort {self.sort!r}: use one of {', '.join(SORTS)}")
        object.__setattr__(self, "tree", parse_query(self.query))


#: the inbox's filters of old, as views: same names, keys and conversations
BUILTIN_VIEWS: tuple[View, ...] = (
    View("open", "1", "status:open", builtin=True),
    View("mine", "2", "assignee:me -status:resolved", builtin=True),
    View("unassigned", "3", "assignee:none (status:open OR status:pending)", builtin=True),
    View("pending", "4", "status:pending", builtin=True),
    View("snoozed", "5", "status:snoozed", builtin=True),
    View("resolved", "6", "status:resolved", builtin=True),
    View("all", "7", "status:all", builtin=True),
)


def all_views(configured: Sequence[ViewSetting] = ()) -> tuple[View, ...]:
    """The built-in views, then the config's ``[[views]]`` (checked at load:
    unique names and keys, queries that parse)."""
    return BUILTIN_VIEWS + tuple(
        View(v.name, v.key, v.query, v.sort)  # type: ignore[arg-type]
        for v in configured
    )


def find_view(views: Sequence[View], name: str) -> View | None:
    """The view called ``name`` (case does not matter), or ``None``."""
    wanted = name.strip().casefold()
    return next((v for v in views if v.name.casefold() == wanted), None)


def list_view(
    store: Store,
    view: View | Query,
    *,
    agent: str | None,
    now: datetime,
    limit: int = 100,
    offset: int = 0,
    after: int | None = None,
    sort: Sort | None = None,
) -> list[ConversationRow]:
    """A page of ``view`` (or of a parsed query, newest activity first unless
    ``sort`` says otherwise), as the inbox lists conversations: with the
    agent's unread marks and the tags. ``after``: the id of the last row of
    the page before (steadier than ``offset`` while rows change)."""
    from storage.queries.triage import find_conversations

    query = view.tree if isinstance(view, View) else view
    order = sort or (view.sort if isinstance(view, View) else "activity")
    with store.read() as session:
        return find_conversations(
            session,
            query,
            agent=agent,
            now=now,
            sort=order,
            limit=limit,
            offset=offset,
            after=after,
        )


#: view counts are exact up to this many; above, :func:`count_views` says
#: ``COUNT_LIMIT + 1`` ("more than"), which :func:`count_label` shows as "10,000+"
COUNT_LIMIT = 10_000


def count_views(
    store: Store,
    views: Sequence[View],
    *,
    agent: str | None,
    now: datetime,
    limit: int | None = COUNT_LIMIT,
    configured: Sequence[str] = (),
) -> dict[str, int]:
    """How many conversations each view holds now, by view name, in one
    statement for all of them. Each count stops past ``limit`` (``None``:
    exact, at the cost of reading every conversation of a big view): a
    value of ``limit + 1`` means "more than ``limit``". ``assignee:NAME`` is
    spelled as on the team (``configured``: the config's names), as the
    view's list is, so "Bob" counts bob's; a name nobody has counts 0."""
    from storage.queries.triage import count_conversations

    trees = _spelled_leniently(store, {v.name: v.tree for v in views}, configured, agent or "")
    with store.read() as session:
        return count_conversations(session, trees, agent=agent, now=now, limit=limit)


def _spelled_leniently(
    store: Store, trees: dict[str, Query], configured: Sequence[str], me: str
) -> dict[str, Query]:
    """:func:`team_spelled` for counting: each view's names spelled as on the
    team, a view naming somebody unknown left as it is (it counts nothing)."""
    from omnitui.services.team import UnknownAgent
    from storage.query_terms import terms_of

    def named(tree: Query) -> bool:
        return any(t.kind == "assignee" and t.value not in ("me", "none") for t in terms_of(tree))

    if not any(named(tree) for tree in trees.values()):
        return trees
    out: dict[str, Query] = {}
    for name, tree in trees.items():
        try:
            out[name] = team_spelled(store, tree, configured=configured, me=me)
        except UnknownAgent:
            out[name] = tree
    return out


def count_label(count: int, limit: int | None = COUNT_LIMIT) -> str:
    """A view's count for people: "8,874", or "10,000+" past the limit."""
    if limit is not None and count > limit:
        return f"{limit:,}+"
    return f"{count:,}"


def team_spelled(
    store: Store, query: Query, *, configured: Sequence[str] = (), me: str = ""
) -> Query:
    """``query`` with each ``assignee:NAME`` spelled as on the team ("Bob" is
    bob), or :class:`~omnitui.services.team.UnknownAgent` naming the term and
    its column when nobody on the team has that name (a typo would match
    nothing and look like an empty view)."""
    from omnitui.services.team import UnknownAgent, spelling, team, unknown_text
    from storage.query_terms import Term, terms_of

    names = [t for t in terms_of(query) if t.kind == "assignee" and t.value not in ("me", "none")]
    if not names:
        return query
    known = team(store, configured=configured, me=me)
    for t in names:
        if spelling(t.value, known) is None:
            raise UnknownAgent(
                f"assignee:{t.value} at column {t.position + 1}: {unknown_text(t.value, known)}"
            )

    def spelled(node: Query) -> Query:
        if isinstance(node, Term):
            if node.kind != "assignee" or node.value in ("me", "none"):
                return node
            fixed = spelling(node.value, known) or node.value
            return Term(node.kind, fixed, node.negated, node.position, node.length)
        return type(node)(tuple(spelled(i) for i in node.items))

    return spelled(query)
