"""Benchmark: scale-out — the searches partitioned across Prefect workers that share one hh.ru limit.

    .venv/bin/python -m bench.scaleout --vacancies 500 --limit 10 --latency-ms 100

hh.ru limits requests per IP (about 10/s), so every worker on one machine shares one limit. This
starts a Prefect server (``prefect server start``), creates the process work pool, deploys
``prefect.yaml`` (``prefect deploy --all``), creates the global concurrency limit that counts the
processes calling hh.ru (``prefect gcl create hh-api --limit 10``, see flows/shared_limit.py),
serves the emulator from this process (``--limit`` requests/s per token, ``--latency-ms`` per
answer; every worker uses the same application token from one token store, as workers on one IP
share hh.ru's limit) and harvests two searches of about equal size (Moscow; Saint Petersburg and
three other cities), 30 days back, into a fresh database each time, three ways, each with its own
``prefect worker start --limit 1`` processes:

- one worker, one run of the ``hh-vacancies`` deployment (every search);
- two workers, one run each of ``hh-vacancies-1-of-2`` and ``hh-vacancies-2-of-2`` started at once,
  each with the whole ``HH_RATE_LIMIT`` for itself: what a user gets by starting a second worker;
- the same two workers with ``HH_GLOBAL_RATE_LIMIT=hh-api``: they split ``HH_RATE_LIMIT``.

Printed: the requests/s the emulator answered (429s excluded) over the harvest's span, divided by
the limit; the 429s; which worker ran which run (read from the workers' logs); and the time from
starting the runs to the last one's end, against one worker's.
"""

from __future__ import annotations

import argparse
import os
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
from bench.stack import (
    PREFECT,
    Processes,
    free_port,
    run_cli,
    runs_of_worker,
    server_healthy,
    stop_prefect_event_workers,
    tail,
    two_searches,
    wait_until,
)

ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
LIMIT_NAME = "hh-api"
POOL = "jobpipe"


