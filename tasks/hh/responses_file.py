"""An applicant's own spreadsheet of responses (отклики) -> hh negotiations and their status history.

Since 15 Dec 2025 hh.ru no longer serves its API to applicants, so an applicant who wants their funnel
keeps a file of their responses: a CSV (``,`` ``;`` or tab separated; UTF-8 with or without BOM, or
cp1251) or an XLSX workbook (its first sheet). The first row names the columns, in English or Russian,
in any case:

=========  ============================================================================
vacancy    ``vacancy``, ``vacancy_id``, ``url``, ``link``, ``вакансия``, ``ссылка`` ... (id or link)
date       ``date``, ``дата`` ... (ISO date or datetime, dd.mm.yyyy, dd.mm.yy, an Excel date cell)
status     ``status``, ``статус`` ... (a label of :data:`tasks.sync.status.MANUAL_STATES`)
note       optional: ``note``, ``comment``, ``заметка``, ``комментарий`` ...
=========  ============================================================================

Each row is an event: the vacancy's response reached this status on this date. Dates without a zone
are Moscow time. All rows of one vacancy make one negotiation ``manual-<vacancy_id>``: created at the
earliest date, with the state, status and date of the latest row (on equal dates the lower row in the
file), the latest non-empty note, and one status history row per event. A status label the vocabulary
lacks gives ``unknown``: the row loads and is counted. A row that cannot be an event becomes a
:class:`~tasks.sync.records.Rejection` at stage ``transform`` whose reason names the file row (numbered as
a spreadsheet numbers it: the header is row 1) and what to fix:

==================  ===============================================================================
``missing_vacancy``  no vacancy id or link
``bad_vacancy_ref``  the vacancy cell is neither an hh.ru vacancy id nor a link to one
``missing_date``     no date
``bad_date``         the date cell is not a date
``future_date``      the date is more than a day ahead of now
``duplicate_row``    the same vacancy, date and status as an earlier row
==================  ===============================================================================

Rows whose every cell is empty are not rows (spreadsheets keep formatted blank rows); they are counted
as ``blank_rows``. Every other row ends as an event or as one rejection: ``rows = events + rejected``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pandas as pd

from schemas.status import MANUAL, UNKNOWN
from schemas.tables import hh_negotiations
from tasks.sync.records import RawRecord, Rejection
from tasks.sync.status import HISTORY_COLUMNS, canonical_status
from tasks.sync.streams import TransformContext, Transformed
from tasks.sync.transform import RecordError, table_columns

MOSCOW = ZoneInfo("Europe/Moscow")
SOURCE = "hh"
ENTITY = "negotiation"  # status_history entity, as the API negotiations write it
REJECTED_ENTITY = "manual_response"  # quarantine entity of a file row that did not load
ORIGIN = "manual"
STAGE = "transform"
FUTURE_TOLERANCE = timedelta(days=1)

FIELDS: dict[str, tuple[str, ...]] = {
    # in order of preference when a file has several matching columns (a "vacancy" title next to a
    # "url" column: the link wins)
    "vacancy": (
        "vacancy_id",
        "vacancy id",
        "id вакансии",
        "url",
        "link",
        "vacancy url",
        "ссылка",
        "ссылка на вакансию",
        "vacancy",
        "вакансия",
    ),
    "date": ("date", "дата", "дата отклика", "response date"),
    "status": ("status", "статус", "state", "состояние"),
    "note": ("note", "notes", "comment", "comments", "заметка", "заметки", "комментарий", "примечание"),
}
REQUIRED = ("vacancy", "date", "status")
DELIMITERS = (",", ";", "\t")
HH_HOSTS = ("hh.ru", "hh.kz", "hh.uz", "headhunter.ge", "headhunter.kg", "rabota.by")
"""hh.ru and its regional sites: a link to any of them (or a subdomain: spb.hh.ru, api.hh.ru) counts."""

NEGOTIATION_COLUMNS = table_columns(hh_negotiations)

_VACANCY_PATH = re.compile(r"/vacanc(?:y|ies)/(\d+)/?")
_INTEGRAL = re.compile(r"(\d+)(?:\.0+)?")
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_EXCEL_EPOCH = datetime(1899, 12, 30)
_EXCEL_SERIALS = (25569, 73051)  # 1970-01-01 .. 2100-01-01 as Excel day numbers


class ResponsesFileError(ValueError):
    """A file that cannot be read as a responses table at all (wrong format, a missing column)."""


@dataclass(frozen=True)
class ResponsesTable:
    """A file's cells as read: the header row and each data row with its spreadsheet row number."""

    name: str  # the file name, for reasons and payloads
    header: list[str]
    rows: list[tuple[int, list[Any]]]


