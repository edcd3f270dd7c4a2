"""The engine's check stages: raw checks, clean and pre-load checks of a transformed unit, batch rules.

Plain functions (no Prefect). Which suite runs on which frame comes from the entity registry
(:mod:`schemas.entities`), so every stream of every source is checked the same way:

* :func:`check_raw`: each entity's ``raw`` suite on the payload keys it names (hh.ru vacancies);
  failing records leave for the quarantine before the transform.
* :func:`check_unit`: each entity's ``clean`` suite on its transformed rows, then the rows whose
  parent was rejected (rule ``<parent>_rejected``), then each ``preload`` suite: every reference
  resolves in the batch or the database (:func:`check_references`). Derived rows (employers) are
  kept only where a loaded row names them; status history rows only for loaded records.
* Batch rules (:func:`enforce_unit`, :func:`enforce_volume`) raise :class:`BatchRejected` before
  anything of a clearly broken unit is written, so its cursor stays.

Every record that enters ends either as one row to load or as exactly one rejection (its first
failure, whichever stage).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import ARRAY, Engine, any_, bindparam, select, text

from schemas import expectations as ex
from schemas.entities import BY_NAME, ENTITIES, Entity
from tasks.sync.quality import CheckResult, ExpectationOutcome, Lookup, check, plain_value
from tasks.sync.records import RawRecord, Rejection
from tasks.sync.streams import Transformed


class BatchRejected(RuntimeError):
    """A batch is clearly broken: nothing of it may be written and its stream's cursor stays."""


# --- references -----------------------------------------------------------------------------------


def resolve_references(
    values: pd.Series,
    batch_keys: Iterable[Any],
    lookup: Callable[[list[Any]], Iterable[Any]] | None,
    *,
    nullable: bool = False,
) -> pd.Series:
    """Whether each child key names a parent: in ``batch_keys`` or, for the others, found by
    ``lookup`` (one query for the distinct missing keys). A null key resolves when ``nullable``."""
    present = values.notna()
    in_batch = values.isin(pd.Index(batch_keys)) & present
    missing = pd.unique(values[present & ~in_batch])
    found: set[Any] = set()
    if len(missing) and lookup is not None:
        found = set(lookup([plain_value(v) for v in missing]))
    resolved = in_batch | (values.isin(pd.Index(list(found))) & present) if found else in_batch
    if nullable:
        resolved = resolved | ~present
    return resolved.astype(bool)


def db_lookup(engine: Engine) -> Lookup:
    """A :data:`Lookup` reading the parent tables of ``engine`` (one query per reference and batch)."""

    def lookup(ref: ex.Reference, keys: list[Any]) -> set[Any]:
        column = ref.parent.c[ref.parent_column]
        query = select(column).where(column == any_(bindparam("keys", keys, type_=ARRAY(column.type))))
        with engine.connect() as conn:
            return set(conn.execute(query).scalars())

    return lookup


def check_references(
    frame: pd.DataFrame,
    suite: ex.Suite,
    batch_keys: Mapping[str, Iterable[Any]],
    lookup: Lookup | None,
) -> CheckResult:
    """Run a pre-load suite: each reference of ``suite`` must resolve in the batch or the database.

    Args:
        frame: the child rows (e.g. the vacancies that passed the clean checks).
        suite: a ``preload`` suite (:func:`schemas.expectations.preload_suite`).
        batch_keys: per child column, the parent keys this batch will load
            (``{"employer_key": employers_frame["employer_key"]}``).
        lookup: asked for the keys not in the batch (:func:`db_lookup`); None: the batch only.
    """
    flagged = frame.copy(deep=False)
    for ref in suite.references:
        one = (lambda keys, ref=ref: lookup(ref, keys)) if lookup is not None else None
        flagged[ref.flag_column] = resolve_references(
            frame[ref.column], batch_keys.get(ref.column, ()), one, nullable=ref.nullable
        )
    result = check(flagged, suite)
    result.passed = result.passed.drop(columns=[r.flag_column for r in suite.references])
    return result


# --- batch-level rules ----------------------------------------------------------------------------


def enforce_rejected_share(what: str, total: int, rejected: int, thresholds: ex.Thresholds) -> None:
    """Raise :class:`BatchRejected` when more than the allowed share of a batch was rejected."""
    if total <= 0 or rejected < thresholds.min_rejected:
        return
    share = rejected / total
    if share > thresholds.max_rejected_share:
        raise BatchRejected(
            f"{what}: {rejected} of {total} records ({share:.0%}) failed the checks, more than the allowed "
            f"{thresholds.max_rejected_share:.0%}: the batch is refused, nothing of it is written and its "
            "cursor stays where it was. Look at the rules below, fix the source or the rules, and run again."
        )


def enforce_batch_failures(results: Iterable[CheckResult]) -> None:
    failures = [f for r in results for f in r.batch_failures]
    if failures:
        raise BatchRejected("the batch is refused, nothing of it is written: " + "; ".join(failures))


