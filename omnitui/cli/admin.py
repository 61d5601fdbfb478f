"""Set-up commands: init, doctor, db upgrade."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from omnitui.cli import output
from omnitui.cli.common import JsonOpt, globals_of, handled, runtime, want_json
from omnitui.cli.documents import AccountCheck, DatabaseCheck, DoctorReport, Upgrade, Written

if TYPE_CHECKING:
    from omnitui.runtime import Runtime
    from providers.settings import AccountSettings

db_app = typer.Typer(help="The store's schema.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("doctor")(doctor)
    app.add_typer(db_app, name="db")


@handled
def init(
    ctx: typer.Context,
    path: Annotated[
        Path | None, typer.Option("--path", help="Where to write (default: the config dir).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Write a commented config to start from."""
    from omnitui.config import default_config_path, write_example_config

    dest = path or globals_of(ctx).config or default_config_path()
    written = write_example_config(dest, force=force)
    if want_json(ctx, json_out):
        output.print_json(Written(str(written)))
    else:
        output.say(f"Wrote {written}. Edit its [[accounts]], then run `omnitui doctor`.")


def _check_account(rt: Runtime, account: AccountSettings) -> AccountCheck:
    from omnitui.config import ConfigError, redacted, resolve_secrets
    from providers.base import ProviderError

    info = AccountCheck(name=account.name, kind=account.kind)
    try:
        secrets = resolve_secrets(account)
        info.secrets = {key: redacted(value) for key, value in secrets.items()}
        provider = rt.provider(account.name)
        info.check = provider.check()
    except (ConfigError, ProviderError) as exc:
        info.ok, info.error = False, str(exc)
    return info


@handled
def doctor(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Check the config, secrets, store and each account's connection (secrets redacted).

    Exits 1 when a check fails, 2 when the database URL itself is wrong.
    """
    from omnitui.config import ConfigError
    from storage.db import StoreError, current_revision, head_revision, redact_url
    from storage.queries import account_health

    with runtime(ctx) as rt:
        bad_url = False
        report = DoctorReport(
            config=str(rt.config.path) if rt.config.path else None,
            agent=rt.agent,
            database=DatabaseCheck(url=redact_url(rt.db_url)),
        )
        try:
            store = rt.store()
            report.database.revision = current_revision(store.engine)
            report.database.head = head_revision()
            report.database.engine = store.dialect
            with store.read() as session:
                health = {
                    h.account: h for h in account_health(session, [a.name for a in rt.accounts])
                }
        except (StoreError, ConfigError) as exc:
            report.database.ok, report.database.error = False, str(exc)
            bad_url = isinstance(exc, ConfigError)
            health = {}
        for account in rt.accounts:
            info = _check_account(rt, account)
            h = health.get(account.name)
            if h is not None:
                info.last_success_at, info.last_error = h.last_success_at, h.last_error
                info.outbox = dict(h.outbox)
            report.accounts.append(info)
    report.ok = report.database.ok and all(a.ok for a in report.accounts)
    if want_json(ctx, json_out):
        output.print_json(report)
    else:
        _print_doctor(report)
    if not report.ok:
        raise typer.Exit(2 if bad_url else 1)


def _print_doctor(report: DoctorReport) -> None:
    db = report.database
    output.say(f"config:   {report.config or 'none (defaults; run `omnitui init`)'}")
    output.say(f"agent:    {report.agent}")
    state = "ok" if db.ok else f"FAILED: {db.error}"
    output.say(f"database: {db.url} ({db.engine or '?'}, schema {db.revision}) {state}")
    if not report.accounts:
        output.say("accounts: none configured")
    for acc in report.accounts:
        status = "ok" if acc.ok else f"FAILED: {acc.error}"
        secrets = ", ".join(f"{k}={v}" for k, v in acc.secrets.items()) or "none"
        output.say(f"account {acc.name} ({acc.kind}): {status}; secrets: {secrets}")
        if acc.check:
            output.say(f"  check: {acc.check}")
        if acc.last_error:
            output.say(f"  last poll error: {acc.last_error}")


@db_app.command("upgrade")
@handled
def db_upgrade(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Bring the store's schema to the newest version (new stores are upgraded automatically)."""
    from omnitui.config import ConfigError
    from storage.db import StoreURLError, make_engine, redact_url, upgrade

    with runtime(ctx) as rt:
        try:
            engine = make_engine(rt.db_url)
        except StoreURLError as exc:
            raise ConfigError(f"{rt.db_source}: {exc}") from None
        try:
            before, after = upgrade(engine)
        finally:
            engine.dispose()
    if want_json(ctx, json_out):
        output.print_json(Upgrade(redact_url(rt.db_url), before, after))
    elif before == after:
        output.say(f"{redact_url(rt.db_url)} is up to date ({after}).")
    else:
        output.say(f"{redact_url(rt.db_url)} upgraded from {before or 'empty'} to {after}.")
