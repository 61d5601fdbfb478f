"""Commands that move messages: send, reply, outbox, sync."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from omnitui.cli import output
from omnitui.cli.attach import files_and_signature, no_files_with_template, resend_files
from omnitui.cli.common import (
    EXIT_CODES,
    AccountOpt,
    AttachOpt,
    BodyFileOpt,
    BodyOpt,
    ChannelOpt,
    ConversationArg,
    CustomerOpt,
    JsonOpt,
    MaybeChannelOpt,
    NoSignatureOpt,
    OutgoingArg,
    SubjectOpt,
    UserError,
    handled,
    keeping_text,
    not_found,
    read_body,
    runtime,
    want_json,
)
from omnitui.cli.documents import Outgoing, StaleRefusal, SyncRound
from omnitui.cli.output import Column
from omnitui.cli.recipients import AllOpt, BccOpt, CcOpt, recipient_args
from storage.vocabulary import OUTBOX_STATES, OUTBOX_UNFINISHED

if TYPE_CHECKING:
    from omnitui.runtime import Runtime
    from omnitui.services import Extras
    from omnitui.services.entries import EntryId
    from omnitui.services.outbox import Deferred, Delivery
    from omnitui.services.sync import SyncReport

#: sysexits' EX_SOFTWARE: the poller lost a worker it could not restart.
EX_SOFTWARE = 70

outbox_app = typer.Typer(help="Outgoing messages not yet delivered.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("send")(send)
    app.command("reply")(reply)
    app.command("sync")(sync)
    app.add_typer(outbox_app, name="outbox")


def _deliver_now(rt: Runtime, message_id: int) -> Delivery | Deferred:
    """Try the queued message right away (see ``services.outbox.deliver_now``)."""
    from omnitui.services import outbox

    return outbox.deliver_now(rt.store(), rt.provider, message_id)


#: exit code of send/reply when the provider may or may not have the message:
#: a script must not simply send it again (1 means surely not sent)
EXIT_UNCONFIRMED = 4


def _report_delivery(
    ctx: typer.Context, json_out: bool, rt: Runtime, delivery: Delivery | Deferred
) -> None:
    from omnitui.services.outbox import Deferred

    deferred = delivery.reason if isinstance(delivery, Deferred) else None
    doc = _outgoing(rt, delivery.message_id, deferred=deferred)
    if want_json(ctx, json_out):
        output.print_json(doc)
    elif isinstance(delivery, Deferred):
        output.say(f"Message {doc.id} queued to {doc.to} on {doc.channel}.")
        output.note(
            f"not sent from here: {delivery.reason}. It stays queued; the process that polls "
            "this account (`omnitui sync`, or a console with the secret) sends it."
        )
    elif delivery.state == "failed":
        output.error(
            f"message {doc.id} to {doc.to} failed: {delivery.error}. It stays in the "
            f"outbox: `omnitui outbox retry {doc.id}` sends it again."
        )
    elif delivery.state == "unconfirmed":
        output.error(
            f"message {doc.id} to {doc.to} is unconfirmed: {delivery.error}. It is not "
            "sent again by itself; `omnitui outbox list` shows it, `omnitui outbox retry "
            f"{doc.id}` sends it again if it did not arrive."
        )
    else:
        cost = f" ({doc.segments} segment(s), {doc.encoding})" if doc.segments is not None else ""
        output.say(f"Message {doc.id} {doc.status} to {doc.to} on {doc.channel}{cost}.")
    if isinstance(delivery, Deferred):
        return
    if delivery.state == "failed":
        raise typer.Exit(1)
    if delivery.state == "unconfirmed":
        raise typer.Exit(EXIT_UNCONFIRMED)


def _outgoing(rt: Runtime, message_id: int, *, deferred: str | None = None) -> Outgoing:
    """The document of the outgoing message a command has just acted on."""
    from storage import queries

    with rt.store().read() as session:
        message = queries.outgoing_message(session, message_id, viewer=rt.agent)
        files = tuple(queries.attachments_of(session, [message_id]).get(message_id, ()))
    assert message is not None  # outgoing messages are never deleted
    return Outgoing.of(message, deferred=deferred, files=files)


TemplateOpt = Annotated[
    str | None,
    typer.Option(
        "--template",
        help="WhatsApp: send this approved template of the account (its text is the message).",
    ),
]
VarOpt = Annotated[
    list[str] | None,
    typer.Option("--var", help="A template variable, NAME=VALUE (repeatable).", metavar="K=V"),
]


def template_variables(pairs: list[str] | None) -> tuple[tuple[str, str], ...]:
    """``--var k=v`` options as pairs; a malformed one is a usage error (exit 2)."""
    out: dict[str, str] = {}
    for pair in pairs or ():
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--var takes NAME=VALUE, not {pair!r}", 2)
        if name.strip() in out:
            raise UserError(f"--var {name.strip()} is given twice", 2)
        out[name.strip()] = value
    return tuple(out.items())


def template_extras(
    template: str | None, var: list[str] | None, body: str | None, body_file: object
) -> Extras | None:
    """The template a send or reply names (``None``: free-form text), its
    options checked: ``--var`` needs ``--template``, which takes no text."""
    from omnitui.services import Extras

    variables = template_variables(var)
    if template is None:
        if variables:
            raise UserError("--var fills a template: name it with --template NAME", 2)
        return None
    if body is not None or body_file is not None:
        raise UserError("a template's text is its approved wording: drop --body/--body-file", 2)
    return Extras(template=template, variables=variables)


@handled
def send(
    ctx: typer.Context,
    channel: ChannelOpt,
    to: Annotated[str | None, typer.Option("--to", help="Address or phone number.")] = None,
    customer: CustomerOpt = None,
    account: AccountOpt = None,
    subject: SubjectOpt = None,
    body: BodyOpt = None,
    body_file: BodyFileOpt = None,
    template: TemplateOpt = None,
    var: VarOpt = None,
    attach: AttachOpt = None,
    no_signature: NoSignatureOpt = False,
    cc: CcOpt = None,
    bcc: BccOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Send a new message (queued first, then delivered; exits 1 if delivery failed).

    --attach FILE sends a file with it (repeatable); the account's signature
    is added on the channels it signs, unless --no-signature.
    --cc and --bcc add e-mail recipients (the Bcc goes in the envelope only).

    Without the account's secret in this process the message stays queued for
    the poller, which is said on stderr, and the exit code is 0. WhatsApp to
    someone who has not written in 24 hours: --template NAME --var k=v.
    """
    from omnitui import services

    if (to is None) == (customer is None):
        raise UserError("give exactly one of --to ADDRESS or --customer ID", 2)
    no_files_with_template(template, attach)
    if (extras := template_extras(template, var, body, body_file)) is not None:
        extras = replace(extras, cc=tuple(cc or ()), bcc=tuple(bcc or ()))  # refused off e-mail
        with runtime(ctx) as rt:
            message_id = services.send_new(
                rt.store(),
                rt.account_infos(),
                channel=channel,
                body="",
                author=rt.agent,
                to=to,
                customer_id=customer,
                account=account,
                default_region=rt.default_region,
                extras=extras,
            )
            _report_delivery(ctx, json_out, rt, _deliver_now(rt, message_id))
        return
    text = read_body(body, body_file)
    resend = ["send", "--channel", channel]
    resend += ["--to", to] if to is not None else ["--customer", str(customer)]
    resend += ["--account", account] if account else []
    resend += ["--subject", subject] if subject else []
    resend += resend_files(attach, no_signature)
    resend += recipient_args("--cc", cc) + recipient_args("--bcc", bcc)
    with keeping_text(text, resend, body=body, body_file=body_file) as typed, runtime(ctx) as rt:
        extras = files_and_signature(text, attach, no_signature)
        message_id = services.send_new(
            rt.store(),
            rt.account_infos(),
            channel=channel,
            body=text,
            author=rt.agent,
            to=to,
            customer_id=customer,
            account=account,
            subject=subject,
            default_region=rt.default_region,
            extras=replace(extras, cc=tuple(cc or ()), bcc=tuple(bcc or ())),
        )
        typed.stored()
        _report_delivery(ctx, json_out, rt, _deliver_now(rt, message_id))


