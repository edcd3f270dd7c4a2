"""Loading: COPY into a staging table, upsert that skips unchanged rows, quarantine, cursor.

Everything of one batch — the rows of each table, the quarantined records, the rows only seen
again and the stream's cursor — commits in one transaction: a cursor never moves past data that
is not in the database, and a batch is either whole or absent. Statements are built with
SQLAlchemy Core from the declarations in :mod:`schemas.tables`, so no column is listed twice.

A row is rewritten only when its content hash changes. ``last_seen_at`` is day-granular: a row
seen again on a later day gets its ``last_seen_at`` moved; seeing it again the same day writes
nothing, so re-running a day changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import pandas as pd
from psycopg import sql
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    Table,
    func,
    insert,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert

from schemas.records import Rejection
from schemas.tables import data_columns, key_columns, quarantine, sync_cursors

HASH_EXCLUDED = frozenset({"detail_fetched_at"})  # when we looked is not what the row says


@dataclass
class TableCounts:
    staged: int = 0
    inserted: int = 0
    updated: int = 0

    @property
    def unchanged(self) -> int:
        return self.staged - self.inserted - self.updated


@dataclass
class LoadResult:
    tables: dict[str, TableCounts] = field(default_factory=dict)
    quarantined: int = 0
    seen_again: int = 0  # rows not re-sent because the source said they had not changed

    def as_dict(self) -> dict[str, Any]:
        return {
            "tables": {
                name: {
                    "staged": c.staged,
                    "inserted": c.inserted,
                    "updated": c.updated,
                    "unchanged": c.unchanged,
                }
                for name, c in self.tables.items()
            },
            "quarantined": self.quarantined,
            "seen_again": self.seen_again,
        }


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if pd.isna(value):
        return None
    return str(value)


def to_json(value: Any) -> str:
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def content_hashes(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """A hash per row over ``columns`` (order-stable, NaN and None alike)."""
    import hashlib

    cols = [c for c in columns if c not in HASH_EXCLUDED]
    values = [_plain(frame[c]) for c in cols]
    hashes = []
    for row in zip(*values, strict=True):
        blob = orjson.dumps(list(row), default=_json_default, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)
        hashes.append(hashlib.sha1(blob).hexdigest())
    return hashes


def _plain(series: pd.Series) -> list[Any]:
    """Column values as Python objects, with None for NaN/NaT."""
    values = series.astype(object).tolist()
    return [None if (v is None or (not isinstance(v, list | dict | tuple) and pd.isna(v))) else v for v in values]


def _staging(conn: Connection, table: Table, columns: Sequence[str]) -> Table:
    stage = Table(
        f"stage_{table.name}",
        MetaData(),
        *[Column(c, table.c[c].type) for c in columns],
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    stage.create(conn)
    return stage


def _copy(conn: Connection, stage: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(stage.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def upsert_frame(conn: Connection, table: Table, frame: pd.DataFrame, run_id: str, seen_at: datetime) -> TableCounts:
    """Upsert ``frame`` (the table's key and data columns) into ``table``; unchanged rows are skipped."""
    keys, data = key_columns(table), data_columns(table)
    missing = [c for c in keys + data if c not in frame.columns]
    if missing:
        raise ValueError(f"frame for {table.name} lacks columns {missing}")
    counts = TableCounts(staged=len(frame))
    if frame.empty:
        return counts
    columns = [*keys, *data, "content_hash"]
    hashes = content_hashes(frame, data)
    plain = [_plain(frame[c]) for c in keys + data]
    json_cols = {i for i, c in enumerate(keys + data) if c == "payload"}

    def rows() -> Iterable[list[Any]]:
        for i, h in enumerate(hashes):
            row = [col[i] if j not in json_cols or col[i] is None else to_json(col[i]) for j, col in enumerate(plain)]
            row.append(h)
            yield row

    stage = _staging(conn, table, columns)
    _copy(conn, stage, columns, rows())
    source = (
        select(
            *[stage.c[c] for c in columns],
            literal(run_id).label("run_id"),
            literal(seen_at).label("first_seen_at"),
            literal(seen_at).label("last_seen_at"),
        )
        .ext(distinct_on(*[stage.c[k] for k in keys]))
        .order_by(*[stage.c[k] for k in keys])
    )
    statement = pg_insert(table).from_select([*columns, "run_id", "first_seen_at", "last_seen_at"], source)
    update = {c: statement.excluded[c] for c in [*data, "content_hash", "run_id", "last_seen_at"]}
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_=update,
        where=table.c.content_hash.is_distinct_from(statement.excluded.content_hash),
    ).returning(literal_column("xmax = 0").label("inserted"))
    for (inserted,) in conn.execute(statement):
        if inserted:
            counts.inserted += 1
        else:
            counts.updated += 1
    counts.staged = conn.execute(
        select(func.count()).select_from(select(*[stage.c[k] for k in keys]).distinct().subquery())
    ).scalar_one()
    return counts


