"""Runs of the daily flow for the fault tests and the reliability bench: the small world, in-process
runs, runs in a subprocess killed at a chosen point, and the scan for leaked secrets."""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

from sandbox.avito_config import AvitoConfig
from sandbox.config import SandboxConfig
from sandbox.server import RunningSandbox
from schemas.tables import metadata

REPO = Path(__file__).resolve().parents[1]
JOBPIPE = REPO / ".venv" / "bin" / "jobpipe"
# hh.ru negotiations are left out (and the small world has none): the emulator, like hh.ru, changes
# them when they are read (viewed_by_me, has_updates), so two runs over one emulator cannot hold
# equal negotiation rows, and "equals the fault-free run" has no meaning for them.
SOURCES = ("hh", "avito")


def small_world(seed: int = 5) -> SandboxConfig:
    """300 vacancies, 60 Avito chats, no negotiations; no rate limits; application tokens re-issuable at once."""
    return SandboxConfig(
        seed=seed,
        vacancies=300,
        rate_limit_rps=0,
        app_token_min_interval=0,
        employer_negotiations=0,  # see SOURCES
        applicant_negotiations=0,
        avito=AvitoConfig(chats=60, applications=60, vacancies=8, job_rate_limit_rps=0),
    )


def truncate(engine: Engine) -> None:
    """Empty every table (a fresh database for the next run)."""
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def run_env(database_url: str, home: Path) -> dict[str, str]:
    """The environment of a jobpipe run into ``database_url`` with its own home (token store)."""
    home.mkdir(parents=True, exist_ok=True)
    return {"DATABASE_URL": database_url, "JOBPIPE_HOME": str(home)}


@dataclass
class Outcome:
    """How a run ended and what it printed and logged (scanned for secrets)."""

    error: BaseException | None
    output: str
    killed: bool = False


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
            if record.exc_info:
                self.lines.append(logging.Formatter().formatException(record.exc_info))
        except Exception:
            pass


@contextmanager
def environment(values: dict[str, str], drop: Iterable[str] = ()) -> Iterator[None]:
    """``os.environ`` with ``values`` set and ``drop`` unset, restored afterwards."""
    saved = dict(os.environ)
    os.environ.update(values)
    for name in drop:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_daily(sandbox: RunningSandbox, searches: str, env: dict[str, str], capture: bool = False) -> Outcome:
    """One in-process daily run; its exception (None when it completed) and, with ``capture``, all it
    printed and logged."""
    from flows.daily import daily

    handler = _Capture()
    out = io.StringIO()
    loggers = [
        logging.getLogger(),
        logging.getLogger("prefect"),
        logging.getLogger("tasks"),
        logging.getLogger("flows"),
    ]
    error = None
    with environment(env, drop=("JOBPIPE_SEARCHES",)):
        if capture:
            for logger in loggers:
                logger.addHandler(handler)
        try:
            with redirect_stdout(out) if capture else nullcontext(), redirect_stderr(out) if capture else nullcontext():
                daily(emulator_url=sandbox.url, searches_file=searches, lookback_days=31, sources=list(SOURCES))
        except Exception as exc:  # the flow's own error, re-raised by Prefect
            error = exc
        finally:
            for logger in loggers:
                logger.removeHandler(handler)
    text_out = out.getvalue() + "\n".join(handler.lines) + (f"\n{error!r}\n{error}" if error else "")
    return Outcome(error, text_out)


def killed_run(
    sandbox: RunningSandbox,
    searches: str,
    env: dict[str, str],
    prefect_api: str | None,
    *,
    after_requests: int | None = None,
    after_seconds: float | None = None,
    timeout: float = 600.0,
) -> Outcome:
    """``jobpipe run daily`` in a subprocess, SIGKILLed once the emulator has answered
    ``after_requests`` more requests, or ``after_seconds`` after its first request."""
    child_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    child_env.pop("JOBPIPE_SEARCHES", None)
    if prefect_api:
        child_env["PREFECT_API_URL"] = prefect_api
    command = [
        str(JOBPIPE),
        "run",
        "daily",
        "--sandbox-url",
        sandbox.url,
        "--searches",
        searches,
        "--lookback-days",
        "31",
    ]
    start = sandbox.stats.total
    first_request_at = None
    with subprocess.Popen(command, cwd=REPO, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        reader = _Reader(proc.stdout)
        deadline = time.monotonic() + timeout
        killed = False
        while proc.poll() is None and time.monotonic() < deadline:
            served = sandbox.stats.total - start
            if served and first_request_at is None:
                first_request_at = time.monotonic()
            due = (after_requests is not None and served >= after_requests) or (
                after_seconds is not None
                and first_request_at is not None
                and time.monotonic() - first_request_at >= after_seconds
            )
            if due:
                proc.send_signal(signal.SIGKILL)
                killed = True
                break
            time.sleep(0.005)
        if proc.poll() is None and not killed:
            proc.kill()
        proc.wait()
        output = reader.text()
    error = None if proc.returncode == 0 or killed else RuntimeError(f"jobpipe exited with {proc.returncode}")
    return Outcome(error, output, killed=killed)


class _Reader:
    """Reads a pipe in a thread so the child never blocks on a full pipe."""

    def __init__(self, pipe: io.BufferedReader | None):
        import threading

        self.chunks: list[bytes] = []
        self.thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self.thread.start()

    def _read(self, pipe) -> None:
        if pipe is not None:
            for line in pipe:
                self.chunks.append(line)

    def text(self) -> str:
        self.thread.join(10)
        return b"".join(self.chunks).decode("utf-8", "replace")


def sandbox_secrets(sandbox: RunningSandbox) -> set[str]:
    """Every secret the emulator knows: client secrets and every token it ever issued."""
    secrets = {sandbox.config.client_secret, sandbox.config.avito.client_secret}
    hh = sandbox.auth
    with hh._lock:
        secrets |= set(hh._by_access) | set(hh._by_refresh) | set(hh._old_app_tokens)
        if hh._app_token:
            secrets.add(hh._app_token)
    avito = sandbox.avito_auth
    with avito._lock:
        secrets |= set(avito._tokens) | set(avito._refresh)
    return {s for s in secrets if s}


def leaks(texts: Iterable[str], secrets: Iterable[str]) -> list[str]:
    """The secrets that appear in any of ``texts`` (their first 6 characters, to report them)."""
    found = set()
    blobs = list(texts)
    for secret in secrets:
        if any(secret in blob for blob in blobs):
            found.add(secret[:6] + "…")
    return sorted(found)
