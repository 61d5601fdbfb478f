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
from typing import Annotated, Any, TypeVar

import typer

from omnitui import output

F = TypeVar("F", bound=Callable[..., Any])

#: sysexits' EX_TEMPFAIL: the store cannot serve right now, try again later.
EX_TEMPFAIL = 75

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


@dataclass
class Globals:
    config: Path | None
    db: str | None
    json: bool


class UserError(Exception):
    """A failure to report to the person running the command, with exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _known_errors() -> tuple[tuple[type[BaseException], int], ...]:
    from omnitui.config import ConfigError
    from omnitui.outbox import OutboxError
    from omnitui.services import InvalidRequest, ServiceError
    from storage.db import StoreError, StoreUnavailable

    return (
        (ConfigError, 2),
        (UserError, 1),
        (InvalidRequest, 2),  # a usage error, found by the service (before ServiceError: a kind)
        (ServiceError, 1),
        (OutboxError, 1),
        (StoreUnavailable, EX_TEMPFAIL),  # before its base class StoreError
        (StoreError, 1),
    )


def with_notes(exc: BaseException) -> str:
    """``exc``'s message and its notes (e.g. where typed text was saved), one line."""
    return "; ".join([str(exc), *getattr(exc, "__notes__", ())])


def handled(func: F) -> F:
    """Turn the errors we expect into a message on stderr and an exit code
    (75, "try again", when the store cannot serve right now)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from storage.db import store_unavailable

        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except Exception as exc:
            for kind, code in _known_errors():
                if isinstance(exc, kind):
                    output.error(with_notes(exc))
                    raise typer.Exit(getattr(exc, "code", code)) from None
            # a driver error that escaped the store's own translation
            if (unavailable := store_unavailable(exc)) is not None:
                notes = getattr(exc, "__notes__", ())
                output.error("; ".join([str(unavailable), *notes]))
                raise typer.Exit(EX_TEMPFAIL) from None
            raise

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


def globals_of(ctx: typer.Context) -> Globals:
    root = ctx.find_root()
    obj = root.obj
    assert isinstance(obj, Globals)
    return obj


def want_json(ctx: typer.Context, local: bool) -> bool:
    return local or globals_of(ctx).json


@contextmanager
def runtime(ctx: typer.Context, *, demo: bool = False) -> Iterator[Any]:
    """The process's Runtime, closed when the command ends."""
    from omnitui.runtime import make_runtime

    g = globals_of(ctx)
    rt = make_runtime(g.config, g.db, demo=demo)
    try:
        yield rt
    finally:
        rt.close()
