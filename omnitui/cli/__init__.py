"""The ``omnitui`` command, face 1: each command parses its options, calls
one service or query, and prints the result (text for people, one JSON
document with ``--json``).

* :mod:`~omnitui.cli.root` - the root command, global options, the entry point.
* :mod:`~omnitui.cli.messages` - send, reply, outbox, sync.
* :mod:`~omnitui.cli.records` - customers, conversations, notes, search,
  attachments, report.
* :mod:`~omnitui.cli.admin` - init, doctor, db.
* :mod:`~omnitui.cli.common` - what every command shares: options, errors and
  their exit codes, the runtime, typed text kept safe.
* :mod:`~omnitui.cli.output` - printing: tables and the one JSON serializer.
* :mod:`~omnitui.cli.startup` - the garbage collector paused while a command starts.

Heavy modules (the store, the console, provider SDKs) are imported inside
the commands that need them, so ``omnitui --help`` starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omnitui.cli.startup import pause_collector

if TYPE_CHECKING:
    from omnitui.cli.root import app


def main() -> None:
    """Console-script entry point (``omnitui``): the collector is paused
    before typer and the commands are imported (:mod:`~omnitui.cli.startup`)."""
    pause_collector()
    from omnitui.cli import root

    root.main()


def __getattr__(name: str) -> Any:
    # ``app`` on first use, so that ``main`` runs before typer is imported
    if name == "app":
        from omnitui.cli.root import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["app", "main"]
