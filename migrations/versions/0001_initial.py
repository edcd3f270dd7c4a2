"""initial tables: employers, vacancies, cursors, quarantine, run log

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 14:26:36.533345
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "employers",
        sa.Column("employer_key", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_id", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("canonical_name", sa.Text(), nullable=False),
        sa.Column("is_anonymous", sa.Boolean(), nullable=False),
        sa.Column("trusted", sa.Boolean(), nullable=True),
        sa.Column("accredited_it", sa.Boolean(), nullable=True),
        sa.Column("alternate_url", sa.Text(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("employer_key", name=op.f("pk_employers")),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("record_id", sa.Text(), nullable=True),
        sa.Column("stage", sa.Text(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("quarantined_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    op.create_index(op.f("ix_quarantine_entity_record_id"), "quarantine", ["entity", "record_id"], unique=False)
    op.create_table(
        "run_log",
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("flow", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("api_calls", sa.Integer(), nullable=True),
        sa.Column("counts", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_run_log")),
    )
    op.create_table(
        "sync_cursors",
        sa.Column("stream", sa.Text(), nullable=False),
        sa.Column("position", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("stream", name=op.f("pk_sync_cursors")),
    )
    op.create_table(
        "vacancies",
        sa.Column("vacancy_id", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("employer_key", sa.Text(), nullable=False),
        sa.Column("area_id", sa.Text(), nullable=True),
        sa.Column("area_name", sa.Text(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("vacancy_type", sa.Text(), nullable=True),
        sa.Column("experience", sa.Text(), nullable=True),
        sa.Column("employment_form", sa.Text(), nullable=True),
        sa.Column("schedule", sa.Text(), nullable=True),
        sa.Column("professional_role_ids", sa.ARRAY(sa.Text()), nullable=True),
        sa.Column("key_skills", sa.ARRAY(sa.Text()), nullable=True),
        sa.Column("salary_from", sa.Numeric(), nullable=True),
        sa.Column("salary_to", sa.Numeric(), nullable=True),
        sa.Column("salary_currency", sa.Text(), nullable=True),
        sa.Column("salary_gross", sa.Boolean(), nullable=True),
        sa.Column("salary_mode", sa.Text(), nullable=True),
        sa.Column("salary_frequency", sa.Text(), nullable=True),
        sa.Column("salary_from_rub_gross", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("salary_to_rub_gross", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("salary_from_rub_net", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("salary_to_rub_net", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("alternate_url", sa.Text(), nullable=True),
        sa.Column("search_hash", sa.Text(), nullable=False),
        sa.Column("detail_fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["employer_key"], ["employers.employer_key"], name=op.f("fk_vacancies_employer_key_employers")
        ),
        sa.PrimaryKeyConstraint("vacancy_id", name=op.f("pk_vacancies")),
    )
    op.create_index(op.f("ix_vacancies_employer_key"), "vacancies", ["employer_key"], unique=False)
    op.create_index(op.f("ix_vacancies_published_at"), "vacancies", ["published_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_vacancies_published_at"), table_name="vacancies")
    op.drop_index(op.f("ix_vacancies_employer_key"), table_name="vacancies")
    op.drop_table("vacancies")
    op.drop_table("sync_cursors")
    op.drop_table("run_log")
    op.drop_index(op.f("ix_quarantine_entity_record_id"), table_name="quarantine")
    op.drop_table("quarantine")
    op.drop_table("employers")
