"""Commands over the store: customers, conversations, notes, search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from omnitui.cli import output, triage
from omnitui.cli.common import (
    BodyFileOpt,
    BodyOpt,
    ConversationArg,
    CustomerOpt,
    JsonOpt,
    LimitOpt,
    MaybeChannelOpt,
    UserError,
    handled,
    keeping_text,
    not_found,
    read_body,
    runtime,
    want_json,
)
from omnitui.cli.documents import (
    ConversationDetail,
    CustomerDetail,
    ReportDocument,
    SavedAttachment,
    conversation,
)
from omnitui.cli.output import Column
from omnitui.cli.recipients import addressed, print_forwards, print_thread
from omnitui.text import first_line
from storage.vocabulary import CONVERSATION_STATUSES

if TYPE_CHECKING:
    from omnitui.runtime import Runtime
    from storage.queries import ConversationRow

_STATUSES = ", ".join(CONVERSATION_STATUSES)

customers = typer.Typer(help="Customers and their identities.", no_args_is_help=True)
conversations = typer.Typer(help="Conversations (threads on one channel).", no_args_is_help=True)
notes = typer.Typer(help="Internal notes (never sent to a customer).", no_args_is_help=True)
attachments = typer.Typer(help="Files that came with messages.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    triage.register(app, conversations)
    app.add_typer(customers, name="customers")
    app.add_typer(conversations, name="conversations")
    app.add_typer(notes, name="notes")
    app.add_typer(attachments, name="attachments")
    app.command("search")(search)
    app.command("report")(report)


@customers.command("list")
@handled
def customers_list(
    ctx: typer.Context,
    query: Annotated[
        str | None, typer.Option("--query", "-q", help="Match name or address.")
    ] = None,
    limit: LimitOpt = 100,
    json_out: JsonOpt = False,
) -> None:
    """List customers, most recently updated first (--query: a name with or without
    accents, part of an address, or a phone number in any format)."""
    from omnitui.services.lookup import find_customers

    with runtime(ctx) as rt, rt.store().read() as session:
        rows = find_customers(session, query or "", default_region=rt.default_region, limit=limit)
    if want_json(ctx, json_out):
        output.print_json(rows)
        return
    output.print_table(
        "Customers",
        [
            Column("id"),
            Column("name", wrap=True),
            Column("identities", wrap=True),
            Column("open", drop=2),
            Column("last message", drop=1),
        ],
        [
            (
                r.id,
                r.name,
                ", ".join(f"{i.channel}:{i.address}" for i in r.identities),
                r.open_conversations,
                r.last_message_at,
            )
            for r in rows
        ],
    )


@attachments.command("save")
@handled
def attachments_save(
    ctx: typer.Context,
    attachment_id: Annotated[int, typer.Argument(help="Attachment id (see customers show).")],
    to: Annotated[
        Path | None,
        typer.Option("--to", help="An existing directory (default: Downloads/omnitui)."),
    ] = None,
    mkdir: Annotated[
        bool, typer.Option("--mkdir", help="Create the --to directory (and its parents).")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Save an attachment as a file (never over an existing one).

    A --to directory must exist, unless --mkdir is given: a typo in it is an
    error, not a new directory. The default directory is created when needed."""
    from omnitui.services.attachments import AttachmentError, downloads_dir, save_attachment
    from storage import queries

    if to is not None and not mkdir:
        if not to.exists():
            raise UserError(f"{to} does not exist; create it first or use --mkdir", 2)
        if not to.is_dir():
            raise UserError(f"{to} is not a directory; give a directory with --to", 2)
    with runtime(ctx) as rt:
        with rt.store().read() as session:
            row = queries.get_attachment(session, attachment_id)
        if row is None:
            raise not_found(f"there is no attachment {attachment_id}")
        try:
            path = save_attachment(
                rt.store(), row, to or downloads_dir(), create=to is None or mkdir
            )
        except AttachmentError as exc:
            raise UserError(str(exc)) from None
    if want_json(ctx, json_out):
        output.print_json(SavedAttachment(row.id, str(path), row.size))
        return
    output.say(f"Saved {path}")


