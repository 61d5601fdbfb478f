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
from textual.content import Content
from textual.screen import Screen

PaletteEntry = tuple[str, str, str]

APP_PALETTE: tuple[PaletteEntry, ...] = (
    ("messages: search", "app.search", "Full-text search across every message and note"),
    ("customer: jump to", "app.jump", "Open a customer by name, phone or e-mail"),
    ("app: toggle light/dark theme", "app.toggle_theme", "Switch between the light and dark theme"),
    ("reports: show", "app.reports", "Volume, response and resolution times, backlog"),
    ("outbox: show", "app.outbox", "Failed and unconfirmed messages: retry, edit, discard"),
    ("mentions: show", "app.mentions", "Notes that @mention you; opening one marks it read"),
    ("agent: away / back", "app.toggle_away", "Mute alerts while away; a summary on your return"),
    ("app: help", "app.help", "List every key binding"),
    ("app: reload", "app.reload", "Read the store again now"),
    ("app: quit", "app.quit", "Leave the console (drafts are kept)"),
)


def palette_entries(screen: Screen[Any]) -> list[PaletteEntry]:
    """The commands offered over ``screen``: its own, then the app's."""
    own: Sequence[PaletteEntry] = getattr(screen, "PALETTE", ())
    return [*own, *APP_PALETTE]


def keys_by_action(screen: Screen[Any]) -> dict[str, str]:
    """The key in force (after the keymap) for each action reachable on
    ``screen``, named as palette entries name them (``app.`` for the app's)."""
    keys: dict[str, str] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        name = f"app.{binding.action}" if active.node is screen.app else binding.action
        keys.setdefault(name, screen.app.get_key_display(binding))
    return keys


class OmniCommands(Provider):
    """Offers :func:`palette_entries` of the screen the palette was opened over,
    each with the key that does the same."""

    def _entries(self) -> list[tuple[str, str, str, str]]:
        keys = keys_by_action(self.screen)
        return [(t, a, h, keys.get(a, "")) for t, a, h in palette_entries(self.screen)]

    async def _run(self, action: str) -> None:
        await self.screen.run_action(action)

    @staticmethod
    def _titled(title: Content, key: str) -> Content:
        return title + Content.styled(f"  {key}", "dim") if key else title

    async def discover(self) -> Hits:
        for title, action, help_text, key in self._entries():
            yield DiscoveryHit(
                self._titled(Content(title), key), partial(self._run, action), help=help_text
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action, help_text, key in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score,
                    self._titled(matcher.highlight(title), key),
                    partial(self._run, action),
                    help=help_text,
                )
