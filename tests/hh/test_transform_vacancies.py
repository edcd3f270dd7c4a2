"""transform_vacancies: real hh payloads in, table-shaped frames and rejections out."""

from __future__ import annotations

import copy
import gc
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from schemas.tables import data_columns, employers, key_columns, vacancies
from tasks.hh.transform_vacancies import VacancyBatch, transform_vacancies
from tasks.sync.records import RawRecord, Rejection

RATES = {"RUR": 1.0, "USD": 0.0125, "EUR": 0.01, "KZT": 5.9, "BYR": 0.04}
FETCHED = datetime(2025, 8, 11, 12, 0, tzinfo=UTC)


def sample_items(shared: Path) -> list[dict[str, Any]]:
    """Every vacancy payload of the real samples: search pages' items and single search items."""
    samples = shared / "hh-api" / "samples"
    items: list[dict[str, Any]] = []
    for path in sorted(samples.glob("vacancies_search_*.json")):
        items += json.loads(path.read_text(encoding="utf-8"))["items"]
    for path in sorted(samples.glob("vacancy_search_item_*.json")):
        items.append(json.loads(path.read_text(encoding="utf-8")))
    return items


@pytest.fixture(scope="module")
def items(shared: Path) -> dict[str, dict[str, Any]]:
    found = {item["id"]: item for item in sample_items(shared)}
    assert len(found) == 5  # 3 (sanarisan) + 1 (dmitrymvp) + 1 (kirill8769)
    return found


def record(payload: Any, fetched_at: datetime = FETCHED, **meta: Any) -> RawRecord:
    record_id = payload.get("id") if isinstance(payload, dict) else None
    return RawRecord("hh", "vacancy", record_id, fetched_at, payload, {"search_hash": "h1", **meta})


def run(*records: RawRecord, rates: dict[str, float] = RATES) -> VacancyBatch:
    return transform_vacancies(list(records), rates)


def assert_reconciles(batch: VacancyBatch, records: list[RawRecord]) -> None:
    rejected = {id(r.record) for r in batch.rejections}  # RawRecord holds a dict: not hashable
    assert len(rejected) == len(batch.rejections), "one rejection per rejected record"
    assert len(batch.vacancies) + len(rejected) == len(records)
    loaded = set(batch.vacancies["vacancy_id"])
    for rec in records:
        if id(rec) not in rejected:
            assert isinstance(rec.payload, dict) and str(rec.payload["id"]) in loaded


# ---------------------------------------------------------------------------------------------
# the real samples


def test_all_real_samples_transform_without_rejections(items: dict[str, dict[str, Any]]) -> None:
    records = [record(item) for item in items.values()]
    batch = transform_vacancies(records, RATES)
    assert batch.rejections == []
    assert sorted(batch.vacancies["vacancy_id"]) == sorted(items)
    assert_reconciles(batch, records)
    assert sorted(batch.employers["employer_key"]) == sorted(f"hh:{item['employer']['id']}" for item in items.values())


def test_dmitrymvp_sample_hand_checked(items: dict[str, dict[str, Any]]) -> None:
    row = run(record(items["123880305"])).vacancies.iloc[0]
    assert row["vacancy_id"] == "123880305"
    assert row["source"] == "hh"
    assert row["name"] == "Мерчандайзер"
    assert row["employer_key"] == "hh:8639172"
    assert (row["area_id"], row["area_name"]) == ("23", "Владимир")
    # 2025-08-11T09:55:46+0300
    assert row["published_at"] == pd.Timestamp("2025-08-11 06:55:46", tz="UTC")
    assert row["created_at"] == pd.Timestamp("2025-08-11 06:55:46", tz="UTC")
    assert (row["status"], row["vacancy_type"], row["experience"]) == ("open", "open", "noExperience")
    assert (row["employment_form"], row["schedule"]) == ("FULL", "fullDay")
    assert row["professional_role_ids"] == ["77"]
    assert row["key_skills"] is None  # a search item
    assert (row["salary_from"], row["salary_to"], row["salary_currency"]) == (58_500, 125_000, "RUR")
    assert (row["salary_gross"], row["salary_mode"], row["salary_frequency"]) == (False, "MONTH", "DAILY")
    assert (row["salary_from_rub_net"], row["salary_to_rub_net"]) == (58_500, 125_000)
    assert (row["salary_from_rub_gross"], row["salary_to_rub_gross"]) == (67_241.38, 143_678.16)
    assert row["alternate_url"] == "https://hh.ru/vacancy/123880305"
    assert row["search_hash"] == "h1"
    assert pd.isna(row["detail_fetched_at"])
    assert row["payload"] is items["123880305"]


