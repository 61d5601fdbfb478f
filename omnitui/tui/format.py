"""Turning rows from the store into Rich ``Text`` for the console.

Everything that came from outside (names, subjects, bodies, addresses,
errors) goes through :func:`omnitui.text.clean_text` and is appended to a
``Text`` as plain content: markup in it (``[bold]``, ``[link=…]``) is shown
literally, never interpreted, and escape sequences never reach the terminal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.text import Text

from omnitui.events import describe_event, event_until
from omnitui.services.attachments import human_size
from omnitui.text import clean_text, first_line
from omnitui.tui.bindings import key_of
from omnitui.tui.clock import Clock
from providers.email_quote import fold_quoted
from storage.queries import ConversationRow, TimelineEntry
from storage.vocabulary import OUTBOX_NEEDS_PERSON

# Short text, not icons: readable in any font and over any SSH session.
BADGES = {"email": "EML", "sms": "SMS", "whatsapp": "WA", "telegram": "TG", "matrix": "MX"}
BADGE_STYLES = {
    "email": "bold blue",
    "sms": "bold green",
    "whatsapp": "bold cyan",
    "telegram": "bold magenta",
    "matrix": "bold yellow",
}
STATUS_STYLES = {
    "open": "bold",
    "pending": "yellow",
    "snoozed": "magenta",
    "resolved": "dim",
    "received": "dim",
    "queued": "yellow",
    "sending": "yellow",
    "sent": "green",
    "delivered": "green",
    "failed": "bold red",
    "unconfirmed": "bold magenta",
    "discarded": "dim strike",
}
#: Lines of a message body shown before it is folded (enter unfolds).
FOLDED_LINES = 8


def plain(value: str | None) -> str:
    """An outside string on one line, cleaned."""
    return clean_text(value, single_line=True)


#: Under NO_COLOR Textual greys every colour by its luminance, and blue or
#: magenta letters end up dark grey on a dark ground (1.3:1 for "TG"). Badges
#: then drop their colour and are drawn bold in the text's own colour: the
#: letters tell the channels apart. (Reversed blocks were tried: on the
#: highlighted row they fall to 2.3:1.) Set by the app.
PLAIN_BADGE_STYLE = "bold"
_plain_badges = False


def use_plain_badges(plain_badges: bool) -> None:
    """Draw badges without colour (the app calls this with ``App.no_color``)."""
    global _plain_badges
    _plain_badges = plain_badges


def badge(channel: str | None) -> Text:
    """A channel's short name, coloured (bold without colour under NO_COLOR).

    The style covers the label only, not the base style of the ``Text``: text
    appended after it (a search hit, a name) keeps the normal colours.
    """
    label = BADGES.get(channel or "", (channel or "?")[:3].upper())
    style = PLAIN_BADGE_STYLE if _plain_badges else BADGE_STYLES.get(channel or "", "bold")
    text = Text()
    text.append(label, style=style)
    return text


def status_text(status: str | None) -> Text:
    return Text(status or "", style=STATUS_STYLES.get(status or "", ""))


def duration(delta: timedelta) -> str:
    """A compact age: ``now``, ``12m``, ``3h``, ``2d``, ``5w``."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    if seconds < 86400 * 14:
        return f"{seconds // 86400}d"
    return f"{seconds // (86400 * 7)}w"


def waiting(clock: Clock, since: datetime | None) -> Text:
    """How long the customer has waited for an answer ("" when we spoke last)."""
    if since is None:
        return Text("")
    delta = clock.now() - since
    style = (
        "bold red" if delta >= timedelta(hours=24) else "yellow" if delta >= timedelta(0) else ""
    )
    return Text(duration(delta), style=style)


def stamp(clock: Clock, at: datetime, *, long: bool = False) -> str:
    """A time for a list (``09:05`` today, else ``Mar 02``) or for a timeline entry."""
    local, today = clock.local(at), clock.local(clock.now())
    if long:
        return local.strftime("%a %d %b %Y %H:%M")
    return local.strftime("%H:%M") if local.date() == today.date() else local.strftime("%b %d")


