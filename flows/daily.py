"""The scheduled umbrella flow: every source's flow, then the run report artifact and run log."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows import runtime
from flows.avito_candidates import avito_candidates
from flows.hh_vacancies import hh_vacancies, new_run_id
from flows.settings import ConfigurationError, Settings, load_settings
from flows.summary import render_entities, render_expectations, render_markdown, render_quality
from tasks.run_log import finish_run, start_run

REPORT_KEY = "jobpipe-daily-report"
SOURCES = ("hh", "avito")


def choose_sources(settings: Settings, sandbox: bool, sources: list[str] | None) -> list[str]:
    """The sources to run: as asked, else every source that has credentials (all in the sandbox).

    hh.ru vacancy search always runs (it works with an application token, which the sandbox or the
    credentials provide); Avito runs when its credentials are set or in the sandbox.
    """
    if sources:
        unknown = set(sources) - set(SOURCES)
        if unknown:
            raise ConfigurationError(f"unknown sources {sorted(unknown)}; known: {list(SOURCES)}")
        return list(sources)
    if sandbox:
        return list(SOURCES)
    return ["hh", *(["avito"] if settings.avito.configured else [])]


@flow(name="daily")
def daily(
    sandbox: bool = False,
    sandbox_url: str | None = None,
    searches_file: str | None = None,
    lookback_days: int = 30,
    sources: list[str] | None = None,
) -> dict[str, Any]:
    """Run every source, record the run in ``run_log`` and publish a markdown report.

    Args:
        sandbox: run against the bundled emulator instead of the real APIs.
        sandbox_url: an emulator already running (implies sandbox).
        searches_file: hh.ru searches (TOML); default JOBPIPE_SEARCHES or the bundled file.
        lookback_days: how far back a search's first run reaches (hh.ru keeps about 30 days).
        sources: which of "hh", "avito" to run (default: those with credentials; both in the sandbox).
    """
    logger = get_run_logger()
    settings = load_settings()
    use_sandbox = bool(sandbox or sandbox_url)
    chosen = choose_sources(settings, use_sandbox, sources)
    if "avito" not in chosen:
        logger.info("Avito skipped: AVITO_CLIENT_ID/AVITO_CLIENT_SECRET are not set")
    run_id = new_run_id()
    started = time.monotonic()
    engine = runtime.database(settings)
    start_run(engine, run_id, "daily")
    status = "failed"
    report: dict[str, Any] = {"run_id": run_id, "sources": chosen, "hh_vacancies": [], "avito": None}
    try:
        if use_sandbox and not sandbox_url:
            # one emulator for both sources, started here and shared by the subflows
            with runtime.sandbox_settings(settings) as sandboxed:
                _run_sources(report, chosen, sandboxed.hh.api_url, searches_file, lookback_days, run_id)
        else:
            _run_sources(report, chosen, sandbox_url, searches_file, lookback_days, run_id)
        status = "completed"
    finally:
        api_calls = sum(r["api_calls"] for r in report["hh_vacancies"]) + (
            (report["avito"] or {}).get("api_calls") or 0
        )
        report["seconds"] = round(time.monotonic() - started, 1)
        finish_run(engine, run_id, status, report, api_calls)
        engine.dispose()
    markdown = render_report(report, status, use_sandbox)
    create_markdown_artifact(key=REPORT_KEY, markdown=markdown, description="jobpipe: counts per source and stage")
    logger.info("run summary\n%s", markdown)
    print(markdown)
    return report


def _run_sources(
    report: dict, chosen: list[str], url: str | None, searches_file, lookback_days: int, run_id: str
) -> None:
    if "hh" in chosen:
        report["hh_vacancies"] = hh_vacancies(
            sandbox_url=url, searches_file=searches_file, lookback_days=lookback_days, run_id=run_id
        )
    if "avito" in chosen:
        # Avito keeps its own (longer) first-run lookback: applications stay open for months
        report["avito"] = avito_candidates(sandbox_url=url, run_id=run_id)


def render_report(report: dict[str, Any], status: str, sandbox: bool) -> str:
    """The run's markdown: hh.ru searches, Avito entities, and the run's facts."""
    markdown = render_markdown(
        f"jobpipe daily run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        report["hh_vacancies"],
        {
            "run id": report["run_id"],
            "status": status,
            "seconds": report.get("seconds"),
            "sandbox": sandbox,
            "sources": ", ".join(report["sources"]),
        },
    )
    if report["hh_vacancies"]:
        markdown += "\n" + render_quality(report["hh_vacancies"])
    if report.get("avito"):
        markdown += "\n" + render_entities("Avito candidates", report["avito"]["entities"], report["avito"]["notes"])
        if report["avito"].get("expectations"):
            markdown += "\n" + render_expectations(report["avito"]["expectations"])
    return markdown
