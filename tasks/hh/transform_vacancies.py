"""Transform raw hh.ru vacancy records into the ``vacancies`` and ``employers`` frames.

:func:`transform_vacancies` flattens the records in one Python pass (type checks per record), then
parses dates and normalizes salaries vectorized over the batch. It is pure: no Prefect, no database.

Every input record ends either as one row of ``vacancies`` or as exactly one :class:`Rejection`
(stage ``transform``), so ``len(vacancies) + len(rejections) == len(records)``. One bad record never
fails the batch. Rules, the first one broken wins:

=========================  ===================================================================
``bad_payload``            the payload is not an object
``bad_meta``               ``meta`` is not an object, ``meta["search_hash"]`` is not a non-empty
                           string or ``meta["detail_fetched_at"]`` is not a datetime or None
``unstorable_text``        a string in the payload or meta holds a NUL character or a lone
                           surrogate, which PostgreSQL cannot store (:mod:`.storable`)
``missing_id``             no ``id`` (or an empty one); ``bad_id`` when it is not a str or int
``missing_name``           no ``name`` or a blank one; ``bad_name`` when it is not a string
``missing_employer``       no ``employer``; ``bad_employer`` when it is malformed (not an object,
                           no name, wrongly typed id or flags)
``missing_published_at``   no ``published_at``; ``bad_published_at`` when it is not a string in
                           hh's ``2025-08-11T09:55:46+0300`` form (an offset is required)
``bad_<field>``            a wrongly typed optional field: ``created_at``, ``area``, ``archived``,
                           ``type``, ``experience``, ``employment_form``, ``employment``,
                           ``schedule``, ``professional_roles``, ``key_skills``, ``alternate_url``
``bad_salary``             a salary amount that is not a finite non-negative number, a non-boolean
                           ``gross``, a non-string currency or mode (see :mod:`.salary`)
``unknown_currency``       a salary amount in a currency that is not in the rates
``duplicate_in_batch``     another valid record of the same vacancy id supersedes this one
=========================  ===================================================================

Duplicates: among the records that pass every other rule, the one with the latest
``record.fetched_at`` wins (naive datetimes count as UTC); on equal times the later one in the input
wins, so for records in fetch order "the last one wins". A superseded record is rejected with rule
``duplicate_in_batch``; a later record that is itself rejected does not supersede a valid one.

Columns (exactly the key + data columns of the ``vacancies`` table, declared order):

* text (object, None when missing): ``vacancy_id`` (payload id as str), ``source`` "hh", ``name``
  (whitespace-normalized as employer names), ``employer_key``, ``area_id``, ``area_name``,
  ``status`` ("archived" when ``archived`` is true, else "open"), ``vacancy_type`` (``type.id``),
  ``experience``, ``employment_form``, ``schedule`` (ids), ``salary_currency``, ``salary_mode``,
  ``salary_frequency``, ``alternate_url``, ``search_hash`` (from ``meta``).
* ``employment_form`` falls back to the deprecated ``employment`` id, translated to the
  ``employment_form`` vocabulary where one exists (:data:`EMPLOYMENT_TO_FORM`: full -> FULL,
  part -> PART, project -> PROJECT); volunteer and probation have no counterpart and stay as they are.
* boolean (object, None when missing): ``salary_gross``.
* float64 (NaN when missing): ``salary_from``, ``salary_to`` and the four ``*_rub_*`` columns.
* datetime64[us, UTC] (NaT when missing): ``published_at``, ``created_at``, ``detail_fetched_at``.
* object: ``professional_role_ids`` (list of str ids, None when the key is absent),
  ``key_skills`` (list of names; None when the payload has no ``key_skills``, i.e. a search item),
  ``payload`` (the raw dict itself, not copied, not changed).

The ``employers`` frame has one row per ``employer_key`` among the loaded vacancies, with the key +
data columns of the ``employers`` table; the same precedence as for duplicates decides which record's
employer object wins.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from schemas.tables import data_columns, key_columns, vacancies
from tasks.hh.employer import EMPLOYER_COLUMNS, EmployerError, normalize_employer
from tasks.hh.salary import (
    RUB_SALARY_COLUMNS,
    SalaryError,
    extract_salary,
    normalize_salaries,
    raw_salary_frame,
    unknown_currency_mask,
)
from tasks.sync.records import RawRecord, Rejection
from tasks.sync.storable import MAX_KEY_LENGTH, unstorable_text
from tasks.sync.storable import RULE as UNSTORABLE
from tasks.sync.transform import RecordError, normalize_text

SOURCE = "hh"
STAGE = "transform"
HH_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
"""hh's timestamps: ``2025-08-11T09:55:46+0300`` (no colon in the offset; ``+03:00`` parses too)."""

