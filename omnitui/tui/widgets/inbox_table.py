"""The inbox list: a DataTable that holds one page of conversations at a time
and asks for the next page when the cursor or the scroll nears the end.

Column widths are set from the rows shown, each time they are replaced, and
fitted to the table's width: DataTable's own auto widths only ever grow, so
one long name kept the customer column wide after it had gone, and at 80
columns name and assignee left the subject 6 cells. Now the customer and
assignee columns give way (cut with an ellipsis) until the subject keeps a
quarter of the width.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import DataTable

from omnitui.tui.bindings import LIST_BINDINGS
from omnitui.tui.clock import Clock
from omnitui.tui.format import INBOX_COLUMNS, inbox_cells
from omnitui.tui.tagging import tag_labels
from omnitui.tui.widgets.presence_marks import Others, inbox_mark
from storage.queries import ConversationRow

#: Rows fetched at a time; the next page is asked for this close to the end.
PAGE_SIZE = 100
NEAR_END = 15
#: The subject keeps at least this share of the width (and this many cells)...
SUBJECT_SHARE, SUBJECT_MIN = 4, 20
#: ...taken from these columns, the wider first, down to these widths.
GIVE_WAY = {"customer": 10, "assignee": 6}
#: A marked row (space marks; bulk actions act on the marked rows) shows this
#: in the first column, before the unread star: the column is two cells wide.
MARK_COLUMN, MARK = "unread", "●"
MIN_WIDTHS = {MARK_COLUMN: 2}


def fit_columns(cells: Sequence[Sequence[Text]], width: int, padding: int) -> dict[str, int]:
    """Column widths (keys of :data:`INBOX_COLUMNS`) for rows of ``cells`` in ``width`` cells."""
    widths = {
        key: max([cell_len(label), MIN_WIDTHS.get(key, 0), *(row[n].cell_len for row in cells)])
        for n, (key, label) in enumerate(INBOX_COLUMNS)
    }
    share = max(SUBJECT_MIN, width // SUBJECT_SHARE)

    def others() -> int:
        return sum(w + 2 * padding for key, w in widths.items() if key != "summary")

    while others() + 2 * padding + share > width:
        can = [key for key, least in GIVE_WAY.items() if widths[key] > least]
        if not can:
            break
        widths[max(can, key=lambda key: widths[key])] -= 1
    widths["summary"] = max(widths["summary"] if width <= 0 else 1, width - others() - 2 * padding)
    return widths


class InboxTable(DataTable[Text]):
    """Conversations, one row each, keyed by conversation id."""

    BINDINGS: ClassVar[list[BindingType]] = [*LIST_BINDINGS]

    class NearEnd(Message):
        """The agent is close to the last loaded row: load another page."""

    def __init__(self, clock: Clock, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, cell_padding=1)
        self.clock = clock
        self.rows_by_id: dict[int, ConversationRow] = {}
        self.order: list[int] = []
        self._fitted = -1  # the width the columns were fitted to
        #: conversations with a draft (marked), set by the screen before each show
        self.drafted: frozenset[int] = frozenset()
        #: who else views or writes on which conversation (see show_presence)
        self.others: Others = {}
        #: conversations marked for a bulk action: id -> the version they were marked at
        #: (kept across reloads and views, until cleared or acted on)
        self.marked: dict[int, int] = {}

    def on_mount(self) -> None:
        for key, label in INBOX_COLUMNS:
            self.add_column(label, key=key)

    def _fit_width(self) -> int:
        # the vertical scrollbar's cells are always kept free: it comes and goes
        # with the row count, which sends no resize
        width = self.size.width or self.app.size.width
        return max(0, width - self.styles.scrollbar_size_vertical)

    def _set_columns(self, rows: Sequence[ConversationRow]) -> None:
        self._fitted = self._fit_width()
        widths = fit_columns([self._cells(row) for row in rows], self._fitted, self.cell_padding)
        self.clear(columns=True)
        for key, label in INBOX_COLUMNS:
            self.add_column(
                Text(label, no_wrap=True, overflow="ellipsis"), key=key, width=widths[key]
            )

    def on_resize(self) -> None:
        if self._fit_width() != self._fitted:
            current = self.current
            self.show(
                [self.rows_by_id[i] for i in self.order], keep=current.id if current else None
            )

    @property
    def current(self) -> ConversationRow | None:
        """The highlighted conversation, if any."""
        if not self.order or not 0 <= self.cursor_row < len(self.order):
            return None
        return self.rows_by_id.get(self.order[self.cursor_row])

    def show(self, rows: Sequence[ConversationRow], *, keep: int | None = None) -> None:
        """Replace the rows, keeping the cursor on conversation ``keep`` if still listed."""
        old_row = self.cursor_row
        self._set_columns(rows)
        self.rows_by_id, self.order = {}, []
        self.append(rows)
        if keep is not None and keep in self.rows_by_id:
            self.move_cursor(row=self.order.index(keep), animate=False, scroll=True)
        elif self.order:
            self.move_cursor(row=min(old_row, len(self.order) - 1), animate=False)

    def append(self, rows: Sequence[ConversationRow]) -> None:
        """Add a further page (rows already shown are skipped)."""
        fresh = [row for row in rows if row.id not in self.rows_by_id]
        for row in fresh:
            self.rows_by_id[row.id] = row
            self.order.append(row.id)
        self.add_rows_with_keys(fresh)

    def add_rows_with_keys(self, rows: Sequence[ConversationRow]) -> None:
        for row in rows:
            self.add_row(*self._cells(row), key=str(row.id))

    def _cells(self, row: ConversationRow) -> tuple[Text, ...]:
        cells = inbox_cells(row, self.clock, draft=row.id in self.drafted)
        cells = self._with_tags(row, cells)
        if mark := inbox_mark(self.others.get(row.id, ())):  # who else is there
            cells = (*cells[:-1], Text.assemble(mark, cells[-1]))
        cells = self._with_mark(row.id, cells)
        for cell in cells:  # cut to the column, never wrapped to a hidden line
            cell.no_wrap, cell.overflow = True, "ellipsis"
        return cells

    def show_presence(self, others: Others) -> None:
        """Mark the rows of conversations someone else views or writes on
        (only the rows whose mark changed are redrawn)."""
        before, self.others = self.others, others
        for conversation_id in set(before) | set(others):
            row = self.rows_by_id.get(conversation_id)
            if row is not None and before.get(conversation_id) != others.get(conversation_id):
                self.update_cell(str(row.id), "summary", self._cells(row)[-1])

    # -- tags ------------------------------------------------------------------

    def _with_tags(self, row: ConversationRow, cells: tuple[Text, ...]) -> tuple[Text, ...]:
        """The row's tags, then its customer's, before its subject (the last cell)."""
        if not row.tags and not row.customer_tags:
            return cells
        labels = tag_labels(row.tags, customer=row.customer_tags)
        return (*cells[:-1], Text.assemble(labels, " ", cells[-1]))

    # -- marks -----------------------------------------------------------------

    def _with_mark(self, conversation_id: int, cells: tuple[Text, ...]) -> tuple[Text, ...]:
        """The first cell (the unread star) with the mark before it, if marked;
        else the star alone, kept right (under the star of a marked row)."""
        star = cells[0]
        if conversation_id in self.marked:
            first = Text.assemble((MARK, "bold"), star)
        else:
            first = star.copy()
            first.justify = "right"
        first.no_wrap, first.overflow = True, "ellipsis"
        return (first, *cells[1:])

    def _redraw_mark(self, conversation_id: int) -> None:
        row = self.rows_by_id.get(conversation_id)
        if row is not None:
            self.update_cell(str(conversation_id), MARK_COLUMN, self._cells(row)[0])

    def toggle_mark(self) -> ConversationRow | None:
        """Mark the highlighted row, or unmark it; the row it acted on."""
        row = self.current
        if row is None:
            return None
        if self.marked.pop(row.id, None) is None:
            self.marked[row.id] = row.version
        self._redraw_mark(row.id)
        return row

    def mark(self, versions: dict[int, int]) -> None:
        """Mark these conversations (id -> version), shown or not."""
        self.marked.update(versions)
        for conversation_id in versions:
            self._redraw_mark(conversation_id)

    def unmark(self, ids: Sequence[int] | None = None) -> None:
        """Unmark ``ids`` (all when ``None``)."""
        gone = list(self.marked) if ids is None else [i for i in ids if i in self.marked]
        for conversation_id in gone:
            del self.marked[conversation_id]
            self._redraw_mark(conversation_id)

    def action_first(self) -> None:
        self.action_scroll_top()

    def action_last(self) -> None:
        self.action_scroll_bottom()

    def near_end(self) -> bool:
        """Whether the cursor, or the bottom of the view, is close to the last loaded row.

        Counted in rows loaded (known at once), not in scroll range (known
        only after the next layout), so a page just added is never asked twice.
        """
        if not self.order:
            return False
        bottom = max(self.cursor_row, int(self.scroll_y) + self.size.height)
        return len(self.order) - bottom <= NEAR_END

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # mouse-wheel scrolling never moves the cursor, so watch the scroll too
        if self.near_end():
            self.post_message(self.NearEnd())

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.near_end():
            self.post_message(self.NearEnd())
