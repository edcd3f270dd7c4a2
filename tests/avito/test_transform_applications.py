"""transform_applications: Avito.Работа applications in, the applications frame and its history out."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from schemas.tables import avito_applications, data_columns, key_columns
from tasks.avito.transform_applications import transform_applications
from tasks.sync.records import RawRecord

FETCHED = datetime(2026, 7, 17, 12, 0, tzinfo=UTC)
CHAT = "u2i-0mSKNtVvcEaAPctc5Jp8nw"


@pytest.fixture(scope="module")
def application(shared: Path) -> dict[str, Any]:
    path = shared / "avito-api" / "samples" / "job_applications_get_by_ids_official_example.json"
    (apply,) = json.loads(path.read_text("utf-8"))["applies"]
    return apply


def record(payload: Any, fetched_at: datetime = FETCHED) -> RawRecord:
    record_id = payload.get("id") if isinstance(payload, dict) else None
    return RawRecord("avito", "application", record_id, fetched_at, payload)


def one(payload: dict[str, Any], masked_chat_ids: set[str] | None = None) -> pd.Series:
    batch = transform_applications([record(payload)], masked_chat_ids)
    assert batch.rejections == []
    return batch.applications.iloc[0]


def edit(payload: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``payload`` with ``value`` at the dotted ``path`` (``...`` deletes the key)."""
    changed = copy.deepcopy(payload)
    *parents, last = path.split(".")
    target = changed
    for key in parents:
        target = target[key]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return changed


def assert_reconciles(batch: Any, records: list[RawRecord]) -> None:
    assert len({id(r.record) for r in batch.rejections}) == len(batch.rejections)
    assert len(batch.applications) + len(batch.rejections) == len(records)
    assert len(batch.history) == len(batch.applications)


# --- the official example -----------------------------------------------------------------------


def test_official_example_hand_checked(application: dict[str, Any]) -> None:
    row = one(application)
    assert row["application_id"] == "6a59fc8d59237327aa2dcfd8"
    assert (row["vacancy_id"], row["negotiation_id"]) == (52282438230, 366626710)
    assert (row["state"], row["status"], row["is_viewed"]) == ("interview", "interview", True)
    assert row["application_type"] == "by_chat"
    assert row["chat_id"] == CHAT
    assert (row["resume_id"], row["applicant_id"]) == ("52282551484", "710723689")
    assert row["candidate_name"] == "Иванов Иван Иванович"
    assert row["phone"] == "72004629161"
    assert (row["birthday"], row["citizenship"], row["gender"]) == ("1982-06-07", "Россия", "male")
    assert row["created_at"] == pd.Timestamp("2026-07-17 09:57:12.383740", tz="UTC")  # 12:57:12.38374+03:00
    assert row["updated_at"] == pd.Timestamp("2026-07-17 10:31:10", tz="UTC")
    assert row["payload"] is application


def test_history_row(application: dict[str, Any]) -> None:
    history = transform_applications([record(application)]).history
    assert history.to_dict("records") == [
        {
            "source": "avito",
            "entity": "application",
            "record_id": "6a59fc8d59237327aa2dcfd8",
            "state": "interview",
            "status": "interview",
            "changed_at": pd.Timestamp("2026-07-17 10:31:10", tz="UTC"),
        }
    ]


def test_the_sample_is_not_modified(application: dict[str, Any]) -> None:
    before = copy.deepcopy(application)
    transform_applications([record(application)], {CHAT})
    assert application == before


# --- shape ----------------------------------------------------------------------------------------


def test_columns_and_dtypes(application: dict[str, Any]) -> None:
    for records in ([record(application)], []):
        batch = transform_applications(records)
        frame = batch.applications
        assert list(frame.columns) == key_columns(avito_applications) + data_columns(avito_applications)
        assert list(batch.history.columns) == ["source", "entity", "record_id", "state", "status", "changed_at"]
        for column in ("created_at", "updated_at"):
            assert frame[column].dtype == "datetime64[us, UTC]"
        assert batch.history["changed_at"].dtype == "datetime64[us, UTC]"
        assert frame["vacancy_id"].dtype == "Int64" and frame["negotiation_id"].dtype == "Int64"
        for column in ("application_id", "status", "is_viewed", "resume_id", "phone", "payload"):
            assert frame[column].dtype == object


