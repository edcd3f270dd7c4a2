"""Benchmark: scale-out — searches partitioned across processes that share one hh.ru rate limit.

    .venv/bin/python -m bench.scaleout --vacancies 500 --limit 10 --latency-ms 100

hh.ru limits requests per IP (about 10/s), so every process on one machine shares one limit. This
starts a Prefect server (``prefect server start``, as for deployments), creates a global concurrency
limit with slot decay on it (``prefect gcl create hh-api --limit L --slot-decay-per-second R``),
serves the emulator from this process (``--limit`` requests/s per token, ``--latency-ms`` per
answer; every process uses the same application token from one token store, as processes on one IP
share hh.ru's limit) and harvests two searches of about equal size (Moscow; Saint Petersburg and
three other cities), 30 days back, into a fresh database each time, three ways:

- one process, every search (``jobpipe run hh-vacancies``);
- two processes at once, ``--partition 1/2`` and ``2/2``, each with only its own limiter at the
  full rate (``HH_RATE_LIMIT``): what a user gets by starting a second worker;
- the same two processes with ``HH_GLOBAL_RATE_LIMIT=hh-api`` (and their own limiters kept).

Each flow run is recorded on the Prefect server (``PREFECT_API_URL``), as a worker's would be; the
processes are plain ``jobpipe`` processes, not ``prefect worker`` runs of a deployment. Printed:
the requests/s the emulator answered (429s excluded) over the harvest's span, divided by the limit;
the 429s; the processes' wall time against the one process's; and the cost of one
``rate_limit`` call to the Prefect API, measured alone.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bench.report import Figure, render
from tests.deploy.stack import PREFECT, Processes, free_port, run_cli, server_healthy, tail, wait_until

ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
LIMIT_NAME = "hh-api"
# two searches of about equal size in the emulator's world (area weights 40 and 17+7+6+10)
SEARCHES = """
[[search]]
name = "moscow"
area = ["1"]

[[search]]
name = "other-cities"
area = ["2", "3", "4", "160"]
"""


@dataclass
class Outcome:
    """One way of harvesting: the processes' wall time and what the emulator answered."""

    name: str
    wall: float
    answered: int
    throttled: int
    span: float

    @property
    def rate(self) -> float:
        return self.answered / self.span if self.span else 0.0


class Timeline:
    """Every request the emulator answers: (monotonic time, status), wrapped around its counter."""

    def __init__(self, stats: Any) -> None:
        self.events: list[tuple[float, int]] = []
        self._lock = threading.Lock()
        record = stats.record

        def timed(method: str, path: str, status: int) -> None:
            with self._lock:
                self.events.append((time.monotonic(), status))
            record(method, path, status)

        stats.record = timed

    def take(self) -> list[tuple[float, int]]:
        with self._lock:
            events, self.events = self.events, []
        return events


@contextmanager
def prefect_server(base: Path) -> Any:
    """``prefect server start`` on a free port with its own home and SQLite database; yields the
    environment that points Prefect clients at it. Stopped (its process group killed) after."""
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "JOBPIPE_", "HH_", "AVITO_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        {
            "PREFECT_HOME": str(base / "prefect"),
            "PREFECT_API_URL": api_url,
            "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{base / 'prefect.db'}",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_API_REQUEST_TIMEOUT": "120",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_CLI_COLORS": "false",
        }
    )
    logs = base / "logs"
    logs.mkdir(exist_ok=True)
    processes = Processes(logs)
    try:
        server = processes.start(
            "server", [*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env
        )
        wait_until(lambda: server_healthy(api_url) or server.poll() is not None, 300, "prefect server start")
        if server.poll() is not None:
            raise RuntimeError(f"prefect server exited:\n{tail(logs / 'server.log')}")
        yield env
    finally:
        processes.stop_all()


@contextmanager
def scratch_url() -> Any:
    name = f"jobpipe_bench_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def harvest(
    name: str, env: dict[str, str], searches: Path, partitions: list[str | None], timeline: Timeline, logs: Path
) -> Outcome:
    """Run ``jobpipe run hh-vacancies`` once per partition, all at once, into a fresh database."""
    timeline.take()
    with scratch_url() as db_url:
        started = time.monotonic()
        running = []
        for i, partition in enumerate(partitions):
            args = [sys.executable, "-m", "flows.cli", "run", "hh-vacancies", "--searches", str(searches)]
            args += ["--partition", partition] if partition else []
            log = open(logs / f"{name.replace(' ', '_')}_{i}.log", "w")
            running.append((subprocess.Popen(args, env={**env, "DATABASE_URL": db_url}, stdout=log, stderr=log), log))
        failed = []
        for process, log in running:
            if process.wait() != 0:
                failed.append(log.name)
            log.close()
        wall = time.monotonic() - started
    if failed:
        raise RuntimeError(f"{name}: a run failed:\n" + "\n".join(Path(f).read_text()[-3000:] for f in failed))
    events = timeline.take()
    answered = [t for t, status in events if status != 429]
    span = max(answered) - min(answered) if len(answered) > 1 else 0.0
    return Outcome(name, wall, len(answered), sum(status == 429 for _, status in events), span)