@dataclass
class ManualBatch:
    """What a responses file becomes: frames for ``hh_negotiations`` and ``status_history``."""

    negotiations: pd.DataFrame
    history: pd.DataFrame  # one row per event, for load_batch(history_events=True)
    rejections: list[Rejection] = field(default_factory=list)
    rows: int = 0  # data rows of the file (blank rows aside)
    blank_rows: int = 0
    unknown_states: dict[str, int] = field(default_factory=dict)  # label -> events mapped to unknown
    columns: dict[str, str] = field(default_factory=dict)  # field -> the file's header used

    @property
    def events(self) -> int:
        return len(self.history)

    @property
    def vacancy_ids(self) -> list[str]:
        return self.negotiations["vacancy_id"].tolist()

    @property
    def balanced(self) -> bool:
        return self.rows == self.events + len(self.rejections)


# --- reading ------------------------------------------------------------------------------------


def read_responses_file(path: str | Path) -> ResponsesTable:
    """The cells of a CSV or XLSX responses file.

    Raises:
        ResponsesFileError: the file is empty, of another format, or has no header row.
        FileNotFoundError: no such file.
    """
    path = Path(path)
    data = path.read_bytes()
    if data[:2] == b"PK" or path.suffix.lower() in (".xlsx", ".xlsm"):
        return read_xlsx(path)
    if path.suffix.lower() == ".xls":
        raise ResponsesFileError(f"{path.name}: the old .xls format is not read; save it as .xlsx or .csv")
    return read_csv(data, path.name)


