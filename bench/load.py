"""Benchmark: jobpipe's load against the floor, a raw COPY of the same rows into an empty table.

    .venv/bin/python -m bench.load --rows 100000 --repeat 3

Rows are real-shaped vacancies (emulator payloads through the transform, jsonb payload included).
Every figure is measured in this run on this machine; ratios compare two things measured side by
side, median of ``--repeat`` runs. The database is ``$BENCH_DATABASE_URL``, else a scratch
database on 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import text

from bench.scratch import scratch_database, vacancy_records
from schemas.tables import data_columns, employers, key_columns, metadata, vacancies
from tasks.load import _plain, load_batch, to_json
from tasks.transform.vacancy import transform_vacancies

RATES = {"RUR": 1.0, "USD": 0.0123, "EUR": 0.0106, "KZT": 6.2, "BYR": 0.0405, "UZS": 160.0}


def make_batch(rows: int):
    records = vacancy_records(rows)
    started = time.perf_counter()
    batch = transform_vacancies(records, RATES)
    return batch, time.perf_counter() - started


def raw_copy(engine, frame) -> float:
    """The floor: COPY the same columns, values prepared the same way, into an empty table."""
    columns = key_columns(vacancies) + data_columns(vacancies)
    plain = [_plain(frame[c]) for c in columns]
    payload = columns.index("payload")
    names = ", ".join(columns)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS copy_floor"))
        # same column types, no keys or constraints: a plain logged table, like the real ones
        conn.execute(text(f"CREATE TABLE copy_floor AS SELECT {names} FROM vacancies WITH NO DATA"))  # noqa: S608
    started = time.perf_counter()
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY copy_floor ({names}) FROM STDIN") as copy:
            for i in range(len(frame)):
                copy.write_row([to_json(col[i]) if j == payload else col[i] for j, col in enumerate(plain)])
    return time.perf_counter() - started


def empty_tables(engine) -> None:
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def timed_load(engine, batch, frame=None) -> float:
    started = time.perf_counter()
    load_batch(
        engine,
        [(employers, batch.employers), (vacancies, batch.vacancies if frame is None else frame)],
        [],
        run_id=str(uuid.uuid4()),
        seen_at=datetime.now(UTC),
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with scratch_database() as engine:
        batch, transform_s = make_batch(args.rows)
        changed = batch.vacancies.copy()
        step = 100  # 1% of the rows change their salary
        changed.loc[::step, "salary_to"] = changed.loc[::step, "salary_to"].fillna(0) + 1000
        results: dict[str, list[float]] = {
            "raw COPY (floor)": [],
            "first load": [],
            "reload, unchanged": [],
            "reload, 1% changed": [],
        }
        for _ in range(args.repeat):
            results["raw COPY (floor)"].append(raw_copy(engine, batch.vacancies))
            empty_tables(engine)
            results["first load"].append(timed_load(engine, batch))
            results["reload, unchanged"].append(timed_load(engine, batch))
            results["reload, 1% changed"].append(timed_load(engine, batch, changed))
        floor = statistics.median(results["raw COPY (floor)"])
        n = len(batch.vacancies)
        print(
            f"\n{n} vacancies ({len(batch.employers)} employers), transform {transform_s:.2f}s "
            f"({n / transform_s:,.0f} rows/s); median of {args.repeat}"
        )
        print(f"{'step':<22}{'seconds':>10}{'rows/s':>12}{'x floor':>10}")
        for step_name, values in results.items():
            seconds = statistics.median(values)
            print(f"{step_name:<22}{seconds:>10.2f}{n / seconds:>12,.0f}{seconds / floor:>10.2f}")


if __name__ == "__main__":
    main()
