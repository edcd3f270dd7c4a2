"""What every Avito transform promises, whatever a payload holds.

Each field of the real and official samples, at any depth, is replaced by odd values; the
transform never raises, and every record ends as exactly one row or one rejection.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from schemas.tables import avito_applications, avito_chats, avito_messages, avito_resumes, data_columns, key_columns
from tasks.avito.transform_applications import transform_applications
from tasks.avito.transform_chats import transform_chats, transform_messages
from tasks.avito.transform_resumes import transform_resumes
from tasks.sync.records import RawRecord

FETCHED = datetime(2026, 7, 17, 12, 0, tzinfo=UTC)
ACCOUNT = 353207078
ODD_VALUES: list[Any] = [None, "", " ", "x", 0, -1, 2**70, 1.5, float("nan"), True, [], [1], {}, {"a": None}]


def sample(shared: Path, name: str) -> Any:
    return json.loads((shared / "avito-api" / "samples" / name).read_text("utf-8"))


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key or index path inside ``value``."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def replaced(payload: Any, path: tuple[Any, ...], value: Any) -> Any:
    changed = copy.deepcopy(payload)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


def variants(payload: dict[str, Any]) -> list[Any]:
    """The payload with each path set to each odd value, then the odd values as whole payloads."""
    return [replaced(payload, path, value) for path in paths(payload) for value in ODD_VALUES] + ODD_VALUES


Transform = Callable[[list[RawRecord]], tuple[pd.DataFrame, list[Any]]]


def chats(records: list[RawRecord]) -> tuple[pd.DataFrame, list[Any]]:
    batch = transform_chats(records, ACCOUNT)
    return batch.chats, batch.rejections


def messages(records: list[RawRecord]) -> tuple[pd.DataFrame, list[Any]]:
    batch = transform_messages(records)
    return batch.messages, batch.rejections


def applications(records: list[RawRecord]) -> tuple[pd.DataFrame, list[Any]]:
    batch = transform_applications(records, {"u2i-0mSKNtVvcEaAPctc5Jp8nw"})
    assert len(batch.history) == len(batch.applications)
    return batch.applications, batch.rejections


def resumes(records: list[RawRecord]) -> tuple[pd.DataFrame, list[Any]]:
    batch = transform_resumes(records)
    return batch.resumes, batch.rejections


def chat_payload(shared: Path) -> dict[str, Any]:
    return sample(shared, "messenger_chat_by_id_u2i_real.json")


def message_payload(shared: Path) -> dict[str, Any]:
    return sample(shared, "messenger_webhook_v3_real.json")[0]["payload"]["value"]


def application_payload(shared: Path) -> dict[str, Any]:
    return sample(shared, "job_applications_get_by_ids_official_example.json")["applies"][0]


def resume_payload(shared: Path) -> dict[str, Any]:
    payload = sample(shared, "job_resume_v2_official_example.json")
    payload["params"]["experience"] = None  # so that experience_list is read too
    payload["params"]["experience_list"].append({"work_start": "2020-01-01", "work_finish": None})
    return payload


CASES = [
    ("chats", chats, chat_payload, avito_chats),
    ("messages", messages, message_payload, avito_messages),
    ("applications", applications, application_payload, avito_applications),
    ("resumes", resumes, resume_payload, avito_resumes),
]


@pytest.mark.parametrize(("transform", "payload_of", "table"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_any_value_anywhere_never_raises_and_every_record_is_accounted_for(
    shared: Path, transform: Transform, payload_of: Callable[[Path], dict[str, Any]], table: Any
) -> None:
    payload = payload_of(shared)
    records = [RawRecord("avito", "x", None, FETCHED, p, {"contacts": {"name": "Анна"}}) for p in variants(payload)]
    frame, rejections = transform(records)
    assert len(frame) + len(rejections) == len(records)
    assert len({id(r.record) for r in rejections}) == len(rejections)
    assert {r.stage for r in rejections} == {"transform"}
    assert all(r.rule and r.reason for r in rejections)
    assert list(frame.columns) == key_columns(table) + data_columns(table)


@pytest.mark.parametrize(("transform", "payload_of", "table"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_samples_pass_without_rejections(
    shared: Path, transform: Transform, payload_of: Callable[[Path], dict[str, Any]], table: Any
) -> None:
    record = RawRecord("avito", "x", None, FETCHED, payload_of(shared), {"chat_id": "u2i-abc"})
    frame, rejections = transform([record])
    assert rejections == [] and len(frame) == 1
    assert list(frame.columns) == key_columns(table) + data_columns(table)