VACANCY_COLUMNS: tuple[str, ...] = tuple(key_columns(vacancies) + data_columns(vacancies))
"""Key + data columns of the ``vacancies`` table, in declared order."""

EMPLOYMENT_TO_FORM: Mapping[str, str] = {"full": "FULL", "part": "PART", "project": "PROJECT"}
"""Deprecated ``employment`` ids that have an ``employment_form`` counterpart."""

_TIMESTAMP_COLUMNS = ("published_at", "created_at", "detail_fetched_at")
_FLOAT_COLUMNS = frozenset({"salary_from", "salary_to", *RUB_SALARY_COLUMNS})

# The columns produced by the Python pass, in the order of the tuple _flatten returns.
_FLAT_COLUMNS = (
    "vacancy_id",
    "name",
    "employer_key",
    "area_id",
    "area_name",
    "published_at",
    "created_at",
    "status",
    "vacancy_type",
    "experience",
    "employment_form",
    "schedule",
    "professional_role_ids",
    "key_skills",
    "alternate_url",
    "search_hash",
    "detail_fetched_at",
    "payload",
)


Reject = Callable[[Iterable[int], str, Callable[[int], str]], None]
"""``reject(row_labels, rule, reason_of_label)``: reject rows of the flattened frame."""


@dataclass
class VacancyBatch:
    """The result of :func:`transform_vacancies`."""

    vacancies: pd.DataFrame
    employers: pd.DataFrame
    rejections: list[Rejection] = field(default_factory=list)


