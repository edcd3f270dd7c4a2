"""The reliability report: a seeded fault campaign against the daily flow.

Every campaign run starts from an empty database and a new home (token store). A run meets a
random mix of injected API faults (the kinds of :mod:`sandbox.faults`), or is started as
``jobpipe run daily`` in a subprocess and SIGKILLed at a random point; whenever it did not
complete, it is run again without faults. After each pair the database is compared with a
fault-free run over the same emulator, row by row over the data columns (tests/faults/checksums.py).

Printed: faults injected (per kind), runs completed, runs recovered on rerun, rows lost, rows
changed, duplicates, and secrets leaked — every client secret, every token the emulator issued and
the database password, searched in everything the runs printed and logged and in the run log.

    .venv/bin/python -m bench.reliability --runs 20 --kills 5 --timeouts 1 --seed 7
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.checksums import duplicates, row_digests
from bench.faultruns import killed_run, leaks, run_daily, run_env, sandbox_secrets, small_world, truncate
from sandbox.faults import KINDS as FAULT_KINDS
from sandbox.faults import FaultPlan, FaultRule
from sandbox.server import start_in_thread
from tasks.sync.database import make_engine
from tasks.sync.migrate import upgrade

PATHS = (
    None,
    None,
    "/vacancies",
    "/vacancies/{id}",
    "/vacancies/{id}",
    "/dictionaries",
    "/avito/*",
    "/avito/messenger/*",
)
# the kinds drawn at random; timeouts (slow: --timeouts) and captchas (they stop the run, so rarer)
# are added on their own below
KINDS = tuple(kind for kind in FAULT_KINDS if kind not in ("timeout", "captcha"))


def random_plan(rng: random.Random, index: int, timeouts: bool) -> FaultPlan:
    """Four to seven rules of random kinds, paths and schedules (or small probabilities)."""
    rules = []
    for _ in range(rng.randint(4, 7)):
        kind = rng.choice(KINDS)
        path = None if kind in ("refresh_fail", "token_expired") and rng.random() < 0.5 else rng.choice(PATHS)
        if kind == "refresh_fail":
            path = None
        if rng.random() < 0.6:
            first = rng.randint(1, 250)
            rules.append(FaultRule(kind, path, requests=(first, first + rng.randint(0, 5)), retry_after=1))
        else:
            rules.append(FaultRule(kind, path, probability=rng.uniform(0.005, 0.03), retry_after=1))
    if rng.random() < 0.15:  # a captcha stops the run; the rerun must finish the job
        rules.append(FaultRule("captcha", "/vacancies/{id}", requests=(rng.randint(1, 250),) * 2))
    if timeouts:  # longer than the client's 30 s read timeout
        rules.append(FaultRule("timeout", "/vacancies/{id}", requests=(rng.randint(1, 250),) * 2, delay=31.0))
    return FaultPlan(rules, seed=index)


def compare(expected: dict[str, set[str]], actual: dict[str, set[str]]) -> tuple[int, int]:
    """(rows of the fault-free run missing, rows present that it does not have)."""
    lost = sum(len(expected[t] - actual.get(t, set())) for t in expected)
    extra = sum(len(actual[t] - expected.get(t, set())) for t in actual)
    return lost, extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="runs with injected API faults")
    parser.add_argument("--kills", type=int, default=5, help="runs SIGKILLed at a random point")
    parser.add_argument("--timeouts", type=int, default=1, help="runs that also meet one 31 s timeout")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    admin = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"jobpipe_reliability_{uuid.uuid4().hex[:6]}"
    password = "pw-" + secrets.token_hex(12)  # the server trusts local users; the value must still never show
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin).set(drivername="postgresql+psycopg", database=name, password=password)
    database_url = url.render_as_string(hide_password=False)
    workdir = Path(tempfile.mkdtemp(prefix="jobpipe-reliability-"))
    searches = workdir / "searches.toml"
    searches.write_text('[[search]]\nname = "everything"\ntext = ""\n', encoding="utf-8")
    frozen = time.time()
    engine = make_engine(database_url)
    upgrade(engine)
    outputs: list[str] = []
    injected: Counter = Counter()
    tally = Counter()
    started = time.monotonic()
    try:
        with (
            prefect_test_harness(server_startup_timeout=180),
            start_in_thread(small_world(), clock=lambda: frozen) as sandbox,
        ):
            api = str(PREFECT_API_URL.value())
            baseline_run = run_daily(sandbox, str(searches), run_env(database_url, workdir / "home-0"), capture=True)
            if baseline_run.error is not None:
                raise SystemExit(f"the fault-free run failed: {baseline_run.error}")
            outputs.append(baseline_run.output)
            baseline = row_digests(engine)
            baseline_requests = sandbox.stats.total
            total = args.runs + args.kills
            timeout_runs = set(rng.sample(range(args.runs), min(args.timeouts, args.runs)))
            for i in range(total):
                truncate(engine)
                env = run_env(database_url, workdir / f"home-{i + 1}")
                if i < args.runs:
                    sandbox.faults.reset()
                    sandbox.config.faults = random_plan(rng, i, i in timeout_runs)
                    first = run_daily(sandbox, str(searches), env, capture=True)
                    sandbox.config.faults = None
                    injected.update(sandbox.faults.injected)
                else:
                    if rng.random() < 0.5:
                        point = {"after_requests": rng.randint(1, baseline_requests)}
                    else:
                        point = {"after_seconds": rng.uniform(0.1, 8.0)}
                    first = killed_run(sandbox, str(searches), env, api, **point)
                    injected["sigkill"] += first.killed
                outputs.append(first.output)
                if first.error is None and not first.killed:
                    tally["completed"] += 1
                else:
                    tally["failed"] += 1
                    second = run_daily(sandbox, str(searches), env, capture=True)
                    outputs.append(second.output)
                    tally["recovered"] += second.error is None
                    if second.error is not None:
                        print(f"run {i}: the rerun failed too: {second.error}")
                lost, extra = compare(baseline, row_digests(engine))
                tally["lost"] += lost
                tally["extra"] += extra
                tally["duplicates"] += sum(duplicates(engine).values())
                with engine.connect() as conn:
                    outputs.append(
                        conn.execute(
                            text("SELECT coalesce(string_agg(counts::text, ' '), '') FROM run_log")
                        ).scalar_one()
                    )
                why = f" ({type(first.error).__name__}: {str(first.error)[:60]})" if first.error else ""
                print(
                    f"run {i + 1}/{total}: {'killed' if first.killed else 'faults'} "
                    f"{'completed' if first.error is None and not first.killed else 'recovered on rerun'}{why}; "
                    f"lost {lost}, extra {extra}",
                    flush=True,
                )
            known = sandbox_secrets(sandbox) | {password}
            leaked = leaks(outputs, known)
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print()
    print(f"reliability campaign, seed {args.seed}: {total} runs in {time.monotonic() - started:.0f} s")
    print(f"faults injected: {sum(injected.values())}")
    for kind, n in sorted(injected.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {kind:<20} {n}")
    print(f"runs completed despite faults: {tally['completed']} of {total}")
    print(f"runs recovered on rerun:       {tally['recovered']} of {tally['failed']}")
    print(f"rows lost:                     {tally['lost']}")
    print(f"rows changed or extra:         {tally['extra']}")
    print(f"duplicates:                    {tally['duplicates']}")
    print(f"secrets leaked:                {len(leaked)} (of {len(known)} known secrets)")
    for secret in leaked:
        print(f"  leaked: {secret}")


if __name__ == "__main__":
    main()
