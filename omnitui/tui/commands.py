"""The command palette (ctrl+p): every action of the console, titled
"noun: verb", those of the screen in view first.

A screen lists its commands in ``PALETTE`` as (title, action, help); the
action runs on that screen, so the palette does exactly what the key does.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen

PaletteEntry = tuple[str, str, str]

APP_PALETTE: tuple[PaletteEntry, ...] = (
    ("messages: search", "app.search", "Full-text search across every message and note"),
    ("customer: jump to", "app.jump", "Open a customer by name, phone or e-mail"),
    ("app: toggle light/dark theme", "app.toggle_theme", "Switch between the light and dark theme"),
    ("reports: show", "app.reports", "Volume, response and resolution times, backlog"),
    ("app: help", "app.help", "List every key binding"),
    ("app: reload", "app.reload", "Read the store again now"),
    ("app: quit", "app.quit", "Leave the console (drafts are kept)"),
)


def palette_entries(screen: Screen[Any]) -> list[PaletteEntry]:
    """The commands offered over ``screen``: its own, then the app's."""
    own: Sequence[PaletteEntry] = getattr(screen, "PALETTE", ())
    return [*own, *APP_PALETTE]


class OmniCommands(Provider):
    """Offers :func:`palette_entries` of the screen the palette was opened over."""

    def _entries(self) -> list[PaletteEntry]:
        return palette_entries(self.screen)

    async def _run(self, action: str) -> None:
        await self.screen.run_action(action)

    async def discover(self) -> Hits:
        for title, action, help_text in self._entries():
            yield DiscoveryHit(title, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action, help_text in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(title), partial(self._run, action), help=help_text
                )
