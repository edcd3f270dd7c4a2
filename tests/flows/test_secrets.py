"""Secrets never leak: the flows run with known, distinctive secrets, and everything captured is scanned.

The daily flow runs hh.ru vacancies and Avito against the emulator as against the real APIs (client
credentials from the environment, not the sandbox's public ones), with a database URL that carries a
password (a role created for this test). A forced failure follows: a refused client secret for each
API, and a database that does not answer. Then stdout/stderr, every Python log record (all loggers
at DEBUG), the Prefect run logs, artifacts and run states, the exception texts, the ``run_log`` and
``quarantine`` tables and the files jobpipe wrote must hold none of the secrets: the client secrets,
the tokens the emulator issued, the database password.
"""

from __future__ import annotations

import json
import logging
import traceback
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from flows.avito_candidates import avito_candidates
from flows.daily import daily
from flows.hh_vacancies import hh_vacancies
from sandbox.avito_config import AvitoConfig
from sandbox.config import SandboxConfig
from sandbox.server import start_in_thread
from schemas.tables import quarantine, run_log
from tasks.sync.database import check_url, make_engine
from tests.flows.reports import rows
from tests.flows.reports import searches as search_rows

HH_ID, HH_SECRET = "leakprobe-hh-id", "hhSECRET-5f0c1d9e-leakprobe"
AVITO_ID, AVITO_SECRET = "leakprobe-avito-id", "avitoSECRET-8e27b4aa-leakprobe"
WRONG_SECRET = "wrongSECRET-3b9d-leakprobe"
DB_PASSWORD = "dbPASS-7c41e2-leakprobe"


@pytest.fixture(scope="module")
def sandbox():
    config = SandboxConfig(
        seed=5,
        vacancies=300,
        rate_limit_rps=0,
        client_id=HH_ID,
        client_secret=HH_SECRET,
        avito=AvitoConfig(
            chats=40, applications=40, client_id=AVITO_ID, client_secret=AVITO_SECRET, job_rate_limit_rps=0
        ),
    )
    with start_in_thread(config) as running:
        yield running


@pytest.fixture
def password_url(database_url: str, engine) -> Iterator[str]:
    """The test database through a role with a password (trust auth accepts it; the URL carries it)."""
    role = f"jobpipe_leakprobe_{uuid.uuid4().hex[:8]}"
    admin = make_url(database_url).set(drivername="postgresql")
    admin_dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{DB_PASSWORD}'")
    try:
        yield admin.set(drivername="postgresql+psycopg", username=role, password=DB_PASSWORD).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
            conn.execute(f"DROP ROLE IF EXISTS {role}")


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def every_log_record() -> Iterator[list[logging.LogRecord]]:
    """Every log record of every logger at DEBUG, also of loggers that do not propagate (Prefect's)."""
    keep = _Keep()
    loggers = [logging.root, *(logging.getLogger(name) for name in list(logging.root.manager.loggerDict))]
    changed = [(lg, lg.level) for lg in loggers if isinstance(lg, logging.Logger)]
    for lg, _ in changed:
        lg.setLevel(logging.DEBUG)
        if lg is logging.root or not lg.propagate:
            lg.addHandler(keep)
    yield keep.records
    for lg, level in changed:
        lg.setLevel(level)
        lg.removeHandler(keep)


