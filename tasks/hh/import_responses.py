"""Manual import of an applicant's own responses file into ``hh_negotiations`` and ``status_history``.

:func:`import_responses` reads and transforms the file (:mod:`tasks.hh.responses_file`),
loads negotiations, their status history and the quarantined rows in one transaction
(:func:`tasks.sync.load.load_batch` with ``history_events``), then fetches from hh.ru the vacancies the
file names that the ``vacancies`` table lacks, through the same checks and load as the vacancy
searches, so the analytics can join ``hh_negotiations.vacancy_id`` to ``vacancies``. A vacancy hh.ru
no longer has (404) is no error: its responses stay loaded with its id.

Importing the same file again writes nothing: unchanged negotiations are skipped by their content
hash, history rows already stored are not added again, and a rejected row already in the quarantine
(same file, row, cells and rule) is not quarantined twice. :func:`import_responses_task` is the Prefect
task around it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Connection, Engine, select

from schemas.tables import employers, hh_negotiations, quarantine, vacancies
from tasks.hh.client import HHClient
from tasks.hh.responses_file import REJECTED_ENTITY, SOURCE, parse_responses
from tasks.hh.search import to_records, with_details
from tasks.sync.http import ApiError
from tasks.sync.load import load_batch, to_json
from tasks.sync.quality import check_vacancies, db_lookup
from tasks.sync.records import Rejection


@dataclass
class VacancyFetch:
    """Vacancies fetched by id for responses whose vacancy the database lacked."""

    requested: int = 0
    loaded: int = 0  # vacancy rows inserted or updated
    gone: list[str] = field(default_factory=list)  # 404: deleted on hh.ru
    quarantined: int = 0  # fetched but failed the vacancy checks (in the quarantine, entity vacancy)
    api_calls: int = 0


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


def fetch_vacancies(
    engine: Engine, client: HHClient, ids: Sequence[str], run_id: str, workers: int = 4
) -> VacancyFetch:
    """Fetch vacancies by id and load them as the searches do: raw checks -> transform -> clean and
    pre-load checks -> employers and vacancies (and their quarantine), in one transaction.

    A vacancy hh.ru answers 404 for is listed in ``gone``; nothing is written for it.

    Raises:
        ApiError: hh.ru refused or failed (nothing of this fetch is written).
    """
    result = VacancyFetch(requested=len(ids))
    if not ids:
        return result
    calls = client.calls
    details = client.vacancies(list(ids), workers=workers)
    result.gone = [i for i in ids if not details.get(i)]
    found = [d for i, d in details.items() if d]
    if found:
        at = datetime.now(UTC)
        records = to_records(found, at)
        records = with_details(records, {r.record_id: r.payload for r in records if r.record_id}, at)
        checks = check_vacancies(records, client.currency_rates(), db_lookup(engine))
        batch = checks.batch
        loaded = load_batch(
            engine,
            [(employers, batch.employers), (vacancies, batch.vacancies)],
            batch.rejections,
            run_id=run_id,
            seen_at=at,
        )
        counts = loaded.tables["vacancies"]
        result.loaded = counts.inserted + counts.updated
        result.quarantined = loaded.quarantined
    result.api_calls = client.calls - calls
    return result


def _payload_key(rule: str, payload: Any) -> tuple[str, bytes]:
    return rule, orjson.dumps(orjson.loads(to_json(payload)), option=orjson.OPT_SORT_KEYS)


def new_rejections(engine: Engine, rejections: Sequence[Rejection]) -> list[Rejection]:
    """The rejections not already in the quarantine from an earlier import of the same file (same
    row, cells and rule): re-importing a file must not quarantine its bad rows twice."""
    if not rejections:
        return []
    files = sorted({r.record.payload.get("file") for r in rejections})
    query = select(quarantine.c.rule, quarantine.c.payload).where(
        quarantine.c.source == SOURCE,
        quarantine.c.entity == REJECTED_ENTITY,
        quarantine.c.payload["file"].astext.in_(files),
    )
    with engine.connect() as conn:
        stored = {_payload_key(rule, payload) for rule, payload in conn.execute(query)}
    return [r for r in rejections if _payload_key(r.rule, r.record.payload) not in stored]


def import_responses(
    engine: Engine, path: str | Path, run_id: str, client: HHClient | None = None, *, now: datetime | None = None
) -> ImportSummary:
    """Import a CSV/XLSX file of one's own hh.ru responses.

    Args:
        engine: the migrated database.
        path: the file (format: :mod:`tasks.hh.responses_file`).
        run_id: recorded on the rows, history and quarantine written.
        client: an hh.ru client (application token) to fetch the vacancies the database lacks;
            None loads the responses only (``missing_vacancies`` says how many lack their vacancy).
        now: the present, for the ``future_date`` rule (default: the current time).

    Returns:
        the counts; ``vacancy_error`` is set when hh.ru refused the vacancy fetch (the responses are
        loaded all the same; importing again retries the fetch).

    Raises:
        ResponsesFileError: the file is not a responses table (wrong format, a missing column).
        FileNotFoundError: no such file.
    """
    batch = parse_responses(path, datetime.now(UTC), now)
    summary = ImportSummary(file=Path(path).name, run_id=run_id, columns=batch.columns)
    summary.rows, summary.blank_rows, summary.events = batch.rows, batch.blank_rows, batch.events
    summary.rejected = len(batch.rejections)
    summary.quarantined_by_rule = dict(Counter(r.rule for r in batch.rejections))
    summary.unknown_states = batch.unknown_states
    fresh = new_rejections(engine, batch.rejections)
    result = load_batch(
        engine,
        [(hh_negotiations, batch.negotiations)],
        fresh,
        run_id=run_id,
        seen_at=datetime.now(UTC),
        history=batch.history,
        history_events=True,
    )
    counts = result.tables["hh_negotiations"]
    summary.negotiations, summary.negotiations_inserted, summary.negotiations_updated = (
        counts.staged,
        counts.inserted,
        counts.updated,
    )
    summary.history_added, summary.quarantined_new = result.status_changes, result.quarantined
    with engine.connect() as conn:
        missing = missing_vacancy_ids(conn, batch.vacancy_ids)
    summary.missing_vacancies = len(missing)
    if client is not None and missing:
        try:
            fetched = fetch_vacancies(engine, client, missing, run_id)
        except ApiError as exc:
            summary.vacancy_error = f"{exc} (the responses are loaded; import the file again to retry)"
        else:
            summary.vacancies_fetched = fetched.loaded
            summary.vacancies_gone = len(fetched.gone)
            summary.vacancies_quarantined = fetched.quarantined
    return summary


@task(name="manual-import-responses", cache_policy=NO_CACHE)
def import_responses_task(engine: Engine, path: str, run_id: str, client: HHClient | None = None) -> dict[str, Any]:
    """:func:`import_responses` as a Prefect task; logs the summary and returns it as a dict."""
    summary = import_responses(engine, path, run_id, client)
    logger = get_run_logger()
    for line in summary.lines():
        logger.info("manual import: %s", line)
    if summary.vacancy_error:
        logger.warning("manual import: vacancies not fetched: %s", summary.vacancy_error)
    return summary.as_dict()
