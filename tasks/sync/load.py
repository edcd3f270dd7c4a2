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

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd
import psycopg
from psycopg import sql
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    Table,
    bindparam,
    func,
    insert,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from schemas.tables import data_columns, key_columns, quarantine, status_history, sync_cursors
from tasks.sync.records import Rejection
from tasks.sync.storable import MAX_KEY_LENGTH

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
    quarantined: int = 0  # quarantine rows written (a rejection stored before is not written again)
    quarantined_by_entity: Counter = field(default_factory=Counter)
    seen_again: int = 0  # rows not re-sent because the source said they had not changed
    released: int = 0  # quarantine rows deleted: their records loaded on re-processing
    requarantined: int = 0  # quarantine rows updated: their records failed again on re-processing
    status_changes: int = 0  # rows added to status_history

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
    return _hashes(_columns(frame, columns), [c for c in columns if c not in HASH_EXCLUDED])


def _plain(series: pd.Series) -> list[Any]:
    """Column values as Python objects, with None for NaN/NaT (one vectorised null test per column)."""
    values = series.astype(object).tolist()
    for i in np.flatnonzero(series.isna().to_numpy()):
        values[i] = None
    return values


def _columns(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, list[Any]]:
    """Each column's plain values; ``payload`` serialised once, as JSON bytes with sorted keys."""
    plain = {c: _plain(frame[c]) for c in columns}
    if "payload" in plain:
        plain["payload"] = [None if v is None else _dumps_sorted(v) for v in plain["payload"]]
    return plain


