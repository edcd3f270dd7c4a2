"""Run bookkeeping: the counts of every job of a run, and the run log (one row per top-level run).

A :class:`JobReport` sums a job's units per entity: ``extracted = loaded + quarantined``, where
*loaded* counts rows written, rows found identical and rows not fetched again because the source
said they had not changed (*seen again*). A :class:`RunReport` holds every job of a run; its
:meth:`~RunReport.as_dict` is what ``run_log.counts`` keeps and what the flows return. Each row of
``streams`` there names its job's listing cursor (``stream``) with its ``since``, ``until`` and
``extracted``: the volume rule (:func:`tasks.sync.checks.previous_count`) finds the previous run's
rate by it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from schemas.entities import BY_NAME, ENTITIES
from schemas.status import UNKNOWN
from schemas.tables import run_log
from tasks.sync.quality import merge_outcomes


@dataclass
class EntityCounts:
    """One entity's counts in one job."""

    entity: str
    extracted: int = 0  # records that arrived: fetched, refused per record, or listed unchanged
    detailed: int = 0  # fetched (new or changed): transformed, loaded or quarantined
    seen_again: int = 0  # listed, already stored unchanged: not fetched, not rewritten
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0  # sent to the database, identical content: not rewritten
    quarantined: int = 0
    gone: int = 0  # listed, but the API no longer had it when fetched
    quarantined_new: int = 0  # quarantine rows written (a rejection stored before is not written again)
    by_rule: Counter = field(default_factory=Counter)

    @property
    def loaded(self) -> int:
        return self.inserted + self.updated + self.unchanged + self.seen_again

    @property
    def balanced(self) -> bool:
        if BY_NAME[self.entity].table is None:  # rows of a file: each is loaded as an event or quarantined
            return True
        return self.extracted == self.loaded + self.quarantined


@dataclass
class JobReport:
    """What one job did in a run (see the module docstring)."""

    job: str
    stream: str  # the cursor of the job's listing
    entity: str  # the entity of the job's listing (its row comes first)
    titled: bool = True  # rows say "<job> <entity>"; False: the listing's row is the job's name alone
    since: datetime | None = None
    until: datetime | None = None
    found: int | None = None
    incomplete: int = 0  # parts the API cannot page through whole (hh.ru: over 2000 in 5 minutes)
    entities: dict[str, EntityCounts] = field(default_factory=dict)
    derived: dict[str, Counter] = field(default_factory=dict)
    by_stage: Counter = field(default_factory=Counter)
    by_rule: Counter = field(default_factory=Counter)
    expectations: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    api_calls: int = 0
    status_changes: int = 0
    unknown: Counter = field(default_factory=Counter)  # source states without a mapping -> how many
    facts: dict[str, Any] = field(default_factory=dict)
    check_seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def start(self, plan: Any) -> None:
        self.counts(self.entity)
        self.since, self.until, self.found = plan.since, plan.until, plan.found
        self.incomplete += plan.incomplete
        self.notes += plan.notes

    def counts(self, entity: str) -> EntityCounts:
        if entity not in self.entities:
            self.entities[entity] = EntityCounts(entity)
        return self.entities[entity]

    def add(self, unit: Any, checked: Any, result: Any) -> None:
        """Add one unit: what arrived (the unit), what the checks rejected, what the load wrote."""
        entities = {r.entity for r in unit.records} | {r.record.entity for r in unit.rejections} | set(unit.seen_again)
        entities |= {name for name, gone in unit.gone.items() if gone}
        for name in [e.name for e in ENTITIES if e.name in entities]:
            counts = self.counts(name)
            counts.extracted += unit.extracted(name)
            counts.detailed += sum(1 for r in unit.records if r.entity == name)
            counts.seen_again += len(unit.seen_again.get(name, ()))
            counts.gone += unit.gone.get(name, 0)
        for entity in ENTITIES:
            table = result.tables.get(entity.table.name) if entity.table is not None else None
            if table is None:
                continue
            if entity.derived_from:
                self.derived.setdefault(entity.name, Counter()).update(inserted=table.inserted, updated=table.updated)
                continue
            counts = self.counts(entity.name)
            counts.inserted += table.inserted
            counts.updated += table.updated
            counts.unchanged += table.unchanged
        for rejection in [*unit.rejections, *checked.rejections]:
            counts = self.counts(rejection.record.entity)
            counts.quarantined += 1
            counts.by_rule[rejection.rule] += 1
            self.by_stage[rejection.stage] += 1
            self.by_rule[rejection.rule] += 1
        for entity, written in result.quarantined_by_entity.items():
            self.counts(entity).quarantined_new += written
        for key, value in unit.facts.items():
            self.facts[key] = self.facts.get(key, 0) + value if isinstance(value, int) else value
        self.expectations = merge_outcomes(self.expectations, checked.outcomes)
        self.check_seconds += checked.seconds()
        self.notes += [n for n in unit.notes if n not in self.notes]
        self.skipped += [s for s in unit.skipped if s not in self.skipped]
        self.status_changes += result.status_changes
        # states jobpipe has no mapping for: per event of a file, else per record loaded
        frames = {"events": checked.history} if checked.history_events else checked.frames
        for name, frame in frames.items():
            if frame is None or "status" not in frame or "state" not in frame:
                continue
            unknown = frame.loc[frame["status"] == UNKNOWN, "state"]
            if len(unknown):
                labels = Counter(s if isinstance(s, str) else "(empty)" for s in unknown)
                self.unknown.update(labels)
                what = "status events" if name == "events" else BY_NAME[name].label
                self.notes.append(f"{len(unknown)} {what} in states jobpipe has no mapping for: {sorted(labels)}")

    def progress(self) -> str:
        extracted = sum(c.extracted for c in self.entities.values())
        of = f" of {self.found} found" if self.found is not None else ""
        return f"{extracted} records{of}, {sum(c.quarantined for c in self.entities.values())} quarantined"

    @property
    def balanced(self) -> bool:
        return all(c.balanced for c in self.entities.values())

    def rows(self) -> list[dict[str, Any]]:
        """One row per entity with records of its own, in load order; the first carries the job's
        listing cursor, span, found and API calls."""
        names = [self.entity, *(e.name for e in ENTITIES if e.name in self.entities and e.name != self.entity)]
        rows = []
        for i, name in enumerate(names):
            c = self.entities[name]
            label = self.job if i == 0 and not self.titled else f"{self.job} {BY_NAME[name].label}"
            row: dict[str, Any] = {
                "job": self.job,
                "entity": name,
                "label": label,
                "found": self.found if i == 0 else None,
                "extracted": c.extracted,
                "detailed": c.detailed,
                "seen_again": c.seen_again,
                "inserted": c.inserted,
                "updated": c.updated,
                "unchanged": c.unchanged,
                "loaded": c.loaded,
                "quarantined": c.quarantined,
                "balanced": c.balanced,
                "gone": c.gone,
                "api_calls": self.api_calls if i == 0 else None,
            }
            if i == 0:
                row.update(
                    stream=self.stream,
                    since=self.since.isoformat() if self.since else None,
                    until=self.until.isoformat() if self.until else None,
                )
            rows.append(row)
        return rows

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "stream": self.stream,
            "rows": self.rows(),
            "found": self.found,
            "incomplete": self.incomplete,
            "derived": {name: dict(c) for name, c in self.derived.items()},
            "quarantined_by_stage": dict(self.by_stage),
            "quarantined_by_rule": dict(sorted(self.by_rule.items(), key=lambda kv: (-kv[1], kv[0]))),
            "notes": list(self.notes),
            "skipped": list(self.skipped),
            "api_calls": self.api_calls,
            "status_changes": self.status_changes,
            "unknown_states": sum(self.unknown.values()),
            "facts": dict(self.facts),
            "check_seconds": round(self.check_seconds, 2),
            "stage_seconds": dict(self.stage_seconds),
            "balanced": self.balanced,
            "expectations": [dict(e) for e in self.expectations],
        }


