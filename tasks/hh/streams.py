"""hh.ru as streams: vacancy searches, the negotiations of an account, a file of one's own responses.

Declarations only (see :mod:`tasks.sync.streams`); the engine runs them. What each stream fetches:

===============================  =========  =======================================================
stream                           kind       fetched
===============================  =========  =======================================================
``hh:vacancies:<search>``        listing    ``GET /vacancies`` of one search, window by window of its
                                            plan (at most 2000 matches each), from its cursor
``hh:vacancy_details``           detail     ``GET /vacancies/{id}`` for items whose search hash changed
``hh:negotiations:<account>``    listing    the account's negotiations changed since its cursor
``hh:negotiation_messages``      child      ``GET /negotiations/{id}/messages`` of each of them
``hh:negotiation_vacancies``     child      ``GET /vacancies/{id}`` of the vacancies they name that
                                            the database lacks
``hh:responses``                 listing    the rows of a responses file (no API)
``hh:response_vacancies``        child      ``GET /vacancies/{id}`` of the vacancies the rows name
                                            that the database lacks
===============================  =========  =======================================================

A vacancy fetched by id that hh.ru no longer has (404) is counted as gone: a deleted vacancy keeps
its responses, just without its details. Any other refusal of one vacancy (403, or 5xx after the
HTTP core's retries) quarantines that id at the extract stage, and the rest of the unit loads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from schemas.expectations import CLOCK_SKEW, CURRENCIES, LATEST_PUBLISHED_AT
from schemas.tables import vacancies
from tasks.hh.client import HHClient
from tasks.hh.negotiations import list_negotiations, negotiation_messages, plan_account
from tasks.hh.responses_file import read_responses_file, response_rows, row_records
from tasks.hh.salary import validate_rates
from tasks.hh.search import Search, list_window, plan_search, search_hash
from tasks.hh.transform_negotiations import message_rows, negotiation_rows
from tasks.hh.transform_vacancies import transform_vacancies
from tasks.sync.engine import Job
from tasks.sync.lookups import Lookups
from tasks.sync.records import RawRecord
from tasks.sync.streams import CHILD, DETAIL, Fetch, Listed, Stream, TransformContext, Transformed

VACANCY_TOLERATE = frozenset({403, 500, 502, 503, 504})
"""A vacancy fetched by id that fails this way is quarantined (stage extract), not the whole unit."""


# --- what the vacancy streams share -----------------------------------------------------------------


def vacancy_rows(records: Sequence[RawRecord], context: TransformContext) -> Transformed:
    """Vacancies (search items or details) as rows of ``vacancies`` and ``employers``."""
    batch = transform_vacancies(records, context.values["rates"])
    return Transformed({"vacancy": batch.vacancies, "employer": batch.employers}, batch.rejections)


def vacancy_check_params(context: Mapping[str, Any]) -> dict[str, Any]:
    """The clean suite's run-time values: the rates' currencies, the latest plausible publication."""
    now = context.get("now") or datetime.now().astimezone()
    return {CURRENCIES: sorted(validate_rates(context["rates"])), LATEST_PUBLISHED_AT: now + CLOCK_SKEW}


def _detailed(payload: Any, at: datetime) -> dict[str, Any]:
    return {"detail_fetched_at": at}


def _fetched_by_id(payload: Any, at: datetime) -> dict[str, Any]:
    return {"search_hash": search_hash(payload) if isinstance(payload, dict) else "", "detail_fetched_at": at}


def _vacancy(client: HHClient, vacancy_id: str, since: Any = None) -> dict | None:
    return client.vacancy(vacancy_id)


def _details(client: HHClient, ids: Sequence[str], workers: int) -> dict[str, dict | None]:
    return client.vacancies(list(ids), workers=workers)


def _missing_vacancies(ids: Sequence[str], lookups: Lookups) -> list[tuple[str, None]]:
    return [(vacancy_id, None) for vacancy_id in lookups.missing(vacancies, [i for i in ids if i])]


# --- vacancy searches -------------------------------------------------------------------------------

VACANCIES = Stream(
    "hh:vacancies",
    "vacancy",
    fetch=list_window,
    cursor_field="published_at",
    overlap=timedelta(minutes=10),
    transform=vacancy_rows,
    check_params=vacancy_check_params,
)
VACANCY_DETAILS = Stream(
    "hh:vacancy_details",
    "vacancy",
    kind=DETAIL,
    parent="hh:vacancies",
    fetch=_details,
    marker=lambda record: record.meta.get("search_hash"),
    marker_column="search_hash",
    keep_listed=True,
    meta=_detailed,
)


def vacancy_search(
    client: HHClient,
    search: Search,
    rates: Mapping[str, float],
    lookback_days: int = 30,
    overlap_minutes: int = 10,
    workers: int = 8,
) -> Job:
    """One search as a job: its windows from its cursor, each window a unit with its details."""
    listing = replace(VACANCIES, overlap=timedelta(minutes=overlap_minutes))
    return Job(
        search.name,
        (listing, replace(VACANCY_DETAILS, workers=workers)),
        client,
        part=search.name,
        lookback=timedelta(days=lookback_days),
        context={"rates": dict(rates)},
        plan=partial(plan_search, search, workers),
        titled=False,
    )


# --- negotiations of an authorized account ---------------------------------------------------------


def _every_negotiation(parents: Sequence[RawRecord], since: Any, lookups: Lookups) -> list[tuple[str, None]]:
    return [(r.record_id, None) for r in parents if r.record_id]


def _named_vacancy(record: RawRecord) -> str | None:
    vacancy = record.payload.get("vacancy") if isinstance(record.payload, dict) else None
    named = record.meta.get("vacancy_id") or (vacancy.get("id") if isinstance(vacancy, dict) else None)
    return str(named) if named is not None else None


NEGOTIATIONS = Stream(
    "hh:negotiations",
    "negotiation",
    fetch=list_negotiations,
    cursor_field="updated_at",
    overlap=timedelta(minutes=10),
    lookback=False,
    transform=negotiation_rows,
)
NEGOTIATION_MESSAGES = Stream(
    "hh:negotiation_messages",
    "negotiation_message",
    kind=CHILD,
    parent="hh:negotiations",
    fetch=negotiation_messages,
    select=_every_negotiation,
    link="negotiation_id",
    transform=message_rows,
    workers=4,
)
NEGOTIATION_VACANCIES = Stream(
    "hh:negotiation_vacancies",
    "vacancy",
    kind=CHILD,
    parent="hh:negotiations",
    fetch=_vacancy,
    select=lambda parents, since, lookups: _missing_vacancies([_named_vacancy(r) for r in parents], lookups),
    tolerate=VACANCY_TOLERATE,
    meta=_fetched_by_id,
    transform=vacancy_rows,
    check_params=vacancy_check_params,
    workers=4,
)


def account_negotiations(client: HHClient, account: str, rates: Mapping[str, float], workers: int = 4) -> Job:
    """An authorized account's negotiations as a job: one unit with their messages and the vacancies
    they name that the database lacks (all in one transaction with the cursor)."""
    return Job(
        account,
        (NEGOTIATIONS, replace(NEGOTIATION_MESSAGES, workers=workers), NEGOTIATION_VACANCIES),
        client,
        part=account,
        context={"rates": dict(rates)},
        plan=plan_account,
    )


# --- a file of one's own responses ------------------------------------------------------------------


def list_responses(fetch: Fetch) -> Listed:
    """The rows of the job's responses file as records (a file-level fault raises
    :class:`~tasks.hh.responses_file.ResponsesFileError`)."""
    records, blank = row_records(read_responses_file(fetch.values["path"]), fetch.at)
    columns = records[0].meta["columns"] if records else {}
    return Listed(records, facts={"blank_rows": blank, "columns": columns, "vacancies": _response_vacancies(records)})


def _response_vacancies(rows: Sequence[RawRecord]) -> list[str]:
    """The vacancies the rows that become status events name (a bad row names none), once each."""
    negotiations = response_rows(rows).frames["negotiation"]
    return list(dict.fromkeys(negotiations["vacancy_id"].dropna()))


RESPONSES = Stream("hh:responses", "manual_response", fetch=list_responses, transform=response_rows)
RESPONSE_VACANCIES = replace(
    NEGOTIATION_VACANCIES,
    name="hh:response_vacancies",
    parent="hh:responses",
    select=lambda parents, since, lookups: _missing_vacancies(_response_vacancies(parents), lookups),
)


def responses_file(path: str | Path, client: HHClient | None, rates: Mapping[str, float] | None = None) -> Job:
    """A responses file as a job: its rows, and (with a client) the vacancies they name that the
    database lacks, fetched in the same unit."""
    streams = (RESPONSES, RESPONSE_VACANCIES) if client is not None else (RESPONSES,)
    return Job(Path(path).name, streams, client, context={"path": str(path), "rates": dict(rates or {})})


STREAMS = (
    VACANCIES,
    VACANCY_DETAILS,
    NEGOTIATIONS,
    NEGOTIATION_MESSAGES,
    NEGOTIATION_VACANCIES,
    RESPONSES,
    RESPONSE_VACANCIES,
)
"""Every hh.ru stream (the quarantine re-processing finds an entity's transform here)."""


def restore_vacancy_meta(payload: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """A vacancy quarantined before its meta was stored gets the hash of its payload and no detail
    time, so the next run fetches its details again."""
    if meta.get("search_hash"):
        return meta
    return {**meta, "search_hash": search_hash(payload), "detail_fetched_at": None}


REBUILD = {"vacancy": restore_vacancy_meta}
"""What re-processing restores of old quarantine rows, per entity."""
