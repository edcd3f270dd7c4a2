"""Prefect tasks of the Avito candidates pipeline: thin wrappers, one per stream and stage."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from schemas.tables import avito_applications, avito_chats, avito_messages, avito_resumes
from tasks.avito.client import AvitoClient
from tasks.avito.listing import ChatHarvest, harvest_chats
from tasks.avito.transform_candidates import AvitoBatch, transform_avito
from tasks.hh_vacancy_tasks import RETRY
from tasks.sync.load import LoadResult, load_batch
from tasks.sync.records import RawRecord

OPTS = {"cache_policy": NO_CACHE, **RETRY}


@task(name="avito-account", **OPTS)
def account_id(client: AvitoClient) -> int:
    return client.account_id()


@task(name="avito-list-applications", **OPTS)
def list_applications(client: AvitoClient, updated_from: date) -> list[dict]:
    return list(client.application_ids(updated_from))


@task(name="avito-fetch-applications", **OPTS)
def fetch_applications(client: AvitoClient, ids: Sequence[str]) -> list[dict]:
    return client.applications(list(ids))


@task(name="avito-list-chats", **OPTS)
def list_chats(client: AvitoClient, updated_after: int | None, known_items: Sequence[int]) -> ChatHarvest:
    return harvest_chats(client, updated_after, known_items)


@task(name="avito-fetch-messages", **OPTS)
def fetch_messages(client: AvitoClient, chats: Sequence[tuple[str, int | None]], workers: int) -> dict[str, list[dict]]:
    return client.many_messages(list(chats), workers=workers)


@task(name="avito-fetch-resumes", **OPTS)
def fetch_resumes(client: AvitoClient, ids: Sequence[str], workers: int) -> dict[str, dict | None]:
    return client.resumes(list(ids), workers=workers)


@task(name="avito-transform", cache_policy=NO_CACHE)
def transform(
    account: int,
    chats: list[RawRecord],
    messages: list[RawRecord],
    applications: list[RawRecord],
    resumes: dict[str, dict | None],
    fetched_at: datetime,
    masked_before: Collection[str] = (),
) -> AvitoBatch:
    return transform_avito(account, chats, messages, applications, resumes, fetched_at, masked_before)


@task(name="avito-clean-checks", cache_policy=NO_CACHE)
def check(batch: AvitoBatch, records: dict[str, list[RawRecord]]) -> tuple[AvitoBatch, list[dict]]:
    """Great Expectations clean suites per entity; failing rows leave the batch for the quarantine."""
    from tasks.avito_quality import check_avito
    from tasks.sync.quality import merge_outcomes

    checked, results = check_avito(batch, records)
    return checked, merge_outcomes(*(r.expectations for r in results))


@task(name="avito-load", cache_policy=NO_CACHE)
def load(
    engine: Engine,
    batch: AvitoBatch,
    unchanged_applications: Sequence[str],
    run_id: str,
    seen_at: datetime,
    cursors: Sequence[tuple[str, datetime]],
) -> LoadResult:
    """Chats, messages, applications (+ status history), resumes, quarantine and cursors, in one
    transaction."""
    return load_batch(
        engine,
        [
            (avito_chats, batch.chats),
            (avito_messages, batch.messages),
            (avito_applications, batch.applications),
            (avito_resumes, batch.resumes),
        ],
        batch.rejections,
        run_id=run_id,
        seen_at=seen_at,
        seen_again={avito_applications: list(unchanged_applications)},
        cursors=cursors,
        history=batch.history,
    )
