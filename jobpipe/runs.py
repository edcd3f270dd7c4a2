"""The one run wrapper every flow goes through: connections, run log, report artifact, clean-up.

:func:`open_run` opens a run of a flow. A top-level run (a deployment, the CLI) writes its
``run_log`` row, marks it completed or failed, and publishes its report as the markdown artifact
``jobpipe-<flow>-report``; a run nested in another (a subflow of ``daily``, given the parent's run
id) only returns its report, which the parent includes. So every deployment, the partitions
included, leaves a run log row, and the checks that read past runs (the volume rule) work
everywhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from jobpipe.connect import Connections, connect
from schemas.expectations import Thresholds
from tasks.sync.engine import Job, SyncContext, sync
from tasks.sync.report import render_run
from tasks.sync.runs import JobReport, RunReport, finish_run, start_run
from tasks.sync.steps import PREFECT

log = logging.getLogger(__name__)


def new_run_id() -> str:
    """This flow run's id, or a time-based one outside a flow run."""
    return str(flow_run.id or f"local-{datetime.now(UTC):%Y%m%dT%H%M%S}")


def report_key(flow: str) -> str:
    return f"jobpipe-{flow}-report"


@dataclass
class Run:
    """An open run: its connections, its report, and :meth:`sync` for each job."""

    flow: str
    connections: Connections
    report: RunReport
    context: SyncContext

    @property
    def id(self) -> str:
        return self.report.run_id

    def sync(self, job: Job) -> JobReport:
        """Run a job through the engine (its stages as Prefect tasks) and add it to the report."""
        done = sync(job, self.context)
        self.report.add_job(done)
        return done

    def include(self, nested: dict[str, Any] | None) -> None:
        """Add the report of a run nested in this one (a subflow)."""
        if nested:
            self.report.include(nested)

    def result(self) -> dict[str, Any]:
        return self.report.as_dict()


@contextmanager
def open_run(
    flow: str,
    run_id: str | None = None,
    emulator_url: str | None = None,
    thresholds: Thresholds | None = None,
) -> Iterator[Run]:
    """Open a run of ``flow`` (see the module docstring); nested when ``run_id`` is given."""
    connections = connect(emulator_url)
    nested = run_id is not None
    report = RunReport(run_id or new_run_id(), flow)
    started = time.monotonic()
    try:
        db = connections.database()
        if not nested:
            start_run(db, report.run_id, flow)
        run = Run(flow, connections, report, SyncContext(db, report.run_id, thresholds or Thresholds(), PREFECT))
        try:
            yield run
            report.status = "completed"
        except BaseException:
            report.status = "failed"
            raise
        finally:
            report.seconds = round(time.monotonic() - started, 1)
            if not nested:
                finish_run(db, report.run_id, report.status, report.as_dict(), report.api_calls)
        if not nested:
            publish(report, emulator_url is not None)
    finally:
        connections.close()


def render(report: RunReport | dict[str, Any], emulator: bool | None = None) -> str:
    """The run's markdown report."""
    data = report.as_dict() if isinstance(report, RunReport) else report
    facts = {"run id": data["run_id"], "status": data["status"], "seconds": data.get("seconds")}
    if emulator is not None:
        facts["sandbox"] = emulator
    title = f"jobpipe {data['flow']} run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    return render_run(data, title, facts)


def publish(report: RunReport, emulator: bool) -> str:
    """Publish the report as the run's markdown artifact and log it; returns the markdown."""
    markdown = render(report, emulator)
    create_markdown_artifact(
        key=report_key(report.flow),
        markdown=markdown,
        description=f"jobpipe {report.flow}: counts per stream and stage",
    )
    log.info("run summary\n%s", markdown)
    return markdown
