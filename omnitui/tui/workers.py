"""How the console does background work, and the one place that says what a
failure means to the agent.

No store read or write runs on the UI thread: with PostgreSQL across hosts
that is network I/O, and a locked SQLite file waits out its busy timeout.
Every read and write is one idiom (Harlequin's)::

    @work(thread=True, exclusive=True, exit_on_error=False, group="inbox")
    def _read(self, ticket: int, view: str, limit: int) -> None:
        with self.desk.store.read() as session:
            rows = queries.list_conversations(...)
        self.post_message(InboxRead(ticket, view, limit, rows))

a method that only does the I/O and ends in ``post_message`` of a dataclass
message (:mod:`omnitui.tui.messages`); the message's handler, on the UI
thread, shows the result. ``exclusive``: a newer read supersedes an older one
of its group. A superseded thread still runs to its end, so each result says
what it answers (a ticket, the view, the query) and its handler drops an
answer to a question no longer asked.

A worker that raises ends in :meth:`WorkerFailures.on_worker_state_changed`
(Textual sends ``Worker.StateChanged`` to the node that started the worker
only, so the app and each screen with workers mix it in): a store that
cannot serve shows on the health line (and, for a change the agent asked
for, "Not saved"); a conflict or a refused outbox decision is told and the
view read again; a refused service call is told; anything else is a
"Background work failed" notice, never a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from textual.worker import Worker, WorkerState

from omnitui.services import ConflictError, ServiceError
from omnitui.services.attachments import AttachmentError
from omnitui.services.outbox import OutboxError
from omnitui.tui.format import plain
from omnitui.tui.messages import StoreProblem
from storage.db import StoreUnavailable

#: Groups whose work is a change the agent asked for: when the store cannot
#: take it, nothing was kept and the agent is told so ("Not saved"; what was
#: typed stays in the composer and its draft).
SAVES = frozenset(
    {
        *("assign", "status", "merge", "readmark", "send", "retry", "outbox-act", "files"),
        *("bulk", "tags-save"),  # the inbox's triage (omnitui.tui.screens.triage)
    }
)
#: Groups that write in the background (a delivery): the store's trouble is
#: shown on the health line only, the message waits in the outbox.
BACKGROUND_WRITES = frozenset({"outbox"})
#: Groups the key gate does not wait for (typed-ahead keys are held while the
#: screen in view reads): a report takes seconds on a big store, an opener
#: as long as the desktop takes; neither changes what a key acts on.
UNGATED = frozenset({"report", "open-file", "poll", "view-counts"})


def screen_work(workers: Iterable[Worker[Any]], app: object) -> list[Worker[Any]]:
    """The unfinished workers of the screens (not the app's own: its check of
    the store and its deliveries) that keys typed ahead wait for, so a key
    acts on what the screen has just read (the customer opened, the picker's
    choices for what was typed, the composer's channels)."""
    return [
        w for w in workers if w.node is not app and not w.is_finished and w.group not in UNGATED
    ]


def tell_failure(worker: Worker[Any], reread: Callable[[], None]) -> None:
    """Show the agent what ``worker``'s error means (see the module)."""
    error = worker.error
    app = worker.node.app
    text = plain(str(error))
    if isinstance(error, StoreUnavailable):
        writes = worker.group in SAVES or worker.group in BACKGROUND_WRITES
        app.post_message(StoreProblem("write" if writes else "read", str(error)))
        if worker.group in SAVES:
            app.notify(text, title="Not saved", severity="error", timeout=10, markup=False)
    elif isinstance(error, ConflictError):
        app.notify(
            text, title="Changed by someone else", severity="error", timeout=10, markup=False
        )
        reread()
    elif isinstance(error, OutboxError):
        app.notify(text, title="Not done", severity="error", timeout=10, markup=False)
        reread()
    elif isinstance(error, ServiceError | AttachmentError):
        app.notify(text, title="Not done", severity="error", timeout=8, markup=False)
    else:
        app.notify(
            f"{worker.group}: {text}",
            title="Background work failed",
            severity="error",
            timeout=10,
            markup=False,
        )


class WorkerFailures:
    """The console's one ``Worker.StateChanged`` handler, mixed into the app
    and every screen that runs workers."""

    def reread(self) -> None:
        """Read what is shown again (after a conflict); screens that show stored
        data say how."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            tell_failure(event.worker, self.reread)
