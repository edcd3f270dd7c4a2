"""A real PostgreSQL for the database and flow tests: never a mock.

Order: ``$JOBPIPE_TEST_DATABASE_URL``; the server on 127.0.0.1:5432 (user postgres, trust auth)
when one answers; otherwise an embedded server started in a temporary directory. Each test
session works in a database of its own, created, migrated and dropped here.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from schemas.tables import metadata
from tasks.sync.database import make_engine
from tasks.sync.migrate import upgrade


def _admin_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("JOBPIPE_TEST_DATABASE_URL")
    if url:
        return url
    try:
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", connect_timeout=3).close()
        return "postgresql://postgres@127.0.0.1:5432/test"
    except psycopg.OperationalError:
        pass
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="stop")
    return server.get_uri()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    admin = _admin_url(tmp_path_factory)
    name = f"jobpipe_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin).set(drivername="postgresql+psycopg", database=name)
    yield url.render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(migrated_engine: Engine) -> Engine:
    """The migrated test database with every table emptied."""
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with migrated_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return migrated_engine
