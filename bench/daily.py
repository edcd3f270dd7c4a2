"""Benchmark: daily runs of the hh.ru flow against the emulator — incremental cost, memory, where time goes.

    .venv/bin/python -m bench.daily --vacancies 10000 100000
    .venv/bin/python -m bench.daily --vacancies 10000 100000 --runs 1      # memory only
    .venv/bin/python -m bench.daily --e2e --vacancies 50000 --avito-chats 3000

For each size, a fresh scratch database and an emulator (own process, no latency or limit) with
that many vacancies; the ``hh-vacancies`` flow runs twice, each run in a child process of its own
(its peak RSS read with ``wait4``), one search over everything, 30 days back:

- incremental: the second run's API calls and wall time / the first's (target <= 10% of the calls)
  and the rows it wrote (target 0);
- memory: the first run's peak RSS at the largest size / at the smallest (target <= 1.5);
- where the first run's time goes: Prefect start-up (process wall time minus the flow's own),
  extract, checks, transform, load (the stage timings the flow returns in ``stage_seconds``).

With ``--runs 1`` only the first run is made (memory and time split, no incremental figures).

``--e2e``: end to end, the umbrella ``daily`` flow with every source (hh.ru vacancies and
negotiations, Avito) against one emulator holding ``--vacancies`` vacancies and ``--avito-chats``
Avito chats (as many applications), first run only: its wall time and where it goes — Prefect
start-up (process wall time minus the flow's own), then each subflow's own time (from the flow
runs' records in the Prefect API), hh.ru's split by stage, and Avito's split by task (from the task
runs' records, when the API has them).

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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bench.emulator import emulator
from bench.report import Figure, render
from tasks.sync.runs import jobs_of

SEARCHES = '[[search]]\nname = "everything"\n'
ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def child(url: str, searches: str, run_id: str, flow: str = "hh") -> None:
    """In the child: one flow run; prints its summaries and seconds as the last line (JSON)."""
    started = time.perf_counter()
    if flow == "daily":
        from flows.daily import daily

        imported = time.perf_counter()
        since = datetime.now(UTC)
        report = daily(emulator_url=url, searches_file=searches)
        done = time.perf_counter()
        result = {"summaries": jobs_of(report, "hh:vacancies:"), "report": report, "runs": recorded_runs(since)}
    else:
        from flows.hh_vacancies import hh_vacancies

        imported = time.perf_counter()
        report = hh_vacancies(emulator_url=url, searches_file=searches, run_id=run_id)
        result = {"summaries": jobs_of(report, "hh:vacancies:")}
        done = time.perf_counter()
    result.update({"import": imported - started, "flow": done - imported})
    print(json.dumps(result, default=str))


TASK_STAGES = (("check", "checks"), ("transform", "transform"), ("load", "load"))


def task_stage(name: str) -> str:
    """The stage a task run counts towards, by its name: checks, transform, load, else extract."""
    return next((stage for word, stage in TASK_STAGES if word in name), "extract")


def recorded_runs(since: datetime) -> dict[str, Any]:
    """From this process's Prefect API: the seconds of each flow run started after ``since`` by flow
    name, and the seconds of their task runs by flow name and stage (empty when not recorded)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterStartTime,
    )

    flows: dict[str, float] = {}
    tasks: dict[str, dict[str, float]] = {}
    with get_client(sync_client=True) as client:
        names = {f.id: f.name for f in client.read_flows()}
        recent = FlowRunFilter(start_time=FlowRunFilterStartTime(after_=since))
        by_run = {}
        for run in client.read_flow_runs(flow_run_filter=recent):
            name = names.get(run.flow_id, "?")
            by_run[run.id] = name
            flows[name] = flows.get(name, 0.0) + run.total_run_time.total_seconds()
        these = FlowRunFilter(id=FlowRunFilterId(any_=list(by_run)))
        offset = 0
        while by_run:
            page = client.read_task_runs(flow_run_filter=these, limit=200, offset=offset)
            for task in page:
                stage = task_stage(task.name)
                split = tasks.setdefault(by_run.get(task.flow_run_id, "?"), {})
                split[stage] = split.get(stage, 0.0) + task.total_run_time.total_seconds()
            if len(page) < 200:
                break
            offset += 200
    return {"flows": flows, "tasks": tasks}


