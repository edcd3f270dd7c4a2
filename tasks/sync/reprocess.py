"""Re-processing of quarantined records, for every entity: after a fix of a rule, a bound, the rates,
or once an API answers again for a record it refused.

:func:`reprocess` reads quarantined records of an entity (payload, the extractor's meta, fetch time)
and runs them through the same stages as a sync: a record refused at the extract stage is fetched
again by the stream that refused it (when a client for it is given); then raw checks -> transform ->
clean and pre-load checks -> load. In the transaction of each load the records that loaded leave the
quarantine; those that fail again stay, their stage, rule and reason updated in place (never
duplicated), ``reprocessed_at`` set. No batch rule applies: re-processing is a deliberate act on
records known to have failed.

Newer data wins over a stale quarantined copy:

* a record whose row the database holds as seen later than the record was fetched
  (``last_seen_at > fetched_at``) is *superseded*: it leaves the quarantine, it is not loaded;
* derived rows (an employer from a vacancy) already in the database are not rewritten from an old
  payload;
* a loaded row gets ``first_seen_at`` / ``last_seen_at`` = its record's fetch time, not the time of
  the re-processing (one transaction per distinct fetch time).

The rows of a responses file (``manual_response``) are not re-processed here: a file's rows make
one negotiation per vacancy together, so a fixed row is imported with its file again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from schemas.entities import BY_NAME, ENTITIES, Entity
from schemas.tables import quarantine
from tasks.sync import checks as ck
from tasks.sync.engine import check_params, fetch_each, transform_unit
from tasks.sync.load import LoadResult, load_batch, release_quarantined, requarantine
from tasks.sync.lookups import Lookups
from tasks.sync.quality import merge_outcomes
from tasks.sync.records import RawRecord, Rejection
from tasks.sync.streams import Stream

NOT_REPROCESSED = frozenset({"manual_response"})
"""Entities whose quarantined records are fixed at their origin (a file imported again)."""


def reprocessable(streams: Sequence[Stream]) -> list[str]:
    """The entities whose records these streams can re-process, in the registry's order."""
    transformed = {s.entity for s in streams if s.transform is not None}
    return [e.name for e in ENTITIES if e.name in transformed and e.name not in NOT_REPROCESSED]


@dataclass
class ReprocessResult:
    run_id: str
    entity: str
    rules: list[str] | None
    selected: int = 0  # quarantine rows read
    loaded: int = 0  # records that passed and loaded: their quarantine rows deleted
    superseded: int = 0  # deleted: a newer version of the record is already in the database
    still_failing: int = 0  # kept, stage/rule/reason updated
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    failing_rules: dict[str, int] = field(default_factory=dict)
    expectations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.selected == self.loaded + self.superseded + self.still_failing

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "entity": self.entity,
            "rules": self.rules,
            "selected": self.selected,
            "loaded": self.loaded,
            "superseded": self.superseded,
            "still_failing": self.still_failing,
            "balanced": self.balanced,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failing_rules": dict(sorted(self.failing_rules.items(), key=lambda kv: (-kv[1], kv[0]))),
            "expectations": self.expectations,
        }


