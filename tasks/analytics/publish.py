"""Prefect task of the analytics report: a thin wrapper over ``tasks.analytics.report.build_report``."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from tasks.analytics.report import AnalyticsReport, build_report, default_report_dir

ARTIFACT_KEY = "jobpipe-analytics"


def render_funnel(report: AnalyticsReport) -> str:
    """The funnel in one table (all sources, whole database), for the run report; the full report is
    the ``jobpipe-analytics`` artifact."""
    responses = report.responses

    def rate(n: int) -> str:
        return f"{n / responses:.1%}" if responses else "n/a"

    files = "\n".join(f"- `{path}`" for path in report.files)
    return (
        "## Funnel (all sources, whole database)\n\n"
        "| responses | interviews | offers | applied → interview | applied → offer |\n"
        "|---:|---:|---:|---:|---:|\n"
        f"| {responses} | {report.interviews} | {report.offers} | {rate(report.interviews)} "
        f"| {rate(report.offers)} |\n\n"
        "Per source, weekly and stage times: the `jobpipe-analytics` artifact and these files:\n\n"
        f"{files}\n"
    )


def facts(report: AnalyticsReport) -> dict:
    """What the run report keeps of the analytics report."""
    return {
        "responses": report.responses,
        "interviews": report.interviews,
        "offers": report.offers,
        "files": [str(path) for path in report.files],
    }


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
