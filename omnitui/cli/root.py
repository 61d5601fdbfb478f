"""The ``omnitui`` command: thin on purpose.

Each command parses its options, calls a service and prints the result, as
one JSON document with ``--json`` or as tables otherwise. Errors go to stderr
as one line with the exit code of their kind (``omnitui.cli.common.EXIT_CODES``: 2 for
usage or config, 1 for not found or a conflict), and with ``--json`` also as a
JSON error object on stdout; never as a traceback (set ``OMNITUI_DEBUG=1`` to
see one). Heavy modules (the store, the TUI, provider SDKs) are imported
inside the commands that need them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from omnitui.cli import admin, messages, output, recipients, records, team
from omnitui.cli.common import EX_TEMPFAIL, CommandGroup, Globals, globals_of, handled, runtime
from omnitui.cli.startup import pause_collector, resume_collector

app = typer.Typer(
    name="omnitui",
    cls=CommandGroup,  # usage errors as one line, and as JSON with --json
    help="Answer customers on every channel from one terminal.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", envvar="OMNITUI_CONFIG", help="Config file (TOML).", show_default=False
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="OMNITUI_DB",
            help="Database URL (sqlite:///… or postgresql+psycopg://…).",
            show_default=False,
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="JSON output for every command.")
    ] = False,
) -> None:
    """Without a command: open the console (the demo when no config exists)."""
    ctx.obj = Globals(config=config, db=db, json=json_out)
    if ctx.invoked_subcommand is None:
        _launch(ctx)


@handled
def _launch(ctx: typer.Context) -> None:
    from omnitui.config import find_config

    g = globals_of(ctx)
    if find_config(g.config) is None and g.db is None:
        output.say(
            "No config found: opening the demo (run `omnitui init` to set up your accounts)."
        )
        _run_tui(ctx, demo=True)
    else:
        _run_tui(ctx, demo=False)


def _run_tui(ctx: typer.Context, *, demo: bool) -> None:
    with runtime(ctx, demo=demo) as rt:
        if demo:
            from omnitui.demo import seed_demo

            seed_demo(rt)
        else:
            rt.store()  # open (and upgrade) before the screen takes over, so errors print plainly
        from omnitui.tui.app import make_app
        from omnitui.tui.crash import CRASH_EXIT_CODE

        console = make_app(rt)
        console.run()
    if console.return_code:  # an unexpected error stopped the console (drafts are kept)
        where = f": the details are in {console.crash_log}" if console.crash_log else ""
        output.error(f"the console stopped after an unexpected error{where}")
        raise typer.Exit(CRASH_EXIT_CODE)


@app.command()
@handled
def demo(ctx: typer.Context) -> None:
    """Open the console on a demo store with simulated traffic (nothing is sent anywhere)."""
    _run_tui(ctx, demo=True)


for _module in (admin, messages, records, team, recipients):
    _module.register(app)


def main() -> None:
    """Console-script entry point."""
    pause_collector()  # no-op if omnitui.cli.main already did (omnitui.cli.startup)
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("omnitui: interrupted\n")
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("OMNITUI_DEBUG"):
            raise
        from storage.db import store_unavailable

        if (unavailable := store_unavailable(exc)) is not None:
            sys.stderr.write(f"omnitui: error: {unavailable}{_notes(exc)}\n")
            sys.exit(EX_TEMPFAIL)
        from omnitui.text import clean_text

        # one line: a driver's text can span many (SQL, parameters, links)
        what = clean_text(str(exc), single_line=True)[:300]
        sys.stderr.write(
            f"omnitui: internal error: {type(exc).__name__}: {what}{_notes(exc)}; "
            "run again with OMNITUI_DEBUG=1 for details and report it\n"
        )
        sys.exit(70)
    finally:
        resume_collector()  # a command that opened no runtime (--help, init)


def _notes(exc: BaseException) -> str:
    # the notes say where typed text was saved when the command failed
    return "".join(f"; {note}" for note in getattr(exc, "__notes__", ()))


if __name__ == "__main__":
    main()
