"""Commands about the agent themself: their @mentions, and away/back (alerts
wait while away; see :mod:`omnitui.services.alerts`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import typer

from omnitui.cli import output
from omnitui.cli.common import JsonOpt, LimitOpt, UserError, handled, runtime, want_json
from omnitui.cli.output import Column
from omnitui.text import first_line

mentions = typer.Typer(
    help="Notes that @mention you (or --agent): newest first; `mentions read ID…` marks them.",
    invoke_without_command=True,
)
agent = typer.Typer(
    help="You as the team sees you: away (alerts wait) or back.", no_args_is_help=True
)

AgentOpt = Annotated[
    str | None, typer.Option("--agent", help="Whose mentions (default: you, [agent] name).")
]


def register(app: typer.Typer) -> None:
    app.add_typer(mentions, name="mentions")
    app.add_typer(agent, name="agent")


@dataclass(frozen=True)
class MentionsRead:
    """What ``mentions read`` marked."""

    agent: str
    read: list[int]


@dataclass(frozen=True)
class AgentState:
    """``agent away|back|status``: whether the agent is away, since when."""

    agent: str
    away: bool
    away_since: datetime | None


@mentions.callback()
@handled
def mentions_list(
    ctx: typer.Context,
    who: AgentOpt = None,
    unread: Annotated[bool, typer.Option("--unread", help="Only the unread ones.")] = False,
    limit: LimitOpt = 100,
    json_out: JsonOpt = False,
) -> None:
    """List the notes that mention you (or --agent), newest first (unread marked *)."""
    if ctx.invoked_subcommand is not None:
        return
    from storage.queries.mentions import list_mentions

    with runtime(ctx) as rt, rt.store().read() as session:
        rows = list_mentions(session, agent=who or rt.agent, unread=unread, limit=limit)
    if want_json(ctx, json_out):
        output.print_json(rows)
        return
    output.print_table(
        f"Mentions of {who or rt.agent}",
        [
            Column("id"),
            Column("", drop=3),
            Column("at"),
            Column("by"),
            Column("where", drop=2),
            Column("note", wrap=True, least=20),
        ],
        [
            (
                r.id,
                "*" if r.unread else "",
                r.created_at,
                r.author,
                f"{r.customer_name} #{r.conversation_id}" if r.conversation_id else r.customer_name,
                first_line(r.preview, 120),
            )
            for r in rows
        ],
    )


@mentions.command("read")
@handled
def mentions_read(
    ctx: typer.Context,
    ids: Annotated[
        list[int] | None, typer.Argument(help="Mention ids (see `omnitui mentions`).")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every unread mention.")] = False,
    who: AgentOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Mark mentions read (what opening them in the console does)."""
    from omnitui.services import mentions as service

    if bool(ids) == every:
        raise UserError("give mention ids, or --all (not both)", 2)
    with runtime(ctx) as rt:
        name = who or rt.agent
        if every:
            wanted = service.mark_all_read(rt.store(), name)
        else:
            wanted = service.mark_read(rt.store(), name, ids or [])
    if want_json(ctx, json_out):
        output.print_json(MentionsRead(name, sorted(wanted)))
        return
    output.say(f"{len(wanted)} mention{'s' if len(wanted) != 1 else ''} of {name} marked read.")


def _state(ctx: typer.Context, json_out: bool, change: bool | None) -> None:
    from omnitui.services import alerts

    with runtime(ctx) as rt:
        if change is None:
            since = alerts.away_since(rt.store(), rt.agent)
        else:
            since = alerts.set_away(rt.store(), rt.agent, change)
        name = rt.agent
    if want_json(ctx, json_out):
        output.print_json(AgentState(name, since is not None, since))
    elif since is not None:
        output.say(
            f"{name} is away since {output.when(since)} UTC: alerts wait for `omnitui agent back`."
        )
    else:
        output.say(f"{name} is here: alerts reach the console.")


@agent.command("away")
@handled
def agent_away(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Mark yourself away: alerts wait, and a summary greets you when you are back."""
    _state(ctx, json_out, True)


@agent.command("back")
@handled
def agent_back(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Mark yourself back: the console shows what came meanwhile, in one line."""
    _state(ctx, json_out, False)


@agent.command("status")
@handled
def agent_status(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Whether you are away, and since when."""
    _state(ctx, json_out, None)
