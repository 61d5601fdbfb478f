"""The tables of the store (see DESIGN.md, "Data model").

Times are aware UTC datetimes everywhere (SQLModel refuses naive ones);
PostgreSQL keeps them as ``timestamptz``, SQLite as sortable UTC text.

Full-text search is not declared here: the FTS5 table (SQLite) and the
``tsvector`` column (PostgreSQL) are created by the migrations, because they
differ per engine and SQLAlchemy cannot describe either.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import (
    Column,
    Index,
    LargeBinary,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


class Customer(SQLModel, table=True):
    # The customer list walks this newest first; only customers still in
    # use (not merged into another) are in it.
    __table_args__ = (
        Index(
            "ix_customer_updated",
            "updated_at",
            "id",
            sqlite_where=text("merged_into_id IS NULL"),
            postgresql_where=text("merged_into_id IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    merged_into_id: int | None = Field(default=None, foreign_key="customer.id")
    version: int = 1


class Identity(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("channel", "address", name="uq_identity_channel_address"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    channel: str
    address: str
    display_name: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Conversation(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("account", "channel", "thread_key", name="uq_conversation_thread"),
        Index("ix_conversation_activity", "last_message_at"),
        Index("ix_conversation_status_activity", "status", "last_message_at"),
        Index("ix_conversation_assignee_activity", "assignee", "last_message_at"),
        # the views' counts of "mine" and "unassigned" (by assignee and status)
        Index("ix_conversation_assignee_status", "assignee", "status"),
        Index("ix_conversation_customer_activity", "customer_id", "last_message_at"),
        Index("ix_conversation_created", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    account: str
    channel: str
    # email: root Message-ID; sms/whatsapp: "ours|theirs"; chat: room/chat id
    thread_key: str
    our_address: str
    their_address: str
    subject: str | None = None
    status: str = "open"
    snoozed_until: datetime | None = None
    assignee: str | None = None
    last_message_at: datetime = Field(default_factory=utcnow)
    # the oldest customer message not yet answered; None when we spoke last
    waiting_since: datetime | None = None
    message_count: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    version: int = 1


class Message(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("account", "external_id", name="uq_message_account_external"),
        Index("ix_message_conversation_sent", "conversation_id", "sent_at"),
        Index("ix_message_customer_sent", "customer_id", "sent_at"),
        # only messages composed here have an outbox state: the index holds
        # those few, not the million received ones
        Index(
            "ix_message_outbox",
            "outbox_state",
            sqlite_where=text("outbox_state IS NOT NULL"),
            postgresql_where=text("outbox_state IS NOT NULL"),
        ),
        Index("ix_message_email_id", "account", "email_message_id"),
        Index("ix_message_sent", "sent_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    customer_id: int = Field(foreign_key="customer.id")
    account: str
    channel: str
    direction: str
    external_id: str | None = None
    # RFC 5322 Message-ID for email (threading); None on other channels
    email_message_id: str | None = None
    from_address: str
    to_address: str
    #: e-mail's To and Cc as JSON lists of addresses (None when the channel
    #: has no such headers); Bcc only on our own outbound messages, for the
    #: envelope of a retry: never shown as a header
    to_addresses: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    cc_addresses: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: a received e-mail's Reply-To addresses (JSON list): a reply-all's To
    reply_to_addresses: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    bcc_addresses: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: a forward: the id of the message it forwards (shown in that message's
    #: timeline). No foreign key: SQLite cannot add one to an existing table
    #: without copying it (which drops the full-text triggers)
    forwarded_from_id: int | None = Field(default=None, index=True)
    #: a WhatsApp template send: JSON {"name", "content_sid", "variables"}
    template: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    subject: str | None = None
    body_text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    body_html: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sent_at: datetime = Field(default_factory=utcnow)
    #: see OutboxState; None for everything not composed in omnitui
    outbox_state: str | None = None
    #: what the provider says became of an outbound message (DeliveryState
    #: in providers.base) and its error code and words
    delivery_state: str | None = None
    delivery_error: str | None = None
    #: the outbox's last failure (ours to show; never the provider's report)
    error: str | None = None
    attempts: int = 0
    author: str | None = None
    # outbox bookkeeping: when to try a transient failure again, and which
    # process started sending (a dead one leaves the message "unconfirmed")
    next_attempt_at: datetime | None = None
    sending_owner: str | None = None
    sending_since: datetime | None = None


class ReadMark(SQLModel, table=True):
    """How far an agent has read a conversation (for unread markers)."""

    __table_args__ = (UniqueConstraint("agent", "conversation_id", name="uq_readmark_agent_conv"),)

    id: int | None = Field(default=None, primary_key=True)
    agent: str
    conversation_id: int = Field(foreign_key="conversation.id")
    read_at: datetime = Field(default_factory=utcnow)


class Attachment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    filename: str
    content_type: str
    size: int
    sha256: str


class Blob(SQLModel, table=True):
    """Bytes kept in the store itself: the files of a queued message, so the
    poller sends the same bytes from any host (the data directory is one
    machine's)."""

    sha256: str = Field(primary_key=True)
    size: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Note(SQLModel, table=True):
    __table_args__ = (Index("ix_note_customer_created", "customer_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id")
    author: str
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class SyncState(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("account", "scope", name="uq_syncstate_account_scope"),)

    id: int | None = Field(default=None, primary_key=True)
    account: str
    # "" for the whole account; an IMAP folder name otherwise
    scope: str = ""
    cursor: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None


class AuditEvent(SQLModel, table=True):
    __table_args__ = (
        Index("ix_audit_customer_at", "customer_id", "at"),
        Index("ix_audit_conversation_at", "conversation_id", "at"),
        Index("ix_audit_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    actor: str
    action: str
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id")
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class ConversationTag(SQLModel, table=True):
    __table_args__ = (
        PrimaryKeyConstraint("conversation_id", "tag"),
        Index("ix_conversationtag_tag", "tag", "conversation_id"),
    )

    conversation_id: int = Field(foreign_key="conversation.id")
    tag: str
    created_at: datetime = Field(default_factory=utcnow)


class CustomerTag(SQLModel, table=True):
    __table_args__ = (
        PrimaryKeyConstraint("customer_id", "tag"),
        Index("ix_customertag_tag", "tag", "customer_id"),
    )

    customer_id: int = Field(foreign_key="customer.id")
    tag: str
    created_at: datetime = Field(default_factory=utcnow)


class Presence(SQLModel, table=True):
    """Who is viewing or composing where, for a few seconds at a time.

    Refreshed while true and read only while unexpired, so a killed console
    disappears by itself; never audited (it is not a change)."""

    __table_args__ = (
        PrimaryKeyConstraint("agent", "conversation_id", "activity"),
        Index("ix_presence_conversation", "conversation_id", "expires_at"),
    )

    agent: str
    conversation_id: int = Field(foreign_key="conversation.id")
    #: PresenceActivity: viewing | composing
    activity: str
    expires_at: datetime


class Mention(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("note_id", "agent", name="uq_mention_note_agent"),
        Index("ix_mention_agent_created", "agent", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    note_id: int = Field(foreign_key="note.id")
    agent: str
    created_at: datetime = Field(default_factory=utcnow)
    read_at: datetime | None = None


class AgentState(SQLModel, table=True):
    """One row per agent who has said anything about themself (away)."""

    agent: str = Field(primary_key=True)
    away_since: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class AlertSent(SQLModel, table=True):
    """An alert claimed for one agent: the insert is the claim, so two
    consoles of one agent (or a restart) never alert the same event twice."""

    __table_args__ = (PrimaryKeyConstraint("agent", "event_key"),)

    agent: str
    #: e.g. "message:123", "mention:7", "sla:45:first_response"
    event_key: str
    at: datetime = Field(default_factory=utcnow)


def _table(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


# Core handles on the tables, for set-wise statements (typed, unlike the
# model attributes, which mypy sees as plain values).
customer_t = _table(Customer)
identity_t = _table(Identity)
conversation_t = _table(Conversation)
message_t = _table(Message)
attachment_t = _table(Attachment)
note_t = _table(Note)
syncstate_t = _table(SyncState)
audit_t = _table(AuditEvent)
readmark_t = _table(ReadMark)
blob_t = _table(Blob)
conversation_tag_t = _table(ConversationTag)
customer_tag_t = _table(CustomerTag)
presence_t = _table(Presence)
mention_t = _table(Mention)
agent_state_t = _table(AgentState)
alert_sent_t = _table(AlertSent)
