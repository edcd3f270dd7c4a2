"""Quality gates against a real PostgreSQL: defective rows quarantined with their rule, good rows
loaded, broken batches refused with nothing written, quarantined records re-processed."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from sandbox.hh_data import HHWorld
from schemas import expectations as ex
from schemas.tables import employers, quarantine, run_log, sync_cursors, vacancies
from tasks.hh import streams as hh
from tasks.hh.search import search_hash
from tasks.hh.streams import vacancy_check_params
from tasks.hh.transform_vacancies import transform_vacancies
from tasks.sync import checks as ck
from tasks.sync import quality as q
from tasks.sync.engine import SyncContext, Unit, process_unit
from tasks.sync.load import load_batch
from tasks.sync.lookups import read_cursor
from tasks.sync.records import RawRecord
from tasks.sync.reprocess import reprocess as reprocess_entity
from tasks.sync.streams import Transformed

VACANCY_STREAMS = (hh.VACANCIES, hh.VACANCY_DETAILS)
RATES = {"RUR": 1.0, "USD": 0.0123, "EUR": 0.0106, "KZT": 6.2, "BYR": 0.0405, "UZS": 160.0}
FETCHED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
STREAM = "hh:vacancies:test"
CURSOR = datetime(2026, 11, 19, 0, 0, tzinfo=UTC)
NEW_POSITION = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def gx():
    return q.gx_engine()  # GX imported once, before the first test's clock starts


def world_records(n: int, seed: int = 5) -> list[RawRecord]:
    world = HHWorld(seed=seed, size=n, anchor=datetime(2026, 11, 1, tzinfo=UTC))
    records = []
    for v in world.vacancies():
        payload = world.detail(v, "http://sandbox")
        meta = {"search_hash": search_hash(payload), "detail_fetched_at": FETCHED}
        records.append(RawRecord("hh", "vacancy", v.id, FETCHED, payload, meta))
    return records


def changed(record: RawRecord, change) -> RawRecord:
    payload = copy.deepcopy(record.payload)
    change(payload)
    record_id = str(payload["id"]) if payload.get("id") is not None else None
    return RawRecord(record.source, record.entity, record_id, record.fetched_at, payload, dict(record.meta))


def salary(amount_from, amount_to, currency="RUR"):
    def change(payload):
        payload["salary"] = None
        payload["salary_range"] = {
            "from": amount_from,
            "to": amount_to,
            "currency": currency,
            "gross": True,
            "mode": {"id": "MONTH", "name": "За месяц"},
            "frequency": None,
        }

    return change


def run_batch(engine, records, *, thresholds=None, run_id="r1", rates=RATES, cursor=True, seen_at=None):
    """What the engine does with one window: checks, the batch rules, then one load with the cursor."""
    unit = Unit(
        "test",
        "test batch",
        list(records),
        cursors=[(STREAM, NEW_POSITION)] if cursor else [],
        context={"rates": rates},
        fetched_at=seen_at or FETCHED + timedelta(minutes=1),
    )
    return process_unit(unit, VACANCY_STREAMS, SyncContext(engine, run_id, thresholds or ex.Thresholds()))


def reprocess(engine, rates, **kw):
    return reprocess_entity(engine, hh.STREAMS, {"rates": rates}, "vacancy", rebuild=hh.REBUILD, **kw)


def quarantined(engine) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.execute(select(quarantine.c.record_id, quarantine.c.stage, quarantine.c.rule).order_by("id"))
        return [tuple(r) for r in rows]


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def loaded_ids(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(vacancies.c.vacancy_id)).scalars())


def set_cursor(engine):
    load_batch(engine, [], [], run_id="r0", seen_at=CURSOR, cursor=(STREAM, CURSOR))


def test_each_defect_is_quarantined_with_its_rule_and_the_good_rows_load(engine):
    records = world_records(40)
    ids = [r.record_id for r in records]
    future = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S%z")
    records[0] = changed(records[0], lambda p: p.pop("id"))
    records[1] = changed(records[1], lambda p: p.update(id=ids[2]))  # a duplicate of the next one
    records[3] = changed(records[3], salary(200_000, 100_000))
    records[4] = changed(records[4], salary(2_000_000_000, None))
    records[5] = changed(records[5], salary(5_000, None, "XYZ"))
    records[6] = changed(records[6], lambda p: p.update(published_at=future))
    records[7] = changed(records[7], lambda p: p.pop("employer"))
    set_cursor(engine)

    checks, load = run_batch(engine, records)

    assert quarantined(engine) == [
        (None, "raw", "missing_id"),
        (ids[7], "raw", "missing_employer"),
        (ids[2], "transform", "duplicate_in_batch"),  # the older copy; the later one loads
        (ids[5], "transform", "unknown_currency"),  # the transform sees it first
        (ids[3], "clean", "salary_from_above_to"),
        (ids[4], "clean", "implausible_salary_from_rub"),
        (ids[6], "clean", "published_in_future"),
    ]
    good = {ids[2], *ids[8:]}
    assert loaded_ids(engine) == good
    assert len(records) == len(good) + count(engine, quarantine)  # extracted = loaded + quarantined
    assert load.quarantined == 7 and load.tables["vacancies"].inserted == len(good)
    assert read_cursor(engine, STREAM) == NEW_POSITION
    with engine.connect() as conn:
        employer_keys = set(conn.execute(select(employers.c.employer_key)).scalars())
        used = set(conn.execute(select(vacancies.c.employer_key)).scalars())
        row = conn.execute(select(quarantine).where(quarantine.c.rule == "salary_from_above_to")).mappings().one()
    assert employer_keys == used  # no employer of a quarantined vacancy only
    assert row["meta"] == {"search_hash": records[3].meta["search_hash"], "detail_fetched_at": FETCHED.isoformat()}
    assert row["fetched_at"] == FETCHED
    assert row["payload"]["salary_range"]["from"] == 200_000
    assert "salary_from 200000 is greater than salary_to 100000" in row["reason"]
    outcomes = {(o.stage, o.rule): o for o in checks.outcomes}
    assert outcomes[("raw", "duplicate_id")].unexpected_count == 2  # reported, not rejected
    assert not outcomes[("clean", "implausible_salary_from_rub")].success
    assert outcomes[("preload", "unresolved_employer")].success


def test_a_vacancy_whose_employer_is_neither_in_the_batch_nor_the_database_is_quarantined(engine):
    records = world_records(12)
    raw = ck.check_raw(records)
    batch = transform_vacancies(raw.records, RATES)
    keys = list(batch.vacancies["employer_key"])
    in_db, missing = keys[0], keys[1]
    assert in_db != missing
    load_batch(
        engine,
        [(employers, batch.employers.loc[batch.employers["employer_key"] == in_db])],
        [],
        run_id="r0",
        seen_at=FETCHED,
    )
    kept = batch.employers.loc[~batch.employers["employer_key"].isin([in_db, missing])]

    transformed = Transformed({"vacancy": batch.vacancies, "employer": kept}, batch.rejections)
    checks = ck.check_unit(transformed, raw, vacancy_check_params({"rates": RATES}), ck.db_lookup(engine))
    load_batch(
        engine,
        [(employers, checks.frames["employer"]), (vacancies, checks.frames["vacancy"])],
        checks.rejections,
        run_id="r1",
        seen_at=FETCHED,
    )
    unresolved = [r for r in checks.rejections if r.rule == "unresolved_employer"]
    assert {r.record.record_id for r in unresolved} == set(
        batch.vacancies.loc[batch.vacancies["employer_key"] == missing, "vacancy_id"]
    )
    assert all(r.stage == "preload" for r in unresolved)
    assert f"employer_key '{missing}' is neither in this batch's employers nor in the database" in unresolved[0].reason
    with engine.connect() as conn:
        loaded_keys = set(conn.execute(select(vacancies.c.employer_key)).scalars())
    assert in_db in loaded_keys and missing not in loaded_keys  # the database's employer resolved
    assert count(engine, vacancies) + count(engine, quarantine) == len(records)


def test_a_batch_with_too_many_failing_rows_is_refused_and_nothing_is_written(engine):
    records = world_records(50)
    for i in range(30):  # 60% with from > to
        records[i] = changed(records[i], salary(300_000, 100_000))
    set_cursor(engine)
    with pytest.raises(ck.BatchRejected, match=r"30 of 50 records \(60%\) failed the checks"):
        run_batch(engine, records)
    assert count(engine, vacancies) == count(engine, employers) == count(engine, quarantine) == 0
    assert read_cursor(engine, STREAM) == CURSOR

    run_batch(engine, records, thresholds=ex.Thresholds(max_rejected_share=0.7))  # a deliberate choice
    assert count(engine, quarantine) == 30 and count(engine, vacancies) == 20


def test_zero_records_after_a_run_with_many_is_refused_before_the_cursor_moves(engine):
    now = datetime.now(UTC)
    summary = {"stream": STREAM, "extracted": 4500, "since": (now - timedelta(days=31)).isoformat()}
    summary["until"] = (now - timedelta(days=1)).isoformat()
    with engine.begin() as conn:
        conn.execute(
            insert(run_log),
            [
                {
                    "run_id": "old",
                    "flow": "daily",
                    "started_at": now - timedelta(days=1),
                    "status": "completed",
                    "counts": {"run_id": "old", "hh_vacancies": [summary], "seconds": 3.0},
                },
                {  # a later run that failed does not count
                    "run_id": "failed",
                    "flow": "daily",
                    "started_at": now - timedelta(hours=1),
                    "status": "failed",
                    "counts": {"hh_vacancies": [dict(summary, extracted=0)]},
                },
            ],
        )
    set_cursor(engine)
    previous = ck.previous_count(engine, STREAM)
    assert previous is not None and (previous.run_id, previous.extracted) == ("old", 4500)
    assert ck.previous_count(engine, "hh:vacancies:other") is None
    with pytest.raises(ck.BatchRejected, match="predicts about 150"):
        ck.enforce_volume(STREAM, 0, now - timedelta(days=1), now, previous, ex.Thresholds())
    assert read_cursor(engine, STREAM) == CURSOR and count(engine, vacancies) == 0


def test_reprocessing_after_a_rule_change_loads_the_quarantined_rows_and_removes_them(engine, monkeypatch):
    records = world_records(20)
    ids = [r.record_id for r in records]
    records[0] = changed(records[0], salary(20_000_000, None))  # above the bound
    records[1] = changed(records[1], salary(5_000, 9_000, "XYZ"))  # a currency the rates lack
    records[2] = changed(records[2], salary(300_000, 100_000))  # still wrong after any change
    run_batch(engine, records)
    assert [r[2] for r in quarantined(engine)] == [
        "unknown_currency",
        "implausible_salary_from_rub",
        "salary_from_above_to",
    ]

    monkeypatch.setattr(ex, "MAX_RUB_MONTHLY_GROSS", 50_000_000)  # the bound was too strict
    first = reprocess(engine, RATES, rules=["implausible_salary_from_rub"], run_id="rp1")
    assert (first.selected, first.loaded, first.superseded, first.still_failing) == (1, 1, 0, 0)
    assert first.inserted == 1 and first.balanced
    assert [r[2] for r in quarantined(engine)] == ["unknown_currency", "salary_from_above_to"]

    second = reprocess(engine, dict(RATES, XYZ=0.5), run_id="rp2")  # the rates now know XYZ; every rule
    assert (second.selected, second.loaded, second.still_failing) == (2, 1, 1)
    assert second.failing_rules == {"salary_from_above_to": 1}
    assert quarantined(engine) == [(ids[2], "clean", "salary_from_above_to")]  # kept, not duplicated
    with engine.connect() as conn:
        kept = conn.execute(select(quarantine)).mappings().one()
        rows = {r.vacancy_id: r for r in conn.execute(select(vacancies).where(vacancies.c.vacancy_id.in_(ids[:2])))}
    assert kept["reprocessed_at"] is not None and kept["run_id"] == "r1"
    assert set(rows) == {ids[0], ids[1]}
    assert float(rows[ids[0]].salary_from_rub_gross) == 20_000_000
    assert float(rows[ids[1]].salary_from_rub_gross) == 10_000  # 5,000 XYZ at 0.5 per RUR
    # the record as extracted: its meta and fetch time survive the quarantine
    assert rows[ids[0]].search_hash == records[0].meta["search_hash"]
    assert rows[ids[0]].detail_fetched_at == FETCHED
    assert rows[ids[0]].first_seen_at == FETCHED and rows[ids[0]].run_id == "rp1"
    assert count(engine, vacancies) + count(engine, quarantine) == len(records)


def test_a_quarantined_copy_older_than_the_loaded_row_is_superseded_not_loaded(engine):
    records = world_records(5)
    bad = changed(records[0], salary(300_000, 100_000))
    run_batch(engine, [bad, *records[1:]])
    assert count(engine, quarantine) == 1
    later = RawRecord(
        "hh", "vacancy", records[0].record_id, FETCHED + timedelta(days=1), records[0].payload, records[0].meta
    )
    run_batch(engine, [later], run_id="r2", cursor=False, seen_at=FETCHED + timedelta(days=1, minutes=1))
    result = reprocess(engine, RATES, run_id="rp")
    assert (result.selected, result.loaded, result.superseded, result.still_failing) == (1, 0, 1, 0)
    assert count(engine, quarantine) == 0
    with engine.connect() as conn:
        salary_to = conn.execute(
            select(vacancies.c.salary_to).where(vacancies.c.vacancy_id == records[0].record_id)
        ).scalar_one()
    assert salary_to is None or float(salary_to) != 100_000  # the newer row was not overwritten


def test_reprocessing_a_row_quarantined_without_meta_rebuilds_it(engine):
    (record,) = world_records(1)
    with engine.begin() as conn:
        conn.execute(
            insert(quarantine).values(
                run_id="old",
                source="hh",
                entity="vacancy",
                record_id=record.record_id,
                stage="transform",
                rule="bad_salary",
                reason="an older rule",
                payload=record.payload,
            )
        )
    result = reprocess(engine, RATES, run_id="rp")
    assert (result.loaded, count(engine, quarantine)) == (1, 0)
    with engine.connect() as conn:
        row = conn.execute(select(vacancies)).mappings().one()
    assert row["search_hash"] == search_hash(record.payload)
    assert row["detail_fetched_at"] is None  # so the next run fetches its details again


def test_sync_cursor_table_untouched_by_reprocessing(engine):
    set_cursor(engine)
    reprocess(engine, RATES, run_id="rp")
    with engine.connect() as conn:
        assert conn.execute(select(sync_cursors.c.position)).scalars().all() == [CURSOR]