def test_sanarisan_samples_hand_checked(items: dict[str, dict[str, Any]]) -> None:
    batch = run(*(record(items[i]) for i in ("71164587", "70026582", "71101130")))
    rows = batch.vacancies.set_index("vacancy_id")
    # pre-salary_range era: the deprecated salary, month implied
    intern = rows.loc["71164587"]
    assert (intern["salary_from"], intern["salary_to"], intern["salary_mode"]) == (35_000, 35_000, "MONTH")
    assert intern["salary_from_rub_gross"] == 40_229.89  # 35 000 / 0.87
    assert (intern["schedule"], intern["employer_key"]) == ("remote", "hh:205152")
    # the advertised ("direct") vacancy without a salary
    direct = rows.loc["70026582"]
    assert direct["vacancy_type"] == "direct"
    assert direct["salary_currency"] is None and np.isnan(direct["salary_from_rub_net"])
    assert direct["published_at"] == pd.Timestamp("2022-09-20 09:57:18", tz="UTC")
    assert rows.loc["71101130", "name"] == "Стажер DevOps-инженер"
    employers_by_key = batch.employers.set_index("employer_key")
    assert employers_by_key.loc["hh:1740", "name"] == "Яндекс"
    assert employers_by_key.loc["hh:1740", "accredited_it"] is None  # not in 2022 payloads


def test_kirill_sample_hand_checked(items: dict[str, dict[str, Any]]) -> None:
    batch = run(record(items["91282950"]))
    row = batch.vacancies.iloc[0]
    assert row["employment_form"] == "FULL"  # from the deprecated employment "full"
    assert (row["salary_from_rub_gross"], row["salary_to_rub_gross"]) == (114_942.53, 172_413.79)
    assert row["professional_role_ids"] == ["150"]
    emp = batch.employers.iloc[0]
    assert (emp["name"], emp["canonical_name"]) == ("CAPYBARA IT AGENCY", "capybara it agency")
    assert (emp["trusted"], emp["accredited_it"], emp["is_anonymous"]) == (True, False, False)


def test_samples_are_not_modified(items: dict[str, dict[str, Any]]) -> None:
    before = copy.deepcopy(items)
    run(*(record(item) for item in items.values()))
    assert items == before


# ---------------------------------------------------------------------------------------------
# shape and dtypes


def test_columns_are_the_key_and_data_columns_of_the_tables(items: dict[str, dict[str, Any]]) -> None:
    for batch in (run(*(record(i) for i in items.values())), run()):
        assert list(batch.vacancies.columns) == key_columns(vacancies) + data_columns(vacancies)
        assert list(batch.employers.columns) == key_columns(employers) + data_columns(employers)


def test_dtypes_are_deliberate(items: dict[str, dict[str, Any]]) -> None:
    for batch in (run(*(record(i) for i in items.values())), run()):
        frame = batch.vacancies
        for column in ("published_at", "created_at", "detail_fetched_at"):
            assert isinstance(frame[column].dtype, pd.DatetimeTZDtype)
            assert str(frame[column].dtype.tz) == "UTC"
        for column in ("salary_from", "salary_to", "salary_from_rub_gross", "salary_to_rub_net"):
            assert frame[column].dtype == np.float64
        for column in ("vacancy_id", "name", "salary_currency", "salary_gross", "payload", "key_skills"):
            assert frame[column].dtype == object
        assert all(batch.employers[c].dtype == object for c in batch.employers.columns)


def test_missing_text_is_none_not_nan(items: dict[str, dict[str, Any]]) -> None:
    row = run(record(items["70026582"])).vacancies.iloc[0]
    assert row["salary_currency"] is None and row["salary_gross"] is None and row["salary_mode"] is None
    assert row["experience"] is None and row["employment_form"] is None


def test_empty_batch() -> None:
    batch = run()
    assert batch.vacancies.empty and batch.employers.empty and batch.rejections == []


