"""The scheduled umbrella flow: every source's flow, then the run report artifact and run log."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows import runtime
from flows.hh_vacancies import hh_vacancies, new_run_id
from flows.settings import load_settings
from flows.summary import render_markdown
from tasks.run_log import finish_run, start_run

REPORT_KEY = "jobpipe-daily-report"


@flow(name="daily")
def daily(
    sandbox: bool = False,
    sandbox_url: str | None = None,
    searches_file: str | None = None,
    lookback_days: int = 30,
) -> dict[str, Any]:
    """Run every source, record the run in ``run_log`` and publish a markdown report.

    Args:
        sandbox: run against the bundled emulator instead of the real APIs.
        sandbox_url: an emulator already running (implies sandbox).
        searches_file: hh.ru searches (TOML); default JOBPIPE_SEARCHES or the bundled file.
        lookback_days: how far back a search's first run reaches.
    """
    logger = get_run_logger()
    settings = load_settings()
    run_id = new_run_id()
    started = time.monotonic()
    engine = runtime.database(settings)
    start_run(engine, run_id, "daily")
    status = "failed"
    report: dict[str, Any] = {"run_id": run_id, "hh_vacancies": []}
    try:
        report["hh_vacancies"] = hh_vacancies(
            sandbox=sandbox,
            sandbox_url=sandbox_url,
            searches_file=searches_file,
            lookback_days=lookback_days,
            run_id=run_id,
        )
        status = "completed"
    finally:
        rows = report["hh_vacancies"]
        api_calls = sum(r["api_calls"] for r in rows)
        report["seconds"] = round(time.monotonic() - started, 1)
        finish_run(engine, run_id, status, report, api_calls)
        engine.dispose()
    markdown = render_markdown(
        f"jobpipe daily run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        rows,
        {"run id": run_id, "status": status, "seconds": report["seconds"], "sandbox": bool(sandbox or sandbox_url)},
    )
    create_markdown_artifact(key=REPORT_KEY, markdown=markdown, description="hh.ru vacancies: counts per stage")
    logger.info("run summary\n%s", markdown)
    print(markdown)
    return report
