"""The scheduled umbrella flow: every source's flow, then the run report artifact and run log."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.avito_candidates import avito_candidates
from flows.hh_negotiations import hh_negotiations
from flows.hh_vacancies import hh_vacancies, new_run_id
from jobpipe import connect as runtime
from jobpipe.hooks import notify_failure
from jobpipe.settings import ConfigurationError, Settings, load_settings
from tasks.hh.import_responses import import_responses_task
from tasks.report_tasks import publish_report
from tasks.sync.report import render_entities, render_expectations, render_markdown, render_quality
from tasks.sync.runs import finish_run, start_run

REPORT_KEY = "jobpipe-daily-report"
SOURCES = ("hh", "hh_negotiations", "avito")


def choose_sources(settings: Settings, sandbox: bool, sources: list[str] | None) -> list[str]:
    """The sources to run: as asked, else every source that has credentials (all in the sandbox).

    hh.ru vacancy search always runs (it works with an application token, which the sandbox or the
    credentials provide); hh.ru negotiations run when a user account is authorized (`jobpipe auth
    hh`); Avito runs when its credentials are set or in the sandbox.
    """
    if sources:
        unknown = set(sources) - set(SOURCES)
        if unknown:
            raise ConfigurationError(f"unknown sources {sorted(unknown)}; known: {list(SOURCES)}")
        return list(sources)
    if sandbox:
        return list(SOURCES)
    chosen = ["hh"]
    if runtime.hh_accounts(settings):
        chosen.append("hh_negotiations")
    if settings.avito.configured:
        chosen.append("avito")
    return chosen


@flow(name="daily", on_failure=[notify_failure], on_crashed=[notify_failure])
def daily(
    sandbox: bool = False,
    sandbox_url: str | None = None,
    searches_file: str | None = None,
    lookback_days: int = 30,
    sources: list[str] | None = None,
    responses_file: str | None = None,
) -> dict[str, Any]:
    """Run every source, record the run in ``run_log`` and publish a markdown report.

    Args:
        sandbox: run against the bundled emulator instead of the real APIs.
        sandbox_url: an emulator already running (implies sandbox).
        searches_file: hh.ru searches (TOML); default JOBPIPE_SEARCHES or the bundled file.
        lookback_days: how far back a search's first run reaches (hh.ru keeps about 30 days).
        sources: which of "hh", "hh_negotiations", "avito" to run (default: those with credentials or
            an authorized account; all of them in the sandbox).
        responses_file: a CSV/XLSX of one's own hh.ru responses to import in this run (see
            `jobpipe import responses`); the vacancies it names are fetched when missing.
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
    report: dict[str, Any] = {
        "run_id": run_id,
        "sources": chosen,
        "hh_vacancies": [],
        "hh_negotiations": None,
        "avito": None,
        "manual_import": None,
    }
    try:
        if use_sandbox:
            # one emulator for every source (started here unless one runs), shared by the subflows
            with runtime.sandbox_settings(settings, sandbox_url) as sandboxed:
                _run_sources(report, chosen, sandboxed.hh.api_url, searches_file, lookback_days, run_id)
                _import_responses(report, engine, sandboxed, responses_file, run_id)
        else:
            _run_sources(report, chosen, None, searches_file, lookback_days, run_id)
            _import_responses(report, engine, settings, responses_file, run_id)
        report["analytics"] = _analytics(engine, settings)
        status = "completed"
    finally:
        api_calls = sum(r["api_calls"] for r in report["hh_vacancies"]) + sum(
            (report[name] or {}).get("api_calls") or 0 for name in ("hh_negotiations", "avito")
        )
        report["seconds"] = round(time.monotonic() - started, 1)
        finish_run(engine, run_id, status, report, api_calls)
        engine.dispose()
    markdown = render_report(report, status, use_sandbox)
    create_markdown_artifact(key=REPORT_KEY, markdown=markdown, description="jobpipe: counts per source and stage")
    logger.info("run summary\n%s", markdown)
    print(markdown)
    return report


def _analytics(engine, settings: Settings) -> dict[str, Any]:
    """The analytics report of the whole database (artifact ``jobpipe-analytics``, charts, workbook)."""
    analytics = publish_report(engine, settings.home)
    return {
        "responses": analytics.responses,
        "interviews": analytics.interviews,
        "offers": analytics.offers,
        "files": [str(path) for path in analytics.files],
    }


def _import_responses(report: dict, engine, settings: Settings, path: str | None, run_id: str) -> None:
    if path:
        report["manual_import"] = import_responses_task(engine, path, run_id, runtime.hh_client(settings))


def _run_sources(
    report: dict,
    chosen: list[str],
    url: str | None,
    searches_file,
    lookback_days: int,
    run_id: str,
) -> None:
    if "hh" in chosen:
        report["hh_vacancies"] = hh_vacancies(
            sandbox_url=url, searches_file=searches_file, lookback_days=lookback_days, run_id=run_id
        )
    if "hh_negotiations" in chosen:
        report["hh_negotiations"] = hh_negotiations(sandbox_url=url, run_id=run_id)
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
    for account in (report.get("hh_negotiations") or {}).get("accounts", []):
        title = f"hh.ru negotiations: {account['account']} ({account['role'] or 'role unknown'})"
        notes = [account["closed"]] if account.get("closed") else []
        markdown += "\n" + render_entities(title, account["entities"], notes)
        if account.get("expectations"):
            markdown += "\n" + render_expectations(account["expectations"])
    if report.get("manual_import"):
        lines = "\n".join(f"- {line}" for line in report["manual_import"]["lines"])
        markdown += f"\n## Responses imported from a file\n\n{lines}\n"
    if report.get("avito"):
        markdown += "\n" + render_entities("Avito candidates", report["avito"]["entities"], report["avito"]["notes"])
        if report["avito"].get("expectations"):
            markdown += "\n" + render_expectations(report["avito"]["expectations"])
    if report.get("analytics"):
        markdown += "\n" + render_funnel(report["analytics"])
    return markdown


def render_funnel(analytics: dict[str, Any]) -> str:
    """The funnel in one table (all sources, whole database); the full report is ``jobpipe-analytics``."""
    responses = analytics["responses"]

    def rate(n: int) -> str:
        return f"{n / responses:.1%}" if responses else "n/a"

    files = "\n".join(f"- `{path}`" for path in analytics["files"])
    return (
        "## Funnel (all sources, whole database)\n\n"
        "| responses | interviews | offers | applied → interview | applied → offer |\n"
        "|---:|---:|---:|---:|---:|\n"
        f"| {responses} | {analytics['interviews']} | {analytics['offers']} | {rate(analytics['interviews'])} "
        f"| {rate(analytics['offers'])} |\n\n"
        "Per source, weekly and stage times: the `jobpipe-analytics` artifact and these files:\n\n"
        f"{files}\n"
    )
