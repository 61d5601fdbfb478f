"""Every key binding, by section, with the keys in force after the keymap."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from omnitui.tui.bindings import HELP_BINDINGS, HELP_SECTIONS, key_of, keys_for


def reading(keymap: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """What the inbox and the prompts show, for a new agent."""
    unread = key_of("conversation.mark_unread", keymap)
    return (
        (
            "*",
            "unread: something new since you last opened the conversation, "
            f"or marked with {unread}",
        ),
        ("Wait", "how long the customer has waited for our answer (blank: we spoke last)"),
        (
            "Status",
            "open · pending (waiting for the customer; their reply reopens it) · "
            "snoozed (back at its time) · resolved",
        ),
        (
            "Snooze",
            "type 90m, 2h, 3d, 1w, 14:00, tomorrow [14:00], next week, fri [9:00], "
            "2026-04-01 [9:00] (a day alone means 9:00), or pick one",
        ),
    )


#: The query language (omnitui.query), for the filter prompt and saved views.
QUERY_TERMS: tuple[tuple[str, str], ...] = (
    ("status:", "open | pending | snoozed | resolved | all (no status named: open and pending)"),
    ("assignee:", "me | none | NAME"),
    ("channel: account:", "email sms whatsapp telegram matrix · an account's name"),
    ("tag: customer:", "tag:billing (its own or its customer's) · customer:ID (# in the header)"),
    ("unread:me", "new to you since you last opened it"),
    ("older: newer:", "last activity: older:2h newer:1d (units m h d w)"),
    ("waiting:", "the customer waits for our answer: waiting:>4h waiting:<30m"),
    ("words", 'free words match by prefix; "an exact phrase"'),
    ("- OR ( )", "-tag:vip negates a term; terms AND together; OR and ( ) group"),
)


def query_rows(keymap: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """How the query language reads, with the keys that use it."""
    prompt = key_of("inbox.query", keymap)
    return (
        (
            prompt,
            f"narrow the inbox: {prompt} then e.g.  tag:billing -assignee:none waiting:>4h  "
            "(a mistake is pointed at; ctrl+p 'inbox: save query as view' keeps it)",
        ),
        *QUERY_TERMS,
    )


def help_table(keymap: Mapping[str, str]) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
    table.add_column("keys", style="bold", no_wrap=True, width=14)
    table.add_column("action", ratio=1)
    table.add_row(Text("The inbox", style="bold underline"), "")
    for mark, meaning in reading(keymap):
        table.add_row(mark, meaning)
    table.add_row("", "")
    for title, bindings in HELP_SECTIONS:
        table.add_row(Text(title, style="bold underline"), "")
        for binding in bindings:
            what = Text(binding.description or binding.action)
            if binding.tooltip:
                what.append(f": {binding.tooltip}")
            what.append(f"  {binding.id}", style="dim")
            table.add_row(keys_for(binding, keymap), what)
        table.add_row("", "")
    table.add_row(Text("Queries and views", style="bold underline"), "")
    for term, meaning in query_rows(keymap):
        table.add_row(term, meaning)
    table.add_row("", "")
    table.add_row(Text("Mouse", style="bold underline"), "optional: click rows, scroll lists")
    table.add_row("", Text('Remap keys in the config: [keymap] binding-id = "keys"', style="dim"))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [*HELP_BINDINGS]

    def __init__(self, keymap: Mapping[str, str]) -> None:
        super().__init__(classes="help")
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            close = key_of("help.close", self.keymap)
            yield Static(Text(f"omnitui keys  ({close} closes)", style="bold"), id="help-title")
            yield Static(help_table(self.keymap), id="help-table")

    def action_scroll(self, step: int) -> None:
        box = self.query_one("#help-box", VerticalScroll)
        box.scroll_relative(y=step, animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