def _datetime(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def to_record(row: Any, entity: Entity, rebuild: Mapping[str, Any] | None = None) -> RawRecord:
    """Rebuild the raw record of a quarantine row (``meta`` keys ending in ``_at`` as datetimes).

    ``rebuild``: per entity, a function that restores what an older quarantine row lacks (an hh.ru
    vacancy quarantined before its meta was stored gets the hash of its payload and no detail time,
    so the next run fetches its details again)."""
    meta = {k: _datetime(v) if k.endswith("_at") else v for k, v in (row.meta or {}).items()}
    if rebuild and entity.name in rebuild and isinstance(row.payload, dict):
        meta = rebuild[entity.name](row.payload, meta)
    fetched_at = row.fetched_at or row.quarantined_at
    return RawRecord(row.source, row.entity, row.record_id, fetched_at, row.payload, meta)


def read_quarantined(
    engine: Engine,
    entity: Entity,
    rules: Sequence[str] | None,
    after_id: int,
    limit: int,
    rebuild: Mapping[str, Any] | None = None,
) -> list[tuple[int, RawRecord, str, str]]:
    """The next ``limit`` quarantine rows of ``entity`` (and ``rules``) after ``after_id``, by id:
    (quarantine id, record, stage, rule)."""
    query = (
        select(quarantine)
        .where(quarantine.c.entity == entity.name, quarantine.c.source == entity.source, quarantine.c.id > after_id)
        .order_by(quarantine.c.id)
        .limit(limit)
    )
    if rules:
        query = query.where(quarantine.c.rule.in_(list(rules)))
    with engine.connect() as conn:
        return [(row.id, to_record(row, entity, rebuild), row.stage, row.rule) for row in conn.execute(query)]


def _superseded(engine: Engine, entity: Entity, rows: Sequence[tuple[int, RawRecord]]) -> set[int]:
    """Quarantine ids whose row the database holds as seen after the record was fetched."""
    ids = sorted({r.record_id for _, r in rows if r.record_id is not None})
    if not ids or entity.table is None:
        return set()
    seen = Lookups(engine).seen(entity.table, ids)
    out = set()
    for qid, record in rows:
        last_seen = seen.get(record.record_id)
        fetched = record.fetched_at
        if last_seen is not None and isinstance(fetched, datetime):
            fetched = fetched if fetched.tzinfo else fetched.replace(tzinfo=UTC)
            if last_seen > fetched:
                out.add(qid)
    return out


def reprocess(
    engine: Engine,
    streams: Sequence[Stream],
    context: Mapping[str, Any],
    entity: str = "vacancy",
    rules: Sequence[str] | None = None,
    run_id: str | None = None,
    *,
    clients: Mapping[str, Any] | None = None,
    rebuild: Mapping[str, Any] | None = None,
    chunk_size: int = 2000,
    now: datetime | None = None,
) -> ReprocessResult:
    """Run quarantined records of ``entity`` through the stages again (see the module docstring).

    Args:
        engine: the database.
        streams: the streams whose transforms (and, for extract-stage records, fetches) to use.
        context: what the transforms and checks need (the currency rates, masked chats).
        entity: which entity's records.
        rules: only the quarantine rows with one of these rules (None: every rule).
        run_id: written to the loaded rows' ``run_id`` (default ``reprocess-<UTC time>``).
        clients: source -> API client, to fetch again what an API refused (None: those stay).
        rebuild: per entity, restore what old quarantine rows lack (see :func:`to_record`).
        chunk_size: quarantine rows read and checked together.
        now: the checks' "now" (for ``published_in_future``); default the current time.

    Returns:
        A :class:`ReprocessResult`: ``selected == loaded + superseded + still_failing``.
    """
    target = BY_NAME[entity]
    if entity not in reprocessable(streams):
        raise ValueError(f"cannot re-process {entity!r}: re-processable are {reprocessable(streams)}")
    run_id = run_id or f"reprocess-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    result = ReprocessResult(run_id=run_id, entity=entity, rules=list(rules) if rules else None)
    context = {**context, "now": now} if now is not None else dict(context)
    after = 0
    while True:
        rows = read_quarantined(engine, target, rules, after, chunk_size, rebuild)
        if not rows:
            break
        after = rows[-1][0]
        result.selected += len(rows)
        _chunk(engine, target, streams, context, rows, clients or {}, run_id, result)
    return result


def _refetch(
    streams: Sequence[Stream], clients: Mapping[str, Any], rows: list[tuple[int, RawRecord, str, str]]
) -> tuple[list[tuple[int, RawRecord]], list[tuple[int, Rejection]], dict[str, int]]:
    """Records refused at the extract stage, fetched again by their stream; the others as they are.

    Returns the records to check, those refused again, and per rule those left as they are (no
    client for their source: nothing to fetch them with)."""
    by_name = {s.name: s for s in streams}
    ready: list[tuple[int, RawRecord]] = []
    failed: list[tuple[int, Rejection]] = []
    untouched: dict[str, int] = {}
    for qid, record, stage, rule in rows:
        if stage != "extract":
            ready.append((qid, record))
            continue
        stream = by_name.get(str(record.meta.get("stream")))
        client = clients.get(stream.source) if stream is not None else None
        if stream is None or client is None or stream.fetch is None:
            untouched[rule] = untouched.get(rule, 0) + 1
            continue
        fetched = fetch_each(stream, client, [(str(record.record_id), None)], datetime.now(UTC))
        if fetched.rejections:
            failed.append((qid, fetched.rejections[0]))
        elif fetched.gone or not fetched.records:
            failed.append((qid, Rejection(record, "extract", "not_found", f"{stream.name} {record.record_id} is gone")))
        else:
            ready += [(qid, r) for r in fetched.records]
    return ready, failed, untouched


def _chunk(engine, entity, streams, context, rows, clients, run_id, result: ReprocessResult) -> None:
    live_rows, failed, untouched = _refetch(streams, clients, rows)
    for rule, n in untouched.items():
        result.failing_rules[rule] = result.failing_rules.get(rule, 0) + n
        result.still_failing += n
    superseded = _superseded(engine, entity, live_rows)
    live = [(qid, r) for qid, r in live_rows if qid not in superseded]
    qid_of = {id(record): qid for qid, record in live}
    records = [r for _, r in live]

    raw = ck.check_raw(records)
    transformed = transform_unit(streams, raw.records, context)
    checked = ck.check_unit(transformed, raw, check_params(streams, context), ck.db_lookup(engine))
    result.expectations = merge_outcomes(result.expectations, checked.outcomes)

    frames = dict(checked.frames)
    loaded_ids = set(frames[entity.name][entity.key]) if entity.name in frames else set()
    release = list(superseded)
    for rejection in checked.rejections:
        qid = qid_of.get(id(rejection.record))
        if qid is None:  # a record made from a row (no raw record behind it): find it by id
            qid = next((q for q, r in live if r.record_id == rejection.record.record_id), None)
        if qid is None:
            continue
        if rejection.rule == "duplicate_in_batch" and rejection.record.record_id in loaded_ids:
            release.append(qid)  # another quarantined copy of the same record loads now
            superseded.add(qid)
        else:
            failed.append((qid, rejection))
    for _, rejection in failed:
        result.failing_rules[rejection.rule] = result.failing_rules.get(rejection.rule, 0) + 1
    result.superseded += len(superseded)
    result.still_failing += len(failed)

    lookups = Lookups(engine)
    for derived in ENTITIES:  # an old payload must not rewrite a derived row the database holds
        if derived.derived_from and derived.name in frames and len(frames[derived.name]):
            frame = frames[derived.name]
            known = set(lookups.stored_keys(derived.table, frame[derived.key].tolist()))
            frames[derived.name] = frame.loc[~frame[derived.key].isin(known)]

    frame = frames.get(entity.name)
    records_of = ck.Records(records)
    pending_release, pending_failed = release, failed
    if frame is not None and len(frame):
        record_of = records_of.of(entity, frame.reset_index(drop=True))
        frame = frame.reset_index(drop=True)
        owners = [record_of(i) for i in range(len(frame))]
        fetched = pd.Series([r.fetched_at for r in owners], index=frame.index, dtype=object)
        written: set[str] = set()
        for seen_at, index in frame.groupby(fetched, sort=True, dropna=False).groups.items():
            part = frame.loc[index]
            tables = []
            for derived in ENTITIES:
                if derived.derived_from == entity.name and derived.name in frames:
                    keys = set(part[derived.key]) - written
                    written |= keys
                    tables.append(
                        (derived.table, frames[derived.name].loc[frames[derived.name][derived.key].isin(keys)])
                    )
            tables.append((entity.table, part))
            qids = [qid_of[id(owners[i])] for i in index if id(owners[i]) in qid_of]
            history = _history_of(checked.history, entity, part)
            load = load_batch(
                engine,
                tables,
                [],
                run_id=run_id,
                seen_at=seen_at,
                history=history,
                history_events=checked.history_events,
                release=[*qids, *pending_release],
                requarantined=pending_failed,
            )
            pending_release, pending_failed = [], []
            _count(result, entity, load, len(part))
    if pending_release or pending_failed:  # nothing loaded: the quarantine changes alone
        with engine.begin() as conn:
            release_quarantined(conn, pending_release)
            requarantine(conn, pending_failed, datetime.now(UTC))


def _history_of(history: pd.DataFrame | None, entity: Entity, part: pd.DataFrame) -> pd.DataFrame | None:
    if history is None or not len(history):
        return None
    return history.loc[(history["entity"] == entity.name) & history["record_id"].isin(part[entity.key])]


def _count(result: ReprocessResult, entity: Entity, load: LoadResult, rows: int) -> None:
    counts = load.tables.get(entity.table.name)
    result.loaded += rows
    if counts:
        result.inserted += counts.inserted
        result.updated += counts.updated
        result.unchanged += counts.unchanged
