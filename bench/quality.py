"""Benchmark: what the quality checks cost next to the transform and the load of the same batch.

    .venv/bin/python -m bench.quality --rows 100000

Rows are real-shaped vacancies (emulator details, as in :mod:`bench.load`). Measured here, side by
side, on one batch of ``--rows``: the transform, the first load into empty tables (employers and
vacancies, one transaction), and the checks: raw (on the records), clean (vacancies and employers
frames) and pre-load (references, with the database lookup). The ratio is checks / (transform +
load); the target is below 25 %. Also printed: the one-off costs (GX import and context, the first
validation of each suite) and the per-window overhead on batches of ``--window`` rows (hh.ru's
2000-item search depth), which is what a flow run pays per window. Median of ``--repeat`` runs.
The database is ``$BENCH_DATABASE_URL``, else a scratch database on 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from datetime import UTC, datetime

import psycopg
from sqlalchemy.engine import make_url

from bench.load import RATES, empty_tables
from sandbox.hh_data import HHWorld
from schemas.records import RawRecord
from schemas.tables import employers, vacancies
from tasks.database import make_engine
from tasks.extract.hh_search import search_hash
from tasks.load import load_batch
from tasks.migrate import upgrade


def make_records(rows: int) -> list[RawRecord]:
    world = HHWorld(seed=3, size=rows, anchor=datetime(2026, 11, 1, tzinfo=UTC))
    now = datetime.now(UTC)
    records = []
    for v in world.vacancies():
        payload = world.detail(v, "http://sandbox")
        meta = {"search_hash": search_hash(payload), "detail_fetched_at": now}
        records.append(RawRecord("hh", "vacancy", v.id, now, payload, meta))
    return records


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    from tasks import quality as q

    q.gx_engine()
    gx_init = time.perf_counter() - started

    from tasks.transform.vacancy import transform_vacancies

    admin = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"jobpipe_bench_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(
        make_url(admin).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    )
    try:
        upgrade(engine)
        records = make_records(args.rows)
        lookup = q.db_lookup(engine)
        window = records[: args.window]

        # first validations of each suite: GX builds its suites and definitions once per process
        first_window = timed(q.check_vacancies, window, RATES, lookup)[1]

        results: dict[str, list[float]] = {"transform": [], "load": [], "raw": [], "clean": [], "preload": []}
        window_checks: list[float] = []
        window_transform_load: list[float] = []
        for _ in range(args.repeat):
            empty_tables(engine)
            raw, raw_s = timed(q.check_raw_vacancies, records)
            batch, transform_s = timed(transform_vacancies, raw.records, RATES)
            started = time.perf_counter()
            checks = q.complete_vacancy_checks(raw, batch, RATES, lookup)
            clean_total = time.perf_counter() - started
            preload_s = checks.results[-1].seconds
            frames = [(employers, checks.batch.employers), (vacancies, checks.batch.vacancies)]
            _, load_s = timed(
                load_batch, engine, frames, checks.batch.rejections, run_id=str(uuid.uuid4()), seen_at=datetime.now(UTC)
            )
            for key, value in (
                ("transform", transform_s),
                ("load", load_s),
                ("raw", raw_s),
                ("clean", clean_total - preload_s),
                ("preload", preload_s),
            ):
                results[key].append(value)

            empty_tables(engine)
            w, w_checks = timed(q.check_vacancies, window, RATES, lookup)
            w_transform = timed(transform_vacancies, window, RATES)[1]
            w_frames = [(employers, w.batch.employers), (vacancies, w.batch.vacancies)]
            w_load = timed(load_batch, engine, w_frames, [], run_id=str(uuid.uuid4()), seen_at=datetime.now(UTC))[1]
            window_checks.append(w_checks - w_transform)  # check_vacancies includes a transform
            window_transform_load.append(w_transform + w_load)

        med = {k: statistics.median(v) for k, v in results.items()}
        checks_s = med["raw"] + med["clean"] + med["preload"]
        base = med["transform"] + med["load"]
        n = len(records)
        print(
            f"\n{n} vacancies ({len(checks.batch.employers)} employers), {checks.rejected} rejected by the "
            f"transform and the checks; median of {args.repeat}"
        )
        print(f"{'step':<34}{'seconds':>10}{'rows/s':>12}")
        for label, key in (
            ("transform", "transform"),
            ("load (first, empty tables)", "load"),
            ("raw checks", "raw"),
            ("clean checks (vacancies+employers)", "clean"),
            ("pre-load checks (references)", "preload"),
        ):
            print(f"{label:<34}{med[key]:>10.2f}{n / med[key]:>12,.0f}")
        print(f"{'checks, all stages':<34}{checks_s:>10.2f}{n / checks_s:>12,.0f}")
        print(f"\nchecks / (transform + load) = {checks_s:.2f} / {base:.2f} = {checks_s / base:.1%} (target < 25%)")
        wc, wb = statistics.median(window_checks), statistics.median(window_transform_load)
        print(
            f"per window of {len(window)}: checks {wc:.2f}s vs transform + load {wb:.2f}s ({wc / wb:.0%}); "
            f"one-off: GX import and context {gx_init:.1f}s, first window's checks {first_window:.2f}s"
        )
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
