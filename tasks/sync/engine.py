"""The sync engine: one loop for every stream of every source.

A :class:`Job` is the streams that are fetched and committed together over one client (an hh.ru
search: its listing and the vacancies' details; an account's negotiations and their messages; Avito's
applications, resumes, chats and messages). :func:`sync` runs a job:

1. **cursor**: each stream starts at its cursor minus its overlap (a first run reaches back the
   job's lookback, or reads everything); a listing starts at the oldest start of itself and its
   children, so a child that fell behind catches up;
2. **plan**: the job may split its listing into parts (hh.ru date windows under the 2000-item
   depth); the volume rule refuses a plan that finds nothing where the previous run predicts many;
3. per part, one **unit**: **fetch** (:func:`fetch_unit`: listings, then the details of what changed,
   then the children, with per-record tolerance), **raw checks**, **transform** (each stream's own),
   **clean and pre-load checks** with the batch rules, then **load**: rows, quarantine, rows seen
   again, status history and the cursors in one transaction;
4. **counts** per entity for the report: ``extracted = loaded + quarantined``.

How the stages run is a :class:`Steps`: plain calls here (tests, benchmarks), Prefect tasks in the
flows (:mod:`tasks.sync.steps`). Sources never loop themselves: they declare streams and the
functions those name.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from schemas.entities import BY_NAME, ENTITIES
from schemas.expectations import Thresholds
from tasks.sync import checks as ck
from tasks.sync.http import ApiError, AuthExpired, StopRun
from tasks.sync.load import LoadResult, load_batch
from tasks.sync.lookups import Lookups
from tasks.sync.records import RawRecord, Rejection
from tasks.sync.runs import JobReport
from tasks.sync.streams import (
    CHILD,
    DETAIL,
    LISTING,
    Fetch,
    Stream,
    StreamRefused,
    TransformContext,
    Transformed,
)

log = logging.getLogger(__name__)

HTTP_RULES = {404: "not_found", 403: "forbidden", 410: "gone"}
"""The quarantine rule of a key whose fetch the stream tolerates, by HTTP status (else ``http_<status>``)."""


@dataclass
class Plan:
    """How a job's listing is split into units.

    Attributes:
        parts: what each unit's listing fetches (an hh.ru date window), in order; ``[None]``: one unit.
        since, until: the span the listing covers (for the report and the volume rule).
        found: how many matches the API announced for the whole span, when it says.
        notes: what the report should say about the plan (windows the API cannot page through).
        incomplete: parts that cannot be read whole (the report counts them).
    """

    parts: list[Any] = field(default_factory=lambda: [None])
    since: datetime | None = None
    until: datetime | None = None
    found: int | None = None
    notes: list[str] = field(default_factory=list)
    incomplete: int = 0


@dataclass
class Job:
    """Streams fetched and committed together over one client.

    Attributes:
        name: what the report calls it: a search's name, an account, "Avito".
        streams: listings first, then their details and children, in the order they are fetched.
        client: the API client their ``fetch`` functions get.
        part: the suffix of its streams' cursors (a search's name, an account's key), or None.
        lookback: how far back a first run reads the streams that declare a lookback.
        context: values for the transforms and checks (currency rates).
        prepare: ``prepare(client, lookups) -> dict``: values read when a unit is fetched (the
            account's own id, chats of candidates who forbade processing).
        plan: ``plan(job, since, until) -> Plan``: split the listing (hh.ru date windows); None: one unit.
        titled: the report calls its rows "<name> <entity>"; False: its listing's row is its name alone
            (an hh.ru search).
    """

    name: str
    streams: tuple[Stream, ...]
    client: Any
    part: str | None = None
    lookback: timedelta = timedelta(days=30)
    context: Mapping[str, Any] = field(default_factory=dict)
    prepare: Callable[[Any, Lookups], dict[str, Any]] | None = None
    plan: Callable[[Job, datetime | None, datetime], Plan] | None = None
    titled: bool = True

    def stream(self, name: str) -> Stream:
        return next(s for s in self.streams if s.name == name)

    def children(self, stream: Stream) -> list[Stream]:
        return [s for s in self.streams if s.parent == stream.name]

    @property
    def listing(self) -> Stream:
        return next(s for s in self.streams if s.kind == LISTING)


@dataclass
class Unit:
    """What one transaction loads: the records fetched, what was listed but not fetched because it
    had not changed, what the API refused per record, and where the cursors move.

    ``records`` are every stream's, in stream order; ``rejections`` are those of the extract stage.
    """

    job: str
    label: str
    records: list[RawRecord] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    seen_again: dict[str, list[str]] = field(default_factory=dict)
    gone: Counter = field(default_factory=Counter)
    cursors: list[tuple[str, datetime]] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    found: int | None = None
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    api_calls: int = 0

    def extracted(self, entity: str | None = None) -> int:
        """Records that arrived (fetched, refused per record, or listed unchanged)."""
        records = sum(1 for r in self.records if entity is None or r.entity == entity)
        refused = sum(1 for r in self.rejections if entity is None or r.record.entity == entity)
        seen = sum(len(ids) for name, ids in self.seen_again.items() if entity is None or name == entity)
        return records + refused + seen


@dataclass
class SyncContext:
    """What the engine needs besides the job: the database, the run, the batch rules, the steps."""

    db: Engine
    run_id: str
    thresholds: Thresholds = field(default_factory=Thresholds)
    steps: Steps | None = None
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    @property
    def lookups(self) -> Lookups:
        return Lookups(self.db)


# --- fetch ----------------------------------------------------------------------------------------


def starts(job: Job, lookups: Lookups, now: datetime) -> dict[str, datetime | None]:
    """Where each stream of ``job`` starts: its cursor minus its overlap; on a first run, ``now``
    minus the job's lookback for streams that declare one, else None (everything)."""
    since: dict[str, datetime | None] = {}
    for stream in job.streams:
        if stream.cursor_field is None:
            continue
        cursor = lookups.cursor(stream.cursor_name(job.part))
        if cursor is not None:
            since[stream.name] = cursor - stream.overlap
        else:
            since[stream.name] = now - job.lookback if stream.lookback else None
    for stream in job.streams:  # a listing reads from the oldest start of itself and its children
        if stream.kind == LISTING and stream.name in since:
            wanted = [since.get(c.name, since[stream.name]) for c in job.children(stream) if c.cursor_field]
            if any(s is None for s in wanted):
                since[stream.name] = None
            elif wanted:
                since[stream.name] = min([since[stream.name], *wanted]) if since[stream.name] else None
    return since


@dataclass
class Fetched:
    records: list[RawRecord] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    gone: int = 0


def _tolerated(stream: Stream, exc: ApiError) -> bool:
    return exc.status in stream.tolerate and not isinstance(exc, StopRun | AuthExpired | StreamRefused)


def fetch_each(stream: Stream, client: Any, keys: Sequence[tuple[str, Any]], at: datetime) -> Fetched:
    """``stream.fetch(client, key, since)`` for every ``(key, since)``, ``stream.workers`` at once.

    A list answer is that key's records (each carrying the key under ``stream.link``); a dict is
    one record whose id is the key; None means the API no longer has it (counted as gone). A
    tolerated HTTP status sends the key to the quarantine (stage ``extract``) and the rest goes on.
    """
    if not keys:
        return Fetched()

    def one(pair: tuple[str, Any]) -> tuple[Any, ApiError | None]:
        key, since = pair
        try:
            return stream.fetch(client, key, since), None
        except ApiError as exc:
            if _tolerated(stream, exc):
                return None, exc
            raise

    workers = max(1, min(stream.workers, len(keys)))
    if workers == 1:
        answers = [one(pair) for pair in keys]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            answers = list(pool.map(one, keys))
    out = Fetched()
    for (key, _), (answer, error) in zip(keys, answers, strict=True):
        meta = {stream.link: key} if stream.link else {}
        if error is not None:
            payload = {"id": key, "stream": stream.name}
            record = RawRecord(stream.source, stream.entity, str(key), at, payload, {"stream": stream.name, **meta})
            rule = HTTP_RULES.get(error.status, f"http_{error.status}")
            reason = f"{stream.name} {key} answered HTTP {error.status}: {error}"
            out.rejections.append(Rejection(record, "extract", rule, reason))
        elif answer is None:
            out.gone += 1
        elif isinstance(answer, list):
            for payload in answer:
                out.records.append(stream.record(payload, at, **meta, **_meta(stream, payload, at)))
        else:
            record = stream.record(answer, at, **meta, **_meta(stream, answer, at))
            out.records.append(
                RawRecord(record.source, record.entity, str(key), at, record.payload, record.meta)
                if record.record_id is None
                else record
            )
    return out


def _meta(stream: Stream, payload: Any, at: datetime) -> dict[str, Any]:
    return dict(stream.meta(payload, at)) if stream.meta is not None else {}


def fetch_details(stream: Stream, job: Job, listed: list[RawRecord], lookups: Lookups, unit: Unit) -> list[RawRecord]:
    """The listed records whose marker changed, replaced by their details; the others counted as
    seen again (not fetched, not rewritten)."""
    assert stream.marker is not None and stream.marker_column is not None
    table = BY_NAME[stream.entity].table
    ids = [r.record_id for r in listed if r.record_id is not None]
    stored = lookups.stored(table, stream.marker_column, ids) if table is not None else {}
    changed = []
    for record in listed:
        if record.record_id is not None and record.record_id in stored:
            if _same(stored[record.record_id], stream.marker(record)):
                unit.seen_again.setdefault(stream.entity, []).append(record.record_id)
                continue
        changed.append(record)
    wanted = list(dict.fromkeys(r.record_id for r in changed if r.record_id is not None))
    details = stream.fetch(job.client, wanted, stream.workers) if wanted else {}
    at = datetime.now(UTC)
    out = []
    for record in changed:
        detail = details.get(record.record_id) if record.record_id is not None else None
        if detail:
            meta = {**record.meta, **_meta(stream, detail, at)}
            out.append(RawRecord(record.source, record.entity, record.record_id, at, detail, meta))
        elif stream.keep_listed or record.record_id is None:
            out.append(record)
        else:
            unit.gone[stream.entity] += 1
    gone = unit.gone[stream.entity]
    if gone and not stream.keep_listed:
        unit.notes.append(f"{gone} listed {BY_NAME[stream.entity].label} were gone when fetched")
    return out


def _same(stored: Any, marker: Any) -> bool:
    if isinstance(stored, datetime) and isinstance(marker, datetime):
        return stored >= marker
    return stored is not None and stored == marker


def fetch_unit(job: Job, part: Any, since: Mapping[str, datetime | None], lookups: Lookups, label: str) -> Unit:
    """Fetch one unit of ``job``: its listings (``part`` of them), the details of what changed, the
    children; a stream the API refuses whole is skipped with its children (cursors stay)."""
    unit = Unit(job.name, label)
    calls = getattr(job.client, "calls", 0)
    unit.context = dict(job.context)
    if job.prepare is not None:
        unit.context.update(job.prepare(job.client, lookups))
    by_stream: dict[str, list[RawRecord]] = {}
    positions: dict[str, datetime] = {}
    for stream in job.streams:
        if stream.parent is not None and stream.parent in unit.skipped:
            unit.skipped.append(stream.name)
            continue
        try:
            if stream.kind == LISTING:
                assert stream.fetch is not None
                fetch = Fetch(
                    job.client, since.get(stream.name), part, unit.context, by_stream, lookups, unit.fetched_at
                )
                listed = stream.fetch(fetch)
                by_stream[stream.name] = listed.records
                unit.notes += listed.notes
                unit.facts.update(listed.facts)
                if listed.found is not None:
                    unit.found = (unit.found or 0) + listed.found
                if listed.position is not None and listed.complete:
                    positions[stream.name] = listed.position
            elif stream.kind == DETAIL:
                parent = stream.parent
                assert parent is not None
                by_stream[parent] = fetch_details(stream, job, by_stream.get(parent, []), lookups, unit)
            elif stream.kind == CHILD:
                assert stream.select is not None and stream.parent is not None
                keys = stream.select(by_stream.get(stream.parent, []), since.get(stream.name), lookups)
                fetched = fetch_each(stream, job.client, keys, unit.fetched_at)
                by_stream[stream.name] = fetched.records
                unit.rejections += fetched.rejections
                unit.gone[stream.entity] += fetched.gone
                if stream.parent in positions:
                    positions[stream.name] = positions[stream.parent]
        except StreamRefused as exc:
            unit.skipped.append(stream.name)
            unit.notes.append(f"{job.name}: {stream.name} skipped: {exc}")
            by_stream.pop(stream.name, None)
    unit.records = [r for stream in job.streams for r in by_stream.get(stream.name, [])]
    unit.cursors = [
        (stream.cursor_name(job.part), positions[stream.name])
        for stream in job.streams
        if stream.cursor_field is not None and stream.name in positions and stream.name not in unit.skipped
    ]
    unit.api_calls = getattr(job.client, "calls", 0) - calls
    return unit


# --- transform, checks, load -----------------------------------------------------------------------


def transform_unit(streams: Sequence[Stream], records: Sequence[RawRecord], context: Mapping[str, Any]) -> Transformed:
    """Each entity's records through the transform of the first of ``streams`` of that entity that
    has one, in the registry's order (parents first); every transform sees the frames made before it
    (an Avito application's, which chats belong to candidates who forbade processing)."""
    by_entity: dict[str, list[RawRecord]] = {}
    for record in records:
        by_entity.setdefault(record.entity, []).append(record)
    out = Transformed()
    done: set[str] = set()
    for entity in ENTITIES:
        stream = next((s for s in streams if s.entity == entity.name and s.transform is not None), None)
        if stream is None or entity.name not in by_entity:
            continue
        done.add(entity.name)
        out.merge(stream.transform(by_entity[entity.name], TransformContext(context, dict(out.frames))))
    missing = set(by_entity) - done
    if missing:
        raise ValueError(f"no stream transforms the records of {sorted(missing)}")
    return out


def check_params(streams: Sequence[Stream], context: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for stream in streams:
        if stream.check_params is not None:
            params.update(stream.check_params(context))
    return params


def load_unit(db: Engine, checked: ck.Checked, unit: Unit, run_id: str, **reprocessing: Any) -> LoadResult:
    """The unit's rows (parents first), its quarantine (every stage), the rows seen again, the
    status history and the cursors, in one transaction (:func:`tasks.sync.load.load_batch`)."""
    frames = [(e.table, checked.frames[e.name]) for e in ENTITIES if e.table is not None and e.name in checked.frames]
    seen_again = {BY_NAME[name].table: ids for name, ids in unit.seen_again.items() if ids}
    return load_batch(
        db,
        frames,
        [*unit.rejections, *checked.rejections],
        run_id=run_id,
        seen_at=unit.fetched_at,
        seen_again=seen_again,
        cursors=unit.cursors,
        history=checked.history,
        history_events=checked.history_events,
        **reprocessing,
    )


class Steps:
    """The engine's stages as plain calls; :mod:`tasks.sync.steps` runs them as Prefect tasks."""

    def plan(self, job: Job, since: datetime | None, until: datetime) -> Plan:
        assert job.plan is not None
        return job.plan(job, since, until)

    def fetch(self, job: Job, part: Any, since: Mapping[str, datetime | None], db: Engine, label: str) -> Unit:
        return fetch_unit(job, part, since, Lookups(db), label)

    def raw_checks(self, records: list[RawRecord]) -> ck.RawChecked:
        return ck.check_raw(records)

    def transform(self, streams: Sequence[Stream], records: list[RawRecord], context: Mapping[str, Any]) -> Transformed:
        return transform_unit(streams, records, context)

    def checks(
        self,
        db: Engine,
        transformed: Transformed,
        raw: ck.RawChecked,
        params: Mapping[str, Any],
        label: str,
        refused: int,
        thresholds: Thresholds,
    ) -> ck.Checked:
        checked = ck.check_unit(transformed, raw, params, ck.db_lookup(db))
        log.info(
            "%s: %d records checked, %d rows to load, %d rejected %s; checks took %.2fs",
            label,
            checked.checked,
            sum(len(f) for f in checked.frames.values()),
            checked.rejected,
            dict(Counter(r.stage for r in checked.rejections)),
            checked.seconds(),
        )
        ck.enforce_unit(label, checked, refused, thresholds)
        return checked

    def load(self, db: Engine, checked: ck.Checked, unit: Unit, run_id: str) -> LoadResult:
        return load_unit(db, checked, unit, run_id)


PLAIN = Steps()


class StageClock:
    """Wall seconds per stage of a job (each step's time, Prefect's own overhead included)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started


def process_unit(
    unit: Unit, streams: Sequence[Stream], ctx: SyncContext, clock: StageClock | None = None
) -> tuple[ck.Checked, LoadResult]:
    """A fetched unit through raw checks, transform, clean and pre-load checks with the batch rules,
    and the load (rows, quarantine, cursors in one transaction)."""
    steps = ctx.steps or PLAIN
    clock = clock or StageClock()
    with clock("checks"):
        raw = steps.raw_checks(unit.records)
    with clock("transform"):
        transformed = steps.transform(streams, raw.records, unit.context)
    with clock("checks"):
        params = check_params(streams, unit.context)
        checked = steps.checks(ctx.db, transformed, raw, params, unit.label, len(unit.rejections), ctx.thresholds)
    with clock("load"):
        result = steps.load(ctx.db, checked, unit, ctx.run_id)
    return checked, result


def sync(job: Job, ctx: SyncContext) -> JobReport:
    """Run ``job`` unit by unit (see the module docstring); returns its counts for the report.

    Raises:
        BatchRejected: the plan or a unit is clearly broken; nothing of that unit is written and its
            cursors stay (units loaded before it stay loaded).
        StopRun: a person must act (captcha, a refused token); ApiError: the API kept failing.
    """
    steps = ctx.steps or PLAIN
    clock = StageClock()
    lookups = ctx.lookups
    now = ctx.now()
    since = starts(job, lookups, now)
    listing = job.listing
    report = JobReport(job.name, listing.cursor_name(job.part), listing.entity, job.titled)
    calls = getattr(job.client, "calls", 0)
    plan = Plan(since=since.get(listing.name), until=now)
    if job.plan is not None:
        with clock("extract"):
            plan = steps.plan(job, since.get(listing.name), now)
        if plan.found is not None and plan.since is not None and plan.until is not None:
            previous = ck.previous_count(ctx.db, report.stream)
            ck.enforce_volume(report.stream, plan.found, plan.since, plan.until, previous, ctx.thresholds)
    report.start(plan)
    for i, part in enumerate(plan.parts, 1):
        label = f"{job.name} {i}/{len(plan.parts)}" if len(plan.parts) > 1 else job.name
        with clock("extract"):
            unit = steps.fetch(job, part, since, ctx.db, label)
        checked, result = process_unit(unit, job.streams, ctx, clock)
        report.add(unit, checked, result)
        log.info("%s: %s", label, report.progress())
        del unit, checked  # one unit's data in memory at a time
    report.stage_seconds = {stage: round(s, 2) for stage, s in clock.seconds.items()}
    report.api_calls = getattr(job.client, "calls", 0) - calls
    return report
