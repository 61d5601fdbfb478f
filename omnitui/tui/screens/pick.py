"""One modal for every "choose one" question: assign to whom, which status,
snooze until when, which customer to merge, search results, jump to customer.

It shows fixed choices, or choices looked up from what the agent types, or
accepts a typed answer (a name, a time) through a parser; ``enter`` takes
the typed answer when there is one and a parser, else the highlighted choice.
A parser returns ``None`` for what it does not understand, or raises
``ValueError`` with words saying why. A lookup reads the store, so it runs in
the picker's worker thread; the choices it finds come back as a message.

The hint under the list names the keys in force (after the ``[keymap]``):
``enter: snooze · esc: cancel``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from omnitui.tui.bindings import LIST_BINDINGS, PICK_BINDINGS, key_of
from omnitui.tui.messages import ChoicesFound
from omnitui.tui.workers import WorkerFailures

T = TypeVar("T")


@dataclass(frozen=True)
class Choice(Generic[T]):
    value: T
    label: Text


class PickList(OptionList):
    BINDINGS: ClassVar[list[BindingType]] = [*LIST_BINDINGS]


class PickScreen(WorkerFailures, ModalScreen[T | None], Generic[T]):
    """Ask one question; dismisses with the answer, or ``None`` on escape.

    ``hint`` says what choosing does ("snooze"), ``cancel`` what escaping
    does; ``moves`` also names the keys that move through the choices."""

    BINDINGS: ClassVar[list[BindingType]] = [*PICK_BINDINGS]

    def __init__(
        self,
        title: str,
        choices: Sequence[Choice[T]] = (),
        *,
        lookup: Callable[[str], Sequence[Choice[T]]] | None = None,
        typed: Callable[[str], T | None] | None = None,
        placeholder: str = "",
        hint: str = "choose",
        cancel: str = "cancel",
        moves: bool = False,
        initial: str = "",
        blink: bool = True,
    ) -> None:
        super().__init__(classes="pick")
        self.title_text = title
        self.choices: list[Choice[T]] = list(choices)
        self.lookup = lookup
        self.typed = typed
        self.placeholder = placeholder
        self.verb, self.cancel_verb, self.moves = hint, cancel, moves
        self.hint = ""
        self.initial = initial
        self.blink = blink

    @property
    def has_input(self) -> bool:
        return self.lookup is not None or self.typed is not None

    def compose(self) -> ComposeResult:
        with Vertical(id="pick-box"):
            yield Static(Text(self.title_text, style="bold"), id="pick-title")
            if self.has_input:
                field = Input(value=self.initial, placeholder=self.placeholder, id="pick-input")
                field.cursor_blink = self.blink
                yield field
            yield PickList(id="pick-list")
            yield Static(id="pick-hint")

    def on_mount(self) -> None:
        self.hint = self._hint()
        self._say(self.hint)
        if self.lookup is not None and self.initial:
            self._look_up(self.initial)
        self._fill()
        if self.has_input:
            self.query_one("#pick-input", Input).focus()
        else:
            self.query_one(PickList).focus()

    def _hint(self) -> str:
        keymap = getattr(self.app, "keymap", {})
        parts = [f"{key_of('pick.choose', keymap)}: {self.verb}"]
        if self.moves:
            parts.append(f"{key_of('pick.up', keymap)}/{key_of('pick.down', keymap)}: pick")
        parts.append(f"{key_of('pick.cancel', keymap)}: {self.cancel_verb}")
        return " · ".join(parts)

    @work(thread=True, exclusive=True, exit_on_error=False, group="lookup")
    def _look_up(self, query: str) -> None:
        assert self.lookup is not None
        self.post_message(ChoicesFound(query, list(self.lookup(query))))

    @on(ChoicesFound)
    def _found(self, message: ChoicesFound) -> None:
        if message.query != self._query():
            return  # typed on meanwhile: the answer to the newer query follows
        self.choices = message.choices
        self._fill()

    def _query(self) -> str:
        if not self.has_input:
            return ""
        return self.query_one("#pick-input", Input).value.strip()

    def _fill(self) -> None:
        options = self.query_one(PickList)
        options.set_options(Option(c.label, str(n)) for n, c in enumerate(self.choices))
        options.highlighted = 0 if self.choices else None

    @on(Input.Changed, "#pick-input")
    def _changed(self, event: Input.Changed) -> None:
        if self.lookup is not None:
            query = event.value.strip()
            if query:
                self._look_up(query)
            else:
                self.choices = []
                self._fill()
        self._say(self.hint)

    @on(Input.Submitted, "#pick-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if self.typed is not None and text:
            try:
                value = self.typed(text)
            except ValueError as exc:  # a parser that says why (an address, say)
                self._say(f"{exc}. {self.hint}", error=True)
                return
            if value is None:
                self._say(f"Not understood: {text!r}. {self.hint}", error=True)
                return
            self.dismiss(value)
            return
        self._choose(self.query_one(PickList).highlighted)

    def action_choose(self) -> None:
        """The ``pick.choose`` key when remapped away from enter (enter itself
        reaches the input or the list first)."""
        if self.has_input:
            field = self.query_one("#pick-input", Input)
            self._submitted(Input.Submitted(field, field.value))
        else:
            self._choose(self.query_one(PickList).highlighted)

    @on(OptionList.OptionSelected, "#pick-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose(event.option_index)

    def _choose(self, index: int | None) -> None:
        if index is None or not 0 <= index < len(self.choices):
            cancel = key_of("pick.cancel", getattr(self.app, "keymap", {}))
            self._say(f"Nothing to choose: type to search, or {cancel} to cancel.", error=True)
            return
        self.dismiss(self.choices[index].value)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.query_one("#pick-hint", Static).update(
            Text(text, style="bold red" if error else "dim")
        )

    def action_move(self, step: int) -> None:
        options = self.query_one(PickList)
        if step > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    def action_cancel(self) -> None:
        self.dismiss(None)
