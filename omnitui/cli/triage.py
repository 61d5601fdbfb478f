"""Triage commands: ``conversations list --query``, ``views``, ``tags`` and
``conversations bulk``. Each parses its options, calls one service
(:mod:`omnitui.services.views`, :mod:`~omnitui.services.tags`,
:mod:`~omnitui.services.bulk`) and prints the result.

A query that does not parse is a usage error (exit 2): one line naming the
bad term and its column, then, for people, the query with a caret under it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from omnitui.cli import output
from omnitui.cli.common import JsonOpt, UserError, handled, runtime, want_json
from omnitui.cli.documents import conversation
from omnitui.cli.output import Column
from omnitui.text import clean_text, first_line

if TYPE_CHECKING:
    from omnitui.query import Query, QueryError
    from omnitui.runtime import Runtime
    from omnitui.services.bulk import BulkResult
    from omnitui.services.views import View
    from storage.queries import ConversationRow

QueryOpt = Annotated[
    str | None,
    typer.Option(
        "--query", "-q", help="A query: status:open tag:billing -tag:vip refund (see the README)."
    ),
]
ViewOpt = Annotated[
    str | None, typer.Option("--view", help="A view by name (see `omnitui views`).")
]
SortOpt = Annotated[
    str | None, typer.Option("--sort", help="activity, waiting or created (default: the view's).")
]


tags = typer.Typer(
    help="Tags on conversations and customers (tag:NAME in a query finds either).",
    no_args_is_help=True,
)
TagsArg = Annotated[list[str], typer.Argument(help="One or more tags (e.g. billing vip).")]
TagConversationOpt = Annotated[
    int | None, typer.Option("--conversation", help="Tag this conversation.")
]
TagCustomerOpt = Annotated[
    int | None, typer.Option("--customer", help="Tag this customer (all their conversations).")
]


def register(app: typer.Typer, conversations: typer.Typer) -> None:
    """Add the triage commands to the root ``app`` and to ``conversations``."""
    app.command("views")(views_list)
    app.add_typer(tags, name="tags")
    conversations.command("bulk")(conversations_bulk)


class QueryFailed(UserError):
    """A query that does not parse: the error line, then (``after``, for
    people, on stderr) the query with a caret under the bad part."""

    def __init__(self, message: str, after: tuple[str, ...]) -> None:
        super().__init__(message, 2)
        self.after = after


def query_failed(option: str, text: str, exc: QueryError) -> UserError:
    """The usage error for ``exc``. The caret lines are left out when the
    query would not print as typed (control characters, line breaks): a
    caret under a cleaned text would point at the wrong place."""
    shown = clean_text(text, single_line=True)
    after = (f"  {text}\n", f"  {' ' * exc.position}{'^' * exc.length}\n") if shown == text else ()
    return QueryFailed(f"{option}: {exc.message}", after)


def parsed(option: str, text: str) -> Query:
    """``text`` parsed, or the usage error pointing at its bad part."""
    from omnitui.query import QueryError, parse_query

    try:
        return parse_query(text)
    except QueryError as exc:
        raise query_failed(option, text, exc) from None


def views_of(rt: Runtime) -> tuple[View, ...]:
    from omnitui.services.views import all_views

    return all_views(rt.config.views)


def chosen_query(
    rt: Runtime, view_name: str | None, text: str | None
) -> tuple[Query, str, View | None]:
    """The query ``--view`` and ``--query`` make together (both: the view's AND
    the typed one), with its title and the view."""
    from omnitui.query import And, format_query
    from omnitui.services.team import UnknownAgent
    from omnitui.services.views import find_view, team_spelled

    def spelled(query: Query) -> Query:
        return team_spelled(rt.store(), query, configured=rt.config.team, me=rt.agent)

    view = None
    parts: list[Query] = []
    titles: list[str] = []
    if view_name is not None:
        view = find_view(views_of(rt), view_name)
        if view is None:
            names = ", ".join(v.name for v in views_of(rt))
            raise UserError(f"--view: there is no view {view_name!r} (views: {names})", 2)
        try:  # each part on its own: a column is a column of the text it is in
            parts.append(spelled(view.tree))
        except UnknownAgent as exc:
            raise view_refused(rt, view, exc) from None
        titles.append(view.name)
    if text is not None:
        typed = parsed("--query", text)
        try:
            parts.append(spelled(typed))
        except UnknownAgent as exc:
            raise UserError(f"--query: {exc}", 2) from None
        titles.append(format_query(typed) or "(everything)")
    query: Query = parts[0] if len(parts) == 1 else And(tuple(parts))
    return query, " and ".join(titles), view


def view_refused(rt: Runtime, view: View, problem: Exception | str) -> UserError:
    """The error for a view of the config whose query names nobody on the
    team (exit 2, kind ``config``: the fix is in the config)."""
    where = f" Fix its query in {rt.config.path}." if rt.config.path else ""
    return UserError(f"view {view.name!r}: {problem}{where}", kind="config")


def list_by_query(
    ctx: typer.Context,
    *,
    view_name: str | None,
    text: str | None,
    sort: str | None,
    limit: int,
    json_out: bool,
) -> None:
    """``conversations list --query/--view``."""
    from omnitui.services.snoozes import wake_due_snoozes
    from omnitui.services.views import list_view
    from storage.query_terms import SORTS

    if sort is not None and sort not in SORTS:
        raise UserError(f"--sort: unknown sort {sort!r}: use one of {', '.join(SORTS)}", 2)
    with runtime(ctx) as rt:
        query, title, view = chosen_query(rt, view_name, text)
        order = sort or (view.sort if view is not None else "activity")
        wake_due_snoozes(rt.store())
        rows = list_view(
            rt.store(),
            query,
            agent=rt.agent,
            now=datetime.now(UTC),
            limit=limit,
            sort=order,
        )
    if want_json(ctx, json_out):
        output.print_json([conversation(r) for r in rows])
        return
    print_conversations(f"Conversations ({title})", rows)


def tags_text(row: ConversationRow) -> str:
    """A conversation's tags, then its customer's marked ``(customer)``."""
    own = " ".join(row.tags)
    theirs = " ".join(row.customer_tags)
    return " ".join(p for p in (own, f"{theirs} (customer)" if theirs else "") if p)


def print_conversations(title: str, rows: list[ConversationRow]) -> None:
    output.print_table(
        title,
        [
            Column("id"),
            Column("channel", drop=3),
            Column("customer", wrap=True),
            Column("subject", wrap=True, least=20),
            Column("status"),
            Column("assignee", drop=2),
            Column("tags", wrap=True, drop=5),
            Column("last", drop=1),
            Column("msgs", drop=4),
        ],
        [
            (
                r.id,
                r.channel,
                r.customer_name,
                r.subject or first_line(r.preview, 60),
                r.status,
                r.assignee,
                tags_text(r) or None,
                r.last_message_at,
                r.message_count,
            )
            for r in rows
        ],
    )


@dataclass(frozen=True)
class ViewCount:
    """``views``: a view, its query and how many conversations it holds now."""

    name: str
    key: str | None
    query: str
    sort: str
    builtin: bool
    #: ``None`` when the view cannot be counted (nor listed): see ``problem``
    count: int | None
    #: why the view can be neither listed nor counted (an agent nobody has), or ``None``
    problem: str | None = None


@handled
def views_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """The inbox's views (the built-in ones, then the config's [[views]]) with
    how many conversations each holds now. A view whose query names an agent
    nobody on the team has gets no count ("!") but the reason, as
    `conversations list --view` refuses it."""
    from omnitui.services.snoozes import wake_due_snoozes
    from omnitui.services.views import count_views

    with runtime(ctx) as rt:
        views = views_of(rt)
        wake_due_snoozes(rt.store())
        # exact: a script may act on the number (the console shows "10,000+")
        counts = count_views(
            rt.store(),
            views,
            agent=rt.agent,
            now=datetime.now(UTC),
            limit=None,
            configured=rt.config.team,
        )
    rows = [
        ViewCount(
            v.name,
            v.key,
            v.query,
            v.sort,
            v.builtin,
            counts.counts.get(v.name),
            counts.problems.get(v.name),
        )
        for v in views
    ]
    if want_json(ctx, json_out):
        output.print_json(rows)
        return
    output.print_table(
        "Views",
        [
            Column("key"),
            Column("name", wrap=True),
            Column("count"),
            Column("query", wrap=True, least=20),
            Column("sort", drop=1),
        ],
        [(r.key, r.name, "!" if r.count is None else r.count, r.query, r.sort) for r in rows],
    )
    for v in views:
        if v.name in counts.problems:
            output.note(f"warning: {view_refused(rt, v, counts.problems[v.name])}")


def _tag_change(
    ctx: typer.Context,
    add: bool,
    names: list[str],
    conversation_id: int | None,
    customer_id: int | None,
    json_out: bool,
) -> None:
    from omnitui.services import tags as service

    if (conversation_id is None) == (customer_id is None):
        raise UserError("give exactly one of --conversation ID or --customer ID", 2)
    change = service.add_tags if add else service.remove_tags
    with runtime(ctx) as rt:
        done = change(
            rt.store(), rt.agent, names, conversation_id=conversation_id, customer_id=customer_id
        )
    if want_json(ctx, json_out):
        output.print_json(done)
        return
    what = done.added if add else done.removed
    verb = "Tagged" if add else "Untagged"
    if what:
        output.say(f"{verb} {done.target} {done.id}: {' '.join(what)}.")
    else:
        output.say(f"Nothing to change on {done.target} {done.id}.")
    output.say(f"Tags now: {' '.join(done.tags) or '(none)'}")


@tags.command("add")
@handled
def tags_add(
    ctx: typer.Context,
    names: TagsArg,
    conversation_id: TagConversationOpt = None,
    customer_id: TagCustomerOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Tag a conversation or a customer. A tag is lower case letters, digits and
    _ - / . : (at most 64); one it already has is left as it is."""
    _tag_change(ctx, True, names, conversation_id, customer_id, json_out)


