"""Alembic environment: runs on the connection jobpipe hands over, or on the configured database."""

from __future__ import annotations

from alembic import context

from schemas.tables import metadata

target_metadata = metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        # `alembic upgrade head` from a shell: the same database jobpipe itself would use.
        from jobpipe.settings import load_settings
        from tasks.sync.database import engine_for

        settings = load_settings()
        engine = engine_for(settings.database_url, settings.home, settings.allow_insecure_db)
        with engine.begin() as connection:
            context.configure(connection=connection, target_metadata=target_metadata)
            context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url="postgresql://", target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