def decode(data: bytes) -> str:
    """UTF-8 (a BOM is dropped), else cp1251 (Russian Excel's CSV)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251")


def read_csv(data: bytes, name: str = "responses.csv") -> ResponsesTable:
    """The cells of a CSV; the delimiter (``,`` ``;`` or tab) is the one the header row uses most."""
    text = decode(data)
    first = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=first.count) if any(d in first for d in DELIMITERS) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[tuple[int, list[Any]]] = []
    line = 1
    for cells in reader:
        if header is None:
            header = cells
        else:
            rows.append((line, cells))
        line = reader.line_num + 1  # the row number of the next record (a quoted cell may span lines)
    if not header or not any(c.strip() for c in header):
        raise ResponsesFileError(f"{name}: the file is empty; its first row must name the columns")
    return ResponsesTable(name, header, rows)


def read_xlsx(path: Path) -> ResponsesTable:
    """The cells of the first sheet of a workbook (date cells as datetimes, numbers as numbers)."""
    try:
        sheet = pd.read_excel(path, header=None, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl's errors for a broken or foreign file have no common base
        raise ResponsesFileError(
            f"{path.name}: not a readable .xlsx workbook ({exc}); save it as .xlsx or .csv"
        ) from exc
    values = [[None if _blank(v) else v for v in row] for row in sheet.astype(object).values.tolist()]
    start = next((i for i, row in enumerate(values) if any(v is not None for v in row)), None)
    if start is None:
        raise ResponsesFileError(f"{path.name}: the first sheet is empty; its first row must name the columns")
    header = ["" if v is None else str(v) for v in values[start]]  # leading blank rows are no header
    return ResponsesTable(path.name, header, [(i + 1, row) for i, row in enumerate(values) if i > start])


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NaT:
        return True
    return isinstance(value, str) and not value.strip()


def _header_key(name: str) -> str:
    return " ".join(str(name).replace("_", " ").split()).lower()


def find_columns(header: Sequence[str], name: str = "the file") -> dict[str, int]:
    """``{field: column index}`` for vacancy, date, status and (when present) note.

    Raises:
        ResponsesFileError: a required column is missing; the message names it and the headers found.
    """
    index = {}
    for position, title in enumerate(header):
        index.setdefault(_header_key(title), position)
    found = {}
    for wanted, aliases in FIELDS.items():
        for alias in aliases:
            if _header_key(alias) in index:
                found[wanted] = index[_header_key(alias)]
                break
    missing = [f for f in REQUIRED if f not in found]
    if missing:
        lines = "; ".join(f"{f}: one of {', '.join(repr(a) for a in FIELDS[f][:8])}" for f in missing)
        raise ResponsesFileError(
            f"{name}: no {' / '.join(missing)} column. The first row names the columns, and it has "
            f"{[str(h) for h in header]}. Name the missing column(s) in the header row ({lines})."
        )
    return found


# --- cells --------------------------------------------------------------------------------------


def vacancy_id_of(value: Any) -> str:
    """The hh.ru vacancy id of a cell: ``123``, ``123.0`` (a number cell), a link to the vacancy
    (``https://hh.ru/vacancy/123?from=...``, ``hh.ru/vacancy/123``, ``https://spb.hh.ru/vacancy/123``,
    ``https://hh.kz/vacancy/123``, ``https://api.hh.ru/vacancies/123``) or a response link with
    ``vacancyId=123``.

    Raises:
        RecordError: ``missing_vacancy`` (empty) or ``bad_vacancy_ref``.
    """
    if _blank(value):
        raise RecordError("missing_vacancy", "the vacancy cell is empty")
    if isinstance(value, bool):
        raise RecordError("bad_vacancy_ref", f"vacancy {value!r} is not a vacancy id")
    if isinstance(value, int) and value > 0:
        return str(value)
    if isinstance(value, float) and value.is_integer() and value > 0:
        return str(int(value))
    text = str(value).strip()
    match = _INTEGRAL.fullmatch(text)
    if match and int(match.group(1)) > 0:
        return str(int(match.group(1)))
    vacancy_id = _vacancy_id_of_link(text)
    if vacancy_id is None:
        raise RecordError("bad_vacancy_ref", f"vacancy {text[:200]!r} is neither an hh.ru vacancy id nor its link")
    return vacancy_id


def _vacancy_id_of_link(text: str) -> str | None:
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if not any(host == h or host.endswith("." + h) for h in HH_HOSTS):
        return None
    match = _VACANCY_PATH.fullmatch(parts.path)
    if match:
        return match.group(1)
    ids = parse_qs(parts.query).get("vacancyId", [])
    if len(ids) == 1 and ids[0].isdigit():
        return ids[0]
    return None


def parse_date(value: Any, now: datetime) -> datetime:
    """The moment of a date cell, timezone-aware (no zone given: Europe/Moscow).

    Accepts datetime/date cells, Excel day numbers (a number cell formatted as a number), ISO dates
    and datetimes (``2025-11-20``, ``2025-11-20 14:30``, ``2025-11-20T14:30:00+03:00``), and
    ``20.11.2025`` / ``20.11.25`` with an optional ``14:30[:00]``.

    Raises:
        RecordError: ``missing_date``, ``bad_date`` or ``future_date`` (more than a day after ``now``).
    """
    if _blank(value):
        raise RecordError("missing_date", "the date cell is empty")
    moment = _moment(value)
    if moment is None:
        shown = value if isinstance(value, str) else f"{value!r}"
        raise RecordError("bad_date", f"date {str(shown)[:100]!r} is not a date")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=MOSCOW)
    if moment > now + FUTURE_TOLERANCE:
        raise RecordError(
            "future_date",
            f"date {moment.isoformat()} is in the future (after {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC)",
        )
    return moment


def _moment(value: Any) -> datetime | None:
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, int | float) and not isinstance(value, bool):
        if _EXCEL_SERIALS[0] <= value < _EXCEL_SERIALS[1]:
            return _EXCEL_EPOCH + timedelta(days=float(value))
        return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    dotted = _DOTTED.fullmatch(text)
    try:
        if dotted:
            day, month, year, hour, minute, second = dotted.groups()
            full_year = int(year) + (2000 if len(year) == 2 else 0)
            return datetime(full_year, int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
        if len(text) >= 10 and text[4] == "-":
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return None


def _json_cell(value: Any) -> Any:
    """A cell as JSON can hold it (dates as ISO text; NaN as null)."""
    if _blank(value):
        return None
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _text(value: Any) -> str | None:
    return None if _blank(value) else str(value).strip()


# --- the transform ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Event:
    row: int
    vacancy_id: str
    changed_at: datetime
    state: str | None
    status: str
    note: str | None
    cells: dict[str, Any]


def negotiation_id(vacancy_id: str) -> str:
    return f"{ORIGIN}-{vacancy_id}"


def row_records(table: ResponsesTable, fetched_at: datetime) -> tuple[list[RawRecord], int]:
    """One record per data row of a responses table (entity ``manual_response``), and how many rows
    were blank. A record's payload is ``{file, row, cells}`` with the cells by header (dates as ISO
    text); its meta names the header of each field.

    Raises:
        ResponsesFileError: a required column is missing.
    """
    columns = find_columns(table.header, table.name)
    headers = [str(h).strip() or f"column {i + 1}" for i, h in enumerate(table.header)]
    used = {f: headers[i] for f, i in columns.items()}
    records, blank = [], 0
    for row, cells in table.rows:
        cells = list(cells) + [None] * (len(headers) - len(cells))
        if all(_blank(c) for c in cells):
            blank += 1
            continue
        raw = {h: _json_cell(c) for h, c in zip(headers, cells, strict=False)}
        for extra, value in enumerate(cells[len(headers) :], len(headers) + 1):
            if not _blank(value):
                raw[f"column {extra}"] = _json_cell(value)
        payload = {"file": table.name, "row": row, "cells": raw}
        records.append(
            RawRecord(
                SOURCE, REJECTED_ENTITY, None, fetched_at, payload, {"file": table.name, "row": row, "columns": used}
            )
        )
    return records, blank


def response_rows(records: Sequence[RawRecord], context: TransformContext | None = None) -> Transformed:
    """Rows of a responses file as one negotiation per vacancy, one status history event per row, and
    one rejection per row that cannot be an event (see the module docstring). ``context.values["now"]``
    is the present for ``future_date`` (default: the current time)."""
    values = context.values if context is not None else {}
    now = values.get("now") or datetime.now(UTC)
    events: list[_Event] = []
    rejections: list[Rejection] = []
    seen: dict[tuple[str, datetime, str | None], int] = {}
    for record in records:
        row, raw, used = record.payload["row"], record.payload["cells"], record.meta["columns"]

        def cell(name: str, raw: dict[str, Any] = raw, used: dict[str, str] = used) -> Any:
            return raw.get(used[name]) if name in used else None

        vacancy_id = None
        try:
            vacancy_id = vacancy_id_of(cell("vacancy"))
            changed_at = parse_date(cell("date"), now)
            state = _text(cell("status"))
            status = canonical_status(MANUAL, state)
            key = (vacancy_id, changed_at, " ".join(state.split()).lower().replace("ё", "е") if state else None)
            if key in seen:
                raise RecordError("duplicate_row", f"it repeats row {seen[key]} (same vacancy, date and status)")
            seen[key] = row
        except RecordError as exc:
            rejections.append(_rejection(record, vacancy_id, exc))
            continue
        events.append(_Event(row, vacancy_id, changed_at, state, status, _text(cell("note")), raw))
    negotiations, history = _frames(events)
    return Transformed({ENTITY: negotiations}, rejections, history=history, history_events=True)


def unknown_states(history: pd.DataFrame) -> dict[str, int]:
    """Status labels the vocabulary lacks (loaded as ``unknown``), with how many events have each."""
    unknown: dict[str, int] = {}
    for state in history.loc[history["status"] == UNKNOWN, "state"]:
        label = state if isinstance(state, str) else "(empty)"
        unknown[label] = unknown.get(label, 0) + 1
    return unknown


def transform_responses(table: ResponsesTable, fetched_at: datetime, now: datetime | None = None) -> ManualBatch:
    """Events, negotiations, history rows and rejections of a responses table (:func:`row_records`
    then :func:`response_rows`).

    Raises:
        ResponsesFileError: a required column is missing.
    """
    records, blank = row_records(table, fetched_at)
    out = response_rows(records, TransformContext({"now": now or datetime.now(UTC)}))
    columns = records[0].meta["columns"] if records else {}
    history = out.history
    return ManualBatch(
        out.frames[ENTITY], history, out.rejections, len(records), blank, unknown_states(history), columns
    )


FIXES = {
    "missing_vacancy": "write the vacancy's id (123456) or its link (https://hh.ru/vacancy/123456)",
    "bad_vacancy_ref": "write the vacancy's id (123456) or its link (https://hh.ru/vacancy/123456)",
    "missing_date": "write the date of the response or of the status change (2025-11-20 or 20.11.2025)",
    "bad_date": "write it as 2025-11-20, 2025-11-20 14:30 or 20.11.2025",
    "future_date": "check the year and the day/month order",
    "duplicate_row": "delete one of the two rows, or correct its date or status",
}


def _rejection(row: RawRecord, vacancy_id: str | None, error: RecordError) -> Rejection:
    name, number = row.payload["file"], row.payload["row"]
    record = RawRecord(
        source=SOURCE,
        entity=REJECTED_ENTITY,
        record_id=negotiation_id(vacancy_id) if vacancy_id else None,
        fetched_at=row.fetched_at,
        payload=row.payload,
        meta={"file": name, "row": number},
    )
    reason = f"{name} row {number}: {error.reason}; {FIXES[error.rule]}"
    return Rejection(record, stage=STAGE, rule=error.rule, reason=reason)


def _frames(events: list[_Event]) -> tuple[pd.DataFrame, pd.DataFrame]:
    ordered = sorted(events, key=lambda e: (e.vacancy_id, e.changed_at, e.row))
    by_vacancy: dict[str, list[_Event]] = {}
    for event in ordered:
        by_vacancy.setdefault(event.vacancy_id, []).append(event)
    negotiations = []
    for vacancy_id, group in by_vacancy.items():
        latest = group[-1]
        notes = [e.note for e in group if e.note]
        negotiations.append(
            {
                "negotiation_id": negotiation_id(vacancy_id),
                "origin": ORIGIN,
                "vacancy_id": vacancy_id,
                "resume_id": None,
                "state": latest.state,
                "status": latest.status,
                "created_at": group[0].changed_at,
                "updated_at": latest.changed_at,
                "has_updates": None,
                "viewed_by_opponent": None,
                "messages_count": None,
                "note": notes[-1] if notes else None,
                "payload": {"events": [e.cells for e in group]},
            }
        )
    history = [
        {
            "source": SOURCE,
            "entity": ENTITY,
            "record_id": negotiation_id(e.vacancy_id),
            "state": e.state,
            "status": e.status,
            "changed_at": e.changed_at,
        }
        for e in ordered
    ]
    return (
        pd.DataFrame(negotiations, columns=list(NEGOTIATION_COLUMNS), dtype=object),
        pd.DataFrame(history, columns=list(HISTORY_COLUMNS), dtype=object),
    )


def parse_responses(path: str | Path, fetched_at: datetime | None = None, now: datetime | None = None) -> ManualBatch:
    """:func:`read_responses_file` then :func:`transform_responses`."""
    return transform_responses(read_responses_file(path), fetched_at or datetime.now(UTC), now)