@tags.command("rm")
@handled
def tags_rm(
    ctx: typer.Context,
    names: TagsArg,
    conversation_id: TagConversationOpt = None,
    customer_id: TagCustomerOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Take tags off a conversation or a customer (one it lacks is no error)."""
    _tag_change(ctx, False, names, conversation_id, customer_id, json_out)


@tags.command("list")
@handled
def tags_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Every tag in use, with how many conversations and customers carry it."""
    from omnitui.services.tags import list_tags

    with runtime(ctx) as rt:
        rows = list_tags(rt.store())
    if want_json(ctx, json_out):
        output.print_json(rows)
        return
    output.print_table(
        "Tags",
        [Column("tag", wrap=True), Column("conversations"), Column("customers")],
        [(r.tag, r.conversations, r.customers) for r in rows],
    )


@dataclass(frozen=True)
class BulkDocument:
    """``conversations bulk``: whether it was a dry run, how many
    conversations each outcome has, and the result of each."""

    dry_run: bool
    counts: dict[str, int]
    results: tuple[BulkResult, ...]


@handled
def conversations_bulk(
    ctx: typer.Context,
    ids: Annotated[
        list[int] | None, typer.Argument(help="Conversation ids (or give --query/--view).")
    ] = None,
    query: QueryOpt = None,
    view: ViewOpt = None,
    assign: Annotated[
        str | None,
        typer.Option("--assign", help="Assign to an agent on the team ('me'; 'none' unassigns)."),
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="open, pending or resolved.")
    ] = None,
    snooze: Annotated[
        str | None,
        typer.Option("--snooze", help="Snooze until: 2h, tomorrow 14:00, fri, 2026-04-01 9:00."),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Add this tag (repeatable).")
    ] = None,
    untag: Annotated[
        list[str] | None, typer.Option("--untag", help="Remove this tag (repeatable).")
    ] = None,
    merge: Annotated[
        bool,
        typer.Option("--merge", help="Merge the conversations' customers into the first one's."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Act on many conversations at once: each in its own transaction, audited.

    Targets: conversation ids, or --query/--view (at most 10,000; the default
    statuses apply as in `conversations list`). A conversation changed by
    someone else since it was read is reported as a conflict and left alone.
    Exit 0 when every conversation was done (or already so); 1 when any was in
    conflict or not found (the others are done; the output lists each); 2 for
    a usage error, before anything changes."""
    from omnitui.services import bulk
    from omnitui.services.team import UnknownAgent, member, who
    from omnitui.when import read_time

    now = datetime.now(UTC)
    if not ids and query is None and view is None:
        raise UserError("give conversation ids, --query or --view", 2)
    if ids and (query is not None or view is not None):
        raise UserError("give conversation ids or --query/--view, not both", 2)
    if status == "snoozed":
        raise UserError("to snooze, give --snooze WHEN (e.g. --snooze 2h)", 2)
    if snooze is not None and status is not None:
        raise UserError("give --status or --snooze, not both", 2)
    wake = None
    if snooze is not None:
        try:
            wake = read_time(snooze, now, UTC)
        except ValueError as exc:
            raise UserError(f"--snooze: {exc}", 2) from None
    if merge and (assign or status or snooze or tag or untag):
        raise UserError("--merge goes alone: merge first, then act on the conversations", 2)
    with runtime(ctx) as rt:
        name = None
        if assign is not None and assign.strip().lower() != "none":
            try:
                name = member(
                    rt.store(),
                    who(assign, rt.agent) or "",
                    configured=rt.config.team,
                    me=rt.agent,
                )
            except UnknownAgent as exc:
                raise UserError(f"--assign: {exc}", 2) from None
        seen: dict[int, int] | None = None  # what a query matched, at which version
        if ids:
            chosen = list(ids)
        else:
            target_query, _, _ = chosen_query(rt, view, query)
            seen = bulk.target_versions(rt.store(), target_query, agent=rt.agent, now=now)
            chosen = list(seen)
        if merge:
            results = bulk.bulk_merge(rt.store(), rt.agent, chosen, dry_run=dry_run)
        else:
            change = bulk.BulkChange(
                assign=name,
                unassign=assign is not None and name is None,
                status="snoozed" if wake is not None else status,
                snoozed_until=wake,
                tag=tuple(tag or ()),
                untag=tuple(untag or ()),
            )
            results = bulk.bulk_update(
                rt.store(), rt.agent, chosen, change, versions=seen, dry_run=dry_run, now=now
            )
    counts: dict[str, int] = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    failed = sum(n for k, n in counts.items() if k in bulk.NOT_DONE)
    if want_json(ctx, json_out):
        output.print_json(BulkDocument(dry_run, counts, tuple(results)))
    else:
        output.print_table(
            "Would change" if dry_run else "Bulk action",
            [Column("conversation"), Column("outcome"), Column("what", wrap=True, least=30)],
            [(r.conversation_id, r.outcome, "; ".join(r.changes) or r.detail) for r in results],
        )
        summary = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(counts.items()))
        output.say(f"{len(results)} conversations: {summary or 'none matched'}.")
    if failed:
        output.error(
            f"{failed} of {len(results)} conversations were not changed (conflict or not "
            "found): nothing was overwritten; look again and retry those"
        )
        raise typer.Exit(1)
