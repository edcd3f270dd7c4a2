"""hh negotiations and their messages

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 17:13:44.211702
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hh_negotiation_messages",
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("negotiation_id", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_hh_negotiation_messages")),
    )
    op.create_index(
        op.f("ix_hh_negotiation_messages_negotiation_id"), "hh_negotiation_messages", ["negotiation_id"], unique=False
    )
    op.create_table(
        "hh_negotiations",
        sa.Column("negotiation_id", sa.Text(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("vacancy_id", sa.Text(), nullable=True),
        sa.Column("resume_id", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("has_updates", sa.Boolean(), nullable=True),
        sa.Column("viewed_by_opponent", sa.Boolean(), nullable=True),
        sa.Column("messages_count", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("negotiation_id", name=op.f("pk_hh_negotiations")),
    )
    op.create_index(op.f("ix_hh_negotiations_vacancy_id"), "hh_negotiations", ["vacancy_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_hh_negotiations_vacancy_id"), table_name="hh_negotiations")
    op.drop_table("hh_negotiations")
    op.drop_index(op.f("ix_hh_negotiation_messages_negotiation_id"), table_name="hh_negotiation_messages")
    op.drop_table("hh_negotiation_messages")
