"""What each command prints with ``--json``: one document type per kind of
result, each a dataclass that :func:`omnitui.cli.output.to_jsonable` (the one
serializer) writes field by field, so a document has one schema whatever the
data: a value that does not apply is ``null``, never a missing key.

Most documents are the read paths' rows as they are (``CustomerRow``,
``SearchHit``, ``OutboxRow``, ``NoteRow``, ...). The types here are the
results no single row holds; each is made by one function (``of``), so a
command never builds a document key by key. ``tests/test_cli_json_schema.py``
pins every command's keys and types, on both engines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import TYPE_CHECKING

from omnitui.cli.output import JSON_NAME, ErrorInfo
from omnitui.text import first_line

if TYPE_CHECKING:
    from omnitui.services.entries import EntryId
    from omnitui.services.staleness import Entry, Stale
    from omnitui.services.sync import SyncReport
    from storage.queries import (
        AttachmentRow,
        AuditRow,
        ConversationRow,
        CustomerRow,
        IdentityRow,
        OutgoingMessage,
        TimelineEntry,
    )
    from storage.reports import Report

#: how much of the newest message a conversation's ``preview`` gives
PREVIEW_WIDTH = 200


def conversation(row: ConversationRow) -> ConversationRow:
    """A conversation as listed: the row, with ``preview`` the first line of
    the newest message that is not quoted history, cleaned (the row holds the
    start of the message as stored)."""
    return replace(row, preview=first_line(row.preview, PREVIEW_WIDTH))


@dataclass(frozen=True)
class CustomerDetail:
    """``customers show``: the customer (the keys of ``customers list``), their
    conversations, the timeline of messages and notes, and who changed what."""

    id: int
    name: str
    identities: tuple[IdentityRow, ...]
    open_conversations: int
    last_message_at: datetime | None
    merged_into_id: int | None
    conversations: tuple[ConversationRow, ...]
    timeline: tuple[TimelineEntry, ...]
    audit: tuple[AuditRow, ...]

    @classmethod
    def of(
        cls,
        customer: CustomerRow,
        conversations: list[ConversationRow],
        timeline: list[TimelineEntry],
        audit: list[AuditRow],
    ) -> CustomerDetail:
        own = {f.name: getattr(customer, f.name) for f in fields(customer)}
        return cls(
            **own,
            conversations=tuple(conversation(c) for c in conversations),
            timeline=tuple(timeline),
            audit=tuple(audit),
        )


@dataclass(frozen=True)
class Outgoing:
    """``send``, ``reply`` and the ``outbox`` commands that act on one message:
    the message with both its states (``status`` is the word shown to people).

    ``deferred``: why this process did not send it (it stays queued for the
    poller), else ``null``. ``segments`` and ``encoding``: what an SMS text
    costs (``null`` on other channels, WhatsApp included: it has no segments).
    ``template``: the WhatsApp template sent (``name``, ``content_sid``,
    ``variables``), else ``null``. ``files``: the files sent with it (name,
    type, size, SHA-256)."""

    id: int
    conversation_id: int
    customer_id: int
    account: str
    channel: str
    to: str
    status: str
    outbox_state: str | None
    delivery_state: str | None
    delivery_error: str | None
    external_id: str | None
    error: str | None
    attempts: int
    #: e-mail's Cc and Bcc (``[]`` elsewhere); the forwarded message's id, if a forward
    cc: tuple[str, ...]
    bcc: tuple[str, ...]
    forwarded_from_id: int | None
    deferred: str | None
    segments: int | None
    encoding: str | None
    template: dict[str, object] | None = None
    files: tuple[AttachmentRow, ...] = ()

    @classmethod
    def of(
        cls,
        message: OutgoingMessage,
        *,
        deferred: str | None = None,
        files: tuple[AttachmentRow, ...] = (),
    ) -> Outgoing:
        import json

        from omnitui.segments import segments_for

        segments = encoding = None
        if (count := segments_for(message.channel, message.body)) is not None:
            segments, encoding = count.segments, count.encoding
        skip = ("body", "template")
        own = {f.name: getattr(message, f.name) for f in fields(message) if f.name not in skip}
        template = json.loads(message.template) if message.template else None
        return cls(
            **own,
            deferred=deferred,
            segments=segments,
            encoding=encoding,
            template=template,
            files=files,
        )


@dataclass(frozen=True)
class SyncRound:
    """``sync --once``: what one round did for one account (``held_by``: the
    process that polls it instead, when another one does)."""

    account: str
    ok: bool
    stored: int
    duplicates: int
    new_customers: int
    status_updates: int
    sent: int
    send_failed: int
    error: str | None
    held_by: str | None

    @classmethod
    def of(cls, report: SyncReport) -> SyncRound:
        return cls(
            account=report.account,
            ok=report.ok,
            stored=report.stored,
            duplicates=report.duplicates,
            new_customers=report.new_customers,
            status_updates=report.status_updates,
            sent=report.sent,
            send_failed=report.send_failed,
            error=report.error,
            held_by=report.held_by,
        )


@dataclass(frozen=True)
class ReportDocument:
    """``report``: the period, the clock of its times (``wall`` or the business
    hours), and per channel and per agent the figures of
    :meth:`storage.reports.Figures.summary` (the one mapping both faces show)."""

    since: datetime
    now: datetime
    clock: str
    by_channel: dict[str, dict[str, object]]
    by_agent: dict[str, dict[str, object]]

    @classmethod
    def of(cls, report: Report) -> ReportDocument:
        return cls(
            since=report.since,
            now=report.now,
            clock=report.clock,
            by_channel={k: v.summary() for k, v in sorted(report.by_channel.items())},
            by_agent={k: v.summary() for k, v in sorted(report.by_agent.items())},
        )


@dataclass(frozen=True)
class SavedAttachment:
    """``attachments save``: the attachment, the file it was written to, its size."""

    id: int
    path: str
    size: int


@dataclass(frozen=True)
class Written:
    """``init``: the config file written."""

    path: str


@dataclass(frozen=True)
class Upgrade:
    """``db upgrade``: the store (its URL redacted) and its schema revision
    before (``null`` for an empty store) and after."""

    url: str
    from_revision: str | None = field(metadata={JSON_NAME: "from"})
    to_revision: str | None = field(metadata={JSON_NAME: "to"})


@dataclass
class DatabaseCheck:
    """``doctor``'s check of the store: ``revision``, ``head`` and ``engine``
    are ``null`` when it could not be opened."""

    url: str
    ok: bool = True
    error: str | None = None
    revision: str | None = None
    head: str | None = None
    engine: str | None = None


@dataclass
class AccountCheck:
    """``doctor``'s check of one account: its secrets (redacted; empty when
    they could not be read), the provider's own check, and what the store
    knows of its polls (``null`` and empty when the store could not be read)."""

    name: str
    kind: str
    ok: bool = True
    error: str | None = None
    secrets: dict[str, str] = field(default_factory=dict)
    check: str | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    outbox: dict[str, int] = field(default_factory=dict)


@dataclass
class DoctorReport:
    """``doctor``: the config file (``null``: none, defaults), the agent, the
    store, each account, and whether all is well."""

    config: str | None
    agent: str
    database: DatabaseCheck
    accounts: list[AccountCheck] = field(default_factory=list)
    ok: bool = True


@dataclass(frozen=True)
class WhatsAppWindow:
    """Whether WhatsApp takes free-form text on a conversation now: ``open``
    until ``until`` (24 hours after ``last_inbound_at``, the customer's last
    message; both ``null`` when they never wrote)."""

    open: bool
    until: datetime | None
    last_inbound_at: datetime | None


@dataclass(frozen=True)
class ConversationDetail:
    """``conversations show``: the conversation (the keys of ``conversations
    list``) and ``latest_entry``, the newest entry of its customer's timeline
    (``message:ID`` or ``note:ID``; what ``reply --if-latest`` takes; ``null``
    when there is none); on WhatsApp ``whatsapp_window``, whether free-form
    replies go now (else ``null``); and ``timeline``: its messages and notes,
    each e-mail with its To and Cc (and Bcc, on our own messages shown to
    their author)."""

    id: int
    customer_id: int
    customer_name: str
    account: str
    channel: str
    subject: str | None
    preview: str
    status: str
    assignee: str | None
    last_message_at: datetime
    waiting_since: datetime | None
    message_count: int
    snoozed_until: datetime | None
    version: int
    their_address: str
    unread: bool
    tags: tuple[str, ...]
    customer_tags: tuple[str, ...]
    latest_entry: str | None
    whatsapp_window: WhatsAppWindow | None = None
    timeline: tuple[TimelineEntry, ...] = ()

    @classmethod
    def of(
        cls,
        row: ConversationRow,
        latest: EntryId | None,
        window: WhatsAppWindow | None = None,
        timeline: Sequence[TimelineEntry] = (),
    ) -> ConversationDetail:
        shown = conversation(row)
        own = {f.name: getattr(shown, f.name) for f in fields(shown)}
        latest_entry = str(latest) if latest is not None else None
        return cls(
            **own, latest_entry=latest_entry, whatsapp_window=window, timeline=tuple(timeline)
        )


@dataclass(frozen=True)
class NewerEntry:
    """An entry newer than the one a reply was written against (``entry``:
    its id as ``--if-latest`` takes it; ``direction`` and ``status`` only
    for messages)."""

    entry: str
    kind: str
    id: int
    who: str
    at: datetime
    preview: str
    direction: str | None
    status: str | None

    @classmethod
    def of(cls, entry: Entry) -> NewerEntry:
        return cls(
            entry.entry,
            entry.kind,
            entry.id,
            entry.who,
            entry.at,
            entry.preview,
            entry.direction,
            entry.status,
        )


@dataclass(frozen=True)
class StaleRefusal:
    """``reply --if-latest`` refused (exit 3): the error object of every failed
    command, the entry given, the newest one now, and what is newer, oldest
    first. Nothing was queued."""

    error: ErrorInfo
    seen: str
    latest_entry: str | None
    newer: tuple[NewerEntry, ...]

    @classmethod
    def of(cls, stale: Stale, *, message: str, code: int) -> StaleRefusal:
        return cls(
            ErrorInfo(message, code, "stale"),
            str(stale.seen),
            str(stale.latest) if stale.latest is not None else None,
            tuple(NewerEntry.of(e) for e in stale.newer),
        )
