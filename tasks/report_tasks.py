"""Prefect task of the analytics report: a thin wrapper over ``tasks.analytics.report.build_report``."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from tasks.analytics.report import AnalyticsReport, build_report, default_report_dir

ARTIFACT_KEY = "jobpipe-analytics"


@task(name="publish-report", cache_policy=NO_CACHE)
def publish_report(engine: Engine, home: Path, out_dir: Path | None = None) -> AnalyticsReport:
    """Write the charts and the workbook (default ``<home>/reports/<today>``) and publish the markdown
    as the ``jobpipe-analytics`` artifact."""
    report = build_report(engine, Path(out_dir) if out_dir else default_report_dir(Path(home)))
    create_markdown_artifact(
        key=ARTIFACT_KEY,
        markdown=report.markdown,
        description="jobpipe analytics: the response funnel per source, stage times, weekly funnel",
    )
    get_run_logger().info(
        "analytics report: %d responses, %d interviews, %d offers; files in %s",
        report.responses,
        report.interviews,
        report.offers,
        report.workbook.parent,
    )
    return report