# ---------------------------------------------------------------------------------------------
# fields


def test_detail_payload_and_meta(items: dict[str, dict[str, Any]]) -> None:
    detail = {
        **items["123880305"],
        "name": "  Мерчандайзер\xa0(Владимир) ",
        "archived": True,
        "key_skills": [{"name": "Выкладка\xa0товара"}, {"name": "1С"}],
    }
    fetched = datetime(2025, 8, 12, 10, 0, tzinfo=timezone(timedelta(hours=3)))
    row = run(record(detail, detail_fetched_at=fetched)).vacancies.iloc[0]
    assert row["name"] == "Мерчандайзер (Владимир)"
    assert row["status"] == "archived"
    assert row["key_skills"] == ["Выкладка товара", "1С"]
    assert row["detail_fetched_at"] == pd.Timestamp("2025-08-12 07:00", tz="UTC")


def test_empty_key_skills_stay_an_empty_list(items: dict[str, dict[str, Any]]) -> None:
    row = run(record({**items["123880305"], "key_skills": []})).vacancies.iloc[0]
    assert row["key_skills"] == []


@pytest.mark.parametrize(
    ("published_at", "expected"),
    [
        ("2025-08-11T09:55:46+0300", "2025-08-11 06:55:46"),
        ("2025-08-11T09:55:46+0500", "2025-08-11 04:55:46"),  # Yekaterinburg
        ("2025-08-11T09:55:46+0000", "2025-08-11 09:55:46"),
        ("2025-08-11T09:55:46+03:00", "2025-08-11 06:55:46"),
    ],
)
def test_hh_timestamps_become_utc(items: dict[str, dict[str, Any]], published_at: str, expected: str) -> None:
    row = run(record({**items["123880305"], "published_at": published_at})).vacancies.iloc[0]
    assert row["published_at"] == pd.Timestamp(expected, tz="UTC")


def test_naive_detail_fetched_at_counts_as_utc(items: dict[str, dict[str, Any]]) -> None:
    row = run(record(items["123880305"], detail_fetched_at=datetime(2025, 8, 12, 7, 0))).vacancies.iloc[0]
    assert row["detail_fetched_at"] == pd.Timestamp("2025-08-12 07:00", tz="UTC")


@pytest.mark.parametrize(
    ("employment", "employment_form", "expected"),
    [
        ({"id": "full"}, None, "FULL"),
        ({"id": "part"}, None, "PART"),
        ({"id": "probation"}, None, "probation"),  # no counterpart: kept as published
        ({"id": "full"}, {"id": "PART"}, "PART"),  # employment_form preferred
        (None, None, None),
    ],
)
def test_employment_form_falls_back_to_employment(
    items: dict[str, dict[str, Any]], employment: Any, employment_form: Any, expected: str | None
) -> None:
    payload = {**items["123880305"], "employment": employment, "employment_form": employment_form}
    assert run(record(payload)).vacancies.iloc[0]["employment_form"] == expected


def test_anonymous_employers_share_one_row(items: dict[str, dict[str, Any]]) -> None:
    anon = {"id": None, "name": "Крупная российская компания", "trusted": True}
    a = {**items["123880305"], "id": "1", "employer": anon}
    b = {**items["123880305"], "id": "2", "employer": {**anon, "name": "Крупная\xa0российская компания"}}
    batch = run(record(a), record(b))
    assert batch.vacancies["employer_key"].nunique() == 1
    assert batch.vacancies["employer_key"][0].startswith("hh:anon:")
    assert len(batch.employers) == 1
    emp = batch.employers.iloc[0]
    assert (emp["is_anonymous"], emp["source_id"]) == (True, None)


def test_employers_are_deduplicated_last_record_wins(items: dict[str, dict[str, Any]]) -> None:
    base = items["123880305"]
    first = {**base, "id": "1", "employer": {**base["employer"], "name": "Старое имя"}}
    second = {**base, "id": "2", "employer": {**base["employer"], "name": "Новое имя"}}
    batch = run(record(first), record(second, FETCHED + timedelta(minutes=1)))
    assert len(batch.vacancies) == 2
    assert batch.employers["name"].tolist() == ["Новое имя"]


# ---------------------------------------------------------------------------------------------
# bad records: rejected with their rule, the rest goes on


