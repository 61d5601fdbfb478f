"""The outbox (``O``): messages composed here that wait for a person, failed
or unconfirmed, with where they go and what went wrong. Each can be sent
again as it is (``R``), edited and sent (``e``), sent to another address
(``t``) or discarded (``x``); ``enter`` opens the customer at the message.

Every store read and write runs in a worker that posts a message back; the
decisions are :mod:`omnitui.services.outbox`'s functions, audited with the agent's name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from omnitui.addresses import normalize_address
from omnitui.services import outbox
from omnitui.text import first_line
from omnitui.tui.bindings import LIST_BINDINGS, OUTBOX_BINDINGS
from omnitui.tui.commands import PaletteEntry
from omnitui.tui.desk import Desk
from omnitui.tui.format import badge, plain, stamp, status_text
from omnitui.tui.messages import AddressesRead, OpenCustomer, OutboxRead, Saved
from omnitui.tui.screens.base import DeskScreen
from omnitui.tui.screens.outbox_edit import EditScreen
from omnitui.tui.screens.pick import Choice, PickScreen
from omnitui.tui.widgets.account_bar import AccountBar
from omnitui.tui.widgets.key_hints import KeyHints
from storage import queries
from storage.queries import AccountHealth, ConversationRow, OutboxRow
from storage.vocabulary import OUTBOX_NEEDS_PERSON


class OutboxList(OptionList):
    BINDINGS: ClassVar[list[BindingType]] = [*LIST_BINDINGS]


def row_text(row: OutboxRow, desk: Desk) -> Text:
    """One waiting message: where it goes and its state, its text, what went wrong."""
    text = Text(f"#{row.id} ", style="dim")
    text.append_text(badge(row.channel))
    name = plain(row.customer_name)[:30]
    text.append(f" {name}", style="bold")
    if plain(row.to) != name:
        text.append(f" -> {plain(row.to)}", style="dim")
    text.append("  ")
    text.append_text(status_text(row.status))
    tries = f"{row.attempts} attempt" + ("" if row.attempts == 1 else "s")
    text.append(f" · {tries} · {stamp(desk.clock, row.queued_at)}", style="dim")
    text.append(f"\n    {first_line(row.body, 200) or '(empty)'}")
    if row.error:
        text.append(f"\n    ! {plain(row.error)}", style="bold red")
    return text


# inherit_bindings=False: only the outbox's own keys; the conversation keys
# (r, a, s ...) mean nothing on a list of messages
class OutboxScreen(DeskScreen, inherit_bindings=False):
    """Failed and unconfirmed messages, and what a person can do with them."""

    BINDINGS: ClassVar[list[BindingType]] = [*OUTBOX_BINDINGS]
    PALETTE: ClassVar[tuple[PaletteEntry, ...]] = (
        ("outbox: retry", "retry", "Send the highlighted message again, as it is"),
        ("outbox: edit and send", "edit", "Change its text, then send it"),
        ("outbox: re-address", "readdress", "Send it to another of the customer's addresses"),
        ("outbox: discard", "discard", "Never send it (it stays in the timeline, struck)"),
        ("outbox: open customer", "open", "Show the customer's timeline at this message"),
        ("outbox: back", "back", "Leave the outbox"),
    )

    def __init__(self, desk: Desk) -> None:
        super().__init__(desk)
        self.rows: list[OutboxRow] = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static(id="outbox-title")
        yield OutboxList(id="outbox-list")
        yield AccountBar(id="health")
        yield KeyHints(id="keys")

    @property
    def options(self) -> OutboxList:
        return self.query_one(OutboxList)

    def on_mount(self) -> None:
        self._title()
        self.options.focus()
        self.reload()

    # -- reading -----------------------------------------------------------------

    def target(self) -> ConversationRow | None:
        return None  # no conversation actions here

    def show_health(self, health: list[AccountHealth]) -> None:
        for bar in self.query(AccountBar):  # none while the screen closes
            bar.show(health, self.desk.clock)

    def reload(self) -> None:
        self._read(self.next_ticket())

    @work(thread=True, exclusive=True, exit_on_error=False, group="outbox-screen")
    def _read(self, ticket: int) -> None:
        with self.desk.store.read() as session:
            rows = queries.outbox(session, statuses=OUTBOX_NEEDS_PERSON)
        self.post_message(OutboxRead(ticket, rows))

    @on(OutboxRead)
    def _show(self, message: OutboxRead) -> None:
        if message.ticket != self.ticket:
            return  # a newer read is on its way
        keep = self.current.id if self.current is not None else None
        self.rows, self.loaded = message.rows, True
        options = self.options
        options.set_options(Option(row_text(row, self.desk), str(row.id)) for row in self.rows)
        ids = [row.id for row in self.rows]
        if ids:
            options.highlighted = ids.index(keep) if keep in ids else 0
        self._title()

    def _title(self) -> None:
        title = Text(" Outbox", style="bold")
        if not self.loaded:
            title.append("  reading…", style="dim")
        elif self.rows:
            count = f"{len(self.rows)} message" + ("" if len(self.rows) == 1 else "s")
            title.append(f"  {count} failed or unconfirmed, waiting for you", style="dim")
        else:
            title.append("  nothing waits: every message written here was sent", style="dim")
        self.query_one("#outbox-title", Static).update(title)

    @property
    def current(self) -> OutboxRow | None:
        index = self.options.highlighted if self.is_mounted else None
        if index is None or not 0 <= index < len(self.rows):
            return None
        return self.rows[index]

    def _need_row(self) -> OutboxRow | None:
        row = self.current
        if row is None:
            self.notify("No message selected.", severity="warning", markup=False)
        return row

    # -- deciding ------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="outbox-act")
    def _act(self, decide: Callable[[], object], message_id: int, done: str, *, send: bool) -> None:
        """Carry out ``decide`` (an outbox decision, audited with the agent's
        name); ``send``: deliver the message now. A refusal arrives at
        :mod:`omnitui.tui.workers` (told, and the list read again)."""
        decide()
        self.post_message(Saved(done, queued=(message_id,) if send else ()))

    def action_retry(self) -> None:
        if row := self._need_row():
            store, agent, accounts = self.desk.store, self.desk.agent, self.desk.accounts()
            self._act(
                partial(outbox.retry_by, store, row.id, agent, accounts=accounts),
                row.id,
                f"Message {row.id} is queued again",
                send=True,
            )

    def action_discard(self) -> None:
        row = self._need_row()
        if row is None:
            return
        maybe = " It may still have arrived." if row.status == "unconfirmed" else ""
        store, agent = self.desk.store, self.desk.agent

        def decided(sure: bool | None) -> None:
            if sure:
                self._act(
                    partial(outbox.discard, store, row.id, agent),
                    row.id,
                    f"Message {row.id} discarded: it will never be sent",
                    send=False,
                )

        self.app.push_screen(
            PickScreen(
                f"Discard message {row.id} to {plain(row.to)}? It is never sent, and stays "
                f"in the timeline struck through.{maybe}",
                [Choice(False, Text("no, keep it")), Choice(True, Text("yes, discard it"))],
            ),
            decided,
        )

    def action_edit(self) -> None:
        row = self._need_row()
        if row is None:
            return
        store, agent, accounts = self.desk.store, self.desk.agent, self.desk.accounts()

        def edited(body: str | None) -> None:
            if body is not None and body != row.body:
                self._act(
                    partial(outbox.edit, store, row.id, body, agent, accounts=accounts),
                    row.id,
                    f"Message {row.id} edited and queued",
                    send=True,
                )

        self.app.push_screen(
            EditScreen(
                f"Edit message {row.id} to {plain(row.customer_name)} ({plain(row.to)})",
                row.body,
                blink=self.desk.blink,
                keymap=self.desk.keymap,
            ),
            edited,
        )

    def action_readdress(self) -> None:
        row = self._need_row()
        if row is None:
            return
        self._read_addresses(row)

    @work(thread=True, exclusive=True, exit_on_error=False, group="addresses")
    def _read_addresses(self, row: OutboxRow) -> None:
        with self.desk.store.read() as session:
            found = queries.customer_addresses(session, row.customer_id, row.channel)
        self.post_message(AddressesRead(row, found))

    @on(AddressesRead)
    def _ask_address(self, message: AddressesRead) -> None:
        row = message.row
        region = self.desk.default_region
        others = [a for a in message.addresses if a != row.to]
        store, agent, accounts = self.desk.store, self.desk.agent, self.desk.accounts()

        def typed(text: str) -> str:
            return normalize_address(row.channel, text, region)  # raises, saying why

        def picked(address: str | None) -> None:
            if address:
                self._act(
                    partial(
                        outbox.readdress,
                        store,
                        row.id,
                        address,
                        agent,
                        default_region=region,
                        accounts=accounts,
                    ),
                    row.id,
                    f"Message {row.id} goes to {address} now, queued",
                    send=True,
                )

        self.app.push_screen(
            PickScreen(
                f"Send message {row.id} ({row.channel}) to, instead of {plain(row.to)}",
                _address_choices(others),
                typed=typed,
                placeholder="another address, or pick one of theirs below",
                blink=self.desk.blink,
                hint="send it there",
            ),
            picked,
        )

    @on(OptionList.OptionSelected, "#outbox-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        if row := self._need_row():
            self.post_message(
                OpenCustomer(row.customer_id, row.conversation_id, entry=f"m{row.id}")
            )

    def action_back(self) -> None:
        self.app.pop_screen()


def _address_choices(addresses: Sequence[str]) -> list[Choice[str]]:
    return [Choice(a, Text(plain(a))) for a in addresses]
