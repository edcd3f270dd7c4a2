"""Property: a transform never raises because of a record, and accounts for every record.

Batches of valid records from the real shapes, mutated (:mod:`.strategies`), go through each
transform; each record must end as exactly one row or exactly one rejection with a rule and a
reason, and ``rows + rejections == records``. Pure: no Prefect, no database.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.status import AVITO_APPLICATION, CANONICAL_STATUSES, HH_APPLICANT, HH_EMPLOYER
from tasks.avito.streams import STREAMS as AVITO_STREAMS
from tasks.avito.transform_applications import transform_applications
from tasks.avito.transform_chats import transform_chats, transform_messages
from tasks.avito.transform_resumes import transform_resumes
from tasks.hh.employer import normalize_employer
from tasks.hh.salary import extract_salary
from tasks.hh.transform_vacancies import transform_vacancies
from tasks.sync.engine import transform_unit
from tasks.sync.records import RawRecord, Rejection
from tasks.sync.status import canonical_status, map_avito_application_statuses
from tests.properties import seeds
from tests.properties.strategies import UNEXPECTED_CODES, garbage, mutated, one_of_seeds

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def with_id(payload: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(payload)
    out[key] = value
    return out


def hh_records(n_max: int = 12) -> st.SearchStrategy[list[RawRecord]]:
    payload = one_of_seeds(seeds.hh_vacancies())
    record = payload.map(
        lambda p: RawRecord(
            "hh",
            "vacancy",
            str(p.get("id")) if isinstance(p, dict) else None,
            seeds.FETCHED,
            p,
            {"search_hash": "h", "detail_fetched_at": seeds.FETCHED},
        )
    )
    return st.lists(record, min_size=1, max_size=n_max)


def chat_payloads() -> st.SearchStrategy[dict[str, Any]]:
    # distinct ids most of the time, so that duplicates are the exception, not the rule
    return st.integers(0, 40).flatmap(lambda i: mutated(with_id(seeds.avito_chat(), "id", f"u2i-prop{i}")))


def message_records(n_max: int = 12) -> st.SearchStrategy[list[RawRecord]]:
    def record(seed: dict[str, Any], i: int, chat: int, payload_strategy=None) -> st.SearchStrategy[RawRecord]:
        return mutated(with_id(seed, "id", f"m{i}")).map(
            lambda p: RawRecord("avito", "message", f"m{i}", seeds.FETCHED, p, {"chat_id": f"u2i-prop{chat}"})
        )

    one = st.tuples(
        st.integers(0, 1).map(lambda i: seeds.avito_messages()[i]), st.integers(0, 200), st.integers(0, 40)
    ).flatmap(lambda t: record(*t))
    return st.lists(one, min_size=1, max_size=n_max)


def avito_records(entity: str, payloads: st.SearchStrategy[Any], n_max: int = 12) -> st.SearchStrategy[list[RawRecord]]:
    record = payloads.map(
        lambda p: RawRecord("avito", entity, str(p.get("id")) if isinstance(p, dict) else None, seeds.FETCHED, p)
    )
    return st.lists(record, min_size=1, max_size=n_max)


application_payloads = st.integers(0, 40).flatmap(
    lambda i: mutated(with_id(seeds.avito_application(), "id", f"{i:024x}"))
)
resume_payloads = st.integers(0, 40).flatmap(lambda i: mutated(with_id(seeds.avito_resume(), "id", 10_000 + i)))


def assert_accounted(frame: pd.DataFrame, rejections: Sequence[Rejection], records: Sequence[RawRecord]) -> None:
    """Each record is one row or one rejection (with a rule and a reason); nothing else."""
    ids = {id(r) for r in records}
    rejected = [id(r.record) for r in rejections]
    assert len(set(rejected)) == len(rejected), "a record rejected twice"
    assert set(rejected) <= ids, "a rejection of a record that was not in the batch"
    assert len(frame) + len(rejections) == len(records)
    for r in rejections:
        assert r.rule and isinstance(r.rule, str) and r.reason and isinstance(r.reason, str)
        assert r.stage in {"extract", "transform"}


@PROPERTY
@given(records=hh_records())
def test_vacancy_transform_accounts_for_every_record(records: list[RawRecord]) -> None:
    batch = transform_vacancies(records, seeds.RATES)
    assert_accounted(batch.vacancies, batch.rejections, records)
    assert set(batch.vacancies["employer_key"]) <= set(batch.employers["employer_key"])


@PROPERTY
@given(records=avito_records("chat", chat_payloads()))
def test_chat_transform_accounts_for_every_record(records: list[RawRecord]) -> None:
    batch = transform_chats(records, seeds.AVITO_ACCOUNT)
    assert_accounted(batch.chats, batch.rejections, records)


@PROPERTY
@given(records=message_records())
def test_message_transform_accounts_for_every_record(records: list[RawRecord]) -> None:
    batch = transform_messages(records)
    assert_accounted(batch.messages, batch.rejections, records)


def chat_of(application: Any) -> Any:
    """``contacts.chat.value`` of an application, None when the path is broken."""
    for key in ("contacts", "chat", "value"):
        application = application.get(key) if isinstance(application, dict) else None
    return application


@PROPERTY
@given(records=avito_records("application", application_payloads), masked=st.booleans())
def test_application_transform_accounts_for_every_record(records: list[RawRecord], masked: bool) -> None:
    chats = [chat_of(r.payload) for r in records] if masked else []
    batch = transform_applications(records, masked_chat_ids={c for c in chats if isinstance(c, str)})
    assert_accounted(batch.applications, batch.rejections, records)


@PROPERTY
@given(records=avito_records("resume", resume_payloads))
def test_resume_transform_accounts_for_every_record(records: list[RawRecord]) -> None:
    batch = transform_resumes(records)
    assert_accounted(batch.resumes, batch.rejections, records)


@settings(PROPERTY, max_examples=20)
@given(
    chats=avito_records("chat", chat_payloads(), 8),
    messages=message_records(8),
    applications=avito_records("application", application_payloads, 8),
    resumes=st.dictionaries(st.integers(0, 40).map(str), st.none() | resume_payloads, max_size=5),
)
def test_avito_run_transform_accounts_for_every_record(
    chats: list[RawRecord], messages: list[RawRecord], applications: list[RawRecord], resumes: dict[str, Any]
) -> None:
    from tests.properties.avito_unit import avito_records_of

    records, refused = avito_records_of(chats, messages, applications, resumes)
    context = {"account_id": seeds.AVITO_ACCOUNT, "masked_before": set()}
    batch = transform_unit(AVITO_STREAMS, records, context)
    loaded = sum(len(frame) for frame in batch.frames.values())
    assert loaded + len(batch.rejections) + len(refused) == len(chats) + len(messages) + len(applications) + len(
        resumes
    )
    for r in [*batch.rejections, *refused]:
        assert r.rule and r.reason


# --- the small pure functions the transforms rely on --------------------------------------------


@PROPERTY
@given(payload=one_of_seeds(seeds.hh_vacancies()))
def test_salary_and_employer_readers_raise_only_their_own_errors(payload: Any) -> None:
    from tasks.hh.employer import EmployerError
    from tasks.hh.salary import SalaryError

    if not isinstance(payload, dict):
        return
    try:
        extract_salary(payload)
    except SalaryError:
        pass
    employer = payload.get("employer")
    if isinstance(employer, dict):
        try:
            normalize_employer(employer)
        except EmployerError:
            pass


@PROPERTY
@given(state=st.one_of(st.sampled_from(UNEXPECTED_CODES), garbage), viewed=garbage)
def test_status_mapping_takes_any_state(state: Any, viewed: Any) -> None:
    for vocabulary in (AVITO_APPLICATION, HH_APPLICANT, HH_EMPLOYER):
        assert canonical_status(vocabulary, state) in CANONICAL_STATUSES
    statuses = map_avito_application_statuses(pd.Series([state], dtype=object), pd.Series([viewed], dtype=object))
    assert len(statuses) == 1


def negotiation_records(n_max: int = 12) -> st.SearchStrategy[list[RawRecord]]:
    def record(i: int, origin: str, payload: Any) -> RawRecord:
        return RawRecord("hh", "negotiation", f"n{i}", seeds.FETCHED, payload, {"origin": origin})

    one = st.tuples(st.integers(0, 40), st.sampled_from(["employer", "applicant"])).flatmap(
        lambda t: mutated(with_id(seeds.hh_negotiation(), "id", f"n{t[0]}")).map(lambda p: record(t[0], t[1], p))
    )
    return st.lists(one, min_size=1, max_size=n_max)


def negotiation_message_records(n_max: int = 12) -> st.SearchStrategy[list[RawRecord]]:
    def record(i: int, negotiation: int, payload: Any) -> RawRecord:
        return RawRecord(
            "hh", "negotiation_message", f"nm{i}", seeds.FETCHED, payload, {"negotiation_id": f"n{negotiation}"}
        )

    one = st.tuples(st.integers(0, 1), st.integers(0, 200), st.integers(0, 40)).flatmap(
        lambda t: mutated(with_id(seeds.hh_negotiation_messages()[t[0]], "id", f"nm{t[1]}")).map(
            lambda p: record(t[1], t[2], p)
        )
    )
    return st.lists(one, min_size=0, max_size=n_max)


@PROPERTY
@given(negotiations=negotiation_records(), messages=negotiation_message_records())
def test_negotiation_transform_accounts_for_every_record(
    negotiations: list[RawRecord], messages: list[RawRecord]
) -> None:
    from tasks.hh.transform_negotiations import transform_negotiations

    batch = transform_negotiations(negotiations, messages)
    assert len(batch.negotiations) + len(batch.messages) + len(batch.rejections) == len(negotiations) + len(messages)
    rejected = [id(r.record) for r in batch.rejections]
    assert len(set(rejected)) == len(rejected)
    assert all(r.rule and r.reason for r in batch.rejections)