def touch_seen(conn: Connection, table: Table, ids: Sequence[str], seen_at: datetime) -> int:
    """Move ``last_seen_at`` of rows seen again unchanged, once per day; returns rows touched."""
    if not ids:
        return 0
    (key,) = key_columns(table)
    result = conn.execute(
        table.update()
        .where(table.c[key].in_(list(ids)))
        .where(table.c.last_seen_at < func.date_trunc("day", literal(seen_at)))
        .values(last_seen_at=seen_at)
    )
    return result.rowcount or 0


def quarantine_records(conn: Connection, rejections: Sequence[Rejection], run_id: str) -> int:
    """Store rejected records with their stage, rule, reason and raw payload."""
    if not rejections:
        return 0
    rows = [
        {
            "run_id": run_id,
            "source": r.record.source,
            "entity": r.record.entity,
            "record_id": r.record.record_id,
            "stage": r.stage,
            "rule": r.rule,
            "reason": r.reason,
            "payload": orjson.loads(to_json(r.record.payload)),
        }
        for r in rejections
    ]
    conn.execute(insert(quarantine), rows)
    return len(rows)


def move_cursor(conn: Connection, stream: str, position: datetime, run_id: str) -> None:
    """Set the stream's cursor forward to ``position`` (never backwards)."""
    statement = pg_insert(sync_cursors).values(stream=stream, position=position, run_id=run_id)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["stream"],
            set_={
                "position": func.greatest(sync_cursors.c.position, statement.excluded.position),
                "run_id": statement.excluded.run_id,
                "updated_at": func.now(),
            },
        )
    )


def read_cursor(engine: Engine, stream: str) -> datetime | None:
    with engine.connect() as conn:
        return conn.execute(select(sync_cursors.c.position).where(sync_cursors.c.stream == stream)).scalar_one_or_none()


def stored_hashes(engine: Engine, table: Table, hash_column: str, ids: Sequence[str]) -> dict[str, str]:
    """``{id: stored hash}`` for the ids already in ``table`` whose ``hash_column`` is usable.

    For vacancies a row whose details were never fetched counts as absent, so they are fetched.
    """
    if not ids:
        return {}
    (key,) = key_columns(table)
    query = select(table.c[key], table.c[hash_column]).where(table.c[key].in_(list(ids)))
    if "detail_fetched_at" in table.c:
        query = query.where(table.c.detail_fetched_at.is_not(None))
    with engine.connect() as conn:
        return {k: v for k, v in conn.execute(query)}


def load_batch(
    engine: Engine,
    frames: Sequence[tuple[Table, pd.DataFrame]],
    rejections: Sequence[Rejection],
    *,
    run_id: str,
    seen_at: datetime,
    seen_again: Mapping[Table, Sequence[str]] | None = None,
    cursor: tuple[str, datetime] | None = None,
) -> LoadResult:
    """Load one batch in one transaction: tables in the given order (parents first), the
    quarantine, rows seen again, and the cursor."""
    result = LoadResult()
    with engine.begin() as conn:
        for table, frame in frames:
            result.tables[table.name] = upsert_frame(conn, table, frame, run_id, seen_at)
        for table, ids in (seen_again or {}).items():
            touch_seen(conn, table, ids, seen_at)
            result.seen_again += len(ids)
        result.quarantined = quarantine_records(conn, rejections, run_id)
        if cursor is not None:
            move_cursor(conn, cursor[0], cursor[1], run_id)
    return result