@dataclass
class Outcome:
    """One way of harvesting: the processes' wall time and what the emulator answered."""

    name: str
    wall: float
    answered: int
    throttled: int
    span: float
    placement: str = ""

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
            "PREFECT_LOGGING_LEVEL": "INFO",  # the workers' logs say which flow runs they ran
            "PREFECT_CLI_COLORS": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_WORKER_PREFETCH_SECONDS": "5",
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
    name: str,
    env: dict[str, str],
    searches: Path,
    deployments: list[str],
    timeline: Timeline,
    logs: Path,
) -> Outcome:
    """One run of each deployment, started at once, on as many workers (one run at a time each),
    into a fresh database; the workers are started before and stopped after."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    slug = name.replace(" ", "_").replace(",", "")
    timeline.take()
    with scratch_url() as db_url:
        processes = Processes(logs)
        worker_env = {**env, "DATABASE_URL": db_url}
        try:
            worker_logs = []
            for k in range(1, len(deployments) + 1):
                worker = f"{slug}-worker-{k}"
                args = [*PREFECT, "worker", "start", "--pool", POOL, "--type", "process", "--limit", "1"]
                processes.start(worker, [*args, "--name", worker], worker_env)
                worker_logs.append(logs / f"{worker}.log")
            wait_until(lambda: all("started!" in log.read_text() for log in worker_logs), 180, f"{name}: workers")
            with temporary_settings(updates={PREFECT_API_URL: env["PREFECT_API_URL"]}):
                with get_client(sync_client=True) as client:
                    started = time.monotonic()
                    runs = [
                        client.create_flow_run_from_deployment(
                            client.read_deployment_by_name(f"hh-vacancies/{deployment}").id,
                            parameters={"searches_file": str(searches)},
                        )
                        for deployment in deployments
                    ]
                    final = _wait_final(client, [r.id for r in runs], name)
                    wall = time.monotonic() - started
                stop_prefect_event_workers()
            failed = [r for r in final if not r.state.is_completed()]
            if failed:
                raise RuntimeError(f"{name}: {[(r.name, r.state.name, r.state.message) for r in failed]}")
        finally:
            processes.stop_all()
    ran = [sorted(runs_of_worker(log)) for log in worker_logs]
    by_id = {str(r.id): r.name for r in final}
    placement = "; ".join(f"worker {k}: {', '.join(by_id[i] for i in ids) or '-'}" for k, ids in enumerate(ran, 1))
    events = timeline.take()
    answered = [t for t, status in events if status != 429]
    span = max(answered) - min(answered) if len(answered) > 1 else 0.0
    return Outcome(name, wall, len(answered), sum(status == 429 for _, status in events), span, placement)


def _wait_final(client: Any, run_ids: list, name: str, timeout: float = 3600) -> list:
    runs: list = []

    def done() -> bool:
        runs[:] = [client.read_flow_run(run_id) for run_id in run_ids]
        return all(r.state is not None and r.state.is_final() for r in runs)

    wait_until(done, timeout, f"{name}: flow runs", interval=1.0)
    return runs


def figures(vacancies: int, limit: float, latency_ms: int, client_rate: float, slots: int = 10) -> list[Figure]:
    from sandbox.config import SandboxConfig
    from sandbox.server import start_in_thread

    result: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp, prefect_server(Path(tmp)) as prefect_env:
        base = Path(tmp)
        run_cli([*PREFECT, "gcl", "create", LIMIT_NAME, "--limit", str(slots)], prefect_env)
        run_cli([*PREFECT, "work-pool", "create", POOL, "--type", "process", "--overwrite"], prefect_env)
        run_cli([*PREFECT, "--no-prompt", "deploy", "--all"], prefect_env, timeout=300)
        config = SandboxConfig(vacancies=vacancies, rate_limit_rps=limit, latency_ms=latency_ms)
        with start_in_thread(config, startup_timeout=600) as sandbox:
            still = time.time()  # a still world: the same vacancies for each way of harvesting
            sandbox.world.clock = sandbox.negotiations.clock = lambda: still
            timeline = Timeline(sandbox.app.state.stats)
            searches = base / "searches.toml"
            searches.write_text(two_searches())
            env = {
                **prefect_env,
                "JOBPIPE_HOME": str(base / "home"),  # one token store: one application token for all
                "JOBPIPE_USE_BLOCKS": "0",
                "HH_API_URL": sandbox.url,
                "HH_CLIENT_ID": config.client_id,
                "HH_CLIENT_SECRET": config.client_secret,
                "HH_USER_AGENT": "jobpipe-bench/1.0 (bench@example.com)",
                "HH_RATE_LIMIT": str(client_rate),  # each process's; with the global limit, all of theirs
            }
            logs = base / "logs"
            partitions = ["hh-vacancies-1-of-2", "hh-vacancies-2-of-2"]
            one = harvest("one worker", env, searches, ["hh-vacancies"], timeline, logs)
            sandbox.app.state.hh.limiter.reset()
            local = harvest("two workers, own limiters", env, searches, partitions, timeline, logs)
            sandbox.app.state.hh.limiter.reset()
            shared_env = {**env, "HH_GLOBAL_RATE_LIMIT": LIMIT_NAME}
            shared = harvest("two workers, shared limit", shared_env, searches, partitions, timeline, logs)
    gcl = f"HH_RATE_LIMIT={client_rate:g} shared (gcl --limit {slots})"
    for outcome in (one, local, shared):
        result.append(
            Figure(
                f"scale-out: {outcome.name}: answered requests/s",
                f"{outcome.rate:.2f}/s ({outcome.answered} in {outcome.span:.1f}s), {outcome.throttled} x 429"
                f" ({outcome.placement})",
                f"limit {limit:g}/s, " + (gcl if outcome is shared else f"HH_RATE_LIMIT={client_rate:g} each"),
                outcome.rate / limit,
            )
        )
    for outcome in (local, shared):
        result.append(
            Figure(
                f"scale-out: {outcome.name}: wall time",
                f"{outcome.wall:.1f}s vs {one.wall:.1f}s",
                "one worker",
                outcome.wall / one.wall,
            )
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vacancies", type=int, default=500, help="vacancies in the emulator's world")
    parser.add_argument("--limit", type=float, default=10.0, help="the emulator's requests/s per token")
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument(
        "--client-rate", type=float, default=9.7, help="HH_RATE_LIMIT (a sliding window refuses the 11th in a second)"
    )
    args = parser.parse_args()
    started = time.monotonic()
    print(render(figures(args.vacancies, args.limit, args.latency_ms, args.client_rate)))
    print(f"\n{time.monotonic() - started:.0f}s in all (one run of each way)")


if __name__ == "__main__":
    main()
