"""Prefect tasks of the hh.ru negotiations pipeline: thin wrappers, one per stage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from schemas.tables import hh_negotiation_messages, hh_negotiations
from tasks.hh.client import HHClient
from tasks.hh.import_responses import VacancyFetch, fetch_vacancies, missing_vacancy_ids
from tasks.hh.negotiations import (
    APPLICANT,
    EMPLOYER,
    NegotiationHarvest,
    StreamClosed,
    harvest_applicant,
    harvest_employer,
)
from tasks.hh.negotiations import fetch_messages as _fetch_messages
from tasks.hh.transform_negotiations import NegotiationBatch, transform_negotiations
from tasks.hh_vacancy_tasks import RETRY
from tasks.sync.load import LoadResult, load_batch
from tasks.sync.records import RawRecord

OPTS = {"cache_policy": NO_CACHE, **RETRY}


@task(name="hh-account-role", **OPTS)
def account_role(client: HHClient) -> str:
    """employer or applicant, from ``GET /me``."""
    return EMPLOYER if client.me().get("is_employer") else APPLICANT


@task(name="hh-harvest-negotiations", **OPTS)
def harvest(client: HHClient, role: str, since: datetime | None, fetched_at: datetime) -> NegotiationHarvest:
    """The account's new and changed negotiations; a stream hh.ru refuses comes back ``closed``."""
    try:
        if role == EMPLOYER:
            return harvest_employer(client, since, fetched_at)
        return harvest_applicant(client, since, fetched_at)
    except StreamClosed as exc:
        return NegotiationHarvest(role, closed=str(exc))


@task(name="hh-fetch-negotiation-messages", **OPTS)
def fetch_messages(client: HHClient, ids: Sequence[str], fetched_at: datetime, workers: int) -> list[RawRecord]:
    return _fetch_messages(client, list(ids), fetched_at, workers)


@task(name="hh-transform-negotiations", cache_policy=NO_CACHE)
def transform(negotiations: Sequence[RawRecord], messages: Sequence[RawRecord]) -> NegotiationBatch:
    return transform_negotiations(negotiations, messages)


@task(name="hh-fetch-negotiation-vacancies", **OPTS)
def fetch_missing_vacancies(engine: Engine, client: HHClient, ids: Sequence[str], run_id: str) -> VacancyFetch:
    """The vacancies the negotiations point at that the database lacks, fetched by id and loaded as
    the searches load theirs (so the analytics can join salary and employer)."""
    with engine.connect() as conn:
        missing = missing_vacancy_ids(conn, ids)
    return fetch_vacancies(engine, client, missing, run_id)


@task(name="hh-negotiation-checks", cache_policy=NO_CACHE)
def check(batch: NegotiationBatch, records: Sequence[RawRecord]) -> tuple[NegotiationBatch, list[dict]]:
    """The clean suites; failing rows go to the quarantine, outcomes come back for the report."""
    from tasks.hh_negotiation_quality import check_negotiations
    from tasks.sync.quality import merge_outcomes

    checked, results = check_negotiations(batch, records)
    return checked, merge_outcomes(*(r.expectations for r in results))


@task(name="hh-load-negotiations", cache_policy=NO_CACHE)
def load(
    engine: Engine, batch: NegotiationBatch, run_id: str, seen_at: datetime, cursor: tuple[str, datetime] | None
) -> LoadResult:
    """Negotiations (+ status history), messages, quarantine and the cursor, in one transaction."""
    return load_batch(
        engine,
        [(hh_negotiations, batch.negotiations), (hh_negotiation_messages, batch.messages)],
        batch.rejections,
        run_id=run_id,
        seen_at=seen_at,
        cursor=cursor,
        history=batch.history,
    )