def _dumps_sorted(value: Any) -> bytes:
    try:
        return orjson.dumps(value, default=_json_default, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits (jsonb takes it; orjson cannot write it)
        return json.dumps(_scrubbed(value), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _storable_text(text: str) -> str:
    """``text`` with what PostgreSQL cannot store (NUL, lone surrogates) replaced by U+FFFD."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").replace("\x00", "\ufffd")


def storable(value: Any) -> Any:
    """``value`` as plain JSON data that PostgreSQL's jsonb and text columns accept.

    Dates and numpy values become text as in :func:`to_json`, NaN and infinities null; NUL
    characters and lone surrogates in strings and keys (which PostgreSQL refuses) become U+FFFD.
    For the quarantine, which must keep whatever a source sent; rows to load never contain those
    characters (the transforms reject such records with rule ``unstorable_text``).
    """
    try:
        value = orjson.loads(to_json(value))
    except orjson.JSONEncodeError:  # a lone surrogate or an integer beyond 64 bits: walk it as it is
        pass
    return _scrubbed(value)


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return _storable_text(value)
    if isinstance(value, dict):
        return {_storable_text(str(k)): _scrubbed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(v) for v in value]
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return _scrubbed(_json_default(value))


def _hashes(plain: Mapping[str, list[Any]], columns: Sequence[str]) -> list[str]:
    """SHA-1 of each row's sorted-key JSON list of ``columns`` (a pre-serialised payload is spliced in
    verbatim, so the bytes, and the hash, are those of serialising the whole row at once)."""
    import hashlib

    sha1, fragment = hashlib.sha1, orjson.Fragment
    values = [[None if v is None else fragment(v) for v in plain[c]] if c == "payload" else plain[c] for c in columns]
    return [sha1(_dumps_sorted(list(row)), usedforsecurity=False).hexdigest() for row in zip(*values, strict=True)]


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
    if frame.duplicated(keys).any():  # one row per key, or ON CONFLICT would touch a row twice
        frame = frame.drop_duplicates(keys, keep="last")
        counts.staged = len(frame)
    columns = [*keys, *data, "content_hash"]
    plain = _columns(frame, keys + data)
    plain["content_hash"] = _hashes(plain, [c for c in data if c not in HASH_EXCLUDED])
    if "payload" in plain:  # the COPY text format takes the JSON as text
        plain["payload"] = [None if v is None else v.decode() for v in plain["payload"]]
    if len(keys) == 1:
        # rows whose stored hash is the same are not even staged: they would change nothing; rows
        # whose key is not stored go straight into the table (no staging, no second write)
        stored = _stored_hashes(conn, table, keys, plain)
        (key,) = keys
        new = [i for i, k in enumerate(plain[key]) if k not in stored]
        changed = [i for i, (k, h) in enumerate(zip(plain[key], plain["content_hash"], strict=True)) if k in stored]
        changed = [i for i in changed if stored[plain[key][i]] != plain["content_hash"][i]]
        if new and _copy_new(conn, table, columns, _rows(plain, columns, new), run_id, seen_at):
            counts.inserted += len(new)
            new = []
        plain = {c: [values[i] for i in new + changed] for c, values in plain.items()}
    if not plain["content_hash"]:
        return counts

    stage = _staging(conn, table, columns)
    _copy(conn, stage, columns, zip(*(plain[c] for c in columns), strict=True))
    source = select(
        *[stage.c[c] for c in columns],
        literal(run_id).label("run_id"),
        literal(seen_at).label("first_seen_at"),
        literal(seen_at).label("last_seen_at"),
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
    return counts


def _key(plain: Mapping[str, list[Any]], keys: Sequence[str], i: int) -> Any:
    return plain[keys[0]][i] if len(keys) == 1 else tuple(plain[k][i] for k in keys)


def _rows(plain: Mapping[str, list[Any]], columns: Sequence[str], index: Sequence[int]) -> list[list[Any]]:
    return [[plain[c][i] for c in columns] for i in index]


def _copy_new(
    conn: Connection, table: Table, columns: Sequence[str], rows: list[list[Any]], run_id: str, seen_at: datetime
) -> bool:
    """COPY rows whose keys the table does not hold straight into it; False (and nothing written)
    when a concurrent writer stored one of the keys meanwhile, so the caller upserts them instead."""
    try:
        with conn.begin_nested():
            _copy(
                conn,
                table,
                [*columns, "run_id", "first_seen_at", "last_seen_at"],
                (r + [run_id, seen_at, seen_at] for r in rows),
            )
    except psycopg.errors.UniqueViolation:
        return False
    except psycopg.errors.IntegrityError as exc:  # e.g. a missing employer: as the INSERT would raise it
        raise IntegrityError(f"COPY {table.name}", None, exc) from exc
    return True


def _stored_hashes(conn: Connection, table: Table, keys: Sequence[str], plain: Mapping[str, list[Any]]) -> dict:
    """``{key: content_hash}`` of the batch's keys already in ``table`` (a single-column key)."""
    (key,) = keys
    ids = literal(plain[key], ARRAY(table.c[key].type))
    query = select(table.c[key], table.c.content_hash).where(table.c[key] == func.any(ids))
    return dict(conn.execute(query).all())


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


def _quarantine_id(record_id: Any) -> str | None:
    """The record id as the quarantine's index can hold it: storable text, at most MAX_KEY_LENGTH long."""
    if record_id is None:
        return None
    return _storable_text(str(record_id))[:MAX_KEY_LENGTH]


QUARANTINE_COLUMNS = (
    "run_id",
    "source",
    "entity",
    "record_id",
    "stage",
    "rule",
    "reason",
    "payload",
    "meta",
    "fetched_at",
)


def quarantine_records(conn: Connection, rejections: Sequence[Rejection], run_id: str) -> Counter:
    """Store rejected records with their stage, rule, reason and raw payload; returns the rows written
    per entity.

    A rejection the quarantine already holds (same entity, record id, rule and payload: a record
    that failed the same way on an earlier run, a file imported again) is not stored twice."""
    if not rejections:
        return Counter()
    rows = [
        {
            "run_id": run_id,
            "source": r.record.source,
            "entity": r.record.entity,
            "record_id": _quarantine_id(r.record.record_id),
            "stage": r.stage,
            "rule": r.rule,
            "reason": storable(r.reason),
            "payload": storable(r.record.payload),
            "meta": storable(r.record.meta) if r.record.meta else None,
            "fetched_at": r.record.fetched_at if isinstance(r.record.fetched_at, datetime) else None,
        }
        for r in rejections
    ]
    stage = _staging(conn, quarantine, QUARANTINE_COLUMNS)
    conn.execute(insert(stage), rows)
    q = quarantine.c
    stored = (
        select(q.id)
        .where(
            q.entity == stage.c.entity,
            q.rule == stage.c.rule,
            q.record_id.is_not_distinct_from(stage.c.record_id),
            q.payload.is_not_distinct_from(stage.c.payload),
        )
        .exists()
    )
    new = select(*[stage.c[c] for c in QUARANTINE_COLUMNS]).where(~stored)
    written = conn.execute(insert(quarantine).from_select(QUARANTINE_COLUMNS, new).returning(q.entity))
    return Counter(entity for (entity,) in written)


def release_quarantined(conn: Connection, ids: Sequence[int]) -> int:
    """Delete quarantine rows whose records have now loaded (re-processing)."""
    if not ids:
        return 0
    return conn.execute(quarantine.delete().where(quarantine.c.id.in_(list(ids)))).rowcount or 0


def requarantine(conn: Connection, rejections: Sequence[tuple[int, Rejection]], at: datetime) -> int:
    """Update quarantine rows whose records failed again (re-processing): stage, rule, reason."""
    if not rejections:
        return 0
    statement = (
        quarantine.update()
        .where(quarantine.c.id == bindparam("qid"))
        .values(stage=bindparam("q_stage"), rule=bindparam("q_rule"), reason=bindparam("q_reason"), reprocessed_at=at)
    )
    rows = [{"qid": qid, "q_stage": r.stage, "q_rule": r.rule, "q_reason": r.reason} for qid, r in rejections]
    conn.execute(statement, rows)
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


def record_status_changes(
    conn: Connection, history: pd.DataFrame, run_id: str, observed_at: datetime, *, events: bool = False
) -> int:
    """Append to ``status_history`` the rows whose state differs from the record's latest one.

    ``history`` has columns source, entity, record_id, state, status, changed_at. Re-running the
    same day (same states) adds nothing; a state changing on two days leaves two rows.

    With ``events`` each row is a change of its own (a batch may carry A then B for one record, as a
    manual file does): every row is appended unless the same (source, entity, record_id, state,
    changed_at) is already stored, in the order of changed_at, then of the batch; re-loading adds nothing.
    """
    if history.empty:
        return 0
    columns = ["source", "entity", "record_id", "state", "status", "changed_at"]
    staged = [*columns, "id"] if events else columns  # with events, "id" carries the batch position
    stage = _staging(conn, status_history, staged)
    plain = [_plain(history[c]) for c in columns] + ([list(range(len(history)))] if events else [])
    _copy(conn, stage, staged, (list(row) for row in zip(*plain, strict=True)))
    if events:
        return _record_status_events(conn, stage, columns, run_id, observed_at)
    latest = (
        select(status_history.c.state)
        .where(
            status_history.c.source == stage.c.source,
            status_history.c.entity == stage.c.entity,
            status_history.c.record_id == stage.c.record_id,
        )
        .order_by(status_history.c.observed_at.desc(), status_history.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    changed = (
        select(*[stage.c[c] for c in columns], literal(observed_at), literal(run_id))
        .where(
            ~select(status_history.c.id)
            .where(
                status_history.c.source == stage.c.source,
                status_history.c.entity == stage.c.entity,
                status_history.c.record_id == stage.c.record_id,
            )
            .exists()
            | latest.is_distinct_from(stage.c.state)
        )
        .distinct(stage.c.source, stage.c.entity, stage.c.record_id)  # DISTINCT ON
        .order_by(stage.c.source, stage.c.entity, stage.c.record_id, stage.c.changed_at.desc())
    )
    statement = insert(status_history).from_select([*columns, "observed_at", "run_id"], changed)
    return len(conn.execute(statement.returning(status_history.c.id)).all())


def _record_status_events(
    conn: Connection, stage: Table, columns: Sequence[str], run_id: str, observed_at: datetime
) -> int:
    """The ``events`` mode of :func:`record_status_changes`: staged rows not stored yet, once each."""
    h = status_history.c
    stored = (
        select(h.id)
        .where(
            h.source == stage.c.source,
            h.entity == stage.c.entity,
            h.record_id == stage.c.record_id,
            h.state.is_not_distinct_from(stage.c.state),
            h.changed_at.is_not_distinct_from(stage.c.changed_at),
        )
        .exists()
    )
    event = [stage.c.source, stage.c.entity, stage.c.record_id, stage.c.state, stage.c.changed_at]
    new = (
        select(*[stage.c[c] for c in columns], stage.c.id)
        .where(~stored)
        .distinct(*event)  # DISTINCT ON
        .order_by(*event, stage.c.id)
        .subquery()
    )
    ordered = select(*[new.c[c] for c in columns], literal(observed_at), literal(run_id)).order_by(
        new.c.changed_at, new.c.id
    )
    statement = insert(status_history).from_select([*columns, "observed_at", "run_id"], ordered)
    return len(conn.execute(statement.returning(status_history.c.id)).all())


def load_batch(
    engine: Engine,
    frames: Sequence[tuple[Table, pd.DataFrame]],
    rejections: Sequence[Rejection],
    *,
    run_id: str,
    seen_at: datetime,
    seen_again: Mapping[Table, Sequence[str]] | None = None,
    cursor: tuple[str, datetime] | None = None,
    cursors: Sequence[tuple[str, datetime]] = (),
    history: pd.DataFrame | None = None,
    history_events: bool = False,
    release: Sequence[int] = (),
    requarantined: Sequence[tuple[int, Rejection]] = (),
) -> LoadResult:
    """Load one batch in one transaction: tables in the given order (parents first), the
    quarantine, rows seen again, and the cursor.

    Re-processing of quarantined records passes ``release`` (quarantine ids of the records that
    load now: deleted) and ``requarantined`` (``(quarantine id, new rejection)`` of those that
    fail again: updated in place), so the quarantine changes with the data or not at all.
    ``history_events`` makes each ``history`` row an event of its own (see :func:`record_status_changes`)."""
    result = LoadResult()
    with engine.begin() as conn:
        for table, frame in frames:
            result.tables[table.name] = upsert_frame(conn, table, frame, run_id, seen_at)
        for table, ids in (seen_again or {}).items():
            touch_seen(conn, table, ids, seen_at)
            result.seen_again += len(ids)
        result.quarantined_by_entity = quarantine_records(conn, rejections, run_id)
        result.quarantined = sum(result.quarantined_by_entity.values())
        result.released = release_quarantined(conn, release)
        result.requarantined = requarantine(conn, requarantined, seen_at)
        if history is not None:
            result.status_changes = record_status_changes(conn, history, run_id, seen_at, events=history_events)
        for stream, position in [*([cursor] if cursor else []), *cursors]:
            move_cursor(conn, stream, position, run_id)
    return result
