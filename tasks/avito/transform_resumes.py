"""Transform raw Avito.Работа resumes into the ``avito_resumes`` frame.

Pure: no Prefect, no database. The conventions (one rejection or one row per record, duplicates,
dtypes) are those of :mod:`.avito`. A payload is one resume of ``GET /job/v2/resumes/{resume_id}``;
fields the request did not ask for are absent and come out null.

Columns
    * ``resume_id``: ``id`` (int64) as text, the form ``applicant.resume_id`` links by.
    * ``title``, ``education`` (``params.education``), ``location`` (``address_details.location``,
      else ``address_details.address``, else ``params.address``): whitespace-normalized text.
    * ``candidate_name``: the ``name`` (else ``full_name``) of the resume's contacts
      (``GET /job/v1/resumes/{id}/contacts/``) when the extractor put them in ``meta["contacts"]``;
      None without contacts.
    * ``salary_rub``: ``salary`` (roubles a month), NaN when absent or null.
    * ``experience_years``: ``params.experience`` (whole years) when present; else computed from
      ``params.experience_list``: each job runs from ``work_start`` to ``work_finish`` (a null finish
      is the current job and runs to the day the record was fetched), overlapping jobs are merged so
      no day counts twice, and the days are divided by 365.25 and rounded to 1 decimal. NaN when
      neither is there (an empty list included: nothing is invented).
    * ``age`` (``params.age``), ``gender`` (``params.pol``: ``Мужской`` / ``Женский`` / ``male`` /
      ``female`` to male / female, else None), ``is_active``, ``is_purchased``, ``url`` (as sent,
      relative to avito.ru), ``updated_at`` (``update_time``, RFC 3339 with an offset, to UTC).

Rules (the first one broken wins):

=========================  ===================================================================
``bad_payload``            the payload is not an object
``bad_meta``               ``meta`` or ``meta["contacts"]`` is not an object, or the contacts'
                           ``name`` / ``full_name`` are not text
``missing_id``             no ``id``; ``bad_id`` when it is not an integer or a string
``bad_<field>``            a wrongly typed field: ``title``, ``salary`` (not a non-negative number
                           below :data:`SALARY_LIMIT`), ``params``, ``address_details``,
                           ``experience`` (not a non-negative integer below
                           :data:`EXPERIENCE_LIMIT`), ``education``, ``age`` (beyond the integer
                           column), ``pol``, ``address``, ``is_active``, ``is_purchased``, ``url``
``bad_experience_list``    ``experience_list`` is not a list of jobs with ``YYYY-MM-DD`` dates, or a
                           job ends before it starts
``bad_fetched_at``         a current job (null ``work_finish``) while ``fetched_at`` is not a datetime
``bad_update_time``        ``update_time`` is not an RFC 3339 string with an offset
``duplicate_in_batch``     a later record of the same resume supersedes this one
=========================  ===================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd

from schemas.tables import avito_resumes
from tasks.sync.records import RawRecord, Rejection
from tasks.sync.transform import (
    RecordError,
    RecordPass,
    as_utc,
    finish,
    gender,
    id_text,
    optional_bool,
    optional_dict,
    optional_int,
    optional_list,
    optional_text,
    parse_date,
    person_name,
    rfc3339_timestamps,
    table_columns,
    text_of,
)

RESUME_COLUMNS: tuple[str, ...] = table_columns(avito_resumes)
"""Key + data columns of the ``avito_resumes`` table, in declared order."""

DAYS_PER_YEAR = 365.25
EXPERIENCE_DECIMALS = 1
SALARY_LIMIT = 10**12
"""Salaries from this many roubles up do not fit the ``salary_rub`` column (numeric(14, 2)): rejected."""
EXPERIENCE_LIMIT = 10_000
"""Years of experience from this up do not fit ``experience_years`` (numeric(5, 1)): rejected."""
AGE_LIMIT = 2**31
"""Ages from this up do not fit the ``age`` column (integer): rejected."""


@dataclass
class ResumeBatch:
    """The result of :func:`transform_resumes`."""

    resumes: pd.DataFrame
    rejections: list[Rejection] = field(default_factory=list)


def experience_years(jobs: list[tuple[date, date]]) -> float | None:
    """Years of work in ``jobs`` (start, end) with overlaps merged, to 1 decimal; None for no jobs."""
    if not jobs:
        return None
    days = 0
    current_start, current_end = None, None
    for start, end in sorted(jobs):
        if current_end is None or start > current_end:
            if current_end is not None:
                days += (current_end - current_start).days
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    days += (current_end - current_start).days
    return round(days / DAYS_PER_YEAR, EXPERIENCE_DECIMALS)


def _jobs(params: dict[str, Any], fetched_at: Any) -> list[tuple[date, date]]:
    rule = "bad_experience_list"
    jobs = []
    for job in optional_list(params, "experience_list") or []:
        if not isinstance(job, dict):
            raise RecordError(rule, f"experience_list has {job!r}, not an object")
        start, finish_text = job.get("work_start"), job.get("work_finish")
        begun = parse_date(start)
        if begun is None:
            raise RecordError(rule, f"experience_list work_start {start!r} is not a YYYY-MM-DD date")
        if finish_text is None:
            if not isinstance(fetched_at, datetime):
                raise RecordError("bad_fetched_at", f"fetched_at {fetched_at!r} is not a datetime (current job)")
            ended = as_utc(fetched_at).date()
        elif (ended := parse_date(finish_text)) is None:
            raise RecordError(rule, f"experience_list work_finish {finish_text!r} is not a YYYY-MM-DD date")
        if ended < begun:
            raise RecordError(rule, f"experience_list has a job from {start} to {finish_text or ended}")
        jobs.append((begun, ended))
    return jobs


def _experience(params: dict[str, Any], fetched_at: Any) -> float | None:
    years = params.get("experience")
    if years is None:
        return experience_years(_jobs(params, fetched_at))
    if isinstance(years, int) and not isinstance(years, bool) and 0 <= years < EXPERIENCE_LIMIT:
        return float(years)
    raise RecordError("bad_experience", f"params.experience is {years!r}, not a non-negative integer of years")


def _salary(payload: dict[str, Any]) -> float | None:
    salary = payload.get("salary")
    if salary is None:
        return None
    if isinstance(salary, int | float) and not isinstance(salary, bool) and 0 <= salary < SALARY_LIMIT:
        return float(salary)
    raise RecordError("bad_salary", f"salary is {salary!r}, not a non-negative number below {SALARY_LIMIT:.0e}")


def _age(params: dict[str, Any]) -> int | None:
    age = optional_int(params, "age", where="params.")
    if age is None or 0 <= age < AGE_LIMIT:
        return age
    raise RecordError("bad_age", f"params.age is {age!r}, not an age")


def _candidate_name(record: RawRecord) -> str | None:
    meta = record.meta
    if not isinstance(meta, dict):
        raise RecordError("bad_meta", f"meta is a {type(meta).__name__}, not an object")
    contacts = optional_dict(meta, "contacts", "bad_meta", where="meta ")
    if contacts is None:
        return None
    return person_name(contacts.get("name"), contacts.get("full_name"), rule="bad_meta", where="meta contacts.")


def _location(payload: dict[str, Any], params: dict[str, Any]) -> str | None:
    details = optional_dict(payload, "address_details") or {}
    where = "address_details."
    for text in (
        optional_text(details, "location", "bad_address_details", where=where),
        optional_text(details, "address", "bad_address_details", where=where),
        optional_text(params, "address", where="params."),
    ):
        if text := text_of(text):
            return text
    return None


def _read_resume(record: RawRecord) -> dict[str, Any]:
    payload = record.payload
    if not isinstance(payload, dict):
        raise RecordError("bad_payload", f"payload is a {type(payload).__name__}, not an object")
    candidate_name = _candidate_name(record)
    resume_id = id_text(payload.get("id"))
    params = optional_dict(payload, "params") or {}
    return {
        "resume_id": resume_id,
        "title": text_of(optional_text(payload, "title")),
        "candidate_name": candidate_name,
        "salary_rub": _salary(payload),
        "experience_years": _experience(params, record.fetched_at),
        "location": _location(payload, params),
        "education": text_of(optional_text(params, "education", where="params.")),
        "age": _age(params),
        "gender": gender(optional_text(params, "pol", where="params.")),
        "is_active": optional_bool(payload, "is_active"),
        "is_purchased": optional_bool(payload, "is_purchased"),
        "url": optional_text(payload, "url"),
        "updated_at": optional_text(payload, "update_time"),
        "payload": payload,
    }


def transform_resumes(records: Sequence[RawRecord]) -> ResumeBatch:
    """Turn raw Avito resumes into the ``avito_resumes`` frame and rejections.

    Args:
        records: raw records whose payload is one resume (``/job/v2/resumes/{id}``); optionally
            ``meta["contacts"]``, the resume's ``/contacts/`` response.

    Returns:
        A :class:`ResumeBatch`: ``resumes`` with the key + data columns of ``avito_resumes`` (see the
        module doc), one rejection per rejected record, in input order.
        ``len(resumes) + len(rejections) == len(records)``.
    """
    batch = RecordPass(records, _read_resume, RESUME_COLUMNS)
    batch.parse("updated_at", rfc3339_timestamps, "bad_update_time", "an RFC 3339 time with an offset")
    keep = batch.reject_duplicates("resume_id", "resume")
    return ResumeBatch(resumes=finish(batch.frame.loc[keep], avito_resumes), rejections=batch.rejections())
