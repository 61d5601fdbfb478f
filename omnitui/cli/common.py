"""What every command module shares: global options, error handling, the
runtime, and keeping typed text safe until the store has it."""

from __future__ import annotations

import functools
import os
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
import typer._click as click  # the click typer runs on (it vendors its own)
from typer.core import TyperGroup

from omnitui.cli import output
from providers.base import CHANNELS

if TYPE_CHECKING:
    from omnitui.runtime import Runtime

F = TypeVar("F", bound=Callable[..., Any])

#: sysexits' EX_TEMPFAIL: the store cannot serve right now, try again later.
EX_TEMPFAIL = 75


def check_channel(value: str | None) -> str | None:
    """``--channel``'s value, one of the provider contract's :data:`CHANNELS`,
    or a usage error (exit 2) naming them."""
    if value is not None and value not in CHANNELS:
        raise typer.BadParameter(f"unknown channel {value!r}: use one of {', '.join(CHANNELS)}")
    return value


# The options several commands take, declared once (a command names its own
# help only where the option means something else there, as `--to` does).
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
BodyOpt = Annotated[
    str | None, typer.Option("--body", help="The text (else --body-file, else stdin).")
]
BodyFileOpt = Annotated[Path | None, typer.Option("--body-file", help="Read the text from a file.")]
_CHANNEL_HELP = f"A channel: {', '.join(CHANNELS[:-1])} or {CHANNELS[-1]}."
ChannelOpt = Annotated[str, typer.Option("--channel", callback=check_channel, help=_CHANNEL_HELP)]
MaybeChannelOpt = Annotated[
    str | None, typer.Option("--channel", callback=check_channel, help=_CHANNEL_HELP)
]
AccountOpt = Annotated[
    str | None, typer.Option("--account", help="An account, by its name in the config.")
]
SubjectOpt = Annotated[str | None, typer.Option("--subject", help="Subject (e-mail).")]
AttachOpt = Annotated[
    list[Path] | None,
    typer.Option("--attach", metavar="FILE", help="Send this file with it (repeatable)."),
]
NoSignatureOpt = Annotated[
    bool, typer.Option("--no-signature", help="Leave the account's signature off.")
]
CustomerOpt = Annotated[int | None, typer.Option("--customer", help="Customer id.")]
LimitOpt = Annotated[
    int, typer.Option("--limit", min=1, max=10_000, help="At most this many rows.")
]
ConversationArg = Annotated[int, typer.Argument(help="Conversation id.")]
OutgoingArg = Annotated[int, typer.Argument(help="Outgoing message id.")]


@dataclass
class Globals:
    config: Path | None
    db: str | None
    json: bool


#: The exit code of each kind of error, the same in every command. ``kind`` is
#: also the ``"kind"`` of the JSON error object printed with ``--json``.
EXIT_CODES: dict[str, int] = {
    "usage": 2,  # a wrong option, argument or value: fix the command line
    "config": 2,  # the config, or the store it points at, cannot be used as it is
    "not_found": 1,  # an id that names nothing
    "conflict": 1,  # the records are there but their state refuses the request
    "stale": 3,  # reply --if-latest: the timeline has newer entries (nothing queued)
    "store_unavailable": EX_TEMPFAIL,  # try again later
    "internal": 70,  # sysexits' EX_SOFTWARE: a bug; report it
}


