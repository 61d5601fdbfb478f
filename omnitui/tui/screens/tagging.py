"""Tag keys, shared by the inbox and the customer view: ``t`` adds a tag to
the conversation in focus (the inbox: to the marked ones, when there are
marks), with completion of the tags in use; ``T`` removes one of its tags,
picked from a list. The palette does the same for the customer
("customer: add tag", "customer: remove tag").

The tags in use are read in a worker before the prompt opens; each change
goes through :mod:`omnitui.services.tags` (audited) in a worker.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work

from omnitui.tui import inbox_views
from omnitui.tui.commands import PaletteEntry
from omnitui.tui.messages import Saved
from omnitui.tui.screens.base import DeskScreen
from omnitui.tui.screens.pick import Choice, PickScreen
from omnitui.tui.screens.tag_prompt import TagScreen
from omnitui.tui.tagging import shown_tag
from omnitui.tui.triage_messages import TagsRead

TAG_PALETTE: tuple[PaletteEntry, ...] = (
    ("conversation: add tag", "tag", "Tag the conversation (in the inbox: the marked ones)"),
    ("conversation: remove tag", "untag", "Remove one of its tags"),
    ("customer: add tag", "tag_customer", "Tag the customer (shown on all their conversations)"),
    ("customer: remove tag", "untag_customer", "Remove one of the customer's tags"),
)


class TagActions(DeskScreen):
    """The tag actions (see the module); the inbox widens what they act on."""

    def tag_scope(self) -> tuple[str, dict[int, int]] | None:
        """What the tag keys act on: a name for people and the conversations
        (id -> version); the conversation in focus here."""
        conv = self._need_target()
        return (f"#{conv.id}", {conv.id: conv.version}) if conv else None

    def apply_tag(self, where: str, versions: dict[int, int], tag: str, *, add: bool) -> None:
        """Add (or remove) ``tag`` on the conversations of ``versions``."""
        self._tag_one(next(iter(versions)), tag, add)

    @work(thread=True, exclusive=True, exit_on_error=False, group="tags-save")
    def _tag_one(self, conversation_id: int, tag: str, add: bool) -> None:
        store, agent = self.desk.store, self.desk.agent
        changed = inbox_views.tag_conversation(store, conversation_id, tag, agent, add=add)
        verb = "tagged" if add else "untagged"
        self.post_message(
            Saved(f"#{conversation_id} {verb} {tag}{'' if changed else ' (no change)'}")
        )

    # -- the conversation's tags ---------------------------------------------

    def action_tag(self) -> None:
        if (scope := self.tag_scope()) is not None:
            self._read_tags(scope[0], scope[1], True)

    def action_untag(self) -> None:
        if (scope := self.tag_scope()) is not None:
            self._read_tags(scope[0], scope[1], False)

    @work(thread=True, exclusive=True, exit_on_error=False, group="tags")
    def _read_tags(self, where: str, versions: dict[int, int], adding: bool) -> None:
        in_use, current = inbox_views.tags_of(self.desk.store, list(versions))
        self.post_message(TagsRead(where, versions, None, in_use, current, adding))

    @on(TagsRead)
    def _ask_tag(self, message: TagsRead) -> None:
        where, versions, customer = message.where, message.versions, message.customer_id

        def done(tag: str | None) -> None:
            if tag is None:
                return
            if customer is not None:
                self._tag_customer(customer, tag, message.adding)
            else:
                self.apply_tag(where, versions, tag, add=message.adding)

        if message.adding:
            self.app.push_screen(
                TagScreen(f"Tag {where}", message.in_use, blink=self.desk.blink), done
            )
            return
        if not message.current:
            self.notify(f"{where} has no tags to remove.", severity="warning", markup=False)
            return
        self.app.push_screen(
            PickScreen(
                f"Remove a tag from {where}",
                [Choice(tag, Text(shown_tag(tag), style="cyan")) for tag in message.current],
                hint="remove",
                moves=True,
            ),
            done,
        )

    # -- the customer's tags --------------------------------------------------

    def action_tag_customer(self) -> None:
        if conv := self._need_target():
            self._read_customer_tags(conv.customer_id, True)

    def action_untag_customer(self) -> None:
        if conv := self._need_target():
            self._read_customer_tags(conv.customer_id, False)

    @work(thread=True, exclusive=True, exit_on_error=False, group="tags")
    def _read_customer_tags(self, customer_id: int, adding: bool) -> None:
        in_use, current = inbox_views.customer_tags(self.desk.store, customer_id)
        where = f"customer #{customer_id}"
        self.post_message(TagsRead(where, {}, customer_id, in_use, current, adding))

    @work(thread=True, exclusive=True, exit_on_error=False, group="tags-save")
    def _tag_customer(self, customer_id: int, tag: str, add: bool) -> None:
        store, agent = self.desk.store, self.desk.agent
        changed = inbox_views.tag_customer(store, customer_id, tag, agent, add=add)
        verb = "tagged" if add else "untagged"
        self.post_message(
            Saved(f"customer #{customer_id} {verb} {tag}{'' if changed else ' (no change)'}")
        )