# --- fields ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "is_viewed", "status"),
    [
        ("new", False, "applied"),
        ("new", True, "viewed"),
        ("inprocess", True, "viewed"),
        ("interview", False, "interview"),
        ("selected", True, "offer"),
        ("rejected", True, "rejected"),
        ("archive", False, "archived"),
        ("sent_to_crm", True, "unknown"),  # unknown states are kept, not rejected
        (None, True, "unknown"),
    ],
)
def test_status(application: dict[str, Any], state: Any, is_viewed: bool, status: str) -> None:
    row = one({**application, "state": state, "is_viewed": is_viewed})
    assert (row["state"], row["status"]) == (state, status)


def test_a_by_phone_application_has_no_chat(application: dict[str, Any]) -> None:
    payload = {**application, "type": "by_phone", "contacts": {"chat": None, "phones": [{"value": "79001234567"}]}}
    row = one(payload)
    assert (row["application_type"], row["chat_id"], row["phone"]) == ("by_phone", None, "79001234567")


@pytest.mark.parametrize(("resume_id", "expected"), [(None, None), ("", None), (52282551484, "52282551484")])
def test_resume_id_is_text_or_none(application: dict[str, Any], resume_id: Any, expected: str | None) -> None:
    assert one(edit(application, "applicant.resume_id", resume_id))["resume_id"] == expected


def test_an_application_without_applicant_data(application: dict[str, Any]) -> None:
    row = one({k: v for k, v in application.items() if k not in ("applicant", "contacts")})
    assert row[["resume_id", "applicant_id", "candidate_name", "phone", "chat_id", "gender"]].tolist() == [None] * 6


@pytest.mark.parametrize(
    ("data", "name"),
    [
        ({"name": "  Петров\xa0 Пётр "}, "Петров Пётр"),
        ({"full_name": {"first_name": "Анна", "last_name": "Сидорова", "patronymic": None}}, "Сидорова Анна"),
        ({"name": "", "full_name": {"first_name": "Анна", "last_name": None}}, "Анна"),
        ({"name": None, "full_name": None}, None),
        ({}, None),
    ],
)
def test_candidate_name(application: dict[str, Any], data: dict[str, Any], name: str | None) -> None:
    assert one(edit(application, "applicant.data", data))["candidate_name"] == name


@pytest.mark.parametrize(
    ("phones", "phone"),
    [
        ([{"value": "+7 (900) 123-45-67", "status": "received"}], "79001234567"),
        ([{"value": None}, {"value": "8 958 461-80-39"}], "89584618039"),
        ([{"value": "—"}, {"value": 79001234567}], "79001234567"),
        ([], None),
        (None, None),
    ],
)
def test_phone_is_the_digits_of_the_first_phone(application: dict[str, Any], phones: Any, phone: str | None) -> None:
    assert one(edit(application, "contacts.phones", phones))["phone"] == phone


@pytest.mark.parametrize(
    ("raw", "gender"),
    [
        ("Мужской", "male"),
        ("male", "male"),
        ("Женский", "female"),
        (" female ", "female"),
        ("другое", None),
        (None, None),
    ],
)
def test_gender(application: dict[str, Any], raw: Any, gender: str | None) -> None:
    assert one(edit(application, "applicant.data.gender", raw))["gender"] == gender


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-07-17T12:57:12.38374+03:00", "2026-07-17 09:57:12.38374"),
        ("2026-07-17T10:31:10Z", "2026-07-17 10:31:10"),
        ("2026-07-17T10:31:10.5-02:00", "2026-07-17 12:31:10.5"),
        ("2026-07-17T15:31:10+0500", "2026-07-17 10:31:10"),
    ],
)
def test_rfc3339_times_become_utc(application: dict[str, Any], text: str, utc: str) -> None:
    assert one({**application, "created_at": text})["created_at"] == pd.Timestamp(utc, tz="UTC")