@dataclass(frozen=True)
class PreviousCount:
    """What the previous completed run extracted for a stream, over which span."""

    run_id: str
    extracted: int
    since: datetime
    until: datetime

    @property
    def per_second(self) -> float:
        seconds = (self.until - self.since).total_seconds()
        return self.extracted / seconds if seconds > 0 else 0.0


def previous_count(engine: Engine, stream: str) -> PreviousCount | None:
    """The newest completed run's counts of ``stream``, read from ``run_log.counts``.

    Any list in ``counts`` whose items carry ``stream``, ``extracted``, ``since`` and ``until``
    counts (the hh.ru search summaries do); None when no completed run mentions the stream.
    """
    query = text(
        "SELECT run_id, item FROM ("
        "  SELECT run_id, started_at, jsonb_path_query_first("
        "    counts, '$.*[*] ? (@.stream == $s && exists(@.since))', jsonb_build_object('s', CAST(:s AS text))) AS item"
        "  FROM run_log WHERE status = 'completed'"
        ") AS runs WHERE item IS NOT NULL ORDER BY started_at DESC LIMIT 1"
    ).bindparams(s=stream)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    run_id, found = row
    try:
        since, until = datetime.fromisoformat(found["since"]), datetime.fromisoformat(found["until"])
        return PreviousCount(run_id, int(found["extracted"]), since, until)
    except (KeyError, TypeError, ValueError):
        return None


def enforce_volume(
    stream: str,
    extracted: int,
    since: datetime,
    until: datetime,
    previous: PreviousCount | None,
    thresholds: ex.Thresholds,
) -> None:
    """Raise :class:`BatchRejected` when a stream yields nothing where its previous run's rate
    predicts at least ``thresholds.min_expected`` records over the same span."""
    if extracted > 0 or previous is None:
        return
    expected = previous.per_second * (until - since).total_seconds()
    if expected >= thresholds.min_expected:
        raise BatchRejected(
            f"{stream}: 0 records from {since.isoformat()} to {until.isoformat()}, where the previous run "
            f"({previous.run_id}: {previous.extracted} from {previous.since.isoformat()} to "
            f"{previous.until.isoformat()}) predicts about {expected:.0f}: the source or the query looks broken. "
            "Nothing is written and the cursor stays where it was."
        )


# --- raw checks -----------------------------------------------------------------------------------


@dataclass
class RawChecked:
    """The records that go on to the transform, and those the raw suites rejected."""

    records: list[RawRecord]
    rejections: list[Rejection]
    results: list[CheckResult] = field(default_factory=list)


def raw_frame(records: Sequence[RawRecord], suite: ex.Suite) -> pd.DataFrame:
    """What a raw suite reads: ``record_id`` and the payload keys its rules name, as sent (object
    columns, None when absent)."""
    keys = [c for c in suite.columns if c != "record_id"]
    columns: dict[str, list[Any]] = {"record_id": [r.record_id for r in records]}
    for key in keys:
        columns[key] = [r.payload.get(key) if isinstance(r.payload, dict) else None for r in records]
    return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()})


def check_raw(records: Sequence[RawRecord]) -> RawChecked:
    """Every entity's raw suite on its records; the others pass as they are, in their order."""
    rejected: set[int] = set()
    rejections: list[Rejection] = []
    results: list[CheckResult] = []
    for entity in ENTITIES:
        positions = [i for i, r in enumerate(records) if r.entity == entity.name]
        suite = entity.raw if positions else None
        if suite is None:
            continue
        mine = [records[i] for i in positions]
        result = check(raw_frame(mine, suite), suite)
        results.append(result)
        rejections += result.rejections(lambda row, mine=mine: mine[row])
        rejected |= {positions[row] for row in result.failed_positions}
    return RawChecked([r for i, r in enumerate(records) if i not in rejected], rejections, results)


# --- clean and pre-load checks ----------------------------------------------------------------------


@dataclass
class Checked:
    """A unit after every check: the rows to load per entity and every rejection, one per record.

    Attributes:
        frames: entity name -> rows that passed.
        rejections: raw, transform, clean and preload stages (extract-stage ones come with the unit).
        history: status history rows of the loaded records only.
        checked: records that entered the checks.
        results: every suite's result, in the order run.
    """

    frames: dict[str, pd.DataFrame]
    rejections: list[Rejection]
    history: pd.DataFrame | None
    history_events: bool
    checked: int
    results: list[CheckResult] = field(default_factory=list)

    @property
    def outcomes(self) -> list[ExpectationOutcome]:
        return [o for r in self.results for o in r.expectations]

    @property
    def rejected(self) -> int:
        return len(self.rejections)

    def seconds(self) -> float:
        return sum(r.seconds for r in self.results)


