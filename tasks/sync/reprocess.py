"""Re-processing of quarantined records: after a fix of a rule, a bound or the currency rates.

:func:`reprocess` reads quarantined records (payload + the extractor's meta + fetch time), runs
them through the same raw checks -> transform -> clean and pre-load checks -> load as a flow
run, and in the transaction of each load deletes from the quarantine the records that loaded.
Records that fail again stay, their stage, rule and reason updated in place (never duplicated);
``reprocessed_at`` says when. No batch-level rule applies: a re-processing run is a deliberate
act on records known to have failed.

Newer data wins over a stale quarantined copy:

* a record whose vacancy the database already holds as seen later than the record was fetched
  (``last_seen_at > fetched_at``) is *superseded*: deleted from the quarantine, not loaded;
* an employer already in the database is not rewritten from an old payload;
* a loaded row gets ``first_seen_at`` / ``last_seen_at`` = its record's fetch time, not the time
  of the re-processing (one transaction per distinct fetch time).

:func:`reprocess_quarantine` is the Prefect flow around it (rates from hh.ru, a run log row, a
markdown artifact).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from sqlalchemy import Engine, select

from flows.hh_vacancies import new_run_id
from jobpipe import connect as runtime
from jobpipe.settings import load_settings
from schemas.expectations import VACANCY_REFERENCES
from schemas.tables import employers, quarantine, vacancies
from tasks.hh.search import search_hash
from tasks.hh_vacancy_tasks import currency_rates
from tasks.sync.load import LoadResult, load_batch, release_quarantined, requarantine
from tasks.sync.quality import check_vacancies, db_lookup, merge_outcomes
from tasks.sync.records import RawRecord, Rejection
from tasks.sync.report import render_expectations
from tasks.sync.runs import finish_run, start_run

ENTITIES = {"vacancy": ("hh", vacancies)}
"""Entities that can be re-processed: name -> (source, table). Avito entities come with their flow."""

REPORT_KEY = "jobpipe-quarantine-reprocess"

(EMPLOYER_REFERENCE,) = VACANCY_REFERENCES


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


def to_record(row: Any, entity: str) -> RawRecord:
    """Rebuild the raw record of a quarantine row.

    ``meta`` values of keys ending in ``_at`` come back as datetimes. A row quarantined before
    the meta was stored (no ``search_hash``) gets the hash of its payload and no detail time, so
    the next run fetches its details again.
    """
    meta = {k: _datetime(v) if k.endswith("_at") else v for k, v in (row.meta or {}).items()}
    payload = row.payload
    if entity == "vacancy" and not meta.get("search_hash") and isinstance(payload, dict):
        meta["search_hash"] = search_hash(payload)
        meta.setdefault("detail_fetched_at", None)
    fetched_at = row.fetched_at or row.quarantined_at
    return RawRecord(row.source, row.entity, row.record_id, fetched_at, payload, meta)


def read_quarantined(
    engine: Engine, entity: str, rules: Sequence[str] | None, after_id: int, limit: int
) -> list[tuple[int, RawRecord]]:
    """The next ``limit`` quarantine rows of ``entity`` (and ``rules``) after ``after_id``, by id."""
    source, _ = ENTITIES[entity]
    query = (
        select(quarantine)
        .where(quarantine.c.entity == entity, quarantine.c.source == source, quarantine.c.id > after_id)
        .order_by(quarantine.c.id)
        .limit(limit)
    )
    if rules:
        query = query.where(quarantine.c.rule.in_(list(rules)))
    with engine.connect() as conn:
        return [(row.id, to_record(row, entity)) for row in conn.execute(query)]


def _superseded(engine: Engine, rows: Sequence[tuple[int, RawRecord]]) -> set[int]:
    """Quarantine ids whose vacancy the database holds as seen after the record was fetched."""
    ids = sorted({r.record_id for _, r in rows if r.record_id is not None})
    if not ids:
        return set()
    query = select(vacancies.c.vacancy_id, vacancies.c.last_seen_at).where(vacancies.c.vacancy_id.in_(ids))
    with engine.connect() as conn:
        seen = dict(conn.execute(query).all())
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
    rates: dict[str, float],
    entity: str = "vacancy",
    rules: Sequence[str] | None = None,
    run_id: str | None = None,
    *,
    chunk_size: int = 2000,
    now: datetime | None = None,
) -> ReprocessResult:
    """Run quarantined records through the checks and the load again.

    Args:
        engine: the database.
        rates: the currency rates to transform with (hh dictionary: units per 1 RUR).
        entity: what to re-process; only ``"vacancy"`` so far.
        rules: only the quarantine rows with one of these rules (None: every rule).
        run_id: written to the loaded rows' ``run_id`` (default ``reprocess-<UTC time>``).
        chunk_size: quarantine rows read and checked together.
        now: the checks' "now" (for ``published_in_future``); default the current time.

    Returns:
        A :class:`ReprocessResult`: ``selected == loaded + superseded + still_failing``.
    """
    if entity not in ENTITIES:
        raise ValueError(f"cannot re-process {entity!r} yet: only {sorted(ENTITIES)}")
    run_id = run_id or f"reprocess-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    result = ReprocessResult(run_id=run_id, entity=entity, rules=list(rules) if rules else None)
    lookup = db_lookup(engine)
    after = 0
    while True:
        rows = read_quarantined(engine, entity, rules, after, chunk_size)
        if not rows:
            break
        after = rows[-1][0]
        result.selected += len(rows)
        _reprocess_chunk(engine, rows, rates, lookup, run_id, now, result)
    return result


def _reprocess_chunk(engine, rows, rates, lookup, run_id, now, result: ReprocessResult) -> None:
    superseded = _superseded(engine, rows)
    live = [(qid, r) for qid, r in rows if qid not in superseded]
    qid_of = {id(record): qid for qid, record in live}
    checks = check_vacancies([r for _, r in live], rates, lookup, now=now)
    result.expectations = merge_outcomes(result.expectations, checks.outcomes)

    frame, emp = checks.batch.vacancies, checks.batch.employers
    loaded_ids = set(frame["vacancy_id"])
    release = list(superseded)
    failed: list[tuple[int, Rejection]] = []
    rejected = set()
    for rejection in checks.batch.rejections:
        qid = qid_of[id(rejection.record)]
        rejected.add(qid)
        if rejection.rule == "duplicate_in_batch" and rejection.record.record_id in loaded_ids:
            release.append(qid)  # another quarantined copy of the same vacancy loads now
            superseded.add(qid)
        else:
            failed.append((qid, rejection))
            result.failing_rules[rejection.rule] = result.failing_rules.get(rejection.rule, 0) + 1
    result.superseded += len(superseded)
    result.still_failing += len(failed)

    # an old payload must not rewrite an employer the database already holds
    known = set(lookup(EMPLOYER_REFERENCE, emp["employer_key"].tolist())) if len(emp) else set()
    emp = emp.loc[~emp["employer_key"].isin(known)]

    # one transaction per fetch time, so first/last seen say when the record was fetched
    by_payload = {id(r.payload): (qid, r) for qid, r in live if qid not in rejected}
    fetched = pd.Series([by_payload[id(p)][1].fetched_at for p in frame["payload"]], index=frame.index, dtype=object)
    groups = list(frame.groupby(fetched, sort=True, dropna=False).groups.items()) if len(frame) else []
    pending_release, pending_failed = release, failed
    written_employers: set[str] = set()
    for seen_at, index in groups:
        part = frame.loc[index]
        keys = set(part["employer_key"]) - written_employers
        part_employers = emp.loc[emp["employer_key"].isin(keys)]
        written_employers |= keys
        qids = [by_payload[id(p)][0] for p in part["payload"]]
        load = load_batch(
            engine,
            [(employers, part_employers), (vacancies, part)],
            [],
            run_id=run_id,
            seen_at=seen_at,
            release=[*qids, *pending_release],
            requarantined=pending_failed,
        )
        pending_release, pending_failed = [], []
        _count(result, load, len(part))
    if pending_release or pending_failed:  # nothing loaded: the quarantine changes alone
        with engine.begin() as conn:
            release_quarantined(conn, pending_release)
            requarantine(conn, pending_failed, datetime.now(UTC))


def _count(result: ReprocessResult, load: LoadResult, rows: int) -> None:
    counts = load.tables.get("vacancies")
    result.loaded += rows
    if counts:
        result.inserted += counts.inserted
        result.updated += counts.updated
        result.unchanged += counts.unchanged


def render_reprocess(result: ReprocessResult) -> str:
    d = result.as_dict()
    lines = [
        f"# jobpipe quarantine re-processing {d['run_id']}",
        "",
        "| entity | rules | selected | loaded | superseded | still failing | inserted | updated | unchanged |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {d['entity']} | {', '.join(d['rules'] or ['all'])} | {d['selected']} | {d['loaded']} | {d['superseded']} "
        f"| {d['still_failing']} | {d['inserted']} | {d['updated']} | {d['unchanged']} |",
        "",
    ]
    if d["failing_rules"]:
        lines += ["- still failing by rule: " + ", ".join(f"{k} {v}" for k, v in d["failing_rules"].items()), ""]
    lines.append(render_expectations(result.expectations))
    return "\n".join(lines)


@flow(name="reprocess-quarantine")
def reprocess_quarantine(
    rules: list[str] | None = None,
    entity: str = "vacancy",
    sandbox: bool = False,
    sandbox_url: str | None = None,
    rates: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Re-process quarantined records (all, or those of ``rules``) and report what loaded.

    Args:
        rules: only the records quarantined by these rules (default: all).
        entity: ``vacancy``.
        sandbox: take the currency rates from the bundled emulator instead of api.hh.ru.
        sandbox_url: an emulator already running (implies sandbox).
        rates: the currency rates to use instead of asking hh.ru.

    Returns:
        :meth:`ReprocessResult.as_dict`; the run is in ``run_log`` (flow ``reprocess-quarantine``)
        and its report in the markdown artifact :data:`REPORT_KEY`.
    """
    settings = load_settings()
    if sandbox or sandbox_url:
        with runtime.sandbox_settings(settings, sandbox_url) as settings:
            return _reprocess_run(settings, rules, entity, rates)
    return _reprocess_run(settings, rules, entity, rates)


def _reprocess_run(settings, rules, entity, rates) -> dict[str, Any]:
    logger = get_run_logger()
    engine = runtime.database(settings)
    run_id = new_run_id()
    api_calls = None
    if rates is None:
        client = runtime.hh_client(settings)
        rates = currency_rates(client)
        api_calls = client.calls
    start_run(engine, run_id, "reprocess-quarantine")
    status, result = "failed", None
    try:
        result = reprocess(engine, rates, entity, rules, run_id)
        status = "completed"
    finally:
        finish_run(engine, run_id, status, {"reprocess": result.as_dict() if result else {}}, api_calls)
        engine.dispose()
    markdown = render_reprocess(result)
    create_markdown_artifact(key=REPORT_KEY, markdown=markdown, description="quarantine re-processing")
    logger.info("re-processing summary\n%s", markdown)
    print(markdown)
    return result.as_dict()
