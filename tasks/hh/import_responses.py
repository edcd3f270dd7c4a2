"""Import of an applicant's own responses file into ``hh_negotiations`` and ``status_history``.

The file is the stream ``hh:responses`` of :mod:`tasks.hh.streams`, run by the engine like every
other: its rows are records, the transform makes one negotiation per vacancy and one status event
per row, bad rows go to the quarantine with their file row number and what to fix, and (with an
hh.ru client) the vacancies the file names that the database lacks are fetched and loaded in the
same transaction, so the analytics can join ``hh_negotiations.vacancy_id`` to ``vacancies``. A
vacancy hh.ru no longer has (404) is no error: its responses stay loaded with its id.

Importing the same file again writes nothing: unchanged negotiations are skipped by their content
hash, history rows already stored are not added again, and a rejected row already in the quarantine
(same file, row, cells and rule) is not quarantined twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from schemas.expectations import Thresholds
from schemas.tables import vacancies
from tasks.hh.client import HHClient
from tasks.hh.responses_file import REJECTED_ENTITY
from tasks.hh.streams import responses_file
from tasks.sync.engine import Job, SyncContext, sync
from tasks.sync.http import ApiError
from tasks.sync.runs import EntityCounts, JobReport


@dataclass
class ImportSummary:
    """What an import did. ``rows = events + rejected``, and ``rejected`` splits by rule."""

    file: str
    run_id: str
    rows: int = 0  # data rows of the file (blank rows aside)
    blank_rows: int = 0
    events: int = 0  # rows accepted as status events
    rejected: int = 0  # rows that did not load (each in the quarantine, now or from an earlier import)
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)
    quarantined_new: int = 0  # quarantine rows written by this import
    negotiations: int = 0  # negotiations in the file
    negotiations_inserted: int = 0
    negotiations_updated: int = 0
    history_added: int = 0
    unknown_states: dict[str, int] = field(default_factory=dict)
    missing_vacancies: int = 0  # vacancies of the file not in the vacancies table before the fetch
    vacancies_fetched: int = 0  # of those, loaded from hh.ru now
    vacancies_gone: int = 0  # of those, 404 on hh.ru (the responses stay loaded)
    vacancies_quarantined: int = 0
    vacancy_error: str | None = None  # why the missing vacancies could not be fetched (retry later)
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return self.rows == self.events + self.rejected

    def as_dict(self) -> dict[str, Any]:
        """The fields, ``balanced``, and ``lines`` (the summary for a person, for the run report)."""
        return {**asdict(self), "balanced": self.balanced, "lines": self.lines()}

    def lines(self) -> list[str]:
        """The summary for a person (the CLI prints it; the task logs it)."""
        rules = ", ".join(f"{rule} {n}" for rule, n in sorted(self.quarantined_by_rule.items())) or "none"
        lines = [
            f"{self.file}: {self.rows} rows -> {self.events} status events + {self.rejected} quarantined "
            f"({rules}); rows = events + quarantined: {'yes' if self.balanced else 'NO'}"
            + (f"; {self.blank_rows} blank rows skipped" if self.blank_rows else ""),
            f"negotiations: {self.negotiations} in the file, {self.negotiations_inserted} new, "
            f"{self.negotiations_updated} updated; status history rows added: {self.history_added}",
            f"quarantine: {self.quarantined_new} rows written by this import "
            f"({self.rejected - self.quarantined_new} were there from an earlier import)",
            f"vacancies: {self.missing_vacancies} not in the database, {self.vacancies_fetched} fetched from hh.ru, "
            f"{self.vacancies_gone} gone from hh.ru, {self.vacancies_quarantined} quarantined",
        ]
        if self.unknown_states:
            labels = ", ".join(f"{label!r} x{n}" for label, n in sorted(self.unknown_states.items()))
            lines.append(f"statuses not recognised, loaded as 'unknown': {labels}")
        if self.vacancy_error:
            lines.append(f"vacancies not fetched: {self.vacancy_error}")
        return lines


def missing_vacancy_ids(conn: Connection, ids: Sequence[str]) -> list[str]:
    """The ids of ``ids`` that the ``vacancies`` table does not hold, in their first order, once each."""
    wanted = list(dict.fromkeys(str(i) for i in ids))
    if not wanted:
        return []
    held = set(conn.execute(select(vacancies.c.vacancy_id).where(vacancies.c.vacancy_id.in_(wanted))).scalars())
    return [i for i in wanted if i not in held]


IMPORT_THRESHOLDS = Thresholds(max_rejected_share=1.0)
"""A file is imported whatever share of its rows is bad: each bad row is listed with what to fix."""


def import_responses(
    engine: Engine, path: str | Path, run_id: str, client: HHClient | None = None, *, now: datetime | None = None
) -> ImportSummary:
    """Import a CSV/XLSX file of one's own hh.ru responses (the stream ``hh:responses`` through the
    engine, see :func:`tasks.hh.streams.responses_file`).

    Args:
        engine: the migrated database.
        path: the file (format: :mod:`tasks.hh.responses_file`).
        run_id: recorded on the rows, history and quarantine written.
        client: an hh.ru client (application token) to fetch the vacancies the database lacks, in
            the same transaction; None loads the responses only (``missing_vacancies`` says how many
            lack their vacancy).
        now: the present, for the ``future_date`` rule (default: the current time).

    Returns:
        the counts; ``vacancy_error`` is set when the vacancy fetch failed (the responses are loaded
        all the same; importing again retries the fetch).

    Raises:
        ResponsesFileError: the file is not a responses table (wrong format, a missing column).
        FileNotFoundError: no such file.
    """
    context = SyncContext(engine, run_id, IMPORT_THRESHOLDS)
    error = None
    try:
        rates = client.currency_rates() if client is not None else None
        report = sync(_with_now(responses_file(path, client, rates), now), context)
    except ApiError as exc:
        if client is None:
            raise
        error = f"{exc} (the responses are loaded; import the file again to retry)"
        report = sync(_with_now(responses_file(path, None), now), context)
    summary = summarize(report, Path(path).name, run_id)
    summary.vacancy_error = error
    if client is None or error:
        with engine.connect() as conn:
            summary.missing_vacancies = len(missing_vacancy_ids(conn, report.facts.get("vacancies", [])))
    return summary


def _with_now(job: Job, now: datetime | None) -> Job:
    return replace(job, context={**job.context, "now": now}) if now is not None else job


def summarize(report: JobReport, file: str, run_id: str) -> ImportSummary:
    """An import's summary from its job's counts."""
    rows = report.entities.get(REJECTED_ENTITY) or EntityCounts(REJECTED_ENTITY)
    negotiations = report.entities.get("negotiation") or EntityCounts("negotiation")
    fetched = report.entities.get("vacancy") or EntityCounts("vacancy")
    summary = ImportSummary(file=file, run_id=run_id, columns=dict(report.facts.get("columns", {})))
    summary.rows = rows.extracted
    summary.blank_rows = int(report.facts.get("blank_rows", 0))
    summary.rejected = rows.quarantined
    summary.events = rows.extracted - rows.quarantined
    summary.quarantined_by_rule = dict(rows.by_rule)
    summary.quarantined_new = rows.quarantined_new
    summary.negotiations = negotiations.inserted + negotiations.updated + negotiations.unchanged
    summary.negotiations_inserted, summary.negotiations_updated = negotiations.inserted, negotiations.updated
    summary.history_added = report.status_changes
    summary.unknown_states = dict(report.unknown)
    summary.missing_vacancies = fetched.extracted + fetched.gone
    summary.vacancies_fetched = fetched.inserted + fetched.updated
    summary.vacancies_gone = fetched.gone
    summary.vacancies_quarantined = fetched.quarantined
    return summary


def report_section(summary: ImportSummary) -> str:
    """The import's section of a run report."""
    lines = "\n".join(f"- {line}" for line in summary.lines())
    return f"## Responses imported from a file\n\n{lines}\n"
