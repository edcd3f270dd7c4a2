"""The loader against a real PostgreSQL: idempotent upserts, one transaction, cursors, quarantine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from schemas.tables import data_columns, employers, key_columns, metadata, quarantine, sync_cursors, vacancies
from tasks.sync.load import load_batch
from tasks.sync.lookups import read_cursor, stored_hashes
from tasks.sync.records import RawRecord, Rejection

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def employer_frame(*keys: str) -> pd.DataFrame:
    rows = [
        {
            "employer_key": k,
            "source": "hh",
            "source_id": k.split(":")[-1],
            "name": f"Employer {k}",
            "canonical_name": f"employer {k}",
            "is_anonymous": False,
            "trusted": True,
            "accredited_it": None,
            "alternate_url": None,
        }
        for k in keys
    ]
    return pd.DataFrame(rows, columns=key_columns(employers) + data_columns(employers))


def vacancy_frame(n: int, employer: str = "hh:1", salary: float = 100000.0) -> pd.DataFrame:
    rows = []
    for i in range(n):
        rows.append(
            {
                "vacancy_id": str(1000 + i),
                "source": "hh",
                "name": f"Python developer {i}",
                "employer_key": employer,
                "area_id": "1",
                "area_name": "Москва",
                "published_at": pd.Timestamp(T0 - timedelta(minutes=i)),
                "created_at": pd.NaT,
                "status": "open",
                "vacancy_type": "open",
                "experience": "between1And3",
                "employment_form": "FULL",
                "schedule": None,
                "professional_role_ids": ["96"],
                "key_skills": ["Python", "SQL"],
                "salary_from": salary,
                "salary_to": None,
                "salary_currency": "RUR",
                "salary_gross": False,
                "salary_mode": "MONTH",
                "salary_frequency": None,
                "salary_from_rub_gross": round(salary / 0.87, 2),
                "salary_to_rub_gross": float("nan"),
                "salary_from_rub_net": salary,
                "salary_to_rub_net": float("nan"),
                "alternate_url": f"https://hh.ru/vacancy/{1000 + i}",
                "search_hash": f"h{i}",
                "detail_fetched_at": pd.Timestamp(T0),
                "payload": {"id": str(1000 + i), "name": f"Python developer {i}", "nested": {"ü": "ё\u00a0"}},
            }
        )
    return pd.DataFrame(rows, columns=key_columns(vacancies) + data_columns(vacancies))


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_migration_creates_exactly_the_declared_schema(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_first_load_inserts_and_reload_writes_nothing(engine):
    frames = [(employers, employer_frame("hh:1")), (vacancies, vacancy_frame(50))]
    first = load_batch(engine, frames, [], run_id="r1", seen_at=T0)
    assert first.tables["vacancies"].inserted == 50
    assert first.tables["employers"].inserted == 1

    second = load_batch(engine, frames, [], run_id="r2", seen_at=T0 + timedelta(hours=1))
    assert (second.tables["vacancies"].inserted, second.tables["vacancies"].updated) == (0, 0)
    assert second.tables["vacancies"].unchanged == 50
    with engine.connect() as conn:
        runs = set(conn.execute(select(vacancies.c.run_id)).scalars())
        payload = conn.execute(select(vacancies.c.payload).where(vacancies.c.vacancy_id == "1000")).scalar_one()
    assert runs == {"r1"}  # no row was rewritten by the second load
    assert payload["nested"] == {"ü": "ё\u00a0"}


def test_changed_rows_are_updated_and_keep_first_seen(engine):
    load_batch(
        engine,
        [(employers, employer_frame("hh:1")), (vacancies, vacancy_frame(3))],
        [],
        run_id="r1",
        seen_at=T0,
    )
    changed = vacancy_frame(3)
    changed.loc[1, "salary_from"] = 150000.0
    later = T0 + timedelta(days=1)
    result = load_batch(engine, [(vacancies, changed)], [], run_id="r2", seen_at=later)
    assert (result.tables["vacancies"].inserted, result.tables["vacancies"].updated) == (0, 1)
    with engine.connect() as conn:
        row = conn.execute(select(vacancies).where(vacancies.c.vacancy_id == "1001")).mappings().one()
    assert float(row["salary_from"]) == 150000.0
    assert row["first_seen_at"] == T0 and row["last_seen_at"] == later


def test_seen_again_moves_last_seen_once_a_day(engine):
    load_batch(
        engine,
        [(employers, employer_frame("hh:1")), (vacancies, vacancy_frame(2))],
        [],
        run_id="r1",
        seen_at=T0,
    )
    same_day = load_batch(
        engine, [], [], run_id="r2", seen_at=T0 + timedelta(hours=2), seen_again={vacancies: ["1000"]}
    )
    assert same_day.seen_again == 1
    with engine.connect() as conn:
        assert conn.execute(select(vacancies.c.last_seen_at).where(vacancies.c.vacancy_id == "1000")).scalar_one() == T0
    next_day = T0 + timedelta(days=1)
    load_batch(engine, [], [], run_id="r3", seen_at=next_day, seen_again={vacancies: ["1000"]})
    with engine.connect() as conn:
        seen = dict(conn.execute(select(vacancies.c.vacancy_id, vacancies.c.last_seen_at)).all())
    assert seen == {"1000": next_day, "1001": T0}


def test_a_failing_batch_writes_nothing_and_keeps_the_cursor(engine):
    load_batch(
        engine,
        [(employers, employer_frame("hh:1"))],
        [],
        run_id="r0",
        seen_at=T0,
        cursor=("hh:vacancies:test", T0),
    )
    record = RawRecord("hh", "vacancy", "x", T0, {"id": "x"})
    with pytest.raises(IntegrityError):
        # the vacancy names an employer that is not in the database: the whole batch must roll back
        load_batch(
            engine,
            [(vacancies, vacancy_frame(5, employer="hh:404"))],
            [Rejection(record, "transform", "missing_name", "no name")],
            run_id="r1",
            seen_at=T0,
            cursor=("hh:vacancies:test", T0 + timedelta(hours=1)),
        )
    assert count(engine, vacancies) == 0
    assert count(engine, quarantine) == 0
    assert read_cursor(engine, "hh:vacancies:test") == T0


def test_cursor_never_moves_backwards(engine):
    load_batch(engine, [], [], run_id="r1", seen_at=T0, cursor=("s", T0))
    load_batch(engine, [], [], run_id="r2", seen_at=T0, cursor=("s", T0 - timedelta(days=1)))
    assert read_cursor(engine, "s") == T0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(sync_cursors)).scalar_one() == 1


def test_quarantine_keeps_the_raw_payload_and_reason(engine):
    record = RawRecord("hh", "vacancy", "77", T0, {"id": "77", "salary": "abc", "name": "\u00a0x"})
    load_batch(
        engine,
        [],
        [Rejection(record, "transform", "bad_salary", "salary is not an object")],
        run_id="r1",
        seen_at=T0,
    )
    with engine.connect() as conn:
        row = conn.execute(select(quarantine)).mappings().one()
    assert (row["record_id"], row["stage"], row["rule"], row["run_id"]) == (
        "77",
        "transform",
        "bad_salary",
        "r1",
    )
    assert row["payload"] == {"id": "77", "salary": "abc", "name": "\u00a0x"}


def test_stored_hashes_ignore_rows_without_details(engine):
    frame = vacancy_frame(2)
    frame.loc[1, "detail_fetched_at"] = pd.NaT
    load_batch(engine, [(employers, employer_frame("hh:1")), (vacancies, frame)], [], run_id="r", seen_at=T0)
    assert stored_hashes(engine, vacancies, "search_hash", ["1000", "1001", "9"]) == {"1000": "h0"}


def test_duplicate_keys_in_one_batch_do_not_break_the_upsert(engine):
    frame = pd.concat([vacancy_frame(2), vacancy_frame(2)], ignore_index=True)
    result = load_batch(engine, [(employers, employer_frame("hh:1")), (vacancies, frame)], [], run_id="r", seen_at=T0)
    assert result.tables["vacancies"].inserted == 2
    assert count(engine, vacancies) == 2


def test_new_rows_that_a_concurrent_writer_stored_meanwhile_are_upserted(engine, monkeypatch):
    """New keys are COPYed straight into the table; when another writer stored one of them after
    the lookup, the COPY rolls back to its savepoint and the rows go through the upsert instead."""
    from tasks.sync import load

    load_batch(engine, [(employers, employer_frame("hh:1"))], [], run_id="r0", seen_at=T0)
    load_batch(engine, [(vacancies, vacancy_frame(2))], [], run_id="r1", seen_at=T0)  # the "other writer"
    monkeypatch.setattr(load, "_stored_hashes", lambda *a: {})  # the lookup ran before it committed
    result = load_batch(engine, [(vacancies, vacancy_frame(3, salary=1.0))], [], run_id="r2", seen_at=T0)
    assert (result.tables["vacancies"].inserted, result.tables["vacancies"].updated) == (1, 2)
    assert count(engine, vacancies) == 3
