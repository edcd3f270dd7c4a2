"""The emulator in a process of its own (as the real APIs would be), for the benchmarks.

    .venv/bin/python -m bench.emulator '{"vacancies": 10000, "latency_ms": 100, "rate_limit_rps": 10}'

The argument is a JSON object of :class:`sandbox.config.SandboxConfig` fields (``avito`` a JSON
object of :class:`sandbox.avito_config.AvitoConfig` fields); the process prints its URL and serves
until terminated.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sandbox.avito_config import AvitoConfig
from sandbox.config import SandboxConfig


def config_from(options: dict[str, Any]) -> SandboxConfig:
    options = dict(options)
    avito = AvitoConfig(**options.pop("avito", {}))
    return SandboxConfig(avito=avito, **options)


@contextmanager
def emulator(**options: Any) -> Iterator[str]:
    """Start the emulator with ``options`` in a child process; yield its base URL; stop it after."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.emulator", json.dumps(options)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("http"):
            raise RuntimeError(f"the emulator did not start (exit code {process.poll()})")
        yield line
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    from sandbox.server import start_in_thread

    running = start_in_thread(config_from(json.loads(sys.argv[1])), startup_timeout=600)
    print(running.url, flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