def test_missing_times_are_nat(application: dict[str, Any]) -> None:
    row = one({k: v for k, v in application.items() if k not in ("created_at", "updated_at")})
    assert pd.isna(row["created_at"]) and pd.isna(row["updated_at"])


# --- masking --------------------------------------------------------------------------------------


def test_masked_chats_mask_name_and_phone(application: dict[str, Any]) -> None:
    row = one(application, masked_chat_ids={CHAT, "u2i-other"})
    assert (row["candidate_name"], row["phone"]) == ("***", "***")
    assert row["chat_id"] == CHAT and row["resume_id"] == "52282551484"  # links stay


def test_masked_applications_store_a_masked_payload(application: dict[str, Any]) -> None:
    payload = {
        **application,
        "prevalidation": {
            "status": "success",
            "summary": [
                {"label": "ФИО", "value": "Иванов Иван", "variable": "job_fio"},
                {"label": "Телефон", "value": "+72004629161", "variable": "job_phone"},
                {"label": "Зарплата", "value": "50000", "variable": "job_salary_expectations"},
            ],
        },
    }
    stored = one(payload, masked_chat_ids={CHAT})["payload"]
    assert stored is not payload
    text = json.dumps(stored, ensure_ascii=False)
    for secret in ("Иванов", "Иван", "Иванович", "72004629161"):
        assert secret not in text
    assert stored["applicant"]["data"]["name"] == "***"
    assert stored["contacts"]["phones"][0]["value"] == "***"
    assert stored["enriched_properties"]["full_name"]["value"] == "***"
    assert stored["prevalidation"]["summary"][2]["value"] == "50000"  # not personal: kept
    assert stored["id"] == application["id"] and stored["contacts"]["chat"]["value"] == CHAT


@pytest.mark.parametrize("masked", [None, set(), {"u2i-other"}])
def test_other_applications_are_not_masked(application: dict[str, Any], masked: set[str] | None) -> None:
    row = one(application, masked_chat_ids=masked)
    assert row["candidate_name"] == "Иванов Иван Иванович" and row["payload"] is application


def test_an_application_without_chat_is_never_masked(application: dict[str, Any]) -> None:
    row = one(edit(application, "contacts.chat", None), masked_chat_ids={CHAT})
    assert row["phone"] == "72004629161"


# --- bad records ----------------------------------------------------------------------------------

BAD_CASES = [
    ("payload_list", lambda p: [p], "bad_payload"),
    ("no_id", lambda p: edit(p, "id", ...), "missing_id"),
    ("blank_id", lambda p: edit(p, "id", " "), "missing_id"),
    ("id_object", lambda p: edit(p, "id", {"id": 1}), "bad_id"),
    ("vacancy_id_text", lambda p: edit(p, "vacancy_id", "52282438230"), "bad_vacancy_id"),
    ("vacancy_id_too_big", lambda p: edit(p, "vacancy_id", 2**64), "bad_vacancy_id"),
    ("negotiation_id_float", lambda p: edit(p, "negotiation_id", 1.5), "bad_negotiation_id"),
    ("state_object", lambda p: edit(p, "state", {"slug": "new"}), "bad_state"),
    ("is_viewed_text", lambda p: edit(p, "is_viewed", "true"), "bad_is_viewed"),
    ("type_number", lambda p: edit(p, "type", 1), "bad_type"),
    ("applicant_text", lambda p: edit(p, "applicant", "Иванов"), "bad_applicant"),
    ("applicant_data_list", lambda p: edit(p, "applicant.data", []), "bad_applicant"),
    ("resume_id_list", lambda p: edit(p, "applicant.resume_id", ["1"]), "bad_applicant"),
    ("name_number", lambda p: edit(p, "applicant.data.name", 5), "bad_applicant"),
    (
        "full_name_text",
        lambda p: edit(edit(p, "applicant.data.name", None), "applicant.data.full_name", "И"),
        "bad_applicant",
    ),
    ("birthday_number", lambda p: edit(p, "applicant.data.birthday", 19820607), "bad_applicant"),
    ("gender_bool", lambda p: edit(p, "applicant.data.gender", True), "bad_applicant"),
    ("contacts_list", lambda p: edit(p, "contacts", []), "bad_contacts"),
    ("chat_text", lambda p: edit(p, "contacts.chat", CHAT), "bad_contacts"),
    ("chat_value_number", lambda p: edit(p, "contacts.chat.value", 1), "bad_contacts"),
    ("phones_text", lambda p: edit(p, "contacts.phones", "72004629161"), "bad_contacts"),
    ("phone_text", lambda p: edit(p, "contacts.phones", ["72004629161"]), "bad_contacts"),
    ("phone_value_bool", lambda p: edit(p, "contacts.phones", [{"value": True}]), "bad_contacts"),
    ("created_at_number", lambda p: edit(p, "created_at", 1784282232), "bad_created_at"),
    ("created_at_without_offset", lambda p: edit(p, "created_at", "2026-07-17T12:57:12"), "bad_created_at"),
    ("created_at_garbage", lambda p: edit(p, "created_at", "17.07.2026"), "bad_created_at"),
    ("updated_at_garbage", lambda p: edit(p, "updated_at", "yesterday"), "bad_updated_at"),
]


