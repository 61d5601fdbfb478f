"""indexes for time windows: messages by sent_at, conversations by
created_at, audit events by time

Reports count the messages and the conversations of a period; without
these, each report read the whole message table (seconds at a million).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 15:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_message_sent", "message", ["sent_at"])
    op.create_index("ix_conversation_created", "conversation", ["created_at"])
    op.create_index("ix_audit_at", "auditevent", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_at", table_name="auditevent")
    op.drop_index("ix_conversation_created", table_name="conversation")
    op.drop_index("ix_message_sent", table_name="message")
