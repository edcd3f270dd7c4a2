"""Bring the database schema to the newest Alembic revision (what every flow does first)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` in one transaction, under an advisory lock."""
    config = alembic_config()
    with engine.begin() as conn:
        # two processes starting at once must not both create the tables
        conn.exec_driver_sql("select pg_advisory_xact_lock(7412001)")
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
