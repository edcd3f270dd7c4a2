"""Database-side faults: a loading connection killed mid-load, the server restarted between loads,
and a first connection as slow as a Neon compute waking up. A batch is whole or absent, its cursor
with it, and the next attempt loads everything."""

from __future__ import annotations

import logging
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bench.checksums import table_checksums
from schemas.tables import avito_resumes, data_columns, key_columns, sync_cursors
from tasks.sync.database import DatabaseConfigError, make_engine
from tasks.sync.load import load_batch
from tasks.sync.migrate import upgrade

STREAM = "faults:resumes"


def resumes(n: int, version: str = "a") -> pd.DataFrame:
    """``n`` resume rows (key and data columns of ``avito_resumes``)."""
    columns = key_columns(avito_resumes) + data_columns(avito_resumes)
    frame = pd.DataFrame({c: [None] * n for c in columns})
    frame["resume_id"] = [f"r{i}" for i in range(n)]
    frame["title"] = [f"Engineer {i} {version}" for i in range(n)]
    frame["payload"] = [{"id": f"r{i}", "title": f"Engineer {i} {version}", "pad": "x" * 200} for i in range(n)]
    return frame


def load(engine: Engine, frame: pd.DataFrame, position: datetime) -> None:
    load_batch(
        engine, [(avito_resumes, frame)], [], run_id="faults", seen_at=datetime.now(UTC), cursor=(STREAM, position)
    )


def stored(engine: Engine) -> tuple[int, datetime | None]:
    with engine.connect() as conn:
        rows = len(conn.execute(select(avito_resumes.c.resume_id)).all())
        cursor = conn.execute(
            select(sync_cursors.c.position).where(sync_cursors.c.stream == STREAM)
        ).scalar_one_or_none()
    return rows, cursor


def psycopg_url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def test_a_load_whose_connection_is_killed_commits_nothing_and_the_rerun_loads_all(engine):
    frame, position = resumes(3000), datetime(2026, 1, 2, tzinfo=UTC)
    load(engine, resumes(10, "old"), datetime(2026, 1, 1, tzinfo=UTC))  # a committed earlier batch
    before = table_checksums(engine)
    with psycopg.connect(psycopg_url(engine)) as blocker:
        # the load COPYs into its staging table, then waits for this lock in its upsert: in flight
        blocker.execute("LOCK TABLE avito_resumes IN ACCESS EXCLUSIVE MODE")
        errors: list[BaseException] = []
        loader = threading.Thread(target=lambda: _capture(errors, load, engine, frame, position))
        loader.start()
        pid = _wait_for_blocked_loader(blocker)
        with psycopg.connect(psycopg_url(engine), autocommit=True) as killer:
            assert killer.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
        loader.join(30)
        blocker.rollback()
    assert len(errors) == 1 and isinstance(errors[0], OperationalError)
    assert "terminating connection due to administrator command" in str(errors[0])
    assert table_checksums(engine) == before  # nothing of the batch, the cursor did not move
    assert stored(engine) == (10, datetime(2026, 1, 1, tzinfo=UTC))

    load(engine, frame, position)  # the same engine: its pool replaces the dead connection
    assert stored(engine) == (3000, position)


def _capture(errors: list[BaseException], fn, *args) -> None:
    try:
        fn(*args)
    except BaseException as exc:
        errors.append(exc)


def _wait_for_blocked_loader(conn: psycopg.Connection, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    with psycopg.connect(conn.info.dsn, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            row = watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'jobpipe' AND wait_event_type = 'Lock'"
            ).fetchone()
            if row:
                return row[0]
            time.sleep(0.05)
    raise AssertionError("the load never reached the locked table")


@pytest.fixture(scope="module")
def private_server() -> Iterator[tuple]:
    """An embedded PostgreSQL of this module only: restarting it disturbs nobody."""
    import pgserver

    # not under pytest's 0700 temp root: run as root, pgserver starts the server as another user
    parent = Path(tempfile.mkdtemp(prefix="jobpipe-restart-"))
    parent.chmod(0o755)
    data = parent / "pgdata"
    server = pgserver.get_server(data, cleanup_mode="stop")
    yield data, server.get_uri()
    pgserver.get_server(data, cleanup_mode="stop").cleanup()
    shutil.rmtree(parent, ignore_errors=True)


def test_a_server_restart_between_loads_is_survived_by_the_same_engine(private_server):
    import pgserver

    data, uri = private_server
    engine = make_engine(make_url(uri).set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    try:
        upgrade(engine)
        load(engine, resumes(100), datetime(2026, 1, 1, tzinfo=UTC))
        pgserver.get_server(data, cleanup_mode="stop").cleanup()  # stop ...
        assert pgserver.get_server(data, cleanup_mode="stop").get_uri() == uri  # ... and start again
        # the pooled connection died with the server; pool_pre_ping finds out and reconnects
        load(engine, resumes(200, "b"), datetime(2026, 1, 2, tzinfo=UTC))
        assert stored(engine) == (200, datetime(2026, 1, 2, tzinfo=UTC))
    finally:
        engine.dispose()


class SlowProxy:
    """A TCP proxy to PostgreSQL that holds back its first ``slow`` connections for ``delay`` seconds
    before it talks to the server (a Neon compute waking up)."""

    def __init__(self, upstream: tuple[str, int], delay: float, slow: int = 1):
        self.upstream, self.delay, self.slow = upstream, delay, slow
        self.accepted = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._handle, args=(client, self.accepted <= self.slow), daemon=True).start()

    def _handle(self, client: socket.socket, slow: bool) -> None:
        if slow:
            time.sleep(self.delay)
        try:
            server = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        for a, b in ((client, server), (server, client)):
            threading.Thread(target=_pipe, args=(a, b), daemon=True).start()

    def close(self) -> None:
        self.sock.close()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _via(proxy: SlowProxy, database_url: str) -> str:
    url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    return url.render_as_string(hide_password=False)


def test_a_slow_first_connection_is_waited_for(database_url, migrated_engine):
    proxy = SlowProxy((migrated_engine.url.host or "127.0.0.1", migrated_engine.url.port or 5432), delay=2.5)
    try:
        started = time.monotonic()
        engine = make_engine(_via(proxy, database_url), connect_timeout=10)
        assert time.monotonic() - started >= 2.5
        assert proxy.accepted == 1  # one patient attempt, no retry needed
        engine.dispose()
    finally:
        proxy.close()


def test_a_first_connection_slower_than_the_timeout_is_retried_with_backoff(database_url, migrated_engine, caplog):
    proxy = SlowProxy((migrated_engine.url.host or "127.0.0.1", migrated_engine.url.port or 5432), delay=6.0)
    try:
        with caplog.at_level(logging.WARNING, logger="tasks.sync.database"):
            engine = make_engine(_via(proxy, database_url), connect_timeout=2)
        assert proxy.accepted >= 2
        assert "database not reachable yet (attempt 1), retrying in 1s" in caplog.text
        engine.dispose()
    finally:
        proxy.close()


def test_a_database_that_never_answers_stops_with_a_clear_message(database_url, migrated_engine):
    proxy = SlowProxy((migrated_engine.url.host or "127.0.0.1", migrated_engine.url.port or 5432), delay=30, slow=99)
    url = make_url(_via(proxy, database_url)).set(password="s3cret-db-password")
    try:
        with pytest.raises(DatabaseConfigError) as caught:
            make_engine(url.render_as_string(hide_password=False), connect_attempts=2, connect_timeout=2)
        message = str(caught.value)
        assert "after 2 attempts" in message and "check DATABASE_URL" in message
        assert "s3cret-db-password" not in message
    finally:
        proxy.close()
