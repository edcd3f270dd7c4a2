"""The engine's stages as Prefect tasks: thin wrappers over :class:`tasks.sync.engine.Steps`.

Each works on a batch (a job's plan, one unit), never on one record. Inputs are clients, engines
and frames, which Prefect cannot hash, so caching is off (``NO_CACHE``); they are handed over in
``quote``, so Prefect passes them through instead of walking every record looking for futures (on
a unit of 2000 vacancies that walk costs more than the work itself). Fetching retries twice on a
failure a retry can fix, never on a :class:`~tasks.sync.http.StopRun` (a person must act first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote
from sqlalchemy import Engine

from schemas.expectations import Thresholds
from tasks.sync import checks as ck
from tasks.sync.engine import PLAIN, Job, Plan, Steps, Unit
from tasks.sync.http import StopRun
from tasks.sync.load import LoadResult
from tasks.sync.records import RawRecord
from tasks.sync.streams import Stream, Transformed


def _retryable(task, task_run, state) -> bool:
    """Retry a failed task unless a person must act first (captcha, refused token) or the batch
    itself was refused."""
    try:
        state.result()
    except (StopRun, ck.BatchRejected):
        return False
    except Exception:
        return True
    return False


RETRY = {"retries": 2, "retry_delay_seconds": [5, 30], "retry_jitter_factor": 0.5, "retry_condition_fn": _retryable}


@task(name="plan", cache_policy=NO_CACHE, **RETRY)
def plan(job: Job, since: datetime | None, until: datetime) -> Plan:
    return PLAIN.plan(job, since, until)


@task(name="fetch", cache_policy=NO_CACHE, **RETRY)
def fetch(job: Job, part: Any, since: Mapping[str, datetime | None], db: Engine, label: str) -> Unit:
    return PLAIN.fetch(job, part, since, db, label)


@task(name="raw-checks", cache_policy=NO_CACHE)
def raw_checks(records: list[RawRecord]) -> ck.RawChecked:
    return PLAIN.raw_checks(records)


@task(name="transform", cache_policy=NO_CACHE)
def transform(streams: Sequence[Stream], records: list[RawRecord], context: Mapping[str, Any]) -> Transformed:
    return PLAIN.transform(streams, records, context)


@task(name="checks", cache_policy=NO_CACHE)
def checks(
    db: Engine,
    transformed: Transformed,
    raw: ck.RawChecked,
    params: Mapping[str, Any],
    label: str,
    refused: int,
    thresholds: Thresholds,
) -> ck.Checked:
    return PLAIN.checks(db, transformed, raw, params, label, refused, thresholds)


@task(name="load", cache_policy=NO_CACHE)
def load(db: Engine, checked: ck.Checked, unit: Unit, run_id: str) -> LoadResult:
    return PLAIN.load(db, checked, unit, run_id)


class PrefectSteps(Steps):
    """:class:`~tasks.sync.engine.Steps` run as the tasks above, named after the job."""

    def plan(self, job: Job, since: datetime | None, until: datetime) -> Plan:
        return plan.with_options(name=f"{job.listing.name}-plan")(quote(job), since, until)

    def fetch(self, job: Job, part: Any, since: Mapping[str, datetime | None], db: Engine, label: str) -> Unit:
        return fetch.with_options(name=f"{job.listing.name}-fetch")(quote(job), quote(part), quote(since), db, label)

    def raw_checks(self, records: list[RawRecord]) -> ck.RawChecked:
        return raw_checks(quote(records))

    def transform(self, streams: Sequence[Stream], records: list[RawRecord], context: Mapping[str, Any]) -> Transformed:
        return transform(quote(streams), quote(records), quote(context))

    def checks(self, db, transformed, raw, params, label, refused, thresholds) -> ck.Checked:
        return checks(db, quote(transformed), quote(raw), quote(params), label, refused, thresholds)

    def load(self, db: Engine, checked: ck.Checked, unit: Unit, run_id: str) -> LoadResult:
        return load(db, quote(checked), quote(unit), run_id)


PREFECT = PrefectSteps()
