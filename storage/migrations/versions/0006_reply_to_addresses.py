"""message.reply_to_addresses: a received e-mail's Reply-To addresses (a
JSON list), so a reply-all answers every one of them; before, only the
first was kept (as the conversation's address) unless the mail's bytes
were kept whole

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ALTER, not a batch copy (which would drop SQLite's full-text triggers)
    op.add_column("message", sa.Column("reply_to_addresses", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("message", "reply_to_addresses")
