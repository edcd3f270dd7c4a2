"""quarantine: record meta, fetch time, re-processing time; index on rule

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 15:03:32.439239
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("quarantine", sa.Column("meta", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("quarantine", sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("quarantine", sa.Column("reprocessed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_quarantine_entity_rule"), "quarantine", ["entity", "rule"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_quarantine_entity_rule"), table_name="quarantine")
    op.drop_column("quarantine", "reprocessed_at")
    op.drop_column("quarantine", "fetched_at")
    op.drop_column("quarantine", "meta")
