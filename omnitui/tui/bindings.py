"""Every key binding of the console, in one place.

Each binding has an ``id`` so a ``[keymap]`` table in the config (binding id
-> keys) can remap it through ``App.set_keymap``; the help screen lists these
same tables, showing the keys in force after the keymap.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual.binding import Binding

APP_BINDINGS = [
    Binding("q", "quit", "Quit", id="app.quit", tooltip="Leave the console (drafts are kept)."),
    Binding(
        "question_mark,f1",
        "help",
        "Help",
        id="app.help",
        tooltip="List every key (f1 also from the composer, where ? is typed).",
    ),
    Binding("slash", "search", "Search", id="app.search", tooltip="Search all messages and notes."),
    Binding("g", "jump", "Go to", id="app.jump", tooltip="Open a customer by name/phone/email."),
    Binding(
        "ctrl+p",
        "command_palette",
        "Commands",
        id="app.palette",
        priority=True,
        show=False,
        tooltip="Every action, by name.",
    ),
    Binding("ctrl+r", "reload", "Reload", id="app.reload", show=False),
    Binding(
        "o",
        "reports",
        "Reports",
        id="app.reports",
        show=False,
        tooltip="The team's numbers: volume, response times, backlog.",
    ),
    Binding(
        "O",
        "outbox",
        "Outbox",
        id="app.outbox",
        show=False,
        tooltip="Failed and unconfirmed messages: retry, edit, re-address or discard.",
    ),
    Binding(
        "Z",
        "toggle_away",
        "Away/back",
        id="app.away",
        show=False,
        tooltip="Mark yourself away (alerts wait, summed up on your return) or back.",
    ),
]

LIST_BINDINGS = [
    Binding("j", "cursor_down", "Down", id="list.down", show=False),
    Binding("k", "cursor_up", "Up", id="list.up", show=False),
    Binding("home", "first", "First", id="list.first", show=False),
    Binding("end", "last", "Last (loads more)", id="list.last", show=False),
]

# Shared by the inbox (acting on the highlighted row) and the customer view
# (acting on the conversation being read).
CONVERSATION_BINDINGS = [
    Binding("r", "reply", "Reply", id="conversation.reply"),
    Binding("n", "note", "Note", id="conversation.note"),
    Binding("a", "assign", "Assign", id="conversation.assign"),
    Binding("s", "status", "Status", id="conversation.status"),
    Binding("z", "snooze", "Snooze", id="conversation.snooze"),
    Binding("m", "merge", "Merge", id="customer.merge", tooltip="Merge another customer in."),
    Binding(
        "u",
        "mark_unread",
        "Unread",
        id="conversation.mark_unread",
        show=False,
        tooltip="Show it unread until opened again (in the inbox: toggles).",
    ),
]

FILTER_KEYS = ("open", "mine", "unassigned", "pending", "snoozed", "resolved", "all")

INBOX_BINDINGS = [
    Binding("enter", "open", "Open", id="inbox.open", show=False),
    Binding("f", "next_filter", "Filter", id="inbox.next_filter"),
    Binding("F", "previous_filter", "Prev filter", id="inbox.previous_filter", show=False),
    *(
        Binding(str(n), f"filter('{name}')", f"Show {name}", id=f"inbox.filter_{name}", show=False)
        for n, name in enumerate(FILTER_KEYS, start=1)
    ),
    Binding(
        "at",
        "app.mentions",
        "Mentions",
        id="inbox.mentions",
        show=False,
        tooltip="Notes that @mention you, newest first; opening one marks it read.",
    ),
]

#: Narrowing the inbox and acting on many conversations at once (issue 17).
TRIAGE_BINDINGS = [
    Binding(
        "l",
        "query",
        "Query",
        id="inbox.query",
        tooltip="Narrow the inbox with a query (tag:vip -status:resolved …); "
        "the palette saves it as a view.",
    ),
    Binding("space", "toggle_mark", "Mark", id="inbox.mark", tooltip="Mark or unmark the row."),
    Binding(
        "asterisk",
        "mark_all",
        "Mark all",
        id="inbox.mark_all",
        show=False,
        tooltip="Mark every conversation of the view (not only the rows loaded).",
    ),
    Binding(
        "escape",
        "clear_marks",
        "Clear marks",
        id="inbox.clear_marks",
        show=False,
        tooltip="Unmark everything. With marks, a s z t T m act on the marked conversations.",
    ),
]

TAG_BINDINGS = [
    Binding(
        "t",
        "tag",
        "Tag",
        id="conversation.tag",
        tooltip="Add a tag (tab completes the tags in use).",
    ),
    Binding("T", "untag", "Untag", id="conversation.untag", show=False, tooltip="Remove a tag."),
]

TAG_PROMPT_BINDINGS = [
    Binding(
        "tab",
        "complete",
        "Complete",
        id="tag.complete",
        show=False,
        priority=True,
        tooltip="In the tag prompt: take the suggested tag in use.",
    ),
]

CUSTOMER_BINDINGS = [
    Binding("escape", "back", "Back", id="customer.back"),
    Binding("c", "switch_channel", "Channel", id="composer.channel_key"),
    Binding("R", "retry", "Retry send", id="message.retry"),
    Binding(
        "X",
        "discard_draft",
        "Discard draft",
        id="customer.discard_draft",
        show=False,
        tooltip="Throw away this conversation's draft (asks first).",
    ),
    Binding(
        "d",
        "save_attachments",
        "Save files",
        id="message.save_attachments",
        show=False,
        tooltip="Save the highlighted message's attachments to Downloads/omnitui.",
    ),
    Binding(
        "A",
        "reply_all",
        "Reply all",
        id="conversation.reply_all",
        tooltip="Reply to the newest e-mail's sender and everyone on it but us (To and Cc filled).",
    ),
    Binding(
        "f",
        "forward",
        "Forward",
        id="message.forward",
        tooltip="Forward the highlighted message, with its files, by e-mail (asks to whom).",
    ),
    Binding(
        "v",
        "open_attachment",
        "Open file",
        id="message.open_attachment",
        show=False,
        tooltip="Open the highlighted message's file with the desktop's viewer ($OPENER).",
    ),
]

TIMELINE_BINDINGS = [
    Binding("enter", "unfold", "Unfold", id="timeline.toggle", show=False),
]

COMPOSER_BINDINGS = [
    Binding("ctrl+s,ctrl+enter", "send", "Send", id="composer.send", priority=True),
    Binding("ctrl+t", "snippet", "Snippet", id="composer.snippet"),
    Binding("ctrl+o", "switch_channel", "Channel", id="composer.channel"),
    Binding("ctrl+n", "toggle_note", "Note/reply", id="composer.toggle_note"),
    Binding(
        "ctrl+e",
        "external_editor",
        "$EDITOR",
        id="composer.editor",
        show=False,
        priority=True,  # the text area's own ctrl+e goes to the line end (end does that too)
        tooltip="Edit the draft (e-mail: with its header lines) in $VISUAL/$EDITOR.",
    ),
    Binding(
        "ctrl+g",
        "discard_draft",
        "Discard",
        id="composer.discard_draft",
        show=False,
        tooltip="Throw away this draft (asks first).",
    ),
    Binding("escape", "leave", "Leave", id="composer.leave"),
    Binding(
        "tab",
        "complete_mention",
        "Complete @name",
        id="composer.complete_mention",
        show=False,
        tooltip="In a note, after @ and a name's first letters: the team's name.",
    ),
    Binding(
        "ctrl+f",
        "attach",
        "Attach",
        id="composer.attach",
        tooltip="Attach files: a path prompt, tab completes.",
    ),
    Binding(
        "ctrl+l",
        "detach",
        "Remove file",
        id="composer.detach",
        show=False,
        tooltip="Remove an attached file (asks which when there are several).",
    ),
    Binding(
        "ctrl+backslash",
        "toggle_signature",
        "Signature",
        id="composer.signature",
        show=False,
        tooltip="Leave the signature off this message, or put it back.",
    ),
]

#: The attach prompt's path input (enter attaches, esc ends).
ATTACH_BINDINGS = [
    Binding("tab", "complete", "Complete", id="attach.complete", tooltip="Take the completion."),
]

MENTIONS_BINDINGS = [
    Binding("escape", "back", "Back", id="mentions.back"),
    Binding("enter", "open", "Open", id="mentions.open", tooltip="Open it, and mark it read."),
    Binding("R", "read_all", "All read", id="mentions.read_all", show=False),
]

REPORTS_BINDINGS = [
    Binding("escape,q", "app.pop_screen", "Back", id="reports.back"),
    Binding("p", "period", "Period", id="reports.period", tooltip="7 days, 30 days, 1 day."),
    Binding("c", "channel", "Channel", id="reports.channel", tooltip="All, then one at a time."),
]

OUTBOX_BINDINGS = [
    Binding("escape", "back", "Back", id="outbox.back"),
    Binding("R", "retry", "Retry", id="outbox.retry", tooltip="Send it again, as it is."),
    Binding("e", "edit", "Edit", id="outbox.edit", tooltip="Change the text, then send it."),
    Binding("t", "readdress", "To…", id="outbox.readdress", tooltip="Send it to another address."),
    Binding(
        "x", "discard", "Discard", id="outbox.discard", tooltip="Never send it (kept, struck)."
    ),
    Binding("enter", "open", "Open", id="outbox.open", show=False, tooltip="Open the customer."),
]

OUTBOX_EDIT_BINDINGS = [
    Binding("ctrl+s", "save", "Save and send", id="outbox_edit.save", priority=True),
    Binding("escape", "cancel", "Cancel", id="outbox_edit.cancel"),
]

PICK_BINDINGS = [
    Binding(
        "enter",
        "choose",
        "Choose",
        id="pick.choose",
        show=False,
        tooltip="Take the typed answer, else the highlighted one.",
    ),
    Binding("escape", "cancel", "Cancel", id="pick.cancel"),
    Binding("down", "move(1)", "Down", show=False, id="pick.down"),
    Binding("up", "move(-1)", "Up", show=False, id="pick.up"),
]

HELP_BINDINGS = [
    Binding("escape,q,question_mark", "close", "Close", id="help.close"),
    Binding("j,down", "scroll(1)", "Down", show=False, id="help.down"),
    Binding("k,up", "scroll(-1)", "Up", show=False, id="help.up"),
]

HELP_SECTIONS: tuple[tuple[str, list[Binding]], ...] = (
    ("Everywhere", APP_BINDINGS),
    ("Lists", LIST_BINDINGS),
    ("Inbox", INBOX_BINDINGS),
    ("Inbox: queries and marks", TRIAGE_BINDINGS),
    ("Conversation", CONVERSATION_BINDINGS + TAG_BINDINGS),
    ("Customer view", CUSTOMER_BINDINGS + TIMELINE_BINDINGS),
    ("Composer", COMPOSER_BINDINGS),
    ("Reports", REPORTS_BINDINGS),
    ("Mentions (@)", MENTIONS_BINDINGS),
    ("Outbox (O)", OUTBOX_BINDINGS + OUTBOX_EDIT_BINDINGS),
    (
        "Pickers and this help",
        PICK_BINDINGS + TAG_PROMPT_BINDINGS + ATTACH_BINDINGS + HELP_BINDINGS,
    ),
)
_BY_ID = {b.id: b for _title, bindings in HELP_SECTIONS for b in bindings if b.id}


def binding_ids() -> set[str]:
    """Every id a ``[keymap]`` may name."""
    return {b.id for _title, bindings in HELP_SECTIONS for b in bindings if b.id}


def unknown_keymap_ids(keymap: Mapping[str, str]) -> list[str]:
    """The ids in ``keymap`` that name no binding (a typo would otherwise do nothing)."""
    known = binding_ids()
    return [name for name in keymap if name not in known]


def keys_for(binding: Binding, keymap: Mapping[str, str]) -> str:
    """The keys that trigger ``binding`` once ``keymap`` is applied, for people."""
    keys = keymap.get(binding.id or "", binding.key)
    return ", ".join(_pretty(key.strip()) for key in keys.split(","))


def key_of(binding_id: str, keymap: Mapping[str, str]) -> str:
    """The first key that triggers binding ``binding_id`` once ``keymap`` is
    applied, for people: what a hint such as ``esc: cancel`` names."""
    keys = keymap.get(binding_id) or _BY_ID[binding_id].key
    return _pretty(keys.split(",")[0].strip())


_NAMES = {
    "question_mark": "?",
    "slash": "/",
    "escape": "esc",
    "enter": "enter",
    "asterisk": "*",
    "at": "@",
}


def _pretty(key: str) -> str:
    return _NAMES.get(key, key)
