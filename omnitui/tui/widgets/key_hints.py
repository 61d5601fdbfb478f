"""One line of key hints for what is in focus, like Textual's Footer but
drawn as a single Text: the Footer mounts a widget per key and recomposes on
every focus change, which cost more than the rest of opening a customer."""

from __future__ import annotations

from rich.text import Text
from textual.screen import Screen
from textual.widgets import Static


class KeyHints(Static):
    """Help and commands, then a note of the screen's (the inbox's marks:
    what the keys now act on), then the shown bindings active now (after
    the keymap)."""

    note: str = ""

    def set_note(self, note: str) -> None:
        """Show ``note`` (plain text of ours) before the bindings; "" for none."""
        if note != self.note:
            self.note = note
            self._bindings_changed(self.screen)

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        # help and the palette first, with the keys in force: they must survive
        # an 80-column cut
        active_now = screen.active_bindings.values()
        first: dict[str | None, str] = {}
        for a in active_now:  # a binding of several keys is listed once per key
            if a.binding.id in ("app.help", "app.palette"):
                first.setdefault(a.binding.id, self.app.get_key_display(a.binding))
        text = Text(
            f" {first.get('app.help', '?')} help  {first.get('app.palette', '^p')} commands │",
            style="dim",
            no_wrap=True,
            overflow="ellipsis",
        )
        if self.note:
            text.append(f" {self.note} │", style="bold")
        seen: set[str] = set()
        for active in active_now:
            binding = active.binding
            if (
                not binding.show
                or binding.action in seen
                or not active.enabled
                or binding.id in first  # already at the front
            ):
                continue
            seen.add(binding.action)
            text.append(f" {self.app.get_key_display(binding)}", style="bold")
            text.append(f" {binding.description} ")
        self.update(text)
