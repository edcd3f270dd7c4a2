"""Every benchmark, one table: each figure, what it is compared with, the ratio, the target, met?

    .venv/bin/python -m bench.run                 # everything, full sizes (an hour or more on 2 cores)
    .venv/bin/python -m bench.run --quick         # small sizes, one repetition (a few minutes)
    .venv/bin/python -m bench.run --only load extract --load-rows 100000 --repeat 3

Each benchmark also runs alone: ``python -m bench.load``, ``bench.extract``, ``bench.daily``,
``bench.quality``, ``bench.avito``, ``bench.scaleout``. Every ratio compares two things measured in the same run
(median of ``--repeat`` where a step is repeated). Run it with ``nice`` on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time

from bench import daily, extract, load, scaleout
from bench.report import Figure, render

BENCHMARKS = ("load", "extract", "daily", "quality", "scaleout")


def quality_figure(rows: int, repeat: int) -> Figure:
    """Run :mod:`bench.quality` (its own process) and read its ratio line."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.quality", "--rows", str(rows), "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("checks / (transform + load)"))
    checks, base = (float(x.rstrip("s")) for x in line.split("=")[1].split("/"))
    return Figure(
        f"quality {rows // 1000}k: checks' share",
        f"{checks:.2f}s / {base:.2f}s",
        "transform + load",
        checks / base,
        ("<=", 0.25),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="small sizes and one repetition")
    parser.add_argument("--load-rows", type=int, nargs="+", default=None, help="default 100000 1000000")
    parser.add_argument("--daily-vacancies", type=int, nargs="+", default=None, help="default 10000 100000")
    parser.add_argument("--repeat", type=int, default=None, help="default 3 (1 with --quick)")
    parser.add_argument("--no-dlt", action="store_true")
    args = parser.parse_args()
    repeat = args.repeat or (1 if args.quick else 3)
    load_rows = args.load_rows or ([20_000] if args.quick else [100_000, 1_000_000])
    daily_sizes = args.daily_vacancies or ([2_000, 10_000] if args.quick else [10_000, 100_000])

    started = time.perf_counter()
    figures: list[Figure] = []
    for name in args.only:
        print(f"running {name} ...", flush=True)
        if name == "load":
            figures += load.figures(load_rows, repeat, with_dlt=not args.no_dlt)
        elif name == "extract":
            figures += extract.figures(details=100, resumes=100) if args.quick else extract.figures()
        elif name == "daily":
            figures += daily.figures(daily_sizes)
        elif name == "quality":
            figures.append(quality_figure(20_000 if args.quick else 100_000, repeat))
        elif name == "scaleout":
            figures += scaleout.figures(150 if args.quick else 500, 10.0, 100, 9.7)
    print(
        f"\n{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{time.perf_counter() - started:.0f}s in all\n"
    )
    print(render(figures))


if __name__ == "__main__":
    main()
