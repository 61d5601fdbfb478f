"""What every command module shares: global options, error handling, the runtime."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from omnitui import output

F = TypeVar("F", bound=Callable[..., Any])

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
    from storage.db import StoreError

    return (
        (ConfigError, 2),
        (UserError, 1),
        (InvalidRequest, 2),  # a usage error, found by the service (before ServiceError: a kind)
        (ServiceError, 1),
        (OutboxError, 1),
        (StoreError, 1),
    )


def handled(func: F) -> F:
    """Turn the errors we expect into a message on stderr and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except Exception as exc:
            for kind, code in _known_errors():
                if isinstance(exc, kind):
                    output.error(str(exc))
                    raise typer.Exit(getattr(exc, "code", code)) from None
            raise

    return wrapper  # type: ignore[return-value]


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
