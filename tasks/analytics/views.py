"""Create the analytics views (schemas/analytics.py) in the database, idempotently.

Called by ``tasks.sync.migrate.upgrade`` after the Alembic upgrade, in its transaction and under its
lock: the views derive from the tables, so recreating them on every migration keeps them current.
Before a pending migration runs, ``drop_views`` removes them: PostgreSQL refuses to alter or drop a
column that a view reads.

Each view's comment ends with a digest of its SQL: a view whose SQL has not changed is left alone,
so the usual migration (nothing to do) takes no lock on the views that a BI tool may be reading.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, String, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError

from schemas.analytics import SCHEMA, VIEWS, View


class AnalyticsViewsError(RuntimeError):
    """The views could not be dropped or recreated; the message says what is in the way."""


def view_comment(view: View) -> str:
    """The view's description followed by the digest of its SQL."""
    digest = hashlib.sha256(view.sql().encode()).hexdigest()[:16]
    return f"{view.comment} [jobpipe sql {digest}]"


def _quote_literal(value: str) -> str:
    # COMMENT takes no bind parameters: the dialect renders the string literal (quotes escaped)
    return String().literal_processor(postgresql.dialect())(value)


def existing_comments(conn: Connection) -> dict[str, str | None]:
    """The views of the analytics schema in the database, with their comments."""
    rows = conn.execute(
        text(
            "select c.relname, obj_description(c.oid, 'pg_class') from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace where n.nspname = :schema and c.relkind = 'v'"
        ),
        {"schema": SCHEMA},
    )
    return {name: comment for name, comment in rows}


def _create(conn: Connection, view: View) -> None:
    conn.exec_driver_sql(f"CREATE OR REPLACE VIEW {view.qualified_name} AS {view.sql()}")
    conn.exec_driver_sql(f"COMMENT ON VIEW {view.qualified_name} IS {_quote_literal(view_comment(view))}")


def create_views(conn: Connection) -> list[str]:
    """Create the views that are missing or whose SQL changed, in dependency order; returns the names
    of the views (re)created.

    ``CREATE OR REPLACE VIEW`` cannot drop, rename or retype a column: when that is what changed,
    every analytics view is dropped (dependants first) and created again.
    """
    conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    current = existing_comments(conn)
    stale = [view for view in VIEWS if current.get(view.name) != view_comment(view)]
    if not stale:
        return []
    try:
        with conn.begin_nested():
            for view in stale:
                _create(conn, view)
    except DBAPIError:
        with conn.begin_nested():
            drop_views(conn)
            for view in VIEWS:
                _create(conn, view)
        return [view.qualified_name for view in VIEWS]
    return [view.qualified_name for view in stale]


def drop_views(conn: Connection) -> None:
    """Drop every analytics view, dependants first; objects of others that read them stop it with an
    error that says so (nothing is dropped by CASCADE behind the user's back)."""
    for view in reversed(VIEWS):
        try:
            with conn.begin_nested():
                conn.exec_driver_sql(f"DROP VIEW IF EXISTS {view.qualified_name}")
        except DBAPIError as exc:
            diag = getattr(exc.orig, "diag", None)
            # PostgreSQL names the dependent objects in the error's detail
            detail = (diag and diag.message_detail) or str(exc.orig).splitlines()[0]
            raise AnalyticsViewsError(
                f"cannot drop {view.qualified_name} to recreate it: objects outside jobpipe depend on it "
                f"({detail}). Drop them, run `jobpipe db migrate`, then create them again."
            ) from None