@handled
def reply(
    ctx: typer.Context,
    conversation_id: ConversationArg,
    channel: MaybeChannelOpt = None,
    subject: SubjectOpt = None,
    body: BodyOpt = None,
    body_file: BodyFileOpt = None,
    template: TemplateOpt = None,
    var: VarOpt = None,
    attach: AttachOpt = None,
    no_signature: NoSignatureOpt = False,
    all_: AllOpt = False,
    cc: CcOpt = None,
    bcc: BccOpt = None,
    json_out: JsonOpt = False,
    if_latest: Annotated[
        str | None,
        typer.Option(
            "--if-latest",
            metavar="ENTRY",
            help="Send only if ENTRY (message:ID or note:ID, the latest_entry of "
            "`conversations show ID --json`) is still the newest entry of the customer's "
            "timeline; else exit 3 and say what is newer.",
        ),
    ] = None,
) -> None:
    """Reply to a conversation (exits 1 if delivery failed; the message stays in the outbox).

    --channel replies on another of the customer's channels. --if-latest ENTRY
    refuses (exit 3, nothing queued) a reply written before a newer customer
    message, reply or note. On WhatsApp, 24 hours after the customer's last
    message only an approved template goes: --template NAME --var 1=Ann (the
    template's text is the message). --all replies to all of the newest
    received e-mail; --cc and --bcc add recipients (e-mail). --attach FILE
    sends a file with it (repeatable); the account's signature is added on
    the channels it signs, unless --no-signature.

    Without the account's secret in this process the reply stays queued for
    the poller, which is said on stderr, and the exit code is 0.
    """
    from omnitui import services
    from omnitui.services.entries import EntryId

    seen = EntryId.parse(if_latest) if if_latest is not None else None  # malformed: exit 2
    no_files_with_template(template, attach)
    if (extras := template_extras(template, var, body, body_file)) is not None:
        extras = replace(extras, cc=tuple(cc or ()), bcc=tuple(bcc or ()))  # refused off e-mail
        with runtime(ctx) as rt:
            if seen is not None:
                _require_latest(ctx, json_out, rt, conversation_id, seen, None)
            message_id = services.reply(
                rt.store(),
                rt.account_infos(),
                conversation_id,
                "",
                rt.agent,
                channel=channel,
                extras=extras,
            )
            _report_delivery(ctx, json_out, rt, _deliver_now(rt, message_id))
        return
    text = read_body(body, body_file)
    resend = ["reply", str(conversation_id)]
    resend += ["--channel", channel] if channel else []
    resend += ["--subject", subject] if subject else []
    resend += resend_files(attach, no_signature)
    resend += ["--all"] if all_ else []
    resend += recipient_args("--cc", cc) + recipient_args("--bcc", bcc)
    with keeping_text(text, resend, body=body, body_file=body_file) as typed, runtime(ctx) as rt:
        if seen is not None:
            _require_latest(ctx, json_out, rt, conversation_id, seen, typed.note())
        from omnitui.services.recipients import reply_extras

        chosen = reply_extras(
            rt.store(),
            rt.account_infos(),
            conversation_id,
            everyone=all_,
            cc=cc or (),
            bcc=bcc or (),
        )
        extras = replace(
            files_and_signature(text, attach, no_signature),
            to=chosen.to,
            cc=chosen.cc,
            bcc=chosen.bcc,
        )
        message_id = services.reply(
            rt.store(),
            rt.account_infos(),
            conversation_id,
            text,
            rt.agent,
            channel=channel,
            subject=subject,
            extras=extras,
        )
        typed.stored()
        _report_delivery(ctx, json_out, rt, _deliver_now(rt, message_id))