class Records:
    """The raw record behind each row: the same payload object (transforms keep it), else the same
    entity and id, else a record made from the row itself."""

    def __init__(self, records: Sequence[RawRecord]) -> None:
        self.by_payload = {id(r.payload): r for r in records}
        self.by_id = {(r.entity, r.record_id): r for r in records}

    def of(self, entity: Entity, frame: pd.DataFrame) -> Callable[[int], RawRecord]:
        keys = frame[entity.key] if entity.key in frame else pd.Series([None] * len(frame), dtype=object)
        payloads = frame["payload"] if "payload" in frame else keys

        def record_of(row: int) -> RawRecord:
            payload, key = payloads.iat[row], keys.iat[row]
            key = None if key is None or pd.isna(key) else str(key)
            found = self.by_payload.get(id(payload)) or self.by_id.get((entity.name, key))
            if found is None:
                body = payload if isinstance(payload, dict) else {}
                return RawRecord(entity.source, entity.name, key, datetime.now(UTC), body)
            return found

        return record_of


def _children_of_rejected(
    entity: Entity, frame: pd.DataFrame, rejections: Sequence[Rejection], record_of: Callable[[int], RawRecord]
) -> tuple[pd.DataFrame, list[Rejection]]:
    """Reject the rows whose parent record was rejected (rule ``<parent>_rejected``, the parent's stage)."""
    assert entity.parent is not None
    parent = entity.parent.entity
    stage_of = {r.record.record_id: r.stage for r in rejections if r.record.entity == parent}
    if not stage_of or frame.empty:
        return frame, []
    links = frame[entity.parent.column]
    hit = links.isin(list(stage_of)).to_numpy()
    out = [
        Rejection(
            record_of(int(row)),
            stage_of[links.iat[row]],
            f"{parent}_rejected",
            f"its {parent} {links.iat[row]} was rejected",
        )
        for row in hit.nonzero()[0]
    ]
    return frame.loc[~hit].reset_index(drop=True), out


def check_unit(
    transformed: Transformed,
    raw: RawChecked,
    params: Mapping[str, Any],
    lookup: Lookup | None,
) -> Checked:
    """The clean and pre-load checks of a transformed unit (see the module docstring).

    Args:
        transformed: the transforms' rows per entity and their rejections.
        raw: the raw stage: its records (for the quarantine rows) and rejections.
        params: the values of the suites' parameters (every stream's ``check_params``).
        lookup: finds parent keys that are not in the batch (:func:`db_lookup`); None: the batch only.
    """
    records = Records(raw.records)
    rejections = [*raw.rejections, *transformed.rejections]
    results: list[CheckResult] = []
    frames: dict[str, pd.DataFrame] = {}
    for entity in ENTITIES:
        if entity.name not in transformed.frames:
            continue
        frame = transformed.frames[entity.name].reset_index(drop=True)
        if entity.parent is not None:
            frame, orphans = _children_of_rejected(entity, frame, rejections, records.of(entity, frame))
            rejections += orphans
        clean = entity.clean
        if clean is not None:
            result = check(frame, clean, params=_params(clean, params))
            results.append(result)
            if entity.derived_from is None:
                rejections += result.rejections(records.of(entity, frame))
            frame = result.passed
        frames[entity.name] = frame
    by_table = {e.table.name: e.name for e in ENTITIES if e.table is not None}
    for entity in ENTITIES:
        preload = entity.preload if entity.name in frames else None
        if preload is None:
            continue
        frame = frames[entity.name]
        keys = {
            ref.column: frames[by_table[ref.parent.name]][ref.parent_column]
            for ref in preload.references
            if by_table.get(ref.parent.name) in frames
        }
        result = check_references(frame, preload, keys, lookup)
        results.append(result)
        rejections += result.rejections(records.of(entity, frame))
        frames[entity.name] = result.passed
    for entity in ENTITIES:  # derived rows: only those a loaded row names
        if entity.derived_from in frames and entity.name in frames:
            named = frames[entity.derived_from][entity.key]
            frame = frames[entity.name]
            frames[entity.name] = frame.loc[frame[entity.key].isin(named)].reset_index(drop=True)
    history = transformed.history
    if history is not None and len(history):
        kept = pd.Series(False, index=history.index)
        for name, frame in frames.items():
            key = BY_NAME[name].key
            if key in frame:
                kept |= (history["entity"] == name) & history["record_id"].isin(frame[key])
        history = history.loc[kept].reset_index(drop=True)
    checked = len(raw.records) + len(raw.rejections)
    return Checked(frames, rejections, history, transformed.history_events, checked, [*raw.results, *results])


def _params(suite: ex.Suite, params: Mapping[str, Any]) -> dict[str, Any]:
    return {name: params[name] for name in suite.params if name in params}


def enforce_unit(what: str, checked: Checked, refused: int, thresholds: ex.Thresholds) -> None:
    """The batch rules of a unit: column-level failures, then the share of records rejected.

    ``refused`` counts the unit's keys refused at the extract stage (a key the API answered 404 for):
    they count among the records and the rejected, so a stream whose every fetch fails is refused too.
    Records listed but not fetched (seen again, unchanged) are not checked and do not count."""
    enforce_batch_failures(checked.results)
    enforce_rejected_share(what, checked.checked + refused, checked.rejected + refused, thresholds)
