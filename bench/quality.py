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
import statistics
import time
import uuid
from datetime import UTC, datetime

from bench.load import RATES, empty_tables
from bench.scratch import scratch_database, vacancy_records
from schemas.tables import employers, vacancies
from tasks.sync.load import load_batch


def check_window(records, lookup, *, raw=None, transformed=None):
    """What the engine's check stages do with one unit of vacancy records (raw, transform, clean and
    pre-load); returns the checks and the transform."""
    from tasks.hh.streams import vacancy_check_params
    from tasks.hh.transform_vacancies import transform_vacancies
    from tasks.sync import checks as ck
    from tasks.sync.streams import Transformed

    raw = raw or ck.check_raw(records)
    batch = transformed or transform_vacancies(raw.records, RATES)
    out = Transformed({"vacancy": batch.vacancies, "employer": batch.employers}, batch.rejections)
    return ck.check_unit(out, raw, vacancy_check_params({"rates": RATES}), lookup), batch


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
    from tasks.sync import quality as q

    q.gx_engine()
    gx_init = time.perf_counter() - started

    from tasks.hh.transform_vacancies import transform_vacancies

    with scratch_database() as engine:
        records = vacancy_records(args.rows)
        from tasks.sync import checks as ck

        lookup = ck.db_lookup(engine)
        window = records[: args.window]

        # first validations of each suite: GX builds its suites and definitions once per process
        first_window = timed(check_window, window, lookup)[1]

        results: dict[str, list[float]] = {"transform": [], "load": [], "raw": [], "clean": [], "preload": []}
        window_checks: list[float] = []
        window_transform_load: list[float] = []
        for _ in range(args.repeat):
            empty_tables(engine)
            raw, raw_s = timed(ck.check_raw, records)
            batch, transform_s = timed(transform_vacancies, raw.records, RATES)
            started = time.perf_counter()
            checks, _ = check_window(records, lookup, raw=raw, transformed=batch)
            clean_total = time.perf_counter() - started
            preload_s = checks.results[-1].seconds
            frames = [(employers, checks.frames["employer"]), (vacancies, checks.frames["vacancy"])]
            _, load_s = timed(
                load_batch, engine, frames, checks.rejections, run_id=str(uuid.uuid4()), seen_at=datetime.now(UTC)
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
            (w, _), w_checks = timed(check_window, window, lookup)
            w_transform = timed(transform_vacancies, window, RATES)[1]
            w_frames = [(employers, w.frames["employer"]), (vacancies, w.frames["vacancy"])]
            w_load = timed(load_batch, engine, w_frames, [], run_id=str(uuid.uuid4()), seen_at=datetime.now(UTC))[1]
            window_checks.append(w_checks - w_transform)  # check_window includes a transform
            window_transform_load.append(w_transform + w_load)

        med = {k: statistics.median(v) for k, v in results.items()}
        checks_s = med["raw"] + med["clean"] + med["preload"]
        base = med["transform"] + med["load"]
        n = len(records)
        print(
            f"\n{n} vacancies ({len(checks.frames['employer'])} employers), {checks.rejected} rejected by the "
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


if __name__ == "__main__":
    main()