def prefect_texts(since: datetime) -> list[str]:
    """Logs, artifacts and flow/task run states and parameters the Prefect API holds since ``since``."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterTimestamp
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    texts: list[str] = []
    with get_client(sync_client=True) as client:
        offset = 0
        while True:
            logs = client.read_logs(LogFilter(timestamp=LogFilterTimestamp(after_=since)), limit=200, offset=offset)
            texts += [log.message for log in logs]
            offset += len(logs)
            if len(logs) < 200:
                break
        texts += [json.dumps(a.data, default=str) + str(a.description) for a in client.read_artifacts()]
        for run in client.read_flow_runs():
            texts.append(json.dumps(run.parameters, default=str))
            texts.append(str(run.state.message if run.state else ""))
        texts += [str(t.state.message if t.state else "") for t in client.read_task_runs()]
    return texts


def exception_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc)


def test_no_secret_reaches_logs_artifacts_exceptions_or_tables(
    sandbox, password_url, every_log_record, capfd, monkeypatch, tmp_path, engine
) -> None:
    since = datetime.now(UTC)
    home = tmp_path / "home"
    searches = tmp_path / "searches.toml"
    searches.write_text('[[search]]\nname = "leakprobe"\ntext = "python"\n', encoding="utf-8")
    env = {
        "DATABASE_URL": password_url,
        "JOBPIPE_HOME": str(home),
        "JOBPIPE_USE_BLOCKS": "0",
        "JOBPIPE_SEARCHES": str(searches),
        "HH_API_URL": sandbox.url,
        "HH_CLIENT_ID": HH_ID,
        "HH_CLIENT_SECRET": HH_SECRET,
        "HH_RATE_LIMIT": "200",
        "AVITO_API_URL": f"{sandbox.url}/avito",
        "AVITO_CLIENT_ID": AVITO_ID,
        "AVITO_CLIENT_SECRET": AVITO_SECRET,
        "AVITO_JOB_RATE_LIMIT": "200",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("JOBPIPE_NOTIFY_URL", raising=False)

    report = daily(lookback_days=3)
    assert report["extra"]["sources"] == ["hh", "avito"] and search_rows(report)[0]["extracted"] > 0
    assert rows(report, "Avito"), "the Avito flow ran"

    # the tokens the emulator issued are secrets too
    tokens = []
    for store in home.glob("*tokens.json"):
        for pair in json.loads(store.read_text("utf-8")).values():
            tokens += [pair[k] for k in ("access_token", "refresh_token") if pair.get(k)]
    assert len(tokens) >= 2, "an hh.ru and an Avito token were issued and stored"
    secrets = [HH_SECRET, AVITO_SECRET, WRONG_SECRET, DB_PASSWORD, *tokens]

    # forced failures: refused client secrets (fresh token stores) and a database that does not answer
    failures: list[str] = []
    monkeypatch.setenv("HH_CLIENT_SECRET", WRONG_SECRET)
    monkeypatch.setenv("HH_TOKEN_STORE", str(tmp_path / "fresh_hh_tokens.json"))
    with pytest.raises(Exception) as refused:
        hh_vacancies(lookback_days=1)
    failures.append(exception_text(refused.value))
    monkeypatch.setenv("AVITO_CLIENT_SECRET", WRONG_SECRET)
    monkeypatch.setenv("AVITO_TOKEN_STORE", str(tmp_path / "fresh_avito_tokens.json"))
    with pytest.raises(Exception) as refused:
        avito_candidates()
    failures.append(exception_text(refused.value))
    unreachable = make_url(password_url).set(port=9).render_as_string(hide_password=False)
    with pytest.raises(Exception) as refused:
        make_engine(check_url(unreachable), connect_attempts=1, connect_timeout=2)
    failures.append(exception_text(refused.value))
    with pytest.raises(Exception) as refused:
        check_url(make_url(password_url).set(host="db.example.com").render_as_string(hide_password=False))
    failures.append(exception_text(refused.value))

    captured = capfd.readouterr()
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    places: dict[str, list[str]] = {
        "stdout/stderr": [captured.out, captured.err],
        "python logging": [formatter.format(r) for r in every_log_record],
        "prefect api": prefect_texts(since),
        "exceptions": failures,
        "database": [],
        "files": [],
    }
    with engine.connect() as conn:
        for table in (run_log, quarantine):
            places["database"] += [repr(tuple(row)) for row in conn.execute(select(table))]
    for path in home.rglob("*"):
        if path.is_file() and "tokens" not in path.name and path.suffix in {".json", ".md", ".csv", ".txt", ".html"}:
            places["files"].append(path.read_text("utf-8", errors="replace"))
    # the scan reaches what the runs wrote: the search's name, the refusals, the run log
    assert len(places["python logging"]) > 100
    assert any("leakprobe" in t for t in places["prefect api"]), "Prefect's run logs were read"
    said = ("invalid_client", "cannot connect", "without TLS")  # the refusals, in their own words
    assert all(any(words in f for words in said) for f in failures), [f.splitlines()[-1][:300] for f in failures]
    assert any(report["run_id"] in row for row in places["database"]), "the run_log row was read"

    leaks = [
        f"{where}: …{blob[max(0, blob.find(s) - 80) : blob.find(s) + 40]}…"
        for where, blobs in places.items()
        for blob in blobs
        for s in secrets
        if s in blob
    ]
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks[:20])