def without(key: str) -> Any:
    return lambda p: {k: v for k, v in p.items() if k != key}


def with_(**fields: Any) -> Any:
    return lambda p: {**p, **fields}


BAD_CASES = [
    ("payload_list", lambda p: [p], "bad_payload"),
    ("payload_none", lambda p: None, "bad_payload"),
    ("no_id", without("id"), "missing_id"),
    ("empty_id", with_(id=""), "missing_id"),
    ("id_list", with_(id=["1"]), "bad_id"),
    ("no_name", without("name"), "missing_name"),
    ("blank_name", with_(name=" \xa0 "), "missing_name"),
    ("name_number", with_(name=42), "bad_name"),
    ("no_employer", without("employer"), "missing_employer"),
    ("null_employer", with_(employer=None), "missing_employer"),
    ("employer_text", with_(employer="Яндекс"), "bad_employer"),
    ("employer_without_name", with_(employer={"id": "1"}), "bad_employer"),
    ("no_published_at", without("published_at"), "missing_published_at"),
    ("published_at_not_hh", with_(published_at="11.08.2025 09:55"), "bad_published_at"),
    ("published_at_without_offset", with_(published_at="2025-08-11T09:55:46"), "bad_published_at"),
    ("published_at_number", with_(published_at=1754895346), "bad_published_at"),
    ("created_at_garbage", with_(created_at="yesterday"), "bad_created_at"),
    ("salary_abc", with_(salary_range={"from": "abc", "to": None, "currency": "RUR", "gross": False}), "bad_salary"),
    ("salary_text", with_(salary_range=None, salary="abc"), "bad_salary"),
    ("area_text", with_(area="Москва"), "bad_area"),
    ("experience_text", with_(experience="noExperience"), "bad_experience"),
    ("type_list", with_(type=["open"]), "bad_type"),
    ("schedule_id_list", with_(schedule={"id": ["fullDay"]}), "bad_schedule"),
    ("roles_text", with_(professional_roles="77"), "bad_professional_roles"),
    ("roles_without_id", with_(professional_roles=[{"name": "x"}]), "bad_professional_roles"),
    ("key_skills_numbers", with_(key_skills=[1, 2]), "bad_key_skills"),
    ("archived_text", with_(archived="no"), "bad_archived"),
    ("alternate_url_number", with_(alternate_url=5), "bad_alternate_url"),
    (
        "unknown_currency",
        with_(salary_range={"from": 1, "to": None, "currency": "XYZ", "gross": True, "mode": {"id": "MONTH"}}),
        "unknown_currency",
    ),
]


