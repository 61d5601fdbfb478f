"""indexes for time windows: messages by sent_at, conversations by
created_at, audit events by time; customers by last update (the list),
only those not merged away, instead of the index on merged_into_id (which
SQLite took for the list's "merged_into_id IS NULL" and then sorted every
customer)

Reports count the messages and the conversations of a period; without
these, each report read the whole message table (seconds at a million).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 15:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_message_sent", "message", ["sent_at"])
    op.create_index("ix_conversation_created", "conversation", ["created_at"])
    op.create_index("ix_audit_at", "auditevent", ["at"])
    with op.batch_alter_table("customer") as batch_op:
        batch_op.drop_index("ix_customer_merged_into_id")
    op.create_index(
        "ix_customer_updated",
        "customer",
        ["updated_at", "id"],
        sqlite_where=sa.text("merged_into_id IS NULL"),
        postgresql_where=sa.text("merged_into_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_customer_updated", table_name="customer")
    op.create_index("ix_customer_merged_into_id", "customer", ["merged_into_id"])
    op.drop_index("ix_audit_at", table_name="auditevent")
    op.drop_index("ix_conversation_created", table_name="conversation")
    op.drop_index("ix_message_sent", table_name="message")