@customers.command("show")
@handled
def customers_show(
    ctx: typer.Context,
    customer_id: Annotated[int, typer.Argument(help="Customer id.")],
    limit: LimitOpt = 200,
    json_out: JsonOpt = False,
) -> None:
    """One customer: identities, conversations and the timeline of messages and notes.

    A customer merged into another is shown as the one that remains (as the
    console opens it); stderr says so."""
    from omnitui.services.customers import live_customer_id
    from storage import queries

    with runtime(ctx) as rt, rt.store().read() as session:
        shown = live_customer_id(session, customer_id)
        row = queries.get_customer(session, shown) if shown is not None else None
        if row is None:
            raise not_found(f"there is no customer {customer_id}")
        convs = queries.list_conversations(
            session, view="all", agent=rt.agent, customer_id=row.id, limit=100
        )
        entries = queries.timeline(session, row.id, limit=limit, viewer=rt.agent)
        audit = queries.audit_events(session, customer_id=row.id, limit=50)
    if row.id != customer_id:
        output.note(f"customer {customer_id} was merged into {row.id}: showing {row.id}")
    if want_json(ctx, json_out):
        output.print_json(CustomerDetail.of(row, convs, entries, audit))
        return
    merged = f" (merged into {row.merged_into_id})" if row.merged_into_id else ""
    output.say(f"Customer {row.id}: {row.name}{merged}")
    for ident in row.identities:
        output.say(f"  {ident.channel}: {ident.address}")
    output.print_table(
        "Conversations",
        [
            Column("id"),
            Column("channel", drop=1),
            Column("subject", wrap=True, least=20),
            Column("status"),
            Column("assignee", drop=2),
            Column("last message"),
        ],
        [
            (
                c.id,
                c.channel,
                c.subject or first_line(c.preview, 60),
                c.status,
                c.assignee,
                c.last_message_at,
            )
            for c in convs
        ],
    )
    output.print_table(
        "Timeline",
        [
            Column("at"),
            Column("kind", drop=1),
            Column("channel", drop=2),
            Column("dir", drop=4),
            Column("who", wrap=True, drop=3),
            Column("recipients", wrap=True, drop=5),
            Column("text", wrap=True, least=28),
            Column("status"),
        ],
        [
            (
                e.at,
                e.kind,
                e.channel,
                e.direction,
                e.author,
                addressed(e),
                first_line(e.body, 60),
                e.status,
            )
            for e in entries
        ],
    )
    print_forwards(entries)
    if audit:
        output.print_table(
            "Changes",
            [Column("at"), Column("who", wrap=True), Column("what"), Column("detail", wrap=True)],
            [(a.at, a.actor, a.action, _event_text(a.action, a.detail)) for a in audit],
        )


def _event_text(action: str, detail: dict[str, Any]) -> str:
    """A change in the words the console's timeline uses, its time in UTC."""
    from omnitui.events import describe_event, event_until

    until = event_until(detail)
    return describe_event(action, detail) + (f" until {output.when(until)}" if until else "")


@customers.command("merge")
@handled
def customers_merge(
    ctx: typer.Context,
    keep: Annotated[int, typer.Argument(help="Customer id that stays.")],
    other: Annotated[int, typer.Argument(help="Customer id merged into KEEP.")],
    json_out: JsonOpt = False,
) -> None:
    """Merge OTHER into KEEP: one customer across their channels. Nothing is deleted."""
    from omnitui import services
    from storage import queries

    with runtime(ctx) as rt:
        services.merge_customers(rt.store(), keep, other, rt.agent)
        with rt.store().read() as session:
            row = queries.get_customer(session, keep)
    assert row is not None
    if want_json(ctx, json_out):
        output.print_json(row)
    else:
        output.say(
            f"Merged customer {other} into {keep} ({row.name}); "
            f"{len(row.identities)} identities now."
        )


