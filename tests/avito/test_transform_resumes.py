"""transform_resumes: Avito.Работа resumes (and their contacts) in, the resumes frame out."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from schemas.tables import avito_resumes, data_columns, key_columns
from tasks.avito.transform_resumes import experience_years, transform_resumes
from tasks.sync.records import RawRecord

FETCHED = datetime(2026, 7, 17, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def resume(shared: Path) -> dict[str, Any]:
    return json.loads((shared / "avito-api" / "samples" / "job_resume_v2_official_example.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def contacts(shared: Path) -> dict[str, Any]:
    path = shared / "avito-api" / "samples" / "job_resume_contacts_official_example.json"
    return json.loads(path.read_text("utf-8"))


def record(payload: Any, fetched_at: Any = FETCHED, **meta: Any) -> RawRecord:
    record_id = str(payload.get("id")) if isinstance(payload, dict) else None
    return RawRecord("avito", "resume", record_id, fetched_at, payload, meta)


def one(payload: dict[str, Any], fetched_at: Any = FETCHED, **meta: Any) -> pd.Series:
    batch = transform_resumes([record(payload, fetched_at, **meta)])
    assert batch.rejections == []
    return batch.resumes.iloc[0]


def with_params(resume: dict[str, Any], **params: Any) -> dict[str, Any]:
    """``resume`` with ``params`` changed; a value of ``...`` deletes the parameter."""
    merged = {**resume["params"], **params}
    return {**resume, "params": {k: v for k, v in merged.items() if v is not ...}}


def jobs(*ranges: tuple[str, str | None]) -> list[dict[str, Any]]:
    return [{"company": "Авито", "work_start": start, "work_finish": finish} for start, finish in ranges]


# --- the official examples ------------------------------------------------------------------------


def test_official_resume_with_contacts_hand_checked(resume: dict[str, Any], contacts: dict[str, Any]) -> None:
    row = one(resume, contacts=contacts)
    assert row["resume_id"] == "52282551484"  # int id as text, as applicant.resume_id links it
    assert row["title"] == "Строитель"
    assert row["candidate_name"] == "Иванов Иван Иванович"
    assert row["salary_rub"] == 40_000.0
    assert row["experience_years"] == 5.0  # params.experience
    assert (row["location"], row["education"]) == ("Воронеж", "Высшее")
    assert (row["age"], row["gender"]) == (44, "male")
    assert (row["is_active"], row["is_purchased"]) == (True, True)
    assert row["url"] == "/voronezh/rezume/stroitel_52282551484"
    assert row["updated_at"] == pd.Timestamp("2026-07-17 10:16:02", tz="UTC")
    assert row["payload"] is resume


def test_without_contacts_there_is_no_name(resume: dict[str, Any]) -> None:
    assert one(resume)["candidate_name"] is None


def test_contacts_name_falls_back_to_full_name(resume: dict[str, Any]) -> None:
    contacts = {"name": None, "full_name": {"first_name": "Анна", "last_name": "Сидорова", "patronymic": "Юрьевна"}}
    assert one(resume, contacts=contacts)["candidate_name"] == "Сидорова Анна Юрьевна"


def test_samples_are_not_modified(resume: dict[str, Any], contacts: dict[str, Any]) -> None:
    before = copy.deepcopy((resume, contacts))
    transform_resumes([record(resume, contacts=contacts)])
    assert (resume, contacts) == before


def test_columns_and_dtypes(resume: dict[str, Any]) -> None:
    for records in ([record(resume)], []):
        frame = transform_resumes(records).resumes
        assert list(frame.columns) == key_columns(avito_resumes) + data_columns(avito_resumes)
        assert frame["salary_rub"].dtype == np.float64 and frame["experience_years"].dtype == np.float64
        assert frame["age"].dtype == "Int64"
        assert frame["updated_at"].dtype == "datetime64[us, UTC]"
        assert all(frame[c].dtype == object for c in ("resume_id", "title", "gender", "is_active", "payload"))


# --- fields ---------------------------------------------------------------------------------------


def test_fields_not_requested_are_absent_and_null(resume: dict[str, Any]) -> None:
    row = one({"id": 1})
    assert row["resume_id"] == "1"
    assert np.isnan(row["salary_rub"]) and np.isnan(row["experience_years"]) and pd.isna(row["age"])
    assert row[["title", "location", "education", "gender", "is_active", "url"]].tolist() == [None] * 6
    assert pd.isna(row["updated_at"])


@pytest.mark.parametrize(("salary", "expected"), [(40000, 40000.0), (52500.5, 52500.5), (0, 0.0), (None, np.nan)])
def test_salary(resume: dict[str, Any], salary: Any, expected: float) -> None:
    assert one({**resume, "salary": salary})["salary_rub"] == pytest.approx(expected, nan_ok=True)


@pytest.mark.parametrize(
    ("details", "params_address", "location"),
    [
        ({"location": "Воронеж", "address": "Воронеж, ул. Мира"}, None, "Воронеж"),
        ({"location": "", "address": "Воронеж,\xa0ул. Мира"}, None, "Воронеж, ул. Мира"),
        (None, "Подольск", "Подольск"),
        ({}, None, None),
    ],
)
def test_location(resume: dict[str, Any], details: Any, params_address: Any, location: str | None) -> None:
    payload = with_params({**resume, "address_details": details}, address=params_address)
    assert one(payload)["location"] == location


@pytest.mark.parametrize(
    ("pol", "gender"), [("Мужской", "male"), ("Женский", "female"), ("female", "female"), ("?", None)]
)
def test_gender(resume: dict[str, Any], pol: str, gender: str | None) -> None:
    assert one(with_params(resume, pol=pol))["gender"] == gender


# --- experience -----------------------------------------------------------------------------------


def test_experience_from_the_list_when_the_total_is_absent(resume: dict[str, Any]) -> None:
    # the official example's one job: 2014-06-01 .. 2019-11-01 = 1979 days = 5.42 years
    assert one(with_params(resume, experience=...))["experience_years"] == 5.4


@pytest.mark.parametrize(
    ("ranges", "years"),
    [
        ([("2020-01-01", "2021-01-01")], 1.0),
        ([("2020-01-01", "2021-01-01"), ("2022-01-01", "2023-01-01")], 2.0),  # gaps do not count
        ([("2020-01-01", "2022-01-01"), ("2021-01-01", "2023-01-01")], 3.0),  # overlap counted once
        ([("2021-01-01", "2021-06-01"), ("2020-01-01", "2023-01-01")], 3.0),  # nested, any order
        ([("2020-01-01", "2021-01-01"), ("2021-01-01", "2022-01-01")], 2.0),  # touching
        ([("2025-07-17", None)], 1.0),  # current job: up to the day the record was fetched
        ([("2026-07-17", "2026-07-17")], 0.0),
        ([], np.nan),  # nothing to count: nothing invented
    ],
)
def test_experience_years_from_ranges(resume: dict[str, Any], ranges: list[Any], years: float) -> None:
    payload = with_params(resume, experience=..., experience_list=jobs(*ranges))
    assert one(payload)["experience_years"] == pytest.approx(years, nan_ok=True)


def test_the_current_job_runs_to_the_fetch_day_naive_is_utc(resume: dict[str, Any]) -> None:
    payload = with_params(resume, experience=..., experience_list=jobs(("2024-07-17", None)))
    assert one(payload, fetched_at=datetime(2026, 7, 17, 23, 0))["experience_years"] == 2.0


def test_experience_years_helper() -> None:
    assert experience_years([]) is None
    assert experience_years([(date(2020, 1, 1), date(2020, 7, 2))]) == 0.5


def test_the_total_wins_over_the_list(resume: dict[str, Any]) -> None:
    payload = with_params(resume, experience=0, experience_list=jobs(("2000-01-01", "2020-01-01")))
    assert one(payload)["experience_years"] == 0.0


# --- bad records ----------------------------------------------------------------------------------

BAD_CASES = [
    ("payload_none", lambda r: None, {}, "bad_payload"),
    ("no_id", lambda r: {k: v for k, v in r.items() if k != "id"}, {}, "missing_id"),
    ("id_float", lambda r: {**r, "id": 5.0}, {}, "bad_id"),
    ("contacts_list", lambda r: r, {"contacts": []}, "bad_meta"),
    ("contacts_name_number", lambda r: r, {"contacts": {"name": 5}}, "bad_meta"),
    ("title_number", lambda r: {**r, "title": 5}, {}, "bad_title"),
    ("salary_text", lambda r: {**r, "salary": "40000"}, {}, "bad_salary"),
    ("salary_negative", lambda r: {**r, "salary": -1}, {}, "bad_salary"),
    ("salary_bool", lambda r: {**r, "salary": True}, {}, "bad_salary"),
    ("params_list", lambda r: {**r, "params": []}, {}, "bad_params"),
    ("address_details_text", lambda r: {**r, "address_details": "Воронеж"}, {}, "bad_address_details"),
    ("location_number", lambda r: {**r, "address_details": {"location": 1}}, {}, "bad_address_details"),
    ("experience_text", lambda r: with_params(r, experience="5 лет"), {}, "bad_experience"),
    ("experience_negative", lambda r: with_params(r, experience=-1), {}, "bad_experience"),
    ("experience_list_text", lambda r: with_params(r, experience=..., experience_list="5"), {}, "bad_experience_list"),
    (
        "experience_list_bad_date",
        lambda r: with_params(r, experience=..., experience_list=jobs(("06.2014", "2019-11-01"))),
        {},
        "bad_experience_list",
    ),
    (
        "experience_list_backwards",
        lambda r: with_params(r, experience=..., experience_list=jobs(("2019-11-01", "2014-06-01"))),
        {},
        "bad_experience_list",
    ),
    (
        "experience_list_entry_text",
        lambda r: with_params(r, experience=..., experience_list=["Авито"]),
        {},
        "bad_experience_list",
    ),
    ("education_list", lambda r: with_params(r, education=["Высшее"]), {}, "bad_education"),
    ("age_text", lambda r: with_params(r, age="44"), {}, "bad_age"),
    ("pol_number", lambda r: with_params(r, pol=1), {}, "bad_pol"),
    ("is_active_text", lambda r: {**r, "is_active": "yes"}, {}, "bad_is_active"),
    ("is_purchased_number", lambda r: {**r, "is_purchased": 1}, {}, "bad_is_purchased"),
    ("url_number", lambda r: {**r, "url": 1}, {}, "bad_url"),
    ("update_time_garbage", lambda r: {**r, "update_time": "вчера"}, {}, "bad_update_time"),
    ("update_time_naive", lambda r: {**r, "update_time": "2026-04-20T16:23:46"}, {}, "bad_update_time"),
    ("update_time_number", lambda r: {**r, "update_time": 1784282232}, {}, "bad_update_time"),
]


@pytest.mark.parametrize(("mutate", "meta", "rule"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_a_bad_resume_is_rejected_and_the_good_ones_pass(
    resume: dict[str, Any], mutate: Any, meta: dict[str, Any], rule: str
) -> None:
    good1, good2 = record({**resume, "id": 1}), record({**resume, "id": 2})
    bad = record(mutate({**resume, "id": 3}), **meta)
    batch = transform_resumes([good1, bad, good2])
    assert batch.resumes["resume_id"].tolist() == ["1", "2"]
    assert [(r.record, r.stage, r.rule) for r in batch.rejections] == [(bad, "transform", rule)]
    assert batch.rejections[0].reason


def test_a_current_job_needs_a_fetch_time(resume: dict[str, Any]) -> None:
    payload = with_params(resume, experience=..., experience_list=jobs(("2024-01-01", None)))
    bad = record(payload, fetched_at=None)
    assert [r.rule for r in transform_resumes([bad]).rejections] == ["bad_fetched_at"]


def test_duplicates_and_reconciliation(resume: dict[str, Any]) -> None:
    records = [record({**resume, "title": f"v{n}"}, FETCHED + timedelta(minutes=n)) for n in (1, 3, 2)]
    records.append(record({**resume, "id": "52282551484", "title": "v0"}, FETCHED))  # the same id as text
    records += [record(mutate({**resume, "id": 100 + i}), **meta) for i, (_, mutate, meta, _) in enumerate(BAD_CASES)]
    batch = transform_resumes(records)
    assert batch.resumes[["resume_id", "title"]].values.tolist() == [["52282551484", "v3"]]
    assert [r.rule for r in batch.rejections] == ["duplicate_in_batch"] * 3 + [c[-1] for c in BAD_CASES]
    assert len(batch.resumes) + len(batch.rejections) == len(records)
    assert len({id(r.record) for r in batch.rejections}) == len(batch.rejections)
