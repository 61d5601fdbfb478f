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

Heavy modules (the store, the console, provider SDKs) are imported inside
the commands that need them, so ``omnitui --help`` starts fast.
"""

from __future__ import annotations

from omnitui.cli.root import app, main

__all__ = ["app", "main"]