def summary(row: ConversationRow) -> str:
    """A conversation in one line: its subject, else the newest message's first line."""
    return plain(row.subject) or first_line(row.preview, 200)


#: Shown by every conversation that has a draft (inbox rows, customer header).
DRAFT_MARK = "✎"


def inbox_cells(row: ConversationRow, clock: Clock, *, draft: bool = False) -> tuple[Text, ...]:
    """The cells of one inbox row, in the order of :data:`INBOX_COLUMNS`
    (``draft``: the agent has a draft there, marked before the subject)."""
    about = Text(summary(row)[:120], style="bold" if row.unread else "")
    if draft:
        about = Text.assemble((f"{DRAFT_MARK} ", "bold yellow"), about)
    return (
        Text("*", style="bold") if row.unread else Text(" "),
        badge(row.channel),
        waiting(clock, row.waiting_since),
        Text(plain(row.customer_name)[:24], style="bold" if row.unread else ""),
        status_text(row.status),
        Text(plain(row.assignee)[:12] or "-", style="" if row.assignee else "dim"),
        Text(stamp(clock, row.last_message_at)),
        about,
    )


INBOX_COLUMNS = (
    ("unread", " "),
    ("channel", "Ch"),
    ("waiting", "Wait"),
    ("customer", "Customer"),
    ("status", "Status"),
    ("assignee", "Assignee"),
    ("last", "Last"),
    ("summary", "Subject / message"),
)


def thread_header(conv: ConversationRow | None, channel: str | None, width: int) -> Text:
    """The rule shown where the timeline moves to another conversation."""
    text = Text()
    text.append("── ", style="dim")  # a span, not the base style: the subject is not dim
    text.append_text(badge(channel))
    if conv is not None:
        label = plain(conv.subject) if conv.channel == "email" else plain(conv.their_address)
        text.append(f" {label or '(no subject)'}", style="bold")
        text.append(f"  #{conv.id} {conv.status}", style="dim")
        if conv.assignee:
            text.append(f" · {plain(conv.assignee)}", style="dim")
    text.append(" ")
    if len(text) < width:
        text.append("─" * (width - len(text)), style="dim")
    return text


def _body_lines(body: str, expanded: bool, unfold: str = "enter") -> tuple[list[str], str]:
    """The lines to show and, when some are hidden, what the fold says
    (``unfold``: the key that shows them)."""
    text = clean_text(body).rstrip()
    if expanded:
        return text.splitlines() or [""], ""
    # fold quoted history and signatures (kept in the store): enter shows them
    new, history = fold_quoted(text)
    lines = new.rstrip().splitlines() or [""]
    if len(lines) > FOLDED_LINES:
        more = len(lines) - FOLDED_LINES
        return lines[:FOLDED_LINES], f"… {more} more lines ({unfold} shows all)"
    return lines, f"… quoted text hidden ({unfold} shows it)" if history.strip() else ""


def words_pattern(terms: Sequence[str]) -> re.Pattern[str] | None:
    """What search found: each term as the start of a word (search matches prefixes)."""
    words = [t for t in terms if t.strip()]
    if not words:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(t) for t in words) + r")\w*", re.IGNORECASE)


class Hanging(Text):
    """A ``Text`` whose long lines wrap under their own indent (a body line that
    wraps continues under the body, not at column 0).

    Rich has no hanging indent, and pre-wrapping would tie the text to one
    width; this wraps when drawn, at the width it is drawn at. Textual asks a
    prompt for ``visualize()`` before treating it as a plain ``Text``.
    """

    def visualize(self, *_: object) -> RenderableType:
        return _HangingRender(self)


class _HangingRender:
    def __init__(self, text: Text) -> None:
        self.text = text

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.text)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        lines: list[Text] = []
        for line in self.text.split("\n", allow_blank=True):
            indent = len(line.plain) - len(line.plain.lstrip(" "))
            if not indent or indent * 2 >= width or line.cell_len <= width:
                lines.extend(line.wrap(console, width))
                continue
            for part in line[indent:].wrap(console, width - indent):
                lines.append(Text(" " * indent) + part)
        shown = Text("\n").join(lines)
        shown.no_wrap = True
        yield shown


