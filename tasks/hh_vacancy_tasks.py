"""Prefect tasks of the hh.ru vacancies pipeline: thin wrappers, one per stage and batch.

Each wraps plain functions (tested without Prefect) and works on a batch: a search's window plan,
one window of at most 2000 vacancies. Inputs are clients, engines and frames, which Prefect
cannot hash, so caching is off (``NO_CACHE``).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from schemas.expectations import Thresholds
from schemas.tables import employers, vacancies
from tasks.hh.client import HHClient
from tasks.hh.search import (
    PlannedWindow,
    Search,
    Window,
    harvest_window,
    plan_windows,
    query,
    split_changed,
    to_records,
    with_details,
)
from tasks.hh.transform_vacancies import VacancyBatch, transform_vacancies
from tasks.sync.http import StopRun
from tasks.sync.load import LoadResult, load_batch, stored_hashes
from tasks.sync.quality import (
    RawChecked,
    VacancyChecks,
    check_raw_vacancies,
    complete_vacancy_checks,
    db_lookup,
    enforce_vacancy_batch,
    enforce_volume,
    previous_count,
)
from tasks.sync.records import RawRecord


def _retryable(task, task_run, state) -> bool:
    """Retry a failed task unless a person must act first (captcha, refused token)."""
    try:
        state.result()
    except StopRun:
        return False
    except Exception:
        return True
    return False


RETRY = {"retries": 2, "retry_delay_seconds": [5, 30], "retry_jitter_factor": 0.5, "retry_condition_fn": _retryable}


@task(name="hh-currency-rates", cache_policy=NO_CACHE, **RETRY)
def currency_rates(client: HHClient) -> dict[str, float]:
    return client.currency_rates()


@task(name="hh-plan-windows", cache_policy=NO_CACHE, **RETRY)
def plan_search(client: HHClient, search: Search, span: Window, workers: int = 1) -> list[PlannedWindow]:
    """Cut the search's period into windows of at most 2000 matches (each probe is a first page;
    ``workers`` probes in flight)."""
    planned = plan_windows(lambda w: client.search(query(search, w)), span, workers=workers)
    found = sum(p.found for p in planned)
    get_run_logger().info(
        "search %r: %d vacancies found from %s to %s, in %d windows",
        search.name,
        found,
        span.start.isoformat(),
        span.end.isoformat(),
        len(planned),
    )
    return planned


@task(name="hh-extract-window", cache_policy=NO_CACHE, **RETRY)
def extract_window(
    client: HHClient, engine: Engine, search: Search, planned: PlannedWindow, detail_workers: int
) -> tuple[list[RawRecord], list[str], int]:
    """All vacancies of one window: pages, then details for the new or changed ones only (both with
    ``detail_workers`` requests in flight under the client's shared rate limiter).

    Returns:
        records to transform (details where fetched), ids seen again unchanged, items harvested.
    """
    fetched_at = datetime.now().astimezone()
    items = harvest_window(client, search, planned, workers=detail_workers)
    records = to_records(items, fetched_at)
    ids = [r.record_id for r in records if r.record_id is not None]
    changed, unchanged = split_changed(records, stored_hashes(engine, vacancies, "search_hash", ids))
    details = client.vacancies([r.record_id for r in changed if r.record_id], workers=detail_workers)
    return with_details(changed, details, datetime.now().astimezone()), unchanged, len(items)


@task(name="hh-volume-check", cache_policy=NO_CACHE)
def volume_check(engine: Engine, stream: str, found: int, since: datetime, until: datetime, thresholds: Thresholds):
    """Refuse a search that finds nothing where its previous run's rate predicts many (before any load)."""
    enforce_volume(stream, found, since, until, previous_count(engine, stream), thresholds)


@task(name="hh-raw-checks", cache_policy=NO_CACHE)
def raw_checks(records: list[RawRecord]) -> RawChecked:
    """Ids present, required keys present and typed: failing records leave for the quarantine."""
    return check_raw_vacancies(records)


@task(name="hh-transform", cache_policy=NO_CACHE)
def transform(records: list[RawRecord], rates: dict[str, float]) -> VacancyBatch:
    return transform_vacancies(records, rates)


@task(name="hh-clean-checks", cache_policy=NO_CACHE)
def clean_checks(
    engine: Engine, raw: RawChecked, batch: VacancyBatch, rates: dict[str, float], what: str, thresholds: Thresholds
) -> VacancyChecks:
    """Clean and pre-load checks, then the batch-level rules: a clearly broken batch raises
    :class:`~tasks.sync.quality.BatchRejected` here, before anything of it is written."""
    checks = complete_vacancy_checks(raw, batch, rates, db_lookup(engine))
    stages = Counter(r.stage for r in checks.batch.rejections)
    get_run_logger().info(
        "%s: %d records checked, %d to load, %d rejected %s; checks took %.2fs",
        what,
        checks.checked,
        len(checks.batch.vacancies),
        checks.rejected,
        dict(stages),
        checks.seconds(),
    )
    enforce_vacancy_batch(what, checks, thresholds)
    return checks


@task(name="hh-load", cache_policy=NO_CACHE)
def load(
    engine: Engine,
    batch: VacancyBatch,
    unchanged: list[str],
    run_id: str,
    seen_at: datetime,
    stream: str,
    position: datetime,
) -> LoadResult:
    """Employers, vacancies, quarantine, rows seen again and the cursor, in one transaction."""
    return load_batch(
        engine,
        [(employers, batch.employers), (vacancies, batch.vacancies)],
        batch.rejections,
        run_id=run_id,
        seen_at=seen_at,
        seen_again={vacancies: unchanged},
        cursor=(stream, position),
    )
