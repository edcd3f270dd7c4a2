"""hh.ru vacancies: every configured search (or one partition of them), window by window.

Each search's windows load oldest first, each with its cursor, so a run that stops half-way resumes
where the database says it stopped (:mod:`tasks.hh.streams`, :mod:`tasks.sync.engine`).
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from jobpipe.hooks import notify_failure
from jobpipe.runs import open_run
from schemas.expectations import Thresholds
from tasks.hh import streams as hh


@flow(name="hh-vacancies", on_failure=[notify_failure], on_crashed=[notify_failure])
def hh_vacancies(
    searches_file: str | None = None,
    lookback_days: int = 30,
    overlap_minutes: int = 10,
    detail_workers: int = 8,
    run_id: str | None = None,
    max_rejected_share: float = Thresholds.max_rejected_share,
    partition: str | None = None,
    emulator_url: str | None = None,
) -> dict[str, Any]:
    """Harvest every configured search into the vacancies and employers tables.

    Args:
        searches_file: TOML file of searches (default: JOBPIPE_SEARCHES or the bundled one).
        lookback_days: how far back the first run of a search reaches (hh.ru keeps ~30 days).
        overlap_minutes: how far before its cursor a run starts again.
        detail_workers: requests in flight for window probes, search pages and vacancy details (the
            rate limit still rules).
        run_id: the parent run's id when nested (``daily``); None: a run of its own, in the run log.
        max_rejected_share: a window whose rejected records exceed this share (and number at least
            ``Thresholds.min_rejected``) stops the run before its load.
        partition: ``"k/n"``: only the k-th of n disjoint sets of the searches (one per worker).
        emulator_url: an hh.ru emulator to use instead of api.hh.ru.

    Returns:
        the run's report (:meth:`tasks.sync.runs.RunReport.as_dict`): one row per search.
    """
    thresholds = Thresholds(max_rejected_share=max_rejected_share)
    with open_run("hh-vacancies", run_id, emulator_url, thresholds) as run:
        client = run.connections.hh()
        rates = client.currency_rates()
        for search in run.connections.searches(searches_file, partition):
            run.sync(hh.vacancy_search(client, search, rates, lookback_days, overlap_minutes, detail_workers))
    return run.result()
