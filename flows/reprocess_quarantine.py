"""Re-processing of quarantined records after a fix: every entity, or those asked for."""

from __future__ import annotations

from typing import Any

from prefect import flow

from jobpipe.hooks import notify_failure
from jobpipe.runs import open_run
from jobpipe.sources import reprocess_quarantine as reprocess
from tasks.sync.report import render_reprocess


@flow(name="reprocess-quarantine", on_failure=[notify_failure], on_crashed=[notify_failure])
def reprocess_quarantine(
    rules: list[str] | None = None,
    entities: list[str] | None = None,
    rates: dict[str, float] | None = None,
    emulator_url: str | None = None,
) -> dict[str, Any]:
    """Re-process quarantined records (all, or those of ``entities`` and ``rules``) and report what loaded.

    Args:
        rules: only the records quarantined by these rules (default: all).
        entities: only these entities (default: every one that can be re-processed).
        rates: the currency rates to use instead of asking hh.ru.
        emulator_url: the emulator of both APIs to use instead of the real ones.

    Returns:
        the run's report; ``extra["reprocess"]`` holds one result per entity.
    """
    with open_run("reprocess-quarantine", None, emulator_url) as run:
        results = [r.as_dict() for r in reprocess(run.connections, run.id, entities, rules, rates)]
        run.report.extra.update(reprocess=results, sections=[render_reprocess(r) for r in results if r["selected"]])
    return run.result()
