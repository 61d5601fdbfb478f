"""The top of the customer view: who this is, on which channels, and what
else of theirs is open."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from omnitui.tui.format import badge, plain, status_text
from storage.queries import ConversationRow, CustomerRow


def header_text(
    customer: CustomerRow, conversations: Sequence[ConversationRow], current: int | None
) -> Text:
    text = Text()
    text.append(plain(customer.name) or "(no name)", style="bold")
    text.append(f"  #{customer.id}", style="dim")
    for ident in customer.identities:
        text.append("  ")
        text.append_text(badge(ident.channel))
        text.append(f" {plain(ident.address)}")
    others = [c for c in conversations if c.status in ("open", "pending") and c.id != current]
    text.append("\n")
    this = next((c for c in conversations if c.id == current), None)
    if this is not None:
        text.append("this: ", style="dim")
        text.append_text(badge(this.channel))
        text.append(f" #{this.id} ", style="dim")
        text.append_text(status_text(this.status))
        text.append(f" · {plain(this.assignee) or 'unassigned'}", style="dim")
    if others:
        text.append("   other open: ", style="dim")
        for conv in others[:4]:
            text.append_text(badge(conv.channel))
            text.append(f" #{conv.id} ", style="dim")
        if len(others) > 4:
            text.append(f"+{len(others) - 4}", style="dim")
    elif this is not None:
        text.append("   no other open conversations", style="dim")
    return text


class CustomerHeader(Static):
    def show(
        self,
        customer: CustomerRow,
        conversations: Sequence[ConversationRow],
        current: int | None,
    ) -> None:
        self.update(header_text(customer, conversations, current))
