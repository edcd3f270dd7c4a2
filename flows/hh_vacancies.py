"""hh.ru vacancies: token -> search windows -> pages -> details -> raw checks -> transform ->
clean and pre-load checks -> load.

Orchestration only. Each search is harvested from its cursor (minus a small overlap) to now,
window by window, oldest first; each window's data and the cursor commit together, so a run
that stops half-way resumes where the database says it stopped. A window whose batch is clearly
broken (too many rejected records, or a search finding nothing where it used to find many) stops
the run with :class:`~tasks.sync.quality.BatchRejected` before anything of it is written.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from jobpipe import connect as runtime
from jobpipe.hooks import notify_failure
from jobpipe.settings import load_settings
from schemas.expectations import Thresholds
from tasks import hh_vacancy_tasks as t
from tasks.hh.search import Window, floor_step, select_partition
from tasks.sync.load import read_cursor
from tasks.sync.report import SearchSummary


class StageClock:
    """Wall seconds per stage of a run (each task call's time, Prefect's own overhead included)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started

    def rounded(self) -> dict[str, float]:
        return {stage: round(seconds, 2) for stage, seconds in self.seconds.items()}


def new_run_id() -> str:
    return str(flow_run.id or f"local-{datetime.now(UTC):%Y%m%dT%H%M%S}")


@flow(name="hh-vacancies", on_failure=[notify_failure], on_crashed=[notify_failure])
def hh_vacancies(
    sandbox: bool = False,
    sandbox_url: str | None = None,
    searches_file: str | None = None,
    lookback_days: int = 30,
    overlap_minutes: int = 10,
    detail_workers: int = 8,
    run_id: str | None = None,
    max_rejected_share: float = Thresholds.max_rejected_share,
    partition: str | None = None,
) -> list[dict[str, Any]]:
    """Harvest every configured search into the vacancies and employers tables.

    A window's records and frames go to the tasks wrapped in ``quote``: Prefect then passes them
    through instead of walking every record and payload to look for futures (on a window of 2000
    vacancies that walk costs more than the work itself).

    Args:
        sandbox: run against the bundled emulator instead of api.hh.ru.
        sandbox_url: an emulator already running (implies sandbox).
        searches_file: TOML file of searches (default: JOBPIPE_SEARCHES or the bundled one).
        lookback_days: how far back the first run of a search reaches (hh.ru keeps ~30 days).
        overlap_minutes: how far before its cursor a daily run starts again.
        detail_workers: requests in flight for window probes, search pages and vacancy details (the
            rate limit still rules).
        run_id: the run log id (default: this flow run's id).
        max_rejected_share: a window whose rejected records exceed this share (and number at
            least ``Thresholds.min_rejected``) stops the run before its load.
        partition: ``"k/n"``: harvest only the k-th of n disjoint sets of the searches (one per
            worker, see :func:`tasks.hh.search.select_partition`); None: all searches.

    Returns:
        one summary per search (see :class:`tasks.sync.report.SearchSummary`), with the expectation
        outcomes of its windows under ``expectations`` (render them with
        :func:`tasks.sync.report.render_expectations`).
    """
    settings = load_settings()
    thresholds = Thresholds(max_rejected_share=max_rejected_share)
    args = (searches_file, lookback_days, overlap_minutes, detail_workers, run_id, thresholds, partition)
    if sandbox or sandbox_url:
        with runtime.sandbox_settings(settings, sandbox_url) as settings:
            return _run(settings, *args)
    return _run(settings, *args)


def _run(
    settings, searches_file, lookback_days, overlap_minutes, detail_workers, run_id, thresholds, partition
) -> list[dict[str, Any]]:
    logger = get_run_logger()
    run_id = run_id or new_run_id()
    engine = runtime.database(settings)
    client = runtime.hh_client(settings)
    try:
        rates = t.currency_rates(client)
        now = floor_step(datetime.now(UTC))
        summaries = []
        for search in select_partition(runtime.searches(settings, searches_file), partition):
            cursor = read_cursor(engine, search.stream)
            since_cursor = cursor - timedelta(minutes=overlap_minutes) if cursor else None
            start = floor_step(since_cursor) if since_cursor else now - timedelta(days=lookback_days)
            summary = SearchSummary(search=search.name, since=start, until=now, stream=search.stream)
            calls_before = client.calls
            clock = StageClock()
            with clock("extract"):
                planned = t.plan_search(client, search, Window(start, now), detail_workers)
            summary.found = sum(p.found for p in planned)
            summary.truncated_windows = sum(p.truncated for p in planned)
            t.volume_check(engine, search.stream, summary.found, start, now, thresholds)
            for i, window in enumerate(planned, 1):
                with clock("extract"):
                    extracted = t.extract_window(client, engine, search, quote(window), detail_workers)
                    records, unchanged, harvested = extracted
                with clock("checks"):
                    raw = t.raw_checks(quote(records))
                with clock("transform"):
                    batch = t.transform(quote(raw.records), rates)
                what = f"search {search.name!r} window {i}/{len(planned)}"
                with clock("checks"):
                    checks = t.clean_checks(engine, quote(raw), quote(batch), rates, what, thresholds)
                with clock("load"):
                    result = t.load(
                        engine,
                        quote(checks.batch),
                        quote(unchanged),
                        run_id,
                        datetime.now(UTC),
                        search.stream,
                        window.window.end,
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
                del records, raw, batch, checks  # one window's data in memory at a time
            summary.api_calls = client.calls - calls_before
            summaries.append({**summary.as_dict(), "stage_seconds": clock.rounded()})
    finally:
        client.core.close()  # gives back this process's share of hh.ru's limit, when one is shared
        engine.dispose()
    return summaries