def _require_latest(
    ctx: typer.Context,
    json_out: bool,
    rt: Runtime,
    conversation_id: int,
    seen: EntryId,
    kept: str | None,
) -> None:
    """Exit 3 with what is newer unless ``seen`` is still the newest entry."""
    from omnitui.services import staleness

    try:
        staleness.require_latest(rt.store(), conversation_id, seen)
    except staleness.Stale as stale:
        code = EXIT_CODES["stale"]
        message = f"not sent: {stale}" + (f"; {kept}" if kept else "")
        output.error(message)
        if want_json(ctx, json_out):
            output.print_json(StaleRefusal.of(stale, message=message, code=code))
        raise typer.Exit(code) from None


@outbox_app.command("list")
@handled
def outbox_list(
    ctx: typer.Context,
    all_: Annotated[
        bool, typer.Option("--all", help="Include sent and delivered messages.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Messages waiting, sending, failed or unconfirmed."""
    from omnitui.services import outbox
    from storage import queries

    statuses = OUTBOX_STATES if all_ else OUTBOX_UNFINISHED
    with runtime(ctx) as rt:
        outbox.recover_interrupted(rt.store())
        with rt.store().read() as session:
            rows = queries.outbox(session, statuses=statuses)
    if want_json(ctx, json_out):
        output.print_json(rows)
        return
    output.print_table(
        "Outbox",
        [
            Column("id"),
            Column("conv", drop=2),
            Column("channel", drop=1),
            Column("to", wrap=True),
            Column("status"),
            Column("attempts", drop=3),
            Column("error", wrap=True, least=20),
        ],
        [(r.id, r.conversation_id, r.channel, r.to, r.status, r.attempts, r.error) for r in rows],
    )


@outbox_app.command("retry")
@handled
def outbox_retry(
    ctx: typer.Context,
    message_id: OutgoingArg,
    json_out: JsonOpt = False,
) -> None:
    """Send a failed or unconfirmed message again, with the text kept."""
    from omnitui.services import outbox
    from storage import queries

    with runtime(ctx) as rt:
        with rt.store().read() as session:
            if not queries.id_fits(session, message_id):  # the driver would fail on it
                raise not_found(f"there is no outgoing message {message_id}")
        outbox.retry_by(rt.store(), message_id, rt.agent, accounts=rt.account_infos())
        _report_delivery(ctx, json_out, rt, _deliver_now(rt, message_id))


@outbox_app.command("discard")
@handled
def outbox_discard(
    ctx: typer.Context,
    message_id: OutgoingArg,
    json_out: JsonOpt = False,
) -> None:
    """Never send a queued, failed or unconfirmed message (it stays in the
    timeline as discarded; an unconfirmed one may still have arrived)."""
    from omnitui.services import outbox

    with runtime(ctx) as rt:
        outbox.discard(rt.store(), message_id, rt.agent)
        doc = _outgoing(rt, message_id)
    if want_json(ctx, json_out):
        output.print_json(doc)
    else:
        output.say(f"Message {message_id} to {doc.to} discarded: it will never be sent.")


@outbox_app.command("edit")
@handled
def outbox_edit(
    ctx: typer.Context,
    message_id: OutgoingArg,
    body: BodyOpt = None,
    body_file: BodyFileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Change the text of a queued, failed or unconfirmed message and send it
    (exits 1 if delivery failed, 4 if unconfirmed)."""
    from omnitui.services import outbox

    text = read_body(body, body_file)
    resend = ["outbox", "edit", str(message_id)]
    with keeping_text(text, resend, body=body, body_file=body_file) as typed, runtime(ctx) as rt:
        outbox.edit(rt.store(), message_id, text, rt.agent, accounts=rt.account_infos())
        typed.stored()
        _report_delivery(ctx, json_out, rt, _deliver_now(rt, message_id))


@outbox_app.command("readdress")
@handled
def outbox_readdress(
    ctx: typer.Context,
    message_id: OutgoingArg,
    to: Annotated[str, typer.Option("--to", help="The address or number to send it to.")],
    json_out: JsonOpt = False,
) -> None:
    """Send a queued, failed or unconfirmed message to another address of its
    customer (a new one is added to them) and send it (exits 1 if delivery
    failed, 4 if unconfirmed)."""
    from omnitui.services import outbox

    with runtime(ctx) as rt:
        outbox.readdress(
            rt.store(),
            message_id,
            to,
            rt.agent,
            default_region=rt.default_region,
            accounts=rt.account_infos(),
        )
        _report_delivery(ctx, json_out, rt, _deliver_now(rt, message_id))


@handled
def sync(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
    watch: Annotated[
        bool, typer.Option("--watch", help="Keep polling until SIGINT/SIGTERM (the default).")
    ] = False,
    account: AccountOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Poll accounts and deliver queued messages (--once, or until interrupted);
    --account: only that one."""
    from omnitui.services import sync as engine

    if once and watch:
        raise UserError("--once and --watch exclude each other", 2)
    with runtime(ctx) as rt:
        known = [a.name for a in rt.accounts]
        if not known:
            raise UserError(
                "no accounts configured: run `omnitui init` and edit the config", kind="config"
            )
        if account is not None and account not in known:
            raise UserError(f"there is no account named {account!r} (known: {', '.join(known)})", 2)
        names = [account] if account else known
        settings = [rt.account(n) for n in names]
        providers = [(rt.provider(a.name), float(a.poll_interval)) for a in settings]
        store = rt.store()
        if once:
            reports = engine.sync_round(
                store, [p for p, _interval in providers], default_region=rt.default_region
            )
            _print_reports(ctx, json_out, reports)
            if any(not r.ok for r in reports):
                raise typer.Exit(1)
            return
        _daemon_logging()
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        output.say(
            f"Syncing {', '.join(names)} until interrupted (Ctrl-C finishes the current batch)."
        )
        try:
            engine.watch(store, providers, stop=stop, default_region=rt.default_region)
        except engine.WatchFailed as exc:
            # never a quiet exit: a service manager restarts a failed poller
            output.error(f"sync stopped: {exc}")
            raise typer.Exit(EX_SOFTWARE) from None


#: Libraries that log every request at INFO (the Twilio SDK writes about ten
#: lines per request, headers included): the daemon's log keeps one line per poll.
CHATTY_LOGGERS = ("twilio", "urllib3", "requests", "imapclient", "httpx", "httpcore", "alembic")


def _daemon_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _print_reports(ctx: typer.Context, json_out: bool, reports: list[SyncReport]) -> None:
    if want_json(ctx, json_out):
        output.print_json([SyncRound.of(r) for r in reports])
        return
    output.print_table(
        "Sync",
        ["account", "stored", "duplicates", "new customers", "sent", "failed sends", "error"],
        [
            (r.account, r.stored, r.duplicates, r.new_customers, r.sent, r.send_failed, r.error)
            for r in reports
        ],
    )
    for r in reports:
        if r.held_by:
            output.say(f"{r.account}: polled by another process ({r.held_by}); nothing done here")
        if not r.ok:
            output.error(r.error or "")
