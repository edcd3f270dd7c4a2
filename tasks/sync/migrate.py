"""Bring the database schema to the newest Alembic revision (what every flow does first)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from tasks.analytics.views import create_views, drop_views

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


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
        if _pending(conn, config, revision):
            drop_views(conn)  # PostgreSQL refuses to alter or drop columns that views read
        command.upgrade(config, revision)
        # the analytics views derive from the newest tables: (re)created by every upgrade to head
        if revision == "head":
            create_views(conn)


def _pending(conn: Connection, config: Config, revision: str) -> bool:
    """Whether the database is not at ``revision`` yet (a migration is about to run)."""
    script = ScriptDirectory.from_config(config)
    wanted = set(script.get_heads()) if revision == "head" else {script.get_revision(revision).revision}
    return set(MigrationContext.configure(conn).get_current_heads()) != wanted
