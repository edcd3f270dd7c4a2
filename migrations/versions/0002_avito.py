"""avito chats, messages, applications, resumes; status history

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 14:54:48.393411
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "avito_applications",
        sa.Column("application_id", sa.Text(), nullable=False),
        sa.Column("vacancy_id", sa.BigInteger(), nullable=True),
        sa.Column("negotiation_id", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("is_viewed", sa.Boolean(), nullable=True),
        sa.Column("application_type", sa.Text(), nullable=True),
        sa.Column("chat_id", sa.Text(), nullable=True),
        sa.Column("resume_id", sa.Text(), nullable=True),
        sa.Column("applicant_id", sa.Text(), nullable=True),
        sa.Column("candidate_name", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("birthday", sa.Text(), nullable=True),
        sa.Column("citizenship", sa.Text(), nullable=True),
        sa.Column("gender", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_avito_applications")),
    )
    op.create_index(op.f("ix_avito_applications_chat_id"), "avito_applications", ["chat_id"], unique=False)
    op.create_index(op.f("ix_avito_applications_resume_id"), "avito_applications", ["resume_id"], unique=False)
    op.create_table(
        "avito_chats",
        sa.Column("chat_id", sa.Text(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_type", sa.Text(), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=True),
        sa.Column("item_title", sa.Text(), nullable=True),
        sa.Column("candidate_user_id", sa.BigInteger(), nullable=True),
        sa.Column("candidate_name", sa.Text(), nullable=True),
        sa.Column("parsing_allowed", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_message_text", sa.Text(), nullable=True),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_avito_chats")),
    )
    op.create_index(op.f("ix_avito_chats_item_id"), "avito_chats", ["item_id"], unique=False)
    op.create_table(
        "avito_resumes",
        sa.Column("resume_id", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("candidate_name", sa.Text(), nullable=True),
        sa.Column("salary_rub", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("experience_years", sa.Numeric(precision=5, scale=1), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("education", sa.Text(), nullable=True),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("gender", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=True),
        sa.Column("is_purchased", sa.Boolean(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("resume_id", name=op.f("pk_avito_resumes")),
    )
    op.create_table(
        "status_history",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("record_id", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_history")),
    )
    op.create_index(
        op.f("ix_status_history_source_entity_record_id_observed_at"),
        "status_history",
        ["source", "entity", "record_id", "observed_at"],
        unique=False,
    )
    op.create_table(
        "avito_messages",
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("chat_id", sa.Text(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=True),
        sa.Column("direction", sa.Text(), nullable=True),
        sa.Column("message_type", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_read", sa.Boolean(), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["avito_chats.chat_id"], name=op.f("fk_avito_messages_chat_id_avito_chats")
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_avito_messages")),
    )
    op.create_index(
        op.f("ix_avito_messages_chat_id_created_at"), "avito_messages", ["chat_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_avito_messages_chat_id_created_at"), table_name="avito_messages")
    op.drop_table("avito_messages")
    op.drop_index(op.f("ix_status_history_source_entity_record_id_observed_at"), table_name="status_history")
    op.drop_table("status_history")
    op.drop_table("avito_resumes")
    op.drop_index(op.f("ix_avito_chats_item_id"), table_name="avito_chats")
    op.drop_table("avito_chats")
    op.drop_index(op.f("ix_avito_applications_resume_id"), table_name="avito_applications")
    op.drop_index(op.f("ix_avito_applications_chat_id"), table_name="avito_applications")
    op.drop_table("avito_applications")