def rate_limit_call_cost(env: dict[str, str], calls: int = 100) -> float:
    """Median seconds of one ``rate_limit`` call on a limit that never blocks, in a child process."""
    code = (
        "import statistics, sys, time\n"
        "from prefect.concurrency.sync import rate_limit\n"
        "times = []\n"
        f"for _ in range({calls}):\n"
        "    t = time.perf_counter(); rate_limit('bench-free', strict=True); times.append(time.perf_counter() - t)\n"
        "print(statistics.median(times[5:]))\n"
    )
    run_cli([*PREFECT, "gcl", "create", "bench-free", "--limit", "100000", "--slot-decay-per-second", "100000"], env)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def figures(vacancies: int, limit: float, latency_ms: int, gcl_limit: int, gcl_decay: float) -> list[Figure]:
    from sandbox.config import SandboxConfig
    from sandbox.server import start_in_thread

    result: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp, prefect_server(Path(tmp)) as prefect_env:
        base = Path(tmp)
        run_cli(
            [
                *PREFECT,
                "gcl",
                "create",
                LIMIT_NAME,
                "--limit",
                str(gcl_limit),
                "--slot-decay-per-second",
                str(gcl_decay),
            ],
            prefect_env,
        )
        cost = rate_limit_call_cost(prefect_env)
        config = SandboxConfig(vacancies=vacancies, rate_limit_rps=limit, latency_ms=latency_ms)
        with start_in_thread(config, startup_timeout=600) as sandbox:
            still = time.time()  # a still world: the same vacancies for each way of harvesting
            sandbox.world.clock = sandbox.negotiations.clock = lambda: still
            timeline = Timeline(sandbox.app.state.stats)
            searches = base / "searches.toml"
            searches.write_text(SEARCHES)
            env = {
                **prefect_env,
                "JOBPIPE_HOME": str(base / "home"),  # one token store: one application token for all
                "JOBPIPE_USE_BLOCKS": "0",
                "HH_API_URL": sandbox.url,
                "HH_CLIENT_ID": config.client_id,
                "HH_CLIENT_SECRET": config.client_secret,
                "HH_USER_AGENT": "jobpipe-bench/1.0 (bench@example.com)",
                "HH_RATE_LIMIT": str(limit),
            }
            logs = base / "logs"
            one = harvest("one process", env, searches, [None], timeline, logs)
            sandbox.app.state.hh.limiter.reset()
            local = harvest("two processes, own limiters", env, searches, ["1/2", "2/2"], timeline, logs)
            sandbox.app.state.hh.limiter.reset()
            shared_env = {**env, "HH_GLOBAL_RATE_LIMIT": LIMIT_NAME}
            shared = harvest("two processes, global limit", shared_env, searches, ["1/2", "2/2"], timeline, logs)
    gcl = f"gcl --limit {gcl_limit} --slot-decay-per-second {gcl_decay:g}"
    for outcome in (one, local, shared):
        result.append(
            Figure(
                f"scale-out: {outcome.name}: answered requests/s",
                f"{outcome.rate:.2f}/s ({outcome.answered} in {outcome.span:.1f}s), {outcome.throttled} x 429",
                f"limit {limit:g}/s" + (f", {gcl}" if outcome is shared else ""),
                outcome.rate / limit,
            )
        )
    for outcome in (local, shared):
        result.append(
            Figure(
                f"scale-out: {outcome.name}: wall time",
                f"{outcome.wall:.1f}s vs {one.wall:.1f}s",
                "one process",
                outcome.wall / one.wall,
            )
        )
    result.append(Figure("scale-out: one rate_limit call to the Prefect API (median)", f"{cost * 1000:.1f} ms"))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vacancies", type=int, default=500, help="vacancies in the emulator's world")
    parser.add_argument("--limit", type=float, default=10.0, help="the emulator's requests/s per token")
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--gcl-limit", type=int, default=1, help="the global limit's slots")
    parser.add_argument("--gcl-decay", type=float, default=14.0, help="the global limit's slot decay per second")
    args = parser.parse_args()
    started = time.monotonic()
    print(render(figures(args.vacancies, args.limit, args.latency_ms, args.gcl_limit, args.gcl_decay)))
    print(f"\n{time.monotonic() - started:.0f}s in all (one run of each way)")


if __name__ == "__main__":
    main()