def run_child(
    url: str, searches: str, env: dict[str, str], log: Any = subprocess.DEVNULL, flow: str = "hh"
) -> dict[str, Any]:
    """One flow run in a child process: its result, wall seconds and peak RSS (MB)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.daily", "--child", url, searches, str(uuid.uuid4()), flow],
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
        employers = s.get("derived", {}).get("employer", {})
        total += int(employers.get("inserted", 0)) + int(employers.get("updated", 0))
    return total


def two_runs(vacancies: int, runs: int = 2, chats: int = 0) -> list[dict[str, Any]]:
    """The first and the second daily run against a fresh database and emulator of ``vacancies``
    (``runs=1``: the first only). ``chats`` > 0: the umbrella daily flow, every source, against an
    emulator with that many Avito chats and applications."""
    name = f"jobpipe_bench_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        db_url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        options: dict[str, Any] = {"vacancies": vacancies, "rate_limit_rps": 0}
        if chats:
            options["avito"] = {"chats": chats, "applications": chats, "job_rate_limit_rps": 0}
        flow = "daily" if chats else "hh"
        with tempfile.TemporaryDirectory() as home, emulator(**options) as url:
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
                    return [run_child(url, str(searches), env, log, flow) for _ in range(runs)]
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


def time_split(run: dict) -> Figure:
    """Where the run's wall time went: Prefect start-up and overhead, then the stages of the hh.ru flow."""
    split = stages(run)
    prefect = run["wall"] - sum(split.values())
    parts = ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in split.items())
    return Figure("", f"{run['wall']:.1f}s: start-up and Prefect {prefect:.1f}s, {parts}")


def figures(sizes: list[int], runs: int = 2) -> list[Figure]:
    made = {size: two_runs(size, runs) for size in sizes}
    result = []
    for size, pair in made.items():
        first = pair[0]
        k = f"{size // 1000}k"
        if runs > 1:
            second = pair[1]
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
        split = time_split(first)
        result.append(Figure(f"daily run {k} (hh): where the time goes", split.value))
        result.append(Figure(f"memory {k}: peak RSS of the 1st run", f"{first['rss_mb']:.0f} MB"))
    if len(sizes) > 1:
        small, large = made[min(sizes)][0], made[max(sizes)][0]
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


def e2e_figures(vacancies: int, chats: int) -> list[Figure]:
    """The umbrella daily flow, every source, first run: wall time and where it goes."""
    (run,) = two_runs(vacancies, runs=1, chats=chats)
    report = run["report"]
    flows = run["runs"]["flows"]
    tasks = run["runs"]["tasks"]
    name = f"end to end, {vacancies:,} vacancies + {chats:,} chats"
    body = float(report.get("seconds") or 0.0)  # the daily flow's own body, from engine to report
    subflows = {flow: seconds for flow, seconds in sorted(flows.items()) if flow != "daily"}
    prefect = run["wall"] - run["import"] - body
    hh_split = stages(run)
    hh_prefect = subflows.get("hh-vacancies", 0.0) - sum(hh_split.values())
    result = [
        Figure(
            f"{name}: wall time",
            f"{run['wall']:.1f}s: Python imports {run['import']:.1f}s, Prefect start-up, flow-run bookkeeping "
            f"and shutdown {prefect:.1f}s, the daily flow's body {body:.1f}s; peak RSS {run['rss_mb']:.0f} MB",
        ),
        Figure(
            f"{name}: the body by subflow",
            ", ".join(f"{flow} {seconds:.1f}s" for flow, seconds in subflows.items())
            + f"; the rest (migrations, run log, analytics report) {body - sum(subflows.values()):.1f}s",
        ),
        Figure(
            f"{name}: hh-vacancies by stage",
            ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in hh_split.items())
            + f", Prefect task overhead and the rest {hh_prefect:.1f}s",
        ),
    ]
    for flow, split in sorted(tasks.items()):
        if flow in ("hh-vacancies", "daily"):
            continue
        parts = ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in sorted(split.items()))
        result.append(Figure(f"{name}: {flow} task runs by stage", parts))
    searched = jobs_of(report, "hh:vacancies:")
    counts = [f"hh.ru vacancies {sum(int(s.get('found') or 0) for s in searched):,} found"]
    for row in report["streams"]:
        if row["job"] == "Avito":
            counts.append(f"Avito {row['entity']} {row['extracted']}")
    result.append(Figure(f"{name}: records", ", ".join(counts) + f"; {calls(run):,} hh.ru vacancy API calls"))
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vacancies", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, choices=[1, 2], default=2, help="1: the first run only (no incremental)")
    parser.add_argument("--e2e", action="store_true", help="the daily flow with every source (see above)")
    parser.add_argument("--avito-chats", type=int, default=3000, help="Avito chats (and applications) with --e2e")
    args = parser.parse_args()
    if args.e2e:
        print(render([f for size in args.vacancies for f in e2e_figures(size, args.avito_chats)]))
    else:
        print(render(figures(args.vacancies, args.runs)))


if __name__ == "__main__":
    main()
