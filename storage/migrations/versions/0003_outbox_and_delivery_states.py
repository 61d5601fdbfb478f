"""two states for a message, never mixed: ``outbox_state`` (ours, only for
messages composed in omnitui) and ``delivery_state`` + ``delivery_error``
(what the provider reports); the old ``status`` column held both, so
Twilio's "queued" read as "to be sent" and messages went out again

The data moves over by these rules: a received message has neither state;
an outbound message without an author came from the service (an echo, or
another tool's message) and keeps only its delivery state; one of ours
that the provider already took (it has its provider id) is ``sent`` in the
outbox, whatever word the provider used.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OURS = "direction = 'out' AND author IS NOT NULL"
PROVIDER_TOOK_IT = "(external_id IS NOT NULL AND channel <> 'email')"


def upgrade() -> None:
    # Plain ALTERs (both engines have them), not a batch copy of the table:
    # SQLite's copy would drop the full-text triggers on message.
    op.add_column("message", sa.Column("outbox_state", sa.String(), nullable=True))
    op.add_column("message", sa.Column("delivery_state", sa.String(), nullable=True))
    op.add_column("message", sa.Column("delivery_error", sa.String(), nullable=True))
    op.execute(
        f"""
        UPDATE message SET
          outbox_state = CASE
            WHEN NOT ({OURS}) THEN NULL
            WHEN status IN ('sent', 'delivered', 'read', 'undelivered') THEN 'sent'
            WHEN status = 'queued' AND {PROVIDER_TOOK_IT} THEN 'sent'
            WHEN status IN ('queued', 'sending', 'failed', 'unconfirmed') THEN status
            ELSE 'sent'
          END,
          delivery_state = CASE
            WHEN direction <> 'out' THEN NULL
            WHEN {OURS} AND status IN ('queued', 'sending', 'failed', 'unconfirmed')
              AND NOT (status = 'queued' AND {PROVIDER_TOOK_IT}) THEN NULL
            WHEN status IN ('queued', 'sent', 'delivered', 'read', 'undelivered', 'failed')
              THEN status
            ELSE NULL
          END
        WHERE direction = 'out'
        """
    )
    # An echo's error was the provider's report, not an outbox failure.
    op.execute(
        f"UPDATE message SET delivery_error = error, error = NULL "
        f"WHERE direction = 'out' AND NOT ({OURS}) AND error IS NOT NULL"
    )
    op.drop_index("ix_message_status", table_name="message")
    op.execute("ALTER TABLE message DROP COLUMN status")
    op.create_index(
        "ix_message_outbox",
        "message",
        ["outbox_state"],
        sqlite_where=sa.text("outbox_state IS NOT NULL"),
        postgresql_where=sa.text("outbox_state IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_message_outbox", table_name="message")
    op.add_column(
        "message",
        sa.Column("status", sa.String(), nullable=False, server_default="received"),
    )
    op.execute(
        "UPDATE message SET status = COALESCE(outbox_state, delivery_state, "
        "CASE WHEN direction = 'out' THEN 'sent' ELSE 'received' END)"
    )
    op.create_index("ix_message_status", "message", ["status"])
    op.drop_column("message", "delivery_error")
    op.drop_column("message", "delivery_state")
    op.drop_column("message", "outbox_state")