def _text(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None or isinstance(value, str):
        return value or None
    raise RecordError(f"bad_{key}", f"{key} is {value!r}, not a string")


def _id_text(value: Any) -> str | None:
    """An hh id (str, or int as sent by some mocks) as str; None when empty; ValueError otherwise."""
    if type(value) is str:  # the common case first: this runs several times per record
        if len(value) > MAX_KEY_LENGTH:
            raise ValueError(value)
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(value)


def _short(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, for reasons."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _dict_id(payload: dict[str, Any], key: str) -> str | None:
    """The ``id`` of a ``{id, name}`` entry such as ``experience``; None when the entry is null."""
    entry = payload.get(key)
    if entry is None:
        return None
    if type(entry) is dict:
        try:
            return _id_text(entry.get("id"))
        except ValueError:
            pass
    raise RecordError(f"bad_{key}", f"{key} is {entry!r}, not an object with a string id")


def _area(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    area = payload.get("area")
    if area is None:
        return None, None
    if isinstance(area, dict):
        name = area.get("name")
        try:
            area_id = _id_text(area.get("id"))
        except ValueError:
            pass
        else:
            if name is None or isinstance(name, str):
                return area_id, (normalize_text(name) or None) if name else None
    raise RecordError("bad_area", f"area is {area!r}, not an object with a string id and name")


def _role_ids(payload: dict[str, Any]) -> list[str] | None:
    roles = payload.get("professional_roles")
    if roles is None:
        return None
    if isinstance(roles, list):
        try:
            ids = [_id_text(role.get("id")) for role in roles if isinstance(role, dict)]
        except ValueError:
            pass
        else:
            if len(ids) == len(roles) and None not in ids:
                return ids  # type: ignore[return-value]
    raise RecordError("bad_professional_roles", f"professional_roles is {roles!r}, not a list of {{id}}")


def _key_skills(payload: dict[str, Any]) -> list[str] | None:
    skills = payload.get("key_skills")
    if skills is None:
        return None
    if isinstance(skills, list):
        names = [s.get("name") for s in skills if isinstance(s, dict)]
        if len(names) == len(skills) and all(isinstance(n, str) for n in names):
            return [n for n in map(normalize_text, names) if n]
    raise RecordError("bad_key_skills", f"key_skills is {skills!r}, not a list of {{name}}")


def _employment_form(payload: dict[str, Any]) -> str | None:
    form = _dict_id(payload, "employment_form")
    if form is not None:
        return form
    legacy = _dict_id(payload, "employment")
    return EMPLOYMENT_TO_FORM.get(legacy, legacy) if legacy is not None else None


def _order_key(fetched_at: Any) -> float:
    """Seconds since the epoch of ``record.fetched_at`` (naive = UTC); -inf when it is not a datetime."""
    if not isinstance(fetched_at, datetime):
        return -math.inf
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    return fetched_at.timestamp()


def _flatten(record: RawRecord) -> tuple[tuple[Any, ...], tuple[Any, ...], dict[str, Any]]:
    """Check one record and read its fields.

    Args:
        record: a raw vacancy record.

    Returns:
        ``(row, salary, employer)``: the :data:`_FLAT_COLUMNS` values (timestamps still as text), the
        published salary fields and the ``employers`` row.

    Raises:
        RecordError: with the rule the record broke.
    """
    payload = record.payload
    if not isinstance(payload, dict):
        raise RecordError("bad_payload", f"payload is a {type(payload).__name__}, not an object")
    meta = record.meta
    if not isinstance(meta, dict):
        raise RecordError("bad_meta", f"meta is a {type(meta).__name__}, not an object")
    search_hash = meta.get("search_hash")
    if not isinstance(search_hash, str) or not search_hash:
        raise RecordError("bad_meta", f"meta search_hash is {search_hash!r}, not a non-empty string")
    detail_fetched_at = meta.get("detail_fetched_at")
    if detail_fetched_at is not None and not isinstance(detail_fetched_at, datetime):
        raise RecordError("bad_meta", f"meta detail_fetched_at is {detail_fetched_at!r}, not a datetime")
    if unstorable := unstorable_text(payload, meta):
        raise RecordError(UNSTORABLE, f"{unstorable}, which PostgreSQL cannot store")

    try:
        vacancy_id = _id_text(payload.get("id"))
    except ValueError:
        raise RecordError("bad_id", f"id is {_short(payload.get('id'))}, not a string of an id") from None
    if vacancy_id is None:
        raise RecordError("missing_id", "the payload has no id")

    raw_name = payload.get("name")
    if raw_name is not None and not isinstance(raw_name, str):
        raise RecordError("bad_name", f"name is {raw_name!r}, not a string")
    name = normalize_text(raw_name) if raw_name else ""
    if not name:
        raise RecordError("missing_name", "the payload has no name or a blank one")

    employer_obj = payload.get("employer")
    if employer_obj is None:
        raise RecordError("missing_employer", "the payload has no employer")
    try:
        employer = normalize_employer(employer_obj)
    except EmployerError as exc:
        raise RecordError("bad_employer", str(exc)) from None

    published_at = payload.get("published_at")
    if published_at is None or published_at == "":
        raise RecordError("missing_published_at", "the payload has no published_at")
    if not isinstance(published_at, str):
        raise RecordError("bad_published_at", f"published_at is {published_at!r}, not a string")
    created_at = _text(payload, "created_at")

    area_id, area_name = _area(payload)
    archived = payload.get("archived")
    if archived is not None and not isinstance(archived, bool):
        raise RecordError("bad_archived", f"archived is {archived!r}, not a boolean")

    row = (
        vacancy_id,
        name,
        employer["employer_key"],
        area_id,
        area_name,
        published_at,
        created_at,
        "archived" if archived else "open",
        _dict_id(payload, "type"),
        _dict_id(payload, "experience"),
        _employment_form(payload),
        _dict_id(payload, "schedule"),
        _role_ids(payload),
        _key_skills(payload),
        _text(payload, "alternate_url"),
        search_hash,
        detail_fetched_at,
        payload,
    )
    try:
        salary = extract_salary(payload)
    except SalaryError as exc:
        raise RecordError("bad_salary", str(exc)) from None
    return row, salary, employer


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector during a transform.

    The transform allocates a few containers per record while the whole batch of payloads is alive;
    on 100k records the collector's full passes over those payloads cost as much as the work
    itself. Nothing here creates reference cycles, and the previous state is restored on exit.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _object_frame(rows: list[tuple[Any, ...]], columns: Sequence[str]) -> pd.DataFrame:
    """A frame of object columns (None kept as None) from row tuples."""
    values = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    return pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in zip(columns, values, strict=True)})


def _timestamps(values: pd.Series) -> pd.Series:
    """hh timestamp strings to UTC (NaT when missing or unparsable)."""
    parsed = pd.to_datetime(values, format=HH_DATETIME_FORMAT, utc=True, errors="coerce")
    return parsed.astype("datetime64[us, UTC]")


def transform_vacancies(records: Sequence[RawRecord], rates: Mapping[str, float]) -> VacancyBatch:
    """Turn raw hh vacancy records into table-shaped frames and rejections.

    Args:
        records: raw records whose payload is a vacancy detail (``/vacancies/{id}``) or a search
            item, with ``meta["search_hash"]`` (str) and optionally ``meta["detail_fetched_at"]``
            (datetime or None).
        rates: hh dictionary currency rates, units of the currency per 1 RUR (``RUR`` implied 1).

    Returns:
        A :class:`VacancyBatch`: ``vacancies`` with the key + data columns of the ``vacancies``
        table (see the module docstring for dtypes and rules), ``employers`` with those of the
        ``employers`` table (one row per ``employer_key``), and one rejection per rejected record,
        in input order. ``len(vacancies) + len(rejections) == len(records)``.

    Raises:
        ValueError: a currency rate is not a finite positive number (a configuration error).
    """
    with _gc_paused():
        return _transform(records, rates)


def _transform(records: Sequence[RawRecord], rates: Mapping[str, float]) -> VacancyBatch:
    """:func:`transform_vacancies` without the garbage-collector pause."""
    rejected: dict[int, Rejection] = {}  # input position -> its one rejection
    positions: list[int] = []  # input position of each flattened row
    rows: list[tuple[Any, ...]] = []
    salaries: list[tuple[Any, ...]] = []
    employer_rows: list[dict[str, Any]] = []
    order_keys: list[float] = []

    for pos, record in enumerate(records):
        try:
            row, salary, employer = _flatten(record)
        except RecordError as exc:
            rejected[pos] = Rejection(record, stage=STAGE, rule=exc.rule, reason=exc.reason)
            continue
        positions.append(pos)
        rows.append(row)
        salaries.append(salary)
        employer_rows.append(employer)
        order_keys.append(_order_key(record.fetched_at))

    flat = _object_frame(rows, _FLAT_COLUMNS)
    raw_salary = raw_salary_frame(salaries)
    flat["_pos"] = pd.Series(positions, dtype="int64")
    flat["_order"] = pd.Series(order_keys, dtype="float64")

    def reject(labels: Iterable[int], rule: str, reason: Callable[[int], str]) -> None:
        """Reject the rows (labels of ``flat``) not rejected yet; ``reason`` gets the label."""
        for i in labels:
            pos = positions[i]
            if pos not in rejected:
                rejected[pos] = Rejection(records[pos], stage=STAGE, rule=rule, reason=reason(i))

    _check_vectorized(flat, raw_salary, rates, reject)
    valid = ~flat["_pos"].isin(list(rejected)).to_numpy()
    ranked = flat.loc[valid, ["vacancy_id", "_order", "_pos"]].sort_values(["_order", "_pos"], kind="stable")
    _reject_superseded(ranked, reject)
    keep = ~flat["_pos"].isin(list(rejected)).to_numpy()

    vacancies_frame = _vacancies_frame(flat.loc[keep], normalize_salaries(raw_salary.loc[keep], rates))
    # employers of the loaded rows, in precedence order: the last one of each key wins
    employers_frame = _employers_frame(employer_rows[i] for i in ranked.index if keep[i])
    rejections = [rejected[pos] for pos in sorted(rejected)]
    return VacancyBatch(vacancies=vacancies_frame, employers=employers_frame, rejections=rejections)


def _check_vectorized(flat: pd.DataFrame, raw_salary: pd.DataFrame, rates: Mapping[str, float], reject: Reject) -> None:
    """Parse the timestamps of ``flat`` in place and reject bad dates and unknown currencies."""
    published_at = _timestamps(flat["published_at"])
    reject(
        np.flatnonzero(published_at.isna()),
        "bad_published_at",
        lambda i: f"published_at {flat.at[i, 'published_at']!r} is not an hh timestamp",
    )
    created_at = _timestamps(flat["created_at"])
    reject(
        np.flatnonzero(created_at.isna() & flat["created_at"].notna()),
        "bad_created_at",
        lambda i: f"created_at {flat.at[i, 'created_at']!r} is not an hh timestamp",
    )
    reject(
        np.flatnonzero(unknown_currency_mask(raw_salary, rates)),
        "unknown_currency",
        lambda i: f"salary currency {raw_salary.at[i, 'salary_currency']!r} is not in the currency rates",
    )
    flat["published_at"] = published_at
    flat["created_at"] = created_at
    flat["detail_fetched_at"] = pd.to_datetime(flat["detail_fetched_at"], utc=True).astype("datetime64[us, UTC]")


def _reject_superseded(ranked: pd.DataFrame, reject: Reject) -> None:
    """Reject all but the last row of each ``vacancy_id`` in ``ranked`` (sorted by precedence)."""
    superseded = ranked.duplicated("vacancy_id", keep="last")
    winner = ranked.drop_duplicates("vacancy_id", keep="last").set_index("vacancy_id")["_pos"]
    vacancy_ids = ranked["vacancy_id"]
    reject(
        superseded.index[superseded.to_numpy()],
        "duplicate_in_batch",
        lambda i: (
            f"vacancy {vacancy_ids[i]} is superseded by a later record of it in the batch "
            f"(input position {winner[vacancy_ids[i]]})"
        ),
    )


def _vacancies_frame(flat: pd.DataFrame, salary: pd.DataFrame) -> pd.DataFrame:
    """The loaded rows with the key + data columns of ``vacancies`` and their deliberate dtypes."""
    out = flat.join(salary)
    out["source"] = SOURCE
    dtypes: dict[str, Any] = {
        c: "float64" if c in _FLOAT_COLUMNS else "datetime64[us, UTC]" if c in _TIMESTAMP_COLUMNS else object
        for c in VACANCY_COLUMNS
    }
    return out.loc[:, list(VACANCY_COLUMNS)].astype(dtypes).reset_index(drop=True)


def _employers_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per ``employer_key`` (the last of ``rows`` wins), key + data columns of ``employers``."""
    by_key = {row["employer_key"]: row for row in rows}
    return _object_frame([tuple(e[c] for c in EMPLOYER_COLUMNS) for e in by_key.values()], EMPLOYER_COLUMNS)