@conversations.command("list")
@handled
def conversations_list(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", help=f"{_STATUSES} or all (default open).")
    ] = None,
    assignee: Annotated[
        str | None, typer.Option("--assignee", help="Only this agent's ('me' for yours).")
    ] = None,
    query: triage.QueryOpt = None,
    view: triage.ViewOpt = None,
    sort: triage.SortOpt = None,
    limit: LimitOpt = 100,
    json_out: JsonOpt = False,
) -> None:
    """List conversations, newest activity first. An agent not on the team (see
    `conversations assign`) is an error (exit 2); one on it may have none.

    --query takes the query language (README, "Finding conversations"), --view
    a view by name (`omnitui views`); both together: the view narrowed by the
    query. They replace --status and --assignee (write status:, assignee:)."""
    from storage import queries

    if query is not None or view is not None or sort is not None:
        if status is not None or assignee is not None:
            raise UserError(
                "give --status/--assignee or --query/--view, not both: write status: and "
                "assignee: terms in the query",
                2,
            )
        if query is None and view is None:
            view = "open"
        triage.list_by_query(
            ctx, view_name=view, text=query, sort=sort, limit=limit, json_out=json_out
        )
        return
    status = status or "open"
    if status not in (*CONVERSATION_STATUSES, "all"):
        raise UserError(f"unknown status {status!r}: use {_STATUSES} or all", 2)
    from omnitui.services.snoozes import wake_due_snoozes

    with runtime(ctx) as rt:
        who = _team_member(rt, assignee)
        wake_due_snoozes(rt.store())  # a snooze past its time is open: the list says so
        with rt.store().read() as session:
            rows = queries.list_conversations(
                session, view=status, agent=rt.agent, assignee=who, limit=limit
            )
    if want_json(ctx, json_out):
        output.print_json([conversation(r) for r in rows])
        return
    triage.print_conversations(f"Conversations ({status})", rows)


@conversations.command("show")
@handled
def conversations_show(
    ctx: typer.Context,
    conversation_id: ConversationArg,
    json_out: JsonOpt = False,
) -> None:
    """One conversation, and the newest entry of its customer's timeline
    (``latest_entry``: give it to ``reply --if-latest`` so that a reply written
    before a newer message or note is refused instead of sent). On WhatsApp
    also whether free-form replies go now (the 24-hour window) and until when."""
    from omnitui.cli.conversation_show import whatsapp_window_of
    from omnitui.services import staleness
    from storage import queries

    with runtime(ctx) as rt:
        with rt.store().read() as session:
            row = queries.get_conversation(session, conversation_id, agent=rt.agent)
            entries = (
                queries.timeline(session, row.customer_id, viewer=rt.agent, conversation_id=row.id)
                if row is not None
                else []
            )
        if row is None:
            raise not_found(f"there is no conversation {conversation_id}")
        latest = staleness.latest_entry(rt.store(), conversation_id)
        window, said = whatsapp_window_of(rt, conversation_id)
    if want_json(ctx, json_out):
        output.print_json(ConversationDetail.of(row, latest, window, entries))
        return
    shown = conversation(row)
    output.say(f"Conversation {shown.id} ({shown.channel}, {shown.account}): {shown.customer_name}")
    output.say(f"  subject: {shown.subject or first_line(shown.preview, 60)}")
    output.say(f"  status: {shown.status} · assignee: {shown.assignee or 'nobody'}")
    if shown.tags or shown.customer_tags:
        output.say(f"  tags: {triage.tags_text(shown)}")
    output.say(f"  latest entry: {latest or 'none'}")
    if said:
        output.say(f"  WhatsApp: {said}")
    print_thread(entries)


