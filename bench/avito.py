"""Benchmark: Avito extraction against its rate limit, with 100 ms of emulated latency.

    .venv/bin/python -m bench.avito --resumes 300 --latency-ms 100 --limit 10

The emulator runs in its own process (as Avito would), answering every request after
``--latency-ms`` and allowing ``--limit`` Job requests per second. The client fetches resumes as
the flow does (several in flight, one shared limiter) and the figures are: achieved Job requests
per second, that rate as a fraction of the limit (target >= 0.9), resumes per minute (the old
browser-and-threads tool: 100-150 chats per minute), and the 429 answers received.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import requests

from tasks.avito.client import AvitoAuth, AvitoClient
from tasks.sync.tokens import TokenStore


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_emulator(port: int, latency_ms: int, limit: float, applications: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--port",
            str(port),
            "--vacancies",
            "100",
            "--avito-chats",
            "200",
            "--avito-applications",
            str(applications),
            "--avito-latency-ms",
            str(latency_ms),
            "--avito-job-rate-limit-rps",
            str(limit),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/avito/core/v1/accounts/self", timeout=1)
            return process
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the emulator did not start")


def measure(resumes: int, latency_ms: int, limit: float, client_rate: float | None = None, workers: int = 8) -> dict:
    """Fetch ``resumes`` resumes from an emulator limited to ``limit`` Job requests/s; the figures."""
    from jobpipe.settings import AvitoSettings

    client_rate = client_rate or AvitoSettings().job_rate_limit
    port = free_port()
    emulator = start_emulator(port, latency_ms, limit, applications=int(resumes * 1.4))
    try:
        with tempfile.TemporaryDirectory() as home:
            auth = AvitoAuth(
                TokenStore(Path(home) / "t.json"), "sandbox-avito-client-id", "sandbox-avito-client-secret"
            )
            client = AvitoClient.create(
                f"http://127.0.0.1:{port}/avito",
                "jobpipe-bench/1.0",
                auth,
                job_rate_limit=client_rate,
                messenger_rate_limit=client_rate,
            )
            apps = client.applications([a["id"] for a in client.application_ids(date(2000, 1, 1))])
            resume_ids = list({str(a["applicant"]["resume_id"]) for a in apps if a["applicant"].get("resume_id")})
            resume_ids = resume_ids[:resumes]
            time.sleep(1.1)  # let the emulator's one-second window empty
            before = client.job.stats.total
            started = time.perf_counter()
            fetched = client.resumes(resume_ids, workers=workers)
            seconds = time.perf_counter() - started
            calls = client.job.stats.total - before
    finally:
        emulator.terminate()
        emulator.wait(10)
    return {
        "asked": len(resume_ids),
        "fetched": sum(1 for r in fetched.values() if r),
        "seconds": seconds,
        "rate": calls / seconds,
        "client_rate": client_rate,
        "429": client.job.stats.statuses.get(429, 0),
        "retries": client.job.stats.retries,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resumes", type=int, default=300)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--limit", type=float, default=10.0, help="the emulated Job limit, requests/s")
    parser.add_argument("--client-rate", type=float, default=None, help="default: AVITO_JOB_RATE_LIMIT's default")
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    m = measure(args.resumes, args.latency_ms, args.limit, args.client_rate, args.workers)
    print(
        f"\nAvito resumes: {m['fetched']}/{m['asked']} fetched in {m['seconds']:.1f}s ({args.latency_ms} ms latency, "
        f"Job limit {args.limit:g}/s, client {m['client_rate']:g}/s, {args.workers} workers)"
    )
    print(f"{'figure':<34}{'value':>10}")
    print(f"{'Job requests/s achieved':<34}{m['rate']:>10.2f}")
    print(f"{'fraction of the limit (>= 0.9)':<34}{m['rate'] / args.limit:>10.2f}")
    print(f"{'resumes per minute (old: 100-150)':<34}{m['fetched'] / m['seconds'] * 60:>10.0f}")
    print(f"{'429 answers':<34}{m['429']:>10}")
    print(f"{'retries':<34}{m['retries']:>10}")


if __name__ == "__main__":
    main()
