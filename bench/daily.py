"""Benchmark: daily runs of the hh.ru flow against the emulator — incremental cost, memory, where time goes.

    .venv/bin/python -m bench.daily --vacancies 10000 100000

For each size, a fresh scratch database and an emulator (own process, no latency or limit) with
that many vacancies; the ``hh-vacancies`` flow runs twice, each run in a child process of its own
(its peak RSS read with ``wait4``), one search over everything, 30 days back:

- incremental: the second run's API calls and wall time / the first's (target <= 10% of the calls)
  and the rows it wrote (target 0);
- memory: the first run's peak RSS at the largest size / at the smallest (target <= 1.5);
- where the first run's time goes: Prefect start-up (process wall time minus the flow's own),
  extract, checks, transform, load (the stage timings the flow returns in ``stage_seconds``).

Prefect runs as it would for a user without a server: an ephemeral API in the child process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bench.emulator import emulator
from bench.report import Figure, render

SEARCHES = '[[search]]\nname = "everything"\n'
ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def child(url: str, searches: str, run_id: str) -> None:
    """In the child: one flow run; prints its summaries and seconds as the last line (JSON)."""
    started = time.perf_counter()
    from flows.hh_vacancies import hh_vacancies

    imported = time.perf_counter()
    summaries = hh_vacancies(sandbox_url=url, searches_file=searches, run_id=run_id)
    done = time.perf_counter()
    print(json.dumps({"summaries": summaries, "import": imported - started, "flow": done - imported}, default=str))


def run_child(url: str, searches: str, env: dict[str, str], log: Any = subprocess.DEVNULL) -> dict[str, Any]:
    """One flow run in a child process: its result, wall seconds and peak RSS (MB)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.daily", "--child", url, searches, str(uuid.uuid4())],
        stdout=subprocess.PIPE,
        stderr=log,
        env=env,
        text=True,
    )
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"the flow run failed (exit {os.waitstatus_to_exitcode(status)}): {out[-2000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result.update(wall=wall, rss_mb=usage.ru_maxrss / 1024)  # Linux: kilobytes
    return result


def written(summaries: list[dict]) -> int:
    """Rows the run inserted or updated (vacancies and employers) and rows it quarantined."""
    total = 0
    for s in summaries:
        total += int(s.get("inserted", 0)) + int(s.get("updated", 0)) + int(s.get("quarantined", 0))
        total += int(s.get("employers_inserted", 0)) + int(s.get("employers_updated", 0))
    return total


def two_runs(vacancies: int) -> list[dict[str, Any]]:
    """The first and the second daily run against a fresh database and emulator of ``vacancies``."""
    name = f"jobpipe_bench_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        db_url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        with tempfile.TemporaryDirectory() as home, emulator(vacancies=vacancies, rate_limit_rps=0) as url:
            searches = Path(home) / "searches.toml"
            searches.write_text(SEARCHES)
            env = {
                **os.environ,
                "DATABASE_URL": db_url,
                "JOBPIPE_HOME": home,
                "PREFECT_LOGGING_LEVEL": "WARNING",
                # a busy machine starts the ephemeral Prefect API slowly
                "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
            }
            with open(Path(home) / "flow.log", "w") as log:
                try:
                    return [run_child(url, str(searches), env, log) for _ in range(2)]
                except RuntimeError:
                    log.flush()
                    print((Path(home) / "flow.log").read_text()[-3000:], file=sys.stderr)
                    raise
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def calls(run: dict) -> int:
    return sum(int(s["api_calls"]) for s in run["summaries"])


def stages(run: dict) -> dict[str, float]:
    total: dict[str, float] = {}
    for s in run["summaries"]:
        for stage, seconds in s.get("stage_seconds", {}).items():
            total[stage] = total.get(stage, 0.0) + seconds
    return total


def figures(sizes: list[int]) -> list[Figure]:
    runs = {size: two_runs(size) for size in sizes}
    result = []
    for size, (first, second) in runs.items():
        k = f"{size // 1000}k"
        result += [
            Figure(
                f"incremental {k}: 2nd run's API calls",
                f"{calls(second)} vs {calls(first)}",
                "1st run's calls",
                calls(second) / calls(first),
                ("<=", 0.1),
            ),
            Figure(
                f"incremental {k}: 2nd run's wall time",
                f"{second['wall']:.1f}s vs {first['wall']:.1f}s",
                "1st run's wall time",
                second["wall"] / first["wall"],
            ),
            Figure(f"incremental {k}: 2nd run's row writes", str(written(second["summaries"])), "target 0"),
        ]
        split = stages(first)
        prefect = first["wall"] - first["flow"] + (first["flow"] - sum(split.values()))
        parts = ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in split.items())
        result.append(
            Figure(
                f"daily run {k} (hh): where the time goes",
                f"{first['wall']:.1f}s: start-up and Prefect {prefect:.1f}s, {parts}",
            )
        )
        result.append(Figure(f"memory {k}: peak RSS of the 1st run", f"{first['rss_mb']:.0f} MB"))
    if len(sizes) > 1:
        small, large = runs[min(sizes)][0], runs[max(sizes)][0]
        result.append(
            Figure(
                f"memory: peak RSS {max(sizes) // 1000}k / {min(sizes) // 1000}k",
                f"{large['rss_mb']:.0f} / {small['rss_mb']:.0f} MB",
                f"RSS at {min(sizes) // 1000}k",
                large["rss_mb"] / small["rss_mb"],
                ("<=", 1.5),
            )
        )
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vacancies", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    print(render(figures(args.vacancies)))


if __name__ == "__main__":
    main()
