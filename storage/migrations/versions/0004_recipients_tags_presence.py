"""the schema of the channels, triage and team round (issues 16, 17, 18),
in one step so the three land without racing for revision numbers:

- message: To/Cc (and our own Bcc) as JSON lists, the message a forward
  forwards, a WhatsApp template send; ``blob``: the bytes of a queued
  message's files, in the store so any host's poller sends the same bytes
- ``conversationtag`` / ``customertag``: tags, indexed by tag for the query
  language's ``tag:`` term
- ``presence`` (expiring viewing/composing rows), ``mention``,
  ``agentstate`` (away), ``alertsent`` (an alert claimed once per agent)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTERs, not a batch copy: SQLite's copy would drop the full-text
    # triggers on message (hence no foreign key on forwarded_from_id).
    for name in ("to_addresses", "cc_addresses", "bcc_addresses", "template"):
        op.add_column("message", sa.Column(name, sa.Text(), nullable=True))
    op.add_column("message", sa.Column("forwarded_from_id", sa.Integer(), nullable=True))
    op.create_index("ix_message_forwarded_from_id", "message", ["forwarded_from_id"])

    op.create_table(
        "blob",
        sa.Column("sha256", sa.String(), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "conversationtag",
        sa.Column(
            "conversation_id", sa.Integer(), sa.ForeignKey("conversation.id"), nullable=False
        ),
        sa.Column("tag", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", "tag"),
    )
    op.create_index("ix_conversationtag_tag", "conversationtag", ["tag", "conversation_id"])
    op.create_table(
        "customertag",
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customer.id"), nullable=False),
        sa.Column("tag", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "tag"),
    )
    op.create_index("ix_customertag_tag", "customertag", ["tag", "customer_id"])
    op.create_table(
        "presence",
        sa.Column("agent", sa.String(), nullable=False),
        sa.Column(
            "conversation_id", sa.Integer(), sa.ForeignKey("conversation.id"), nullable=False
        ),
        sa.Column("activity", sa.String(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agent", "conversation_id", "activity"),
    )
    op.create_index("ix_presence_conversation", "presence", ["conversation_id", "expires_at"])
    op.create_table(
        "mention",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("note_id", sa.Integer(), sa.ForeignKey("note.id"), nullable=False),
        sa.Column("agent", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("note_id", "agent", name="uq_mention_note_agent"),
    )
    op.create_index("ix_mention_agent_created", "mention", ["agent", "created_at"])
    op.create_table(
        "agentstate",
        sa.Column("agent", sa.String(), primary_key=True),
        sa.Column("away_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "alertsent",
        sa.Column("agent", sa.String(), nullable=False),
        sa.Column("event_key", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agent", "event_key"),
    )


def downgrade() -> None:
    for table in (
        "alertsent",
        "agentstate",
        "mention",
        "presence",
        "customertag",
        "conversationtag",
        "blob",
    ):
        op.drop_table(table)
    op.drop_index("ix_message_forwarded_from_id", table_name="message")
    for name in ("forwarded_from_id", "template", "bcc_addresses", "cc_addresses", "to_addresses"):
        op.drop_column("message", name)
