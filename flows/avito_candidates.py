"""Avito candidates: applications with their resumes, chats with their messages, in one unit.

A stream Avito refuses with 402 (the tariff lacks the API) is skipped with a note and catches up
on the next run that may read it (:mod:`tasks.avito.streams`).
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from jobpipe.hooks import notify_failure
from jobpipe.runs import open_run
from tasks.avito import streams as avito


@flow(name="avito-candidates", on_failure=[notify_failure], on_crashed=[notify_failure])
def avito_candidates(
    lookback_days: int = 90,
    workers: int = 8,
    run_id: str | None = None,
    emulator_url: str | None = None,
) -> dict[str, Any]:
    """Harvest the account's applications, chats, messages and resumes into the avito_* tables.

    Args:
        lookback_days: how far back the first run reads applications.
        workers: requests in flight for messages and resumes (rate limiters still rule).
        run_id: the parent run's id when nested (``daily``); None: a run of its own.
        emulator_url: an Avito emulator to use instead of api.avito.ru.

    Returns:
        the run's report: one row per entity, with the notes.
    """
    with open_run("avito-candidates", run_id, emulator_url) as run:
        run.sync(avito.candidates(run.connections.avito(), lookback_days, workers))
    return run.result()
