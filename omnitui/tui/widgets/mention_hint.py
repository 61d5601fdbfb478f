"""``@`` completion in the note composer: while the agent types ``@na`` in a
note, the team's names that start so are offered on one line under the text,
and tab puts the first one in (``@nadia ``). Reply mode offers nothing (a
customer never sees an @mention). The names come from the team
(:func:`omnitui.services.team.team`, read by the app in a worker) without the
agent themself; the rules of what a note mentions are
:mod:`omnitui.services.mentions`'.

What tab completes is worked out from the text at the moment tab arrives,
not from what the hint line last showed, so keys typed in a burst complete
what was typed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text
from textual.widgets import Static

from omnitui.services.mentions import completions
from omnitui.tui.format import plain

#: the longest ``@…`` typed so far that is still looked up
PREFIX_MAX = 40


def at_prefix(before: str) -> str | None:
    """What follows the ``@`` being typed at the end of ``before`` (the line up
    to the cursor), or ``None`` when the cursor is not in an ``@name`` (an
    ``@`` inside a word is an e-mail address)."""
    at = before.rfind("@")
    if at == -1 or len(before) - at - 1 > PREFIX_MAX:
        return None
    previous = before[at - 1] if at else " "
    if previous.isalnum() or previous in "_.+-@":
        return None
    return before[at + 1 :]


class MentionHint(Static):
    """The line of names offered for the ``@`` being typed (hidden otherwise)."""

    def __init__(
        self, names: Callable[[], Sequence[str]] | None = None, *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        #: the team's names to offer (read when needed: the app refreshes them)
        self.names: Callable[[], Sequence[str]] = names or (lambda: ())
        self.offered: list[str] = []

    def on_mount(self) -> None:
        self.display = False

    def suggestions(self, before: str) -> tuple[str, list[str]]:
        """The ``@`` prefix typed at the end of ``before`` and the names it may
        become; no names when there is no ``@`` being typed."""
        prefix = at_prefix(before)
        if prefix is None:
            return "", []
        return prefix, completions(prefix, self.names())

    def show_for(self, note: bool, before: str) -> None:
        """Offer names for ``before`` (the line up to the cursor) in a note."""
        self.offered = self.suggestions(before)[1] if note else []
        self.display = bool(self.offered)
        if self.offered:
            text = Text("@ ", style="bold")
            for n, name in enumerate(self.offered):
                text.append(plain(name), style="bold reverse" if n == 0 else "")
                text.append("  ")
            text.append("tab: complete", style="dim")
            self.update(text)
