"""The top of the customer view: who this is, on which channels, and what
else of theirs is open.

Two lines at most, whatever the width: a customer merged from five channels
used to wrap onto a third line at 80 columns and push the timeline down. The
identities that do not fit are counted ("+2 more"), and each line is cut with
an ellipsis rather than wrapped.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from rich.text import Text
from textual.widget import Widget

from omnitui.tui.format import DRAFT_MARK, badge, plain, status_text
from omnitui.tui.tagging import tag_labels
from omnitui.tui.widgets.presence_marks import Others, header_presence
from storage.queries import ConversationRow, CustomerRow
from storage.vocabulary import ACTIVE_STATUSES


def _line(text: Text, width: int) -> Text:
    """``text`` cut to ``width`` cells with an ellipsis (never wrapped)."""
    if width and text.cell_len > width:
        text.truncate(width, overflow="ellipsis")
    return text


def _who(customer: CustomerRow, width: int, tags: Sequence[str] = ()) -> Text:
    """Name, id, the customer's tags and as many identities as fit in
    ``width`` cells (0: all)."""
    text = Text()
    text.append(plain(customer.name) or "(no name)", style="bold")
    text.append(f"  #{customer.id}", style="dim")
    if tags:
        text.append("  ")
        text.append_text(tag_labels((), customer=tags))
    identities = list(customer.identities)
    for n, ident in enumerate(identities):
        piece = Text("  ")
        piece.append_text(badge(ident.channel))
        piece.append(f" {plain(ident.address)}")
        left = len(identities) - n - 1
        room = width - text.cell_len - (len(f"  +{left} more") if left else 0)
        if width and n and piece.cell_len > room:  # the first one is always shown (cut if need be)
            text.append(f"  +{len(identities) - n} more", style="dim")
            break
        text.append_text(piece)
    return _line(text, width)


def _customer_tags(conversations: Sequence[ConversationRow]) -> tuple[str, ...]:
    """The customer's tags (each of their conversation rows carries them)."""
    return conversations[0].customer_tags if conversations else ()


def _conversation_tags(line: Text, conv: ConversationRow) -> None:
    """The conversation's own tags after its status (cleaned, cut, counted)."""
    if conv.tags:
        line.append("  ")
        line.append_text(tag_labels(conv.tags))


def header_text(
    customer: CustomerRow,
    conversations: Sequence[ConversationRow],
    current: int | None,
    width: int = 0,
    drafted: Collection[int] = frozenset(),
    present: Others | None = None,
) -> Text:
    """The header's two lines, fitted to ``width`` cells (0: no limit);
    conversations in ``drafted`` (they have a draft) are marked and listed;
    ``present``: who else views or writes on which conversation (the
    customer's are named, before the other open conversations)."""
    text = _who(customer, width, _customer_tags(conversations))
    line = Text()
    others = [
        c
        for c in conversations
        if (c.status in ACTIVE_STATUSES or c.id in drafted) and c.id != current
    ]
    this = next((c for c in conversations if c.id == current), None)
    if this is not None:
        line.append("this: ", style="dim")
        line.append_text(badge(this.channel))
        line.append(f" #{this.id} ", style="dim")
        line.append_text(status_text(this.status))
        line.append(f" · {plain(this.assignee) or 'unassigned'}", style="dim")
        if this.id in drafted:
            line.append(f" {DRAFT_MARK} draft", style="bold yellow")
        _conversation_tags(line, this)
    ours = {c.id for c in conversations}
    if here := header_presence({k: v for k, v in (present or {}).items() if k in ours}, current):
        line.append("   ")
        line.append_text(here)
    if others:
        line.append("   other open: ", style="dim")
        for conv in others[:4]:
            line.append_text(badge(conv.channel))
            if conv.id in drafted:
                line.append(f" #{conv.id}", style="dim")
                line.append(f"{DRAFT_MARK} ", style="bold yellow")
            else:
                line.append(f" #{conv.id} ", style="dim")
        if len(others) > 4:
            line.append(f"+{len(others) - 4}", style="dim")
    elif this is not None:
        line.append("   no other open conversations", style="dim")
    text.append("\n")
    text.append_text(_line(line, width))
    return text


class CustomerHeader(Widget):
    """Drawn for its own width, so a resize fits the identities again."""

    DEFAULT_CSS = "CustomerHeader { height: auto; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: (
            tuple[CustomerRow, list[ConversationRow], int | None, Collection[int]] | None
        ) = None
        #: who else is on which conversation (the presence check's latest)
        self._others: Others = {}

    def show_presence(self, others: Others) -> None:
        """Who else views or writes where; redrawn when it changed."""
        if others != self._others:
            self._others = others
            self.refresh(layout=True)

    def show(
        self,
        customer: CustomerRow,
        conversations: Sequence[ConversationRow],
        current: int | None,
        drafted: Collection[int] = frozenset(),
    ) -> None:
        self._shown = (customer, list(conversations), current, drafted)
        self.refresh(layout=True)

    def render(self) -> Text:
        if self._shown is None:
            return Text()
        customer, conversations, current, drafted = self._shown
        return header_text(
            customer, conversations, current, self.content_size.width, drafted, self._others
        )
