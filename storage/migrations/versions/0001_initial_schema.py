"""initial schema, with full-text search over messages and notes

SQLite: FTS5 tables kept by triggers (external content, so text is stored
once). PostgreSQL: generated tsvector columns with GIN indexes. The 'simple'
configuration and unicode61 tokenizer do no stemming: customers write in
many languages.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 14:13:24.070672
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


SQLITE_FTS = [
    "CREATE VIRTUAL TABLE message_fts USING fts5(subject, body_text, content='message', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER message_fts_ai AFTER INSERT ON message BEGIN "
    "INSERT INTO message_fts(rowid, subject, body_text) "
    "VALUES (new.id, new.subject, new.body_text); END",
    "CREATE TRIGGER message_fts_ad AFTER DELETE ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, subject, body_text) "
    "VALUES ('delete', old.id, old.subject, old.body_text); END",
    "CREATE TRIGGER message_fts_au AFTER UPDATE OF subject, body_text ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, subject, body_text) "
    "VALUES ('delete', old.id, old.subject, old.body_text); "
    "INSERT INTO message_fts(rowid, subject, body_text) "
    "VALUES (new.id, new.subject, new.body_text); END",
    "CREATE VIRTUAL TABLE note_fts USING fts5(body, content='note', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER note_fts_ai AFTER INSERT ON note BEGIN "
    "INSERT INTO note_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER note_fts_ad AFTER DELETE ON note BEGIN "
    "INSERT INTO note_fts(note_fts, rowid, body) VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER note_fts_au AFTER UPDATE OF body ON note BEGIN "
    "INSERT INTO note_fts(note_fts, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO note_fts(rowid, body) VALUES (new.id, new.body); END",
]

POSTGRES_FTS = [
    "ALTER TABLE message ADD COLUMN search tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple', coalesce(subject, '') || ' ' || body_text)) STORED",
    "CREATE INDEX ix_message_search ON message USING gin (search)",
    "ALTER TABLE note ADD COLUMN search tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple', body)) STORED",
    "CREATE INDEX ix_note_search ON note USING gin (search)",
]


def _create_search() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_FTS if dialect == "sqlite" else POSTGRES_FTS:
        op.execute(statement)


def _drop_search() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("message_fts", "note_fts"):
            op.execute(f"DROP TABLE IF EXISTS {name}")


def upgrade() -> None:
    op.create_table(
        "customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_merged_into_id"), ["merged_into_id"], unique=False
        )

    op.create_table(
        "syncstate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account", "scope", name="uq_syncstate_account_scope"),
    )
    op.create_table(
        "conversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("thread_key", sa.String(), nullable=False),
        sa.Column("our_address", sa.String(), nullable=False),
        sa.Column("their_address", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assignee", sa.String(), nullable=True),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account", "channel", "thread_key", name="uq_conversation_thread"),
    )
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.create_index("ix_conversation_activity", ["last_message_at"], unique=False)
        batch_op.create_index(
            "ix_conversation_assignee_activity", ["assignee", "last_message_at"], unique=False
        )
        batch_op.create_index(
            "ix_conversation_customer_activity", ["customer_id", "last_message_at"], unique=False
        )
        batch_op.create_index(
            "ix_conversation_status_activity", ["status", "last_message_at"], unique=False
        )

    op.create_table(
        "identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("display_name", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "address", name="uq_identity_channel_address"),
    )
    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "auditevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("auditevent", schema=None) as batch_op:
        batch_op.create_index("ix_audit_conversation_at", ["conversation_id", "at"], unique=False)
        batch_op.create_index("ix_audit_customer_at", ["customer_id", "at"], unique=False)

    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=True),
        sa.Column("email_message_id", sa.String(), nullable=True),
        sa.Column("from_address", sa.String(), nullable=False),
        sa.Column("to_address", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=True),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sending_owner", sa.String(), nullable=True),
        sa.Column("sending_since", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account", "external_id", name="uq_message_account_external"),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_message_conversation_sent", ["conversation_id", "sent_at"], unique=False
        )
        batch_op.create_index("ix_message_customer_sent", ["customer_id", "sent_at"], unique=False)
        batch_op.create_index("ix_message_email_id", ["account", "email_message_id"], unique=False)
        batch_op.create_index("ix_message_status", ["status"], unique=False)

    op.create_table(
        "note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.create_index(
            "ix_note_customer_created", ["customer_id", "created_at"], unique=False
        )

    op.create_table(
        "readmark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agent", "conversation_id", name="uq_readmark_agent_conv"),
    )
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("content_type", sa.String(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachment_message_id"), ["message_id"], unique=False)

    _create_search()


def downgrade() -> None:
    _drop_search()
    op.drop_table("readmark")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachment_message_id"))

    op.drop_table("attachment")
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.drop_index("ix_note_customer_created")

    op.drop_table("note")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_status")
        batch_op.drop_index("ix_message_email_id")
        batch_op.drop_index("ix_message_customer_sent")
        batch_op.drop_index("ix_message_conversation_sent")

    op.drop_table("message")
    with op.batch_alter_table("auditevent", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_customer_at")
        batch_op.drop_index("ix_audit_conversation_at")

    op.drop_table("auditevent")
    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_customer_id"))

    op.drop_table("identity")
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_status_activity")
        batch_op.drop_index("ix_conversation_customer_activity")
        batch_op.drop_index("ix_conversation_assignee_activity")
        batch_op.drop_index("ix_conversation_activity")

    op.drop_table("conversation")
    op.drop_table("syncstate")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_merged_into_id"))

    op.drop_table("customer")
