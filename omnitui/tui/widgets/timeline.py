"""A customer's timeline: messages on every channel and internal notes, in
time order, with a header wherever the thread changes.

Built on ``OptionList``, which draws only the lines in view, and fed a page
of entries at a time (the newest first; older ones load when the agent
reaches the top), so a customer with thousands of messages costs no more
than one with a hundred.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from omnitui.tui.bindings import LIST_BINDINGS, TIMELINE_BINDINGS, key_of
from omnitui.tui.clock import Clock
from omnitui.tui.format import entry_text, thread_header
from storage.queries import ConversationRow, TimelineEntry

OLDER_ID = "older"


def entry_id(entry: TimelineEntry) -> str:
    return f"{entry.kind[0]}{entry.id}"


class Timeline(OptionList):
    """The entries of one customer; the highlighted one is what actions act on."""

    BINDINGS: ClassVar[list[BindingType]] = [*LIST_BINDINGS, *TIMELINE_BINDINGS]

    class NeedOlder(Message):
        """The agent reached the oldest loaded entry and more exist."""

    def __init__(
        self, clock: Clock, *, keymap: Mapping[str, str] | None = None, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.clock = clock
        #: the ``[keymap]`` in force: the "older entries" line names its keys
        self.keymap: Mapping[str, str] = keymap or {}
        self.entries: list[TimelineEntry] = []
        self.by_id: dict[str, TimelineEntry] = {}
        self.conversations: Mapping[int, ConversationRow] = {}
        self.customer_name = ""
        self.has_older = False
        self.expanded: set[str] = set()
        #: the words of the search that opened this customer, highlighted
        self.found: re.Pattern[str] | None = None

    def show(
        self,
        entries: Sequence[TimelineEntry],
        conversations: Mapping[int, ConversationRow],
        customer_name: str,
        *,
        has_older: bool,
        keep: str | None = None,
    ) -> None:
        """Show ``entries`` (oldest first), keeping entry ``keep`` highlighted if given."""
        keep = keep if keep is not None else self.current_id
        self.entries = list(entries)
        self.by_id = {entry_id(e): e for e in self.entries}
        self.conversations = conversations
        self.customer_name = customer_name
        self.has_older = has_older
        self.set_options(self._build_options())
        if keep is not None and keep in self.by_id:
            self.highlighted = self.get_option_index(keep)
        elif self.entries:
            self.highlighted = self.option_count - 1

    def _build_options(self) -> list[Option]:
        options: list[Option] = []
        if self.has_older:
            first, up = key_of("list.first", self.keymap), key_of("list.up", self.keymap)
            older = Text(f"  older entries load here ({first}, {up} or click)", style="dim")
            options.append(Option(older, OLDER_ID))
        thread: int | None = None
        for n, entry in enumerate(self.entries):
            if entry.kind == "message" and entry.conversation_id != thread:
                thread = entry.conversation_id
                conv = self.conversations.get(thread or 0)
                header = thread_header(conv, entry.channel, 0)
                options.append(Option(header, f"h{n}", disabled=True))
            key = entry_id(entry)
            prompt = entry_text(
                entry,
                self.customer_name,
                self.clock,
                expanded=key in self.expanded,
                found=self.found,
                keys=self.keymap,
            )
            options.append(Option(prompt, key))
        return options

    @property
    def current_id(self) -> str | None:
        option = self.highlighted_option
        return option.id if option is not None and option.id in self.by_id else None

    @property
    def current(self) -> TimelineEntry | None:
        key = self.current_id
        return self.by_id.get(key) if key else None

    def highlight_conversation(self, conversation_id: int) -> None:
        """Highlight the newest entry of ``conversation_id`` (the last entry if none)."""
        for entry in reversed(self.entries):
            if entry.kind == "message" and entry.conversation_id == conversation_id:
                self.highlighted = self.get_option_index(entry_id(entry))
                return

    def highlight_entry(self, key: str) -> bool:
        """Highlight entry ``key`` (see :func:`entry_id`) and scroll it into view."""
        if key not in self.by_id:
            return False
        self.highlighted = self.get_option_index(key)
        return True

    # j/k and the arrows stop at the ends: the list is a history, not a ring
    # (from the newest entry, "down" jumping to the oldest lost the agent)

    def action_cursor_down(self) -> None:
        self._step(1)

    def action_cursor_up(self) -> None:
        self._step(-1)

    def _step(self, direction: int) -> None:
        if self.highlighted is None:
            if direction > 0:
                super().action_cursor_down()
            else:
                super().action_cursor_up()
            return
        index = self.highlighted + direction
        while 0 <= index < self.option_count:
            if not self.get_option_at_index(index).disabled:
                self.highlighted = index
                return
            index += direction

    def action_unfold(self) -> None:
        """Unfold a long or quoted message, or fold it back."""
        entry = self.current
        if entry is None:
            return
        key = entry_id(entry)
        self.expanded ^= {key}
        prompt = entry_text(
            entry,
            self.customer_name,
            self.clock,
            expanded=key in self.expanded,
            found=self.found,
            keys=self.keymap,
        )
        try:
            self.replace_option_prompt(key, prompt)
        except OptionDoesNotExist:
            return

    def on_resize(self) -> None:
        # the composer opening below (or a smaller window) takes lines from the
        # timeline: keep the entry being answered in view, above the composer
        self.call_after_refresh(self.scroll_to_highlight)

    def watch_highlighted(self, highlighted: int | None) -> None:
        super().watch_highlighted(highlighted)
        if self.at_oldest:
            self.post_message(self.NeedOlder())

    @property
    def at_oldest(self) -> bool:
        """Whether the "older entries" line is highlighted (reached with k, home or a click)."""
        option = self.highlighted_option
        return self.has_older and option is not None and option.id == OLDER_ID