@pytest.mark.parametrize(("mutate", "rule"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_a_bad_application_is_rejected_and_the_good_ones_pass(
    application: dict[str, Any], mutate: Any, rule: str
) -> None:
    good1, good2 = record({**application, "id": "a1"}), record({**application, "id": "a2"})
    bad = record(mutate({**application, "id": "a3"}))
    records = [good1, bad, good2]
    batch = transform_applications(records)
    assert batch.applications["application_id"].tolist() == ["a1", "a2"]
    assert [(r.record, r.stage, r.rule) for r in batch.rejections] == [(bad, "transform", rule)]
    assert batch.rejections[0].reason
    assert_reconciles(batch, records)


def test_duplicates_the_latest_fetched_wins(application: dict[str, Any]) -> None:
    records = [
        record({**application, "state": "new"}, FETCHED),
        record({**application, "state": "rejected"}, FETCHED + timedelta(minutes=5)),
        record({**application, "state": "interview"}, FETCHED + timedelta(minutes=1)),
    ]
    batch = transform_applications(records)
    assert batch.applications["state"].tolist() == ["rejected"]
    assert batch.history["status"].tolist() == ["rejected"]
    assert [(r.record, r.rule) for r in batch.rejections] == [
        (records[0], "duplicate_in_batch"),
        (records[2], "duplicate_in_batch"),
    ]


def test_a_bad_later_duplicate_does_not_supersede_a_good_one(application: dict[str, Any]) -> None:
    good = record(application)
    bad = record({**application, "updated_at": "garbage"}, FETCHED + timedelta(hours=1))
    batch = transform_applications([good, bad])
    assert len(batch.applications) == 1
    assert [(r.record, r.rule) for r in batch.rejections] == [(bad, "bad_updated_at")]


def test_reconciliation_on_a_mixed_batch(application: dict[str, Any]) -> None:
    records = [record(application), record({**application, "id": "other", "contacts": {"chat": None}})]
    records += [record(mutate({**application, "id": f"bad{i}"})) for i, (_, mutate, _) in enumerate(BAD_CASES)]
    records.append(record(application, FETCHED + timedelta(seconds=1)))
    batch = transform_applications(records, {CHAT})
    assert_reconciles(batch, records)
    assert sorted(batch.applications["application_id"]) == ["6a59fc8d59237327aa2dcfd8", "other"]
    assert [r.rule for r in batch.rejections] == ["duplicate_in_batch"] + [rule for _, _, rule in BAD_CASES]
    assert batch.history["record_id"].tolist() == batch.applications["application_id"].tolist()