class UserError(Exception):
    """A failure to report to the person running the command. ``kind`` is a
    key of :data:`EXIT_CODES` (by default ``usage`` for code 2, else
    ``conflict``); the exit code follows from it."""

    def __init__(self, message: str, code: int = 1, *, kind: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind or ("usage" if code == 2 else "conflict")
        self.code = EXIT_CODES[self.kind]


def not_found(message: str) -> UserError:
    """The error for an id that names nothing (exit 1)."""
    return UserError(message, kind="not_found")


def _known_errors() -> tuple[tuple[type[BaseException], str], ...]:
    from omnitui.config import ConfigError
    from omnitui.services import InvalidRequest, NotFound, ServiceError
    from omnitui.services.outbox import OutboxError, OutboxNotFound
    from omnitui.services.team import UnknownAgent
    from storage.db import StoreError, StoreUnavailable

    return (  # a subclass before its base class
        (ConfigError, "config"),
        (InvalidRequest, "usage"),
        (UnknownAgent, "usage"),
        (NotFound, "not_found"),
        (ServiceError, "conflict"),
        (OutboxNotFound, "not_found"),
        (OutboxError, "conflict"),
        (StoreUnavailable, "store_unavailable"),
        # a store that is there but cannot be used as it is: not a database,
        # a schema from a newer omnitui, a server that refuses the login
        (StoreError, "config"),
    )


def with_notes(exc: BaseException) -> str:
    """``exc``'s message and its notes (e.g. where typed text was saved), one line."""
    return "; ".join([str(exc), *getattr(exc, "__notes__", ())])


def _classify(exc: BaseException) -> tuple[str, str] | None:
    """The kind of ``exc`` (a key of :data:`EXIT_CODES`) and its message, or
    ``None`` for an error nobody expected."""
    from storage.db import store_unavailable

    if isinstance(exc, UserError):
        return exc.kind, with_notes(exc)
    for cls, kind in _known_errors():
        if isinstance(exc, cls):
            return kind, with_notes(exc)
    # a driver error that escaped the store's own translation
    if (unavailable := store_unavailable(exc)) is not None:
        return "store_unavailable", "; ".join([str(unavailable), *getattr(exc, "__notes__", ())])
    return None


def _json_wanted(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    if kwargs.get("json_out") is True:
        return True
    ctx = next((a for a in (*args, *kwargs.values()) if isinstance(a, click.Context)), None)
    obj = ctx.find_root().obj if ctx is not None else None
    return isinstance(obj, Globals) and obj.json


def handled(func: F) -> F:
    """Turn the errors we expect into one line on stderr and the exit code of
    their kind (:data:`EXIT_CODES`: 75, "try again", when the store cannot
    serve right now); with ``--json`` also a JSON error object on stdout, for
    an unexpected error too (then re-raised for ``main``)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except Exception as exc:
            found = _classify(exc)
            as_json = _json_wanted(args, kwargs)
            if found is None:  # main() says it on stderr and exits 70
                if as_json:
                    text = f"internal error: {type(exc).__name__}: {exc}"[:300]
                    output.print_error_json(text, code=EXIT_CODES["internal"], kind="internal")
                raise
            kind, message = found
            output.fail(message, code=EXIT_CODES[kind], kind=kind, as_json=as_json)
            for line in getattr(exc, "after", ()):  # e.g. a query, a caret under its bad part
                sys.stderr.write(line)
            raise typer.Exit(EXIT_CODES[kind]) from None

    return wrapper  # type: ignore[return-value]


def read_body(body: str | None, body_file: Path | None) -> str:
    """The text of a message or note: ``--body``, ``--body-file`` or stdin."""
    if body is not None and body_file is not None:
        raise UserError("give the text once: --body or --body-file, not both", 2)
    if body is not None:
        return body
    if body_file is not None:
        try:
            return body_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read {body_file}: {exc}", 2) from None
    if sys.stdin is None or sys.stdin.isatty():
        raise UserError("no message text: use --body TEXT, --body-file FILE or pipe it on stdin", 2)
    try:
        return sys.stdin.read()
    except UnicodeDecodeError as exc:
        raise UserError(f"the text on stdin is not UTF-8: {exc}", 2) from None


def _unsent_dir() -> Path:
    from omnitui.config import default_data_dir

    return (default_data_dir() / "unsent").resolve()


class TypedText:
    """Text piped to a command, saved to a file before the store is asked to
    take it, so that a failing store (locked, read-only, full, down) loses
    nothing: once read, stdin cannot be read again. (Text given with --body is
    still on the command line, and a --body-file stays where it is.)
    :meth:`stored` removes the saved file once the store has the text."""

    def __init__(
        self, text: str, resend: Sequence[str], body_file: Path | None, *, piped: bool
    ) -> None:
        self.text = text
        self.resend = list(resend)
        self.piped = piped
        self.path: Path | None = body_file
        # a file we saved earlier, which this command resends: ours to remove
        self.own_file = body_file is not None and body_file.resolve().parent == _unsent_dir()
        self.save_error: str | None = None
        self.is_stored = False

    def save(self) -> None:
        if not self.piped or not self.text.strip():
            return  # nothing that could be lost
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        prefix = f"{stamp}-{self.resend[0]}-"
        unsent = _unsent_dir()
        for where in (unsent, Path(tempfile.gettempdir())):
            try:
                if where == unsent:
                    where.mkdir(mode=0o700, parents=True, exist_ok=True)
                fd, name = tempfile.mkstemp(
                    prefix=prefix if where == unsent else f"omnitui-unsent-{prefix}",
                    suffix=".txt",
                    dir=where,
                )
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(self.text)
                    fh.flush()
                    os.fsync(fh.fileno())
            except OSError as exc:
                self.save_error = f"{type(exc).__name__}: {exc.strerror or exc}"
                continue
            self.path, self.own_file = Path(name), True
            return

    def stored(self) -> None:
        """The store has the text: the saved copy is not needed any more."""
        self.is_stored = True
        if self.own_file and self.path is not None:
            self.path.unlink(missing_ok=True)

    def note(self) -> str | None:
        """Where the text is and how to send it again, for the error message."""
        if self.path is None or not self.own_file:
            return None
        command = shlex.join(["omnitui", *self.resend, "--body-file", str(self.path)])
        return f"your text is saved in {self.path}; resend with: {command}"


@contextmanager
def keeping_text(
    text: str, resend: Sequence[str], *, body: str | None, body_file: Path | None
) -> Iterator[TypedText]:
    """Save piped ``text`` first; if the block fails before :meth:`TypedText.stored`,
    the error carries a note naming the file and the command that resends it.

    ``resend`` is the command without the text, e.g. ``["reply", "12"]``;
    ``body`` and ``body_file`` are the options the text came from (or not).
    """
    typed = TypedText(text, resend, body_file, piped=body is None and body_file is None)
    typed.save()
    try:
        yield typed
    except (Exception, KeyboardInterrupt) as exc:
        if not typed.is_stored:
            note = typed.note()
            if note is not None and isinstance(exc, KeyboardInterrupt):
                # click turns Ctrl-C into its own "Aborted!": say it here
                sys.stderr.write(f"omnitui: {note}\n")
            elif note is not None:
                exc.add_note(note)
            elif typed.piped and text.strip():
                # no file could be written (e.g. a full disk): the terminal is
                # the last place the text can go
                exc.add_note(f"your text could not be saved ({typed.save_error}); it is above")
                sys.stderr.write("omnitui: your text, which the store did not take:\n")
                sys.stderr.write(text if text.endswith("\n") else text + "\n")
        raise


_ARGV = "omnitui.argv"


class CommandGroup(TyperGroup):
    """The root command. Click finds usage errors (an unknown option, a value
    of the wrong type, a missing argument) before any command runs; they are
    reported as every other error is: one line on stderr, exit 2, and with
    ``--json`` anywhere on the command line a JSON error object on stdout.
    A group given no command shows its help, as click does (without --json)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        argv = list(args)
        try:
            ctx = super().make_context(info_name, list(args), parent, **extra)
        except click.exceptions.UsageError as exc:
            raise _usage_failed(exc, argv) from None
        ctx.meta[_ARGV] = argv
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.UsageError as exc:
            raise _usage_failed(exc, ctx.meta.get(_ARGV, [])) from None


def _usage_failed(exc: click.exceptions.UsageError, argv: list[str]) -> Exception:
    """``exc`` reported (see :class:`CommandGroup`), as the exception to raise."""
    options = argv[: argv.index("--")] if "--" in argv else argv
    as_json = "--json" in options
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        if not as_json:
            return exc  # click prints the group's help
        message = "Missing command"
    else:
        message = exc.format_message().rstrip(".")
    if exc.ctx is not None:
        message = f"{message}; see `{exc.ctx.command_path} --help`"
    code = EXIT_CODES["usage"]
    output.fail(message, code=code, kind="usage", as_json=as_json)
    return typer.Exit(code)


def globals_of(ctx: typer.Context) -> Globals:
    root = ctx.find_root()
    obj = root.obj
    assert isinstance(obj, Globals)
    return obj


def want_json(ctx: typer.Context, local: bool) -> bool:
    return local or globals_of(ctx).json


@contextmanager
def runtime(ctx: typer.Context, *, demo: bool = False) -> Iterator[Runtime]:
    """The process's Runtime, closed when the command ends."""
    from omnitui.cli.startup import resume_collector
    from omnitui.runtime import make_runtime

    resume_collector()  # the imports are done: the work may make garbage
    g = globals_of(ctx)
    rt = make_runtime(g.config, g.db, demo=demo)
    try:
        yield rt
    finally:
        rt.close()
