"""The hh.ru negotiations transform and time parsing, on the specs' own example payloads."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tasks.hh.negotiations import APPLICANT, EMPLOYER, MESSAGE, NEGOTIATION, parse_time
from tasks.hh.transform_negotiations import transform_negotiations
from tasks.sync.records import RawRecord

FETCHED = datetime(2026, 11, 22, 12, tzinfo=UTC)


@pytest.fixture
def sample(shared):
    """Reads one of the hh.ru samples (the specs' own examples) from the reference data."""
    return lambda name: json.loads((shared / "hh-api" / "samples" / name).read_text(encoding="utf-8"))


def _negotiation(payload: dict, origin: str, **meta) -> RawRecord:
    return RawRecord("hh", NEGOTIATION, str(payload.get("id")), FETCHED, payload, {"origin": origin, **meta})


def test_parse_time_reads_hh_offsets_and_refuses_naive_or_garbage():
    assert parse_time("2024-02-20T10:24:48+0300") == datetime(2024, 2, 20, 7, 24, 48, tzinfo=UTC)
    assert parse_time("2024-02-20T10:24:48+03:00").utcoffset() == timedelta(hours=3)
    assert parse_time("2024-02-20T10:24:48Z").tzinfo is not None
    assert parse_time("2024-02-20T10:24:48") is None
    assert parse_time("yesterday") is None
    assert parse_time(None) is None


def test_employer_view_maps_employer_state_and_keeps_the_listing_vacancy(sample):
    payload = sample("negotiation_item_employer_view_spec_example_trimmed.json")
    batch = transform_negotiations([_negotiation(payload, EMPLOYER, vacancy_id="777")], [])
    assert batch.rejections == []
    row = batch.negotiations.iloc[0]
    assert row["negotiation_id"] == "123456789"
    assert (row["origin"], row["state"], row["status"]) == ("employer", "response", "applied")
    assert row["vacancy_id"] == "777"
    assert row["resume_id"] == "0123456789abcdef"
    assert row["created_at"] == datetime(2024, 2, 20, 7, 24, 48, tzinfo=UTC)
    assert row["messages_count"] == 1 and row["has_updates"] is True
    history = batch.history.iloc[0]
    assert (history["source"], history["entity"], history["record_id"]) == ("hh", "negotiation", "123456789")
    assert (history["state"], history["status"]) == ("response", "applied")


def test_applicant_view_maps_state_and_unknown_ids_are_kept_as_unknown(sample):
    listing = sample("negotiations_list_applicant_spec_example.json")
    invited = listing["items"][0]
    odd = copy.deepcopy(invited) | {"id": "124", "state": {"id": "brand_new_state", "name": "?"}}
    batch = transform_negotiations([_negotiation(invited, APPLICANT), _negotiation(odd, APPLICANT)], [])
    assert batch.rejections == []
    statuses = dict(zip(batch.negotiations["negotiation_id"], batch.negotiations["status"], strict=True))
    assert statuses == {"123": "interview", "124": "unknown"}
    assert batch.negotiations.set_index("negotiation_id").loc["124", "state"] == "brand_new_state"


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"id": None}, "missing_id"),
        ({"id": ["x"]}, "bad_id"),
        ({"updated_at": "not a time"}, "bad_updated_at"),
        ({"updated_at": "2024-02-20T10:24:48"}, "bad_updated_at"),
        ({"employer_state": "response"}, "bad_employer_state"),
        ({"counters": 5}, "bad_counters"),
    ],
)
def test_bad_negotiations_are_rejected_with_their_rule(sample, change, rule):
    payload = sample("negotiation_item_employer_view_spec_example_trimmed.json") | change
    batch = transform_negotiations([_negotiation(payload, EMPLOYER, vacancy_id="1")], [])
    assert batch.negotiations.empty
    assert [r.rule for r in batch.rejections] == [rule]
    assert batch.rejections[0].reason


def test_messages_carry_their_negotiation_author_and_state_and_counts_add_up(sample):
    messages = sample("negotiation_messages_spec_example.json")["items"]
    first = messages[0]
    records = [
        RawRecord("hh", MESSAGE, "123", FETCHED, first, {"negotiation_id": "123"}),
        RawRecord("hh", MESSAGE, "999", FETCHED, first | {"id": "999", "created_at": "bad"}, {"negotiation_id": "123"}),
        RawRecord("hh", MESSAGE, "998", FETCHED, first | {"id": "998"}, {}),
    ]
    batch = transform_negotiations([], records)
    assert len(batch.messages) + len(batch.rejections) == 3
    row = batch.messages.iloc[0]
    assert (row["message_id"], row["negotiation_id"], row["author"], row["state"]) == (
        "123",
        "123",
        "employer",
        "invitation",
    )
    assert row["created_at"] == datetime(2013, 10, 7, 18, 30, 57, tzinfo=timezone(timedelta(hours=4)))
    assert sorted(r.rule for r in batch.rejections) == ["bad_created_at", "missing_negotiation"]


def test_a_later_fetch_of_the_same_negotiation_wins(sample):
    payload = sample("negotiation_item_employer_view_spec_example_trimmed.json")
    newer = payload | {"employer_state": {"id": "interview", "name": "Интервью"}}
    old = _negotiation(payload, EMPLOYER, vacancy_id="1")
    new = RawRecord("hh", NEGOTIATION, old.record_id, FETCHED + timedelta(seconds=1), newer, old.meta)
    batch = transform_negotiations([new, old], [])
    assert batch.negotiations["status"].tolist() == ["interview"]
    assert [r.rule for r in batch.rejections] == ["duplicate_in_batch"]
