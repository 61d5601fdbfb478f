"""Who an e-mail goes to, on the command line: the ``--all``/``--cc``/``--bcc``
options of send and reply, ``omnitui forward``, and how ``customers show``
and ``conversations show`` print each e-mail's To and Cc. The rules are
:mod:`omnitui.services.recipients` and :mod:`omnitui.services.forward`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from omnitui.cli import output
from omnitui.cli.common import (
    BodyFileOpt,
    JsonOpt,
    SubjectOpt,
    handled,
    keeping_text,
    runtime,
)
from omnitui.cli.output import Column
from omnitui.text import first_line

if TYPE_CHECKING:
    from storage.queries import TimelineEntry

CcOpt = Annotated[
    list[str] | None,
    typer.Option("--cc", help="Also to this address, in Cc (e-mail; repeatable)."),
]
BccOpt = Annotated[
    list[str] | None,
    typer.Option("--bcc", help="Also to this address, unseen (e-mail envelope only; repeatable)."),
]
AllOpt = Annotated[
    bool,
    typer.Option(
        "--all",
        help="Reply to all: to the sender (its Reply-To), Cc its other recipients but ours.",
    ),
]


def register(app: typer.Typer) -> None:
    app.command("forward")(forward)


def recipient_args(option: str, values: list[str] | None) -> list[str]:
    """``values`` as the options that give them again (for a resend command)."""
    return [arg for value in values or () for arg in (option, value)]


@handled
def forward(
    ctx: typer.Context,
    message_id: Annotated[int, typer.Argument(help="The message to forward (any channel).")],
    to: Annotated[str, typer.Option("--to", help="The e-mail address to forward it to.")],
    cc: CcOpt = None,
    subject: SubjectOpt = None,
    body: Annotated[
        str | None,
        typer.Option("--body", help="A cover note (else --body-file, else stdin, else none)."),
    ] = None,
    body_file: BodyFileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Forward a message with its files, and a cover note, by e-mail: a new
    conversation with the recipient (exits 1 if delivery failed)."""
    import sys

    from omnitui.cli.common import read_body
    from omnitui.cli.messages import _deliver_now, _report_delivery
    from omnitui.services.forward import forward as forward_message

    piped = body is not None or body_file is not None or (sys.stdin and not sys.stdin.isatty())
    note = read_body(body, body_file) if piped else ""
    resend = ["forward", str(message_id), "--to", to, *recipient_args("--cc", cc)]
    resend += ["--subject", subject] if subject else []
    with keeping_text(note, resend, body=body, body_file=body_file) as typed, runtime(ctx) as rt:
        queued = forward_message(
            rt.store(),
            rt.account_infos(),
            message_id,
            to,
            rt.agent,
            note=note,
            cc=tuple(cc or ()),
            subject=subject,
        )
        typed.stored()
        _report_delivery(ctx, json_out, rt, _deliver_now(rt, queued))


def addressed(entry: TimelineEntry) -> str:
    """An e-mail's "To: …  Cc: …  Bcc: …" (Bcc only where the entry has it:
    our own message, shown to its author); empty on other channels."""
    parts = [
        f"{label}: {', '.join(found)}"
        for label, found in (
            ("To", entry.to_addresses),
            ("Cc", entry.cc_addresses),
            ("Bcc", entry.bcc_addresses),
        )
        if found
    ]
    parts += [f"forwarded to {f.to} by {f.author or '?'}" for f in entry.forwards]
    if entry.forwarded_from_id is not None:
        parts.append(f"forwards message {entry.forwarded_from_id}")
    return "  ".join(parts)


def print_thread(entries: Sequence[TimelineEntry]) -> None:
    """``conversations show``'s messages and notes, each e-mail with its
    To and Cc (and Bcc where the entry has it), and where it was forwarded."""
    for e in entries:
        who = e.author or e.from_address or "?"
        output.say(
            f"\n#{e.id}  {output.when(e.at)}  {e.direction or e.kind}  {who}  {e.status or ''}"
        )
        if recipients := addressed(e):
            output.say(f"    {recipients}")
        output.say(f"    {first_line(e.body, 200)}")


def print_forwards(entries: Sequence[TimelineEntry]) -> None:
    """``customers show``'s table of where its messages were forwarded."""
    rows = [
        (e.id, f"forwarded to {f.to} by {f.author or '?'}", f.at, f.message_id)
        for e in entries
        for f in e.forwards
    ]
    if rows:
        output.print_table(
            "Forwards", [Column("message"), Column("what", wrap=True), Column("at"), "as"], rows
        )
