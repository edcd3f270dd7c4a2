"""The scheduled umbrella flow: every source's flow, a responses file when given, the analytics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow

from flows.avito_candidates import avito_candidates
from flows.hh_negotiations import hh_negotiations
from flows.hh_vacancies import hh_vacancies
from jobpipe.hooks import notify_failure
from jobpipe.runs import open_run
from jobpipe.sources import choose_sources
from tasks.analytics.publish import facts, publish_report, render_funnel
from tasks.hh import streams as hh
from tasks.hh.import_responses import report_section, summarize


@flow(name="daily", on_failure=[notify_failure], on_crashed=[notify_failure])
def daily(
    searches_file: str | None = None,
    lookback_days: int = 30,
    sources: list[str] | None = None,
    responses_file: str | None = None,
    emulator_url: str | None = None,
) -> dict[str, Any]:
    """Run every source, record the run in ``run_log`` and publish its report and the analytics.

    Args:
        searches_file: hh.ru searches (TOML); default JOBPIPE_SEARCHES or the bundled file.
        lookback_days: how far back a search's first run reaches (hh.ru keeps about 30 days).
        sources: which of "hh", "hh_negotiations", "avito" to run (default: those with credentials or
            an authorized account).
        responses_file: a CSV/XLSX of one's own hh.ru responses to import in this run (see
            `jobpipe import responses`); the vacancies it names are fetched when missing.
        emulator_url: the emulator of both APIs to use instead of the real ones.
    """
    with open_run("daily", None, emulator_url) as run:
        chosen = choose_sources(run.connections, sources)
        run.report.extra["sources"] = chosen
        nested = {"run_id": run.id, "emulator_url": emulator_url}
        if "hh" in chosen:
            run.include(hh_vacancies(searches_file=searches_file, lookback_days=lookback_days, **nested))
        if "hh_negotiations" in chosen:
            run.include(hh_negotiations(**nested))
        if "avito" in chosen:
            run.include(avito_candidates(**nested))
        else:
            run.report.notes.append("Avito skipped: AVITO_CLIENT_ID/AVITO_CLIENT_SECRET are not set")
        sections = []
        if responses_file:
            client = run.connections.hh()
            done = run.sync(hh.responses_file(responses_file, client, client.currency_rates()))
            imported = summarize(done, Path(responses_file).name, run.id)
            run.report.extra["manual_import"] = imported.as_dict()
            sections.append(report_section(imported))
        analytics = publish_report(run.context.db, run.connections.settings.home)
        run.report.extra.update(analytics=facts(analytics), sections=[*sections, render_funnel(analytics)])
    return run.result()