@pytest.mark.parametrize(("mutate", "rule"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_a_bad_record_is_rejected_and_the_good_ones_pass(
    items: dict[str, dict[str, Any]], mutate: Any, rule: str
) -> None:
    base = items["123880305"]
    good1, good2 = record({**base, "id": "1"}), record({**base, "id": "2"})
    bad = record(mutate({**base, "id": "3"}))
    records = [good1, bad, good2]
    batch = transform_vacancies(records, RATES)

    assert batch.vacancies["vacancy_id"].tolist() == ["1", "2"]
    assert len(batch.rejections) == 1
    rejection = batch.rejections[0]
    assert isinstance(rejection, Rejection)
    assert rejection.record is bad
    assert (rejection.stage, rejection.rule) == ("transform", rule)
    assert rejection.reason and isinstance(rejection.reason, str)
    assert_reconciles(batch, records)


@pytest.mark.parametrize(
    ("meta", "rule"),
    [
        ({}, "bad_meta"),
        ({"search_hash": ""}, "bad_meta"),
        ({"search_hash": "h", "detail_fetched_at": "yesterday"}, "bad_meta"),
    ],
)
def test_bad_meta_is_rejected(items: dict[str, dict[str, Any]], meta: dict[str, Any], rule: str) -> None:
    bad = RawRecord("hh", "vacancy", "1", FETCHED, items["123880305"], meta)
    batch = run(bad)
    assert batch.vacancies.empty
    assert [(r.record, r.rule) for r in batch.rejections] == [(bad, rule)]


def test_reconciliation_on_a_mixed_batch(items: dict[str, dict[str, Any]]) -> None:
    base = items["123880305"]
    records = [record(item) for item in items.values()]
    records += [record(mutate({**base, "id": f"bad{i}"})) for i, (_, mutate, _) in enumerate(BAD_CASES)]
    records += [record({**base, "id": "dup"}), record({**base, "id": "dup"}, FETCHED + timedelta(seconds=1))]
    batch = transform_vacancies(records, RATES)

    assert_reconciles(batch, records)
    assert len(batch.vacancies) == len(items) + 1
    assert [r.rule for r in batch.rejections] == [rule for _, _, rule in BAD_CASES] + ["duplicate_in_batch"]
    # rejections come in input order and are all from this stage
    positions = [next(i for i, rec in enumerate(records) if rec is r.record) for r in batch.rejections]
    assert positions == sorted(positions)
    assert {r.stage for r in batch.rejections} == {"transform"}


# ---------------------------------------------------------------------------------------------
# duplicates within a batch


def test_duplicates_keep_the_last_and_reject_the_earlier(items: dict[str, dict[str, Any]]) -> None:
    base = items["123880305"]
    records = [
        record({**base, "name": f"Версия {n}"}, FETCHED + timedelta(minutes=n), search_hash=f"h{n}") for n in range(3)
    ]
    batch = transform_vacancies(records, RATES)
    assert batch.vacancies[["name", "search_hash"]].values.tolist() == [["Версия 2", "h2"]]
    assert [(r.record, r.rule) for r in batch.rejections] == [
        (records[0], "duplicate_in_batch"),
        (records[1], "duplicate_in_batch"),
    ]
    assert all("superseded" in r.reason for r in batch.rejections)
    assert_reconciles(batch, records)


def test_the_most_recently_fetched_duplicate_wins(items: dict[str, dict[str, Any]]) -> None:
    base = items["123880305"]
    newer = record({**base, "name": "Новая"}, FETCHED + timedelta(hours=1))
    older = record({**base, "name": "Старая"}, FETCHED)
    batch = run(newer, older)
    assert batch.vacancies["name"].tolist() == ["Новая"]
    assert [r.record for r in batch.rejections] == [older]


def test_equal_fetch_times_the_later_record_wins(items: dict[str, dict[str, Any]]) -> None:
    base = items["123880305"]
    batch = run(record({**base, "name": "A"}), record({**base, "name": "B"}))
    assert batch.vacancies["name"].tolist() == ["B"]


def test_a_bad_later_duplicate_does_not_supersede_a_good_one(items: dict[str, dict[str, Any]]) -> None:
    base = items["123880305"]
    good = record(base)
    bad = record({**base, "published_at": "garbage"}, FETCHED + timedelta(hours=1))
    batch = run(good, bad)
    assert batch.vacancies["vacancy_id"].tolist() == ["123880305"]
    assert [(r.record, r.rule) for r in batch.rejections] == [(bad, "bad_published_at")]


def test_ids_are_compared_as_text(items: dict[str, dict[str, Any]]) -> None:
    base = items["123880305"]
    batch = run(record({**base, "id": 123880305}), record(base, FETCHED + timedelta(seconds=1)))
    assert batch.vacancies["vacancy_id"].tolist() == ["123880305"]
    assert [r.rule for r in batch.rejections] == ["duplicate_in_batch"]


# ---------------------------------------------------------------------------------------------
# rates


def test_currency_missing_from_the_rates_is_quarantined_not_nulled(items: dict[str, dict[str, Any]]) -> None:
    usd = {**items["123880305"], "salary_range": {**items["123880305"]["salary_range"], "currency": "USD"}}
    assert run(record(usd), rates={"RUR": 1.0}).rejections[0].rule == "unknown_currency"
    row = run(record(usd), rates={"USD": 0.0125}).vacancies.iloc[0]
    assert row["salary_from_rub_net"] == 58_500 * 80


def test_invalid_rates_fail_loudly(items: dict[str, dict[str, Any]]) -> None:
    with pytest.raises(ValueError, match="USD"):
        run(record(items["123880305"]), rates={"USD": 0.0})


def test_the_garbage_collector_is_restored(items: dict[str, dict[str, Any]]) -> None:
    assert gc.isenabled()
    run(record(items["123880305"]))
    assert gc.isenabled()
    with pytest.raises(ValueError):
        run(record(items["123880305"]), rates={"USD": -1.0})
    assert gc.isenabled()
