"""Benchmark: extraction against the rate limit, with 100 ms of emulated latency; and harvest cost.

    .venv/bin/python -m bench.extract --limit 10 --latency-ms 100

The emulator runs in its own process, answering every hh.ru request after ``--latency-ms`` and
allowing ``--limit`` requests per second per token (Avito: its Job limit). Figures:

- hh.ru search pages, hh.ru details and Avito resumes: achieved requests/s / the limit (target >= 0.9);
  the client runs at ``--client-rate`` (a little under the limit: a sliding one-second window
  refuses the 11th request that network jitter squeezes into one second);
- harvest cost: search calls (probes + pages) for a search of ``--harvest`` matches over 30 days,
  divided by the minimum, ceil(found / 100) pages (target <= 1.2). Details are counted separately.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import avito
from bench.emulator import emulator
from bench.report import Figure, render
from sandbox.config import SandboxConfig
from tasks.hh.client import HHAuth, HHClient
from tasks.hh.search import Search, Window, floor_step, harvest_window, plan_windows, query
from tasks.sync.tokens import TokenStore

SEARCH = Search("bench", {})
WORKERS = 8


def hh_client(url: str, home: str, rate: float) -> HHClient:
    defaults = SandboxConfig()
    auth = HHAuth(TokenStore(Path(home) / "tokens.json"), defaults.client_id, defaults.client_secret)
    return HHClient.create(url, "jobpipe-bench/1.0 (bench@example.com)", auth, rate_limit=rate)


def harvest(client: HHClient, days: int = 30) -> tuple[list[dict], int, int, float]:
    """Plan and harvest the whole world: items, found, search calls, seconds (after the token)."""
    now = floor_step(datetime.now(UTC)) + timedelta(minutes=5)
    span = Window(now - timedelta(days=days + 1), now)
    client.currency_rates()  # obtains the token outside the measurement
    time.sleep(1.1)  # let the emulator's one-second window empty
    before = client.calls
    started = time.perf_counter()
    planned = plan_windows(lambda w: client.search(query(SEARCH, w)), span, workers=WORKERS)
    items = [item for p in planned for item in harvest_window(client, SEARCH, p, workers=WORKERS)]
    seconds = time.perf_counter() - started
    return items, sum(p.found for p in planned), client.calls - before, seconds


def measure_hh(vacancies: int, details: int, latency_ms: int, limit: float, client_rate: float) -> dict:
    with (
        emulator(vacancies=vacancies, latency_ms=latency_ms, rate_limit_rps=limit) as url,
        tempfile.TemporaryDirectory() as home,
    ):
        client = hh_client(url, home, client_rate)
        items, found, search_calls, search_s = harvest(client)
        ids = [str(item["id"]) for item in items[:details]]
        time.sleep(1.1)
        before = client.calls
        started = time.perf_counter()
        client.vacancies(ids, workers=WORKERS)
        detail_s = time.perf_counter() - started
        return {
            "found": found,
            "harvested": len(items),
            "search_calls": search_calls,
            "search_rate": search_calls / search_s,
            "detail_calls": client.calls - before,
            "detail_rate": (client.calls - before) / detail_s,
            "429": client.core.stats.statuses.get(429, 0),
        }


def figures(
    vacancies: int = 10_000,
    details: int = 300,
    resumes: int = 300,
    latency_ms: int = 100,
    limit: float = 10.0,
    client_rate: float = 9.7,
) -> list[Figure]:
    hh = measure_hh(vacancies, details, latency_ms, limit, client_rate)
    av = avito.measure(resumes, latency_ms, limit, client_rate=client_rate)
    minimum = math.ceil(hh["found"] / 100)
    cond = f"{latency_ms} ms, limit {limit:g}/s"
    return [
        Figure(
            "extract: hh.ru search pages",
            f"{hh['search_rate']:.2f} req/s ({hh['search_calls']} calls)",
            f"limit ({cond})",
            hh["search_rate"] / limit,
            (">=", 0.9),
        ),
        Figure(
            "extract: hh.ru details",
            f"{hh['detail_rate']:.2f} req/s ({hh['detail_calls']} calls, {hh['429']} x 429 in all)",
            f"limit ({cond})",
            hh["detail_rate"] / limit,
            (">=", 0.9),
        ),
        Figure(
            "extract: Avito resumes",
            f"{av['rate']:.2f} req/s ({av['fetched']} resumes, {av['429']} x 429)",
            f"limit ({cond})",
            av["rate"] / limit,
            (">=", 0.9),
        ),
        Figure(
            f"harvest: search calls for {hh['found']:,} matches",
            f"{hh['search_calls']} calls ({hh['harvested']:,} items)",
            f"ceil(found/100) = {minimum}",
            hh["search_calls"] / minimum,
            ("<=", 1.2),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--harvest", type=int, default=10_000, help="vacancies in the emulated world")
    parser.add_argument("--details", type=int, default=300)
    parser.add_argument("--resumes", type=int, default=300)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--limit", type=float, default=10.0)
    parser.add_argument("--client-rate", type=float, default=9.7)
    args = parser.parse_args()
    rows = figures(args.harvest, args.details, args.resumes, args.latency_ms, args.limit, args.client_rate)
    print(render(rows))


if __name__ == "__main__":
    main()