@conversations.command("assign")
@handled
def conversations_assign(
    ctx: typer.Context,
    conversation_id: ConversationArg,
    agent: Annotated[
        str | None, typer.Argument(help="Agent name; omit to unassign; 'me' for yourself.")
    ] = None,
    new: Annotated[
        bool,
        typer.Option("--new", "--force", help="Assign to a name not on the team yet (not a typo)."),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Assign a conversation to an agent on the team (anyone the store has seen at
    work, or in the config's [agent] team); another name needs --new."""
    from omnitui.services.team import UnknownAgent, assign_checked

    with runtime(ctx) as rt:
        try:
            assign_checked(
                rt.store(),
                conversation_id,
                agent,
                rt.agent,
                configured=rt.config.team,
                allow_new=new,
            )
        except UnknownAgent as exc:
            raise UserError(f"{exc} Assign anyway with --new.", 2) from None
        conv = _conversation(rt, conversation_id)
    _print_change(ctx, json_out, conv, f"assigned to {conv.assignee or 'nobody'}")


@conversations.command("status")
@handled
def conversations_status(
    ctx: typer.Context,
    conversation_id: ConversationArg,
    status: Annotated[str, typer.Argument(help=f"{_STATUSES}.")],
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="Wake time for snoozed, as the console takes it: 2h, tomorrow 14:00, fri, "
            "2026-04-01 9:00, 2026-04-01T09:00:00+02:00 (UTC unless an offset is given).",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Change a conversation's status."""
    from omnitui import services
    from omnitui.when import read_time

    try:
        wake = read_time(until, datetime.now(UTC), UTC) if until is not None else None
    except ValueError as exc:
        raise UserError(f"--until: {exc}", 2) from None
    with runtime(ctx) as rt:
        services.set_status(rt.store(), conversation_id, status, rt.agent, snoozed_until=wake)
        conv = _conversation(rt, conversation_id)
    _print_change(ctx, json_out, conv, f"is now {conv.status}")


def _team_member(rt: Runtime, name: str | None) -> str | None:
    """The agent ``name`` filters by, as spelled on the team (``me`` is you), or
    a usage error naming the team when nobody on it has that name (a typo)."""
    from omnitui.services.team import UnknownAgent, member, who

    agent = who(name, rt.agent)
    if agent is None:
        return None
    try:
        return member(rt.store(), agent, configured=rt.config.team, me=rt.agent)
    except UnknownAgent as exc:
        raise UserError(str(exc), 2) from None


def _conversation(rt: Runtime, conversation_id: int) -> ConversationRow:
    """The conversation a command has just changed, as ``conversations list`` shows it."""
    from storage import queries

    with rt.store().read() as session:
        row = queries.get_conversation(session, conversation_id, agent=rt.agent)
    assert row is not None  # conversations are never deleted
    return conversation(row)


def _print_change(ctx: typer.Context, json_out: bool, conv: ConversationRow, what: str) -> None:
    if want_json(ctx, json_out):
        output.print_json(conv)
    else:
        output.say(f"Conversation {conv.id} {what}.")


@notes.command("add")
@handled
def notes_add(
    ctx: typer.Context,
    body: BodyOpt = None,
    body_file: BodyFileOpt = None,
    customer: CustomerOpt = None,
    conversation: Annotated[
        int | None, typer.Option("--conversation", help="Conversation id.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Add an internal note to a customer or a conversation (text from --body,
    --body-file or stdin)."""
    from omnitui import services
    from storage import queries

    if (customer is None) == (conversation is None):
        raise UserError("give exactly one of --customer ID or --conversation ID", 2)
    text = read_body(body, body_file)
    on = ["--customer", str(customer)] if customer is not None else []
    on += ["--conversation", str(conversation)] if conversation is not None else []
    with (
        keeping_text(text, ["notes", "add", *on], body=body, body_file=body_file) as typed,
        runtime(ctx) as rt,
    ):
        note_id = services.add_note(
            rt.store(),
            rt.agent,
            text,
            customer_id=customer,
            conversation_id=conversation,
            team=rt.config.team,
        )
        typed.stored()
        with rt.store().read() as session:
            note = queries.get_note(session, note_id)
    assert note is not None  # notes are never deleted
    if want_json(ctx, json_out):
        output.print_json(note)
    else:
        output.say(f"Note {note_id} saved.")


@handled
def search(
    ctx: typer.Context,
    query: Annotated[
        str, typer.Argument(help="Words to find (every word must match; prefixes match).")
    ],
    limit: LimitOpt = 50,
    json_out: JsonOpt = False,
) -> None:
    """Full-text search across all messages and notes."""
    from storage import queries

    with runtime(ctx) as rt, rt.store().read() as session:
        hits = queries.search(session, query, limit=limit)
    if want_json(ctx, json_out):
        output.print_json(hits)
        return
    output.print_table(
        f"Search: {query}",
        [
            Column("kind", drop=1),
            Column("id"),
            Column("customer", wrap=True, drop=2),
            Column("conv", drop=4),
            Column("channel", drop=3),
            Column("at"),
            Column("snippet", wrap=True, least=28),
        ],
        [
            (
                h.kind,
                h.id,
                f"{h.customer_name} ({h.customer_id})",
                h.conversation_id,
                h.channel,
                h.at,
                h.snippet,
            )
            for h in hits
        ],
    )


def period_start(text: str, now: datetime, option: str = "--since") -> datetime:
    """The start of a period given as ``7d``, ``24h``, ``90m`` or ``2w`` before ``now``."""
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not (number.isascii() and number.isdigit()):
        raise UserError(f"{option} {text!r}: write a number and a unit, e.g. 7d, 24h, 90m, 2w", 2)
    try:
        return now - timedelta(**{units[unit]: int(number)})
    except OverflowError:  # beyond timedelta's 999,999,999 days, or before the year 1
        too_far = f"{option} {text!r} reaches back too far: give a shorter period"
        raise UserError(too_far, 2) from None


@handled
def report(
    ctx: typer.Context,
    since: Annotated[str, typer.Option("--since", help="Period: 7d, 24h, 90m, 2w.")] = "7d",
    channel: MaybeChannelOpt = None,
    agent: Annotated[
        str | None, typer.Option("--agent", help="Only this agent's ('me' for yourself).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Per channel and per agent: opened/resolved, messages in/out, first-response and
    resolution time (median, p90), failed sends, and the conversations waiting for us
    now by how long (<1h/1-4h/4-24h/1-3d/>3d).

    Times are wall-clock unless the config sets [reports] business_hours; waiting
    ages are always wall-clock. An unknown --channel is an error (exit 2), and so is an
    --agent not on the team (see `conversations assign`); one on it may have
    nothing to report."""
    from omnitui.services import reports

    now = datetime.now(UTC)
    start = period_start(since, now)
    with runtime(ctx) as rt:
        who = _team_member(rt, agent)
        result = reports.team_report(
            rt.store(),
            since=start,
            now=now,
            channel=channel,
            agent=who,
            hours=rt.config.business_hours,
        )
    if want_json(ctx, json_out):
        output.print_json(ReportDocument.of(result))
        return
    output.say(f"Response and resolution times: {reports.clock_text(result)}")
    output.say(reports.LEGEND)
    waiting = f"{reports.WAITING} {'/'.join(reports.WAITING_BUCKETS)}"
    for title, rows in reports.groups(result):
        output.print_table(  # 11 columns: as blocks on a narrow terminal
            f"By {title}, since {output.when(start)}",
            [
                Column(title, wrap=True),
                *(Column(c.one_line()) for c in reports.COLUMNS),
                Column(waiting),
            ],
            [
                (
                    name,
                    *reports.cells(figures),
                    "/".join(str(n) for n in reports.waiting_cells(figures)),
                )
                for name, figures in rows
            ],
        )
