"""hh.ru vacancies: token -> search windows -> pages -> details -> raw checks -> transform ->
clean and pre-load checks -> load.

Orchestration only. Each search is harvested from its cursor (minus a small overlap) to now,
window by window, oldest first; each window's data and the cursor commit together, so a run
that stops half-way resumes where the database says it stopped. A window whose batch is clearly
broken (too many rejected records, or a search finding nothing where it used to find many) stops
the run with :class:`~tasks.quality.BatchRejected` before anything of it is written.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from flows import runtime
from flows.settings import load_settings
from flows.summary import SearchSummary
from schemas.expectations import Thresholds
from tasks import hh_vacancy_tasks as t
from tasks.extract.hh_search import Window, floor_step
from tasks.load import read_cursor


def new_run_id() -> str:
    return str(flow_run.id or f"local-{datetime.now(UTC):%Y%m%dT%H%M%S}")


@flow(name="hh-vacancies")
def hh_vacancies(
    sandbox: bool = False,
    sandbox_url: str | None = None,
    searches_file: str | None = None,
    lookback_days: int = 30,
    overlap_minutes: int = 10,
    detail_workers: int = 8,
    run_id: str | None = None,
    max_rejected_share: float = Thresholds.max_rejected_share,
) -> list[dict[str, Any]]:
    """Harvest every configured search into the vacancies and employers tables.

    Args:
        sandbox: run against the bundled emulator instead of api.hh.ru.
        sandbox_url: an emulator already running (implies sandbox).
        searches_file: TOML file of searches (default: JOBPIPE_SEARCHES or the bundled one).
        lookback_days: how far back the first run of a search reaches (hh.ru keeps ~30 days).
        overlap_minutes: how far before its cursor a daily run starts again.
        detail_workers: vacancy details requested in parallel (the rate limit still rules).
        run_id: the run log id (default: this flow run's id).
        max_rejected_share: a window whose rejected records exceed this share (and number at
            least ``Thresholds.min_rejected``) stops the run before its load.

    Returns:
        one summary per search (see :class:`flows.summary.SearchSummary`), with the expectation
        outcomes of its windows under ``expectations`` (render them with
        :func:`flows.summary.render_expectations`).
    """
    settings = load_settings()
    thresholds = Thresholds(max_rejected_share=max_rejected_share)
    args = (searches_file, lookback_days, overlap_minutes, detail_workers, run_id, thresholds)
    if sandbox or sandbox_url:
        with runtime.sandbox_settings(settings, sandbox_url) as settings:
            return _run(settings, *args)
    return _run(settings, *args)


def _run(
    settings, searches_file, lookback_days, overlap_minutes, detail_workers, run_id, thresholds
) -> list[dict[str, Any]]:
    logger = get_run_logger()
    run_id = run_id or new_run_id()
    engine = runtime.database(settings)
    client = runtime.hh_client(settings)
    rates = t.currency_rates(client)
    now = floor_step(datetime.now(UTC))
    summaries = []
    for search in runtime.searches(settings, searches_file):
        cursor = read_cursor(engine, search.stream)
        start = (
            floor_step(cursor - timedelta(minutes=overlap_minutes)) if cursor else now - timedelta(days=lookback_days)
        )
        summary = SearchSummary(search=search.name, since=start, until=now, stream=search.stream)
        calls_before = client.calls
        planned = t.plan_search(client, search, Window(start, now))
        summary.found = sum(p.found for p in planned)
        summary.truncated_windows = sum(p.truncated for p in planned)
        t.volume_check(engine, search.stream, summary.found, start, now, thresholds)
        for i, window in enumerate(planned, 1):
            records, unchanged, harvested = t.extract_window(client, engine, search, window, detail_workers)
            raw = t.raw_checks(records)
            batch = t.transform(raw.records, rates)
            what = f"search {search.name!r} window {i}/{len(planned)}"
            checks = t.clean_checks(engine, raw, batch, rates, what, thresholds)
            result = t.load(
                engine, checks.batch, unchanged, run_id, datetime.now(UTC), search.stream, window.window.end
            )
            summary.add_window(harvested, len(records), unchanged, result)
            summary.add_checks(checks.batch.rejections, checks.outcomes, checks.seconds())
            logger.info(
                "search %r window %d/%d: %d vacancies (%d new or changed); done %d of %d found",
                search.name,
                i,
                len(planned),
                harvested,
                len(records),
                summary.extracted,
                summary.found,
            )
        summary.api_calls = client.calls - calls_before
        summaries.append(summary.as_dict())
    engine.dispose()
    return summaries