@dataclass
class RunReport:
    """Every job of a run (a flow run and the subflows it ran), and what else the run did."""

    run_id: str
    flow: str
    jobs: list[dict[str, Any]] = field(default_factory=list)
    expectations: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    status: str = "running"
    seconds: float | None = None

    def add_job(self, job: JobReport | dict[str, Any]) -> None:
        job = job.as_dict() if isinstance(job, JobReport) else job
        self.jobs.append(job)
        self.expectations = merge_outcomes(self.expectations, job.get("expectations", []))

    def include(self, other: dict[str, Any]) -> None:
        """Add a nested run's report (a subflow of this run)."""
        self.jobs += other.get("jobs", [])
        self.expectations = merge_outcomes(self.expectations, other.get("expectations", []))
        self.notes += other.get("notes", [])
        for key, value in other.get("extra", {}).items():
            self.extra[key] = value

    @property
    def streams(self) -> list[dict[str, Any]]:
        return [row for job in self.jobs for row in job["rows"]]

    @property
    def api_calls(self) -> int:
        return sum(job.get("api_calls") or 0 for job in self.jobs) + int(self.extra.get("api_calls") or 0)

    @property
    def balanced(self) -> bool:
        return all(row["balanced"] for row in self.streams)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "flow": self.flow,
            "status": self.status,
            "seconds": self.seconds,
            "balanced": self.balanced,
            "api_calls": self.api_calls,
            "streams": self.streams,
            "jobs": self.jobs,
            "expectations": self.expectations,
            "notes": self.notes,
            "extra": self.extra,
        }


# --- the run log ----------------------------------------------------------------------------------


def start_run(engine: Engine, run_id: str, flow: str) -> None:
    statement = pg_insert(run_log).values(
        run_id=run_id, flow=flow, started_at=datetime.now(UTC), status="running", counts={}
    )
    with engine.begin() as conn:
        conn.execute(statement.on_conflict_do_nothing(index_elements=["run_id"]))


def finish_run(engine: Engine, run_id: str, status: str, counts: dict[str, Any], api_calls: int | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            run_log.update()
            .where(run_log.c.run_id == run_id)
            .values(finished_at=datetime.now(UTC), status=status, counts=counts, api_calls=api_calls)
        )


def get_run(engine: Engine, run_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(run_log).where(run_log.c.run_id == run_id)).mappings().first()
    return dict(row) if row else None


def newest_run(engine: Engine) -> dict[str, Any] | None:
    """The newest run in the log (any status)."""
    with engine.connect() as conn:
        row = conn.execute(select(run_log).order_by(run_log.c.started_at.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


def jobs_of(report: dict[str, Any], stream_prefix: str) -> list[dict[str, Any]]:
    """The jobs of a run report whose listing cursor starts with ``stream_prefix`` (``hh:vacancies:``:
    the searches), each with its listing row's counts merged in."""
    return [{**job, **job["rows"][0]} for job in report["jobs"] if job["stream"].startswith(stream_prefix)]
