"""Property: bad records end loaded or quarantined, never as an exception, in the real PostgreSQL.

Each example is a batch of many mutated records (:mod:`.strategies`), transformed and loaded in one
``load_batch`` (one database round trip per example, not per record). Then the database must hold
``extracted = loaded + quarantined``: every record is a row of its table or a quarantine row with a
rule and a reason. Text Postgres cannot store (NUL bytes, lone surrogates) is what these examples
find first.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text

from schemas.expectations import Thresholds
from schemas.tables import (
    avito_applications,
    avito_chats,
    avito_messages,
    avito_resumes,
    employers,
    hh_negotiation_messages,
    hh_negotiations,
    metadata,
    quarantine,
    vacancies,
)
from tasks.avito.streams import STREAMS as AVITO_STREAMS
from tasks.hh.transform_vacancies import transform_vacancies
from tasks.sync.engine import SyncContext, Unit, process_unit
from tasks.sync.load import load_batch
from tasks.sync.records import RawRecord
from tests.properties import seeds
from tests.properties.avito_unit import avito_records_of
from tests.properties.test_transforms import (
    application_payloads,
    avito_records,
    chat_payloads,
    hh_records,
    message_records,
    negotiation_message_records,
    negotiation_records,
    resume_payloads,
)

DB_PROPERTY = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ],
)
SEEN = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def avito_context() -> dict:
    return {"account_id": seeds.AVITO_ACCOUNT, "masked_before": set()}


def empty(engine: Engine) -> None:
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def count(engine: Engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def quarantined(engine: Engine, entity: str) -> int:
    with engine.connect() as conn:
        rows = conn.execute(select(quarantine.c.rule, quarantine.c.reason).where(quarantine.c.entity == entity)).all()
    assert all(rule and reason for rule, reason in rows), "a quarantine row without its rule or reason"
    return len(rows)


@DB_PROPERTY
@given(records=hh_records(n_max=40))
def test_vacancies_end_loaded_or_quarantined(migrated_engine: Engine, records: list[RawRecord]) -> None:
    empty(migrated_engine)
    batch = transform_vacancies(records, seeds.RATES)
    load_batch(
        migrated_engine,
        [(employers, batch.employers), (vacancies, batch.vacancies)],
        batch.rejections,
        run_id=str(uuid.uuid4()),
        seen_at=SEEN,
    )
    assert count(migrated_engine, vacancies) + quarantined(migrated_engine, "vacancy") == len(records)


@DB_PROPERTY
@given(
    chats=avito_records("chat", chat_payloads(), 25),
    messages=message_records(25),
    applications=avito_records("application", application_payloads, 25),
    resumes=st.dictionaries(st.integers(0, 40).map(str), st.none() | resume_payloads, max_size=10),
)
def test_avito_records_end_loaded_or_quarantined(
    migrated_engine: Engine,
    chats: list[RawRecord],
    messages: list[RawRecord],
    applications: list[RawRecord],
    resumes: dict[str, object],
) -> None:
    empty(migrated_engine)
    records, refused = avito_records_of(chats, messages, applications, resumes)
    unit = Unit("Avito", "property", records, refused, context=avito_context(), fetched_at=SEEN)
    # every stage of the engine: checks, transform, parent rules, references, load; no batch rule
    process_unit(unit, AVITO_STREAMS, SyncContext(migrated_engine, str(uuid.uuid4()), Thresholds(1.0)))
    for table, entity, extracted in [
        (avito_chats, "chat", len(chats)),
        (avito_messages, "message", len(messages)),
        (avito_applications, "application", len(applications)),
        (avito_resumes, "resume", len(resumes)),
    ]:
        assert count(migrated_engine, table) + quarantined(migrated_engine, entity) == extracted, entity


@DB_PROPERTY
@given(negotiations=negotiation_records(30), messages=negotiation_message_records(30))
def test_negotiations_end_loaded_or_quarantined(
    migrated_engine: Engine, negotiations: list[RawRecord], messages: list[RawRecord]
) -> None:
    from tasks.hh.transform_negotiations import transform_negotiations

    empty(migrated_engine)
    batch = transform_negotiations(negotiations, messages)
    load_batch(
        migrated_engine,
        [(hh_negotiations, batch.negotiations), (hh_negotiation_messages, batch.messages)],
        batch.rejections,
        run_id=str(uuid.uuid4()),
        seen_at=SEEN,
        history=batch.history,
    )
    loaded = count(migrated_engine, hh_negotiations) + count(migrated_engine, hh_negotiation_messages)
    quarantined_ = quarantined(migrated_engine, "negotiation") + quarantined(migrated_engine, "negotiation_message")
    assert loaded + quarantined_ == len(negotiations) + len(messages)


def test_the_bugs_found_stay_fixed(engine: Engine) -> None:
    """NUL and lone surrogates are quarantined (stored with U+FFFD), an integer beyond 64 bits in a
    payload loads, an id too long for an index is quarantined with its id cut short."""
    import copy

    base = seeds.hh_vacancies()[0]
    nul, surrogate, big, long_id = (copy.deepcopy(base) for _ in range(4))
    nul["id"], nul["name"] = "9000001", "Python\x00 developer"
    surrogate["id"], surrogate["description"] = "9000002", "broken \ud800 text"
    big["id"], big["extra_counter"] = "9000003", 10**30
    long_id["id"] = "7" * 5000
    meta = {"search_hash": "h", "detail_fetched_at": SEEN}
    records = [RawRecord("hh", "vacancy", p["id"], SEEN, p, meta) for p in (nul, surrogate, big, long_id)]
    batch = transform_vacancies(records, seeds.RATES)
    assert [r.rule for r in batch.rejections] == ["unstorable_text", "unstorable_text", "bad_id"]
    load_batch(
        engine,
        [(employers, batch.employers), (vacancies, batch.vacancies)],
        batch.rejections,
        run_id="r",
        seen_at=SEEN,
    )
    with engine.connect() as conn:
        (loaded,) = conn.execute(select(vacancies.c.payload["extra_counter"].astext)).one()
        stored = {r.rule + ":" + str(r.record_id)[:10]: r for r in conn.execute(select(quarantine))}
    assert loaded == str(10**30)
    assert stored["unstorable_text:9000001"].payload["name"] == "Python\ufffd developer"
    assert stored["unstorable_text:9000002"].payload["description"] == "broken \ufffd text"
    assert "name has a NUL character" in stored["unstorable_text:9000001"].reason
    assert len(stored["bad_id:7777777777"].record_id) == 200