def _recipients(text: Text, entry: TimelineEntry) -> None:
    """An e-mail's "To: …  Cc: …" line (and "Bcc: …" on our own message, whose
    entry carries it only for its author), and where the message was forwarded."""
    parts = [
        f"{label}: {', '.join(plain(a) for a in found)}"
        for label, found in (
            ("To", entry.to_addresses),
            ("Cc", entry.cc_addresses),
            ("Bcc", entry.bcc_addresses),
        )
        if found
    ]
    if parts and entry.channel == "email":
        text.append("\n    " + "  ".join(parts), style="dim")
    if entry.forwarded_from_id is not None:
        text.append(f"\n    forwards message {entry.forwarded_from_id}", style="dim italic")
    for sent in entry.forwards:
        text.append(
            f"\n    forwarded to {plain(sent.to)} by {plain(sent.author) or '?'}",
            style="dim italic",
        )


def entry_text(
    entry: TimelineEntry,
    customer: str,
    clock: Clock,
    *,
    expanded: bool = False,
    found: re.Pattern[str] | None = None,
    keys: Mapping[str, str] | None = None,
) -> Text:
    """One message or note of the timeline: a head line, then the body, with
    the words of ``found`` (a search hit) highlighted; ``keys`` is the
    ``[keymap]`` in force (the hints name its keys)."""
    text = Hanging()
    when = stamp(clock, entry.at, long=True)
    if entry.kind == "event":  # who changed what: one quiet line, placed by its time
        what = describe_event(entry.action or "", entry.detail)
        text.append(f" · {plain(entry.author)} {plain(what)}", style="dim italic")
        if (until := event_until(entry.detail)) is not None:
            text.append(f" until {stamp(clock, until, long=True)}", style="dim italic")
        if entry.conversation_id:
            text.append(f" (#{entry.conversation_id})", style="dim")
        return text
    if entry.kind == "note":
        text.append(" NOTE ", style="bold reverse yellow")
        text.append(f" {plain(entry.author) or '?'} (internal, not sent)", style="yellow")
        text.append(f"  {when}", style="dim")
        body_style = "italic yellow"
    else:
        text.append_text(badge(entry.channel))
        if entry.direction == "in":
            text.append("  in  ", style="bold")
            text.append(plain(customer) or plain(entry.from_address), style="bold")
            text.append(f" <{plain(entry.from_address)}>", style="dim")
        else:
            text.append("  out ", style="bold")
            text.append(plain(entry.author) or "us", style="bold")
            text.append(f" -> {plain(entry.to_address)}", style="dim")
        text.append(f"  {when}  ", style="dim")
        text.append_text(status_text(entry.status))
        body_style = "dim strike" if entry.status == "discarded" else ""
        _recipients(text, entry)
    lines, fold = _body_lines(entry.body, expanded, key_of("timeline.toggle", keys or {}))
    for line in lines:
        text.append("\n    ")
        shown = Text(line, style=body_style)
        if found is not None:
            shown.highlight_regex(found, style="bold reverse")
        text.append_text(shown)
    if fold:
        text.append(f"\n    {fold}", style="dim")
    for file in entry.attachments:
        text.append(f"\n    + {plain(file.filename)}", style="cyan")
        text.append(f"  {plain(file.content_type)}, {human_size(file.size)}", style="dim")
    if entry.attachments:
        text.append(f"  ({key_of('message.save_attachments', keys or {})} saves)", style="dim")
    if entry.error and entry.status in OUTBOX_NEEDS_PERSON:
        text.append(f"\n    ! {plain(entry.error)}", style="bold red")
        text.append(f"  ({key_of('message.retry', keys or {})} retries)", style="dim")
    elif entry.delivery_error:
        text.append(f"\n    ! {plain(entry.delivery_error)}", style="bold red")
    return text
