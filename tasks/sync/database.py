"""Where the database is and how to connect: DATABASE_URL, or the embedded PostgreSQL.

With ``DATABASE_URL`` unset, jobpipe starts its own PostgreSQL (the ``pgserver`` wheel ships the
server binaries) in ``JOBPIPE_HOME/pgdata``, reachable through a Unix socket only; it keeps
running after the process ends so the next run connects at once (`jobpipe db stop` stops it).
Remote servers (Neon) must use TLS: a URL to another host without ``sslmode=require`` (or
verify-ca/verify-full) is refused unless ``JOBPIPE_ALLOW_INSECURE_DB=1``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", ""}
SECURE_MODES = {"require", "verify-ca", "verify-full"}


class DatabaseConfigError(RuntimeError):
    """The database URL cannot be used as given; the message says why and what to change."""


def embedded_url(home: Path) -> str:
    """Start (or find running) the embedded PostgreSQL under ``home`` and return its URL."""
    import pgserver  # imported here: only needed when DATABASE_URL is unset

    home.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(home / "pgdata", cleanup_mode=None)
    return server.get_uri()


def stop_embedded(home: Path) -> bool:
    """Stop the embedded server under ``home`` if it runs; True when one was stopped."""
    pgdata = home / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    import pgserver

    pgserver.get_server(pgdata, cleanup_mode="stop").cleanup()
    return True


def check_url(url: str, allow_insecure: bool = False) -> str:
    """Validate ``url`` and return it with the psycopg 3 driver selected.

    Raises:
        DatabaseConfigError: not PostgreSQL, or a remote host without TLS.
    """
    try:
        parsed = make_url(url)
    except Exception:
        raise DatabaseConfigError(
            "DATABASE_URL is not a valid URL; expected postgresql://user:password@host/db?sslmode=require"
        ) from None
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise DatabaseConfigError(f"DATABASE_URL must point to PostgreSQL, not {parsed.get_backend_name()!r}")
    host = parsed.host or ""
    socket_only = not host or host.startswith("/") or str(parsed.query.get("host", "")).startswith("/")
    sslmode = str(parsed.query.get("sslmode", "")).lower()
    if not socket_only and host not in LOCAL_HOSTS and sslmode not in SECURE_MODES and not allow_insecure:
        raise DatabaseConfigError(
            f"refusing a connection to {host} without TLS: add sslmode=require to DATABASE_URL "
            "(Neon requires it), or set JOBPIPE_ALLOW_INSECURE_DB=1 for a trusted network"
        )
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def redact(url: str) -> str:
    """The URL with its password masked, for logs and messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


def make_engine(url: str, *, connect_attempts: int = 4, connect_timeout: int = 10) -> Engine:
    """An engine for ``url`` that survives a slow first connection (Neon waking from suspend).

    The first connection is retried with backoff; the pool pings connections before use.
    """
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=4,
        connect_args={"connect_timeout": connect_timeout, "application_name": "jobpipe"},
    )
    delay = 1.0
    for attempt in range(1, connect_attempts + 1):
        try:
            with engine.connect() as conn:
                conn.execute(text("select 1"))
            return engine
        except OperationalError as exc:
            if attempt == connect_attempts:
                engine.dispose()
                raise DatabaseConfigError(
                    f"cannot connect to {redact(url)} after {attempt} attempts: "
                    f"{str(exc.orig).strip().splitlines()[0] if exc.orig else 'no answer'}; "
                    "check DATABASE_URL and that the server is running"
                ) from None
            log.warning("database not reachable yet (attempt %d), retrying in %.0fs", attempt, delay)
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def engine_for(database_url: str | None, home: Path, allow_insecure: bool = False) -> Engine:
    """The engine jobpipe uses: ``database_url`` when given, else the embedded server's."""
    url = database_url or embedded_url(home)
    return make_engine(check_url(url, allow_insecure))
