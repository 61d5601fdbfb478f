"""A send that cannot be stale, in the console (the rule is
:mod:`omnitui.services.staleness`).

When the composer opens on a conversation the agent looks at the timeline:
the draft remembers the newest entry shown (:meth:`StaleGuard.look_at_timeline`).
It keeps that mark while the text is written, also while the timeline
updates live underneath. A reply is queued only after a worker has asked
the store what the customer's timeline gained since: when something is
newer (a customer's message, a reply by anyone, a note), the send is held
and the new entries are shown, who and when, with the start of each; the
agent sends anyway (a second confirm) or goes back to edit, the draft kept
and its mark moved to the newest entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.message import Message

from omnitui.services import staleness
from omnitui.services.entries import EntryId
from omnitui.services.staleness import Entry
from omnitui.tui.clock import Clock
from omnitui.tui.format import plain
from omnitui.tui.screens.pick import Choice, PickScreen

if TYPE_CHECKING:
    from omnitui.tui.desk import Desk
    from omnitui.tui.widgets.composer import Composer
    from storage.queries import TimelineEntry

#: entries listed at most in the question (the count says how many more)
SHOWN = 6


@dataclass
class StaleChecked(Message):
    """What the timeline gained since the draft's mark (empty: send it)."""

    conversation_id: int
    newer: list[Entry]
    send: Callable[[], object]


def describe(entry: Entry, clock: Clock) -> str:
    """One line for people: when, who did what, the start of it."""
    when = f"{clock.local(entry.at):%b %d %H:%M}"
    who = plain(entry.who)[:24]
    if entry.kind == "note":
        did = f"{who} added a note"
    elif entry.direction == "in":
        did = f"{who} wrote"
    else:
        did = f"{who} replied" + (f" ({entry.status})" if entry.status else "")
    return f"{when}  {did}: {plain(entry.preview)[:60]}"


def question(newer: Sequence[Entry], clock: Clock) -> str:
    """The held send's question: what is newer, newest last."""
    count = len(newer)
    lines = [
        f"Not sent yet: {count} new {'entry' if count == 1 else 'entries'} on this "
        "customer's timeline since you started writing."
    ]
    lines += [f"  {describe(e, clock)}" for e in newer[-SHOWN:]]
    if count > SHOWN:
        lines.insert(1, f"  … and {count - SHOWN} earlier")
    return "\n".join(lines)


class StaleGuard:
    """Mixed into the customer screen (which gives ``desk``, ``entries`` and
    ``composer``): looks at the timeline for the draft's mark, and holds a
    reply while it would be stale."""

    desk: Desk
    entries: list[TimelineEntry]

    if TYPE_CHECKING:

        @property
        def composer(self) -> Composer: ...

        @property
        def is_mounted(self) -> bool: ...

        def post_message(self, message: Message) -> bool: ...

    def look_at_timeline(self, conversation_id: int) -> None:
        """The agent looks at the timeline: the draft of ``conversation_id``
        remembers the newest entry shown (no I/O: what the screen holds)."""
        mark = staleness.seen_mark((e.kind, e.id, e.at) for e in self.entries)
        self.desk.drafts.look(conversation_id, str(mark) if mark is not None else None)

    def guard_reply(self, conversation_id: int, send: Callable[[], object]) -> None:
        """Call ``send`` (which queues the reply) once the timeline has nothing
        newer than the draft's mark, or the agent says to send anyway."""
        seen = EntryId.maybe(self.desk.drafts.seen(conversation_id))
        self._check_stale(conversation_id, seen, send)

    @work(thread=True, exclusive=True, exit_on_error=False, group="send")
    def _check_stale(
        self, conversation_id: int, seen: EntryId | None, send: Callable[[], object]
    ) -> None:
        newer = staleness.newer_entries(self.desk.store, conversation_id, seen)
        self.post_message(StaleChecked(conversation_id, newer, send))

    def on_stale_checked(self, message: StaleChecked) -> None:
        if not self.is_mounted:
            return  # the agent left meanwhile: nothing is sent, the draft is kept
        if not message.newer:
            message.send()
            return
        newest = message.newer[-1].entry_id
        sent = False

        def decided(anyway: bool | None) -> None:
            nonlocal sent
            if anyway and not sent:
                sent = True
                message.send()
                return
            # back to the draft: it now counts the new entries as seen
            self.desk.drafts.look(message.conversation_id, str(newest))
            self.composer.body.focus()
            self.composer.notify(
                "Not sent. The draft is kept: read what is new, then send again.",
                markup=False,
            )

        self.composer.app.push_screen(
            PickScreen(
                question(message.newer, self.desk.clock),
                [
                    Choice(False, Text("go back and edit (the draft is kept)")),
                    Choice(True, Text("send anyway")),
                ],
                hint="choose",
                cancel="edit",
            ),
            decided,
        )
