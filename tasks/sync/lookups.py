"""What the engine reads from the database before it loads: cursors, and what is stored of a batch's keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, select

from schemas.tables import key_columns, sync_cursors


def read_cursor(engine: Engine, stream: str) -> datetime | None:
    """Where the stream ``stream`` (a cursor name, :meth:`tasks.sync.streams.Stream.cursor_name`) stopped."""
    with engine.connect() as conn:
        return conn.execute(select(sync_cursors.c.position).where(sync_cursors.c.stream == stream)).scalar_one_or_none()


def stored_values(engine: Engine, table: Table, column: str, ids: Sequence[Any], *where: Any) -> dict[Any, Any]:
    """``{key: value of column}`` for the given keys that ``table`` holds (and that match ``where``)."""
    if not ids:
        return {}
    (key,) = key_columns(table)
    query = select(table.c[key], table.c[column]).where(table.c[key].in_(list(ids)), *where)
    with engine.connect() as conn:
        return {k: v for k, v in conn.execute(query)}


def stored_hashes(engine: Engine, table: Table, hash_column: str, ids: Sequence[str]) -> dict[str, str]:
    """``{id: stored hash}`` for the ids already in ``table`` whose ``hash_column`` is usable.

    For vacancies a row whose details were never fetched counts as absent, so they are fetched.
    """
    where = [table.c.detail_fetched_at.is_not(None)] if "detail_fetched_at" in table.c else []
    return stored_values(engine, table, hash_column, ids, *where)


class Lookups:
    """The reads a unit's fetch needs, on one database (what the stream declarations may ask for)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def cursor(self, name: str) -> datetime | None:
        return read_cursor(self.engine, name)

    def stored(self, table: Table, column: str, ids: Sequence[Any]) -> dict[Any, Any]:
        """``{key: column}`` of the keys ``table`` holds (rows never fetched in detail count as absent)."""
        return stored_hashes(self.engine, table, column, ids)

    def missing(self, table: Table, ids: Sequence[Any]) -> list[Any]:
        """The ids of ``ids`` that ``table`` does not hold, in their first order, once each."""
        wanted = list(dict.fromkeys(str(i) for i in ids))
        if not wanted:
            return []
        held = set(stored_values(self.engine, table, key_columns(table)[0], wanted))
        return [i for i in wanted if i not in held]

    def keys_where(self, table: Table, column: str, value: Any) -> set[Any]:
        """The keys of the rows whose ``column`` is ``value``."""
        (key,) = key_columns(table)
        with self.engine.connect() as conn:
            return set(conn.execute(select(table.c[key]).where(table.c[column].is_(value))).scalars())

    def distinct(self, table: Table, column: str) -> set[Any]:
        """The distinct non-null values of ``column``."""
        query = select(table.c[column]).distinct().where(table.c[column].is_not(None))
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    def stored_keys(self, table: Table, keys: Sequence[Any]) -> set[Any]:
        """The keys of ``keys`` that ``table`` holds."""
        (key,) = key_columns(table)
        return set(stored_values(self.engine, table, key, list(keys)))

    def seen(self, table: Table, keys: Sequence[Any]) -> dict[Any, datetime]:
        """``{key: last_seen_at}`` of the keys ``table`` holds."""
        return stored_values(self.engine, table, "last_seen_at", list(keys))
