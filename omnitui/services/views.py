"""Views: a named query of the query language with a key and a sort, shown
in the inbox with its live count.

The seven filters the inbox always had are the built-in views, with the
same names, keys (1-7) and rows; the config's ``[[views]]`` add more (their
queries are checked when the config is loaded, see
:func:`omnitui.config.load_config`). Both faces list a view's page with
:func:`list_view` and every view's count with :func:`count_views` (one
statement for all of them).

A view's ``assignee:NAME`` is read against the team by one rule,
:func:`team_spelled`, for its list and its count alike: the config's names,
the agent, the people the store has seen at work and anybody conversations
are assigned to (an agent who left the team keeps theirs, findable and
counted). A name nobody has (``assignee:alcie``) is refused: the list with
:class:`~omnitui.services.team.UnknownAgent`, the count with the same reason
in place of a number (a 0 would look like an empty view). The config's
check cannot do it: the team is partly in the store, which loading the
config does not open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from omnitui.query import Query, parse_query
from storage.query_terms import SORTS, Sort, Term

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


@dataclass(frozen=True)
class ViewCounts:
    """What :func:`count_views` says: each view's count (by name), and for a
    view that can be neither listed nor counted (its query names an agent
    nobody on the team has) the reason instead of a count, as its list would
    refuse it."""

    counts: dict[str, int]
    problems: dict[str, str] = field(default_factory=dict)


def count_views(
    store: Store,
    views: Sequence[View],
    *,
    agent: str | None,
    now: datetime,
    limit: int | None = COUNT_LIMIT,
    configured: Sequence[str] = (),
) -> ViewCounts:
    """How many conversations each view holds now, by view name, in one
    statement for all of them. Each count stops past ``limit`` (``None``:
    exact, at the cost of reading every conversation of a big view): a
    value of ``limit + 1`` means "more than ``limit``". ``assignee:NAME`` is
    read by the rule :func:`team_spelled` applies to the view's list
    (``configured``: the config's names): "Bob" counts bob's, an agent who
    left counts theirs, and a view naming somebody nobody has gets no count
    but the reason its list is refused (in ``problems``), not a 0 that
    looks like an empty view."""
    from omnitui.services.team import UnknownAgent
    from storage.queries.triage import count_conversations

    team = _Team.of(store, [v.tree for v in views], configured=configured, me=agent or "")
    trees: dict[str, Query] = {}
    problems: dict[str, str] = {}
    for view in views:
        try:
            trees[view.name] = team.spelled(view.tree)
        except UnknownAgent as exc:
            problems[view.name] = str(exc)
    with store.read() as session:
        counts = count_conversations(session, trees, agent=agent, now=now, limit=limit)
    return ViewCounts(counts, problems)


def count_label(count: int, limit: int | None = COUNT_LIMIT) -> str:
    """A view's count for people: "8,874", or "10,000+" past the limit."""
    if limit is not None and count > limit:
        return f"{limit:,}+"
    return f"{count:,}"


def _named(query: Query) -> list[Term]:
    """The terms of ``query`` that name an agent (not ``me`` nor ``none``)."""
    from storage.query_terms import terms_of

    return [t for t in terms_of(query) if t.kind == "assignee" and t.value not in ("me", "none")]


@dataclass(frozen=True)
class _Team:
    """The names queries are read against, read once for many queries: the
    team, and those of the queries' names who left it (assigned conversations
    say they were on it)."""

    team: tuple[str, ...]
    left: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, store: Store, queries: Sequence[Query], *, configured: Sequence[str], me: str
    ) -> _Team:
        from omnitui.services.team import team, who_left

        names = [t.value for q in queries for t in _named(q)]
        if not names:
            return cls(())  # no query names anybody: nothing to read
        known = team(store, configured=configured, me=me)
        return cls(tuple(known), tuple(who_left(store, names, known)))

    @property
    def known(self) -> list[str]:
        return sorted({*self.team, *self.left}, key=str.casefold)

    def unknown(self, query: Query) -> tuple[Term, str] | None:
        """The first term of ``query`` naming nobody on the team, and why (the
        same words whichever queries were read with it)."""
        from omnitui.services.team import spelling, unknown_text

        named = _named(query)
        for t in named:
            if spelling(t.value, self.known) is None:
                own = {n for n in self.left if any(spelling(o.value, [n]) for o in named)}
                return t, unknown_text(t.value, sorted({*self.team, *own}, key=str.casefold))
        return None

    def spelled(self, query: Query) -> Query:
        """``query`` with its names spelled as on the team, or :class:`UnknownAgent`."""
        from omnitui.services.team import UnknownAgent, spelling

        problem = self.unknown(query)
        if problem is not None:
            term, why = problem
            raise UnknownAgent(f"assignee:{term.value} at column {term.position + 1}: {why}")
        if not _named(query):
            return query

        def spelled(node: Query) -> Query:
            if isinstance(node, Term):
                if node.kind != "assignee" or node.value in ("me", "none"):
                    return node
                fixed = spelling(node.value, self.known) or node.value
                return Term(node.kind, fixed, node.negated, node.position, node.length)
            return type(node)(tuple(spelled(i) for i in node.items))

        return spelled(query)


def team_spelled(
    store: Store, query: Query, *, configured: Sequence[str] = (), me: str = ""
) -> Query:
    """``query`` with each ``assignee:NAME`` spelled as on the team ("Bob" is
    bob), or :class:`~omnitui.services.team.UnknownAgent` naming the term and
    its column when nobody has that name (a typo would match nothing and
    look like an empty view). The team: the config's names, the agent, the
    people the store has seen at work, and anybody conversations are
    assigned to (an agent who left keeps theirs). :func:`count_views`
    follows the same rule."""
    return _Team.of(store, [query], configured=configured, me=me).spelled(query)


def unknown_agent(
    store: Store, query: Query, *, configured: Sequence[str] = (), me: str = ""
) -> tuple[Term, str] | None:
    """The first ``assignee:NAME`` of ``query`` that :func:`team_spelled`
    refuses, and why (for a prompt that points at it), or ``None``."""
    return _Team.of(store, [query], configured=configured, me=me).unknown(query)
