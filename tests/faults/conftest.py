"""Fixtures of the fault tests: the session's Prefect harness (tests/conftest.py), one small
emulator with a frozen clock, and one fault-free baseline per session (the checksums every faulted
run must end up with)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bench.checksums import table_checksums
from bench.faultruns import run_daily, run_env, small_world, truncate
from sandbox.server import RunningSandbox, start_in_thread


@pytest.fixture(scope="session")
def fault_sandbox() -> Iterator[RunningSandbox]:
    """The emulator every fault test runs against; its clock stands still, so its data never changes."""
    frozen = time.time()
    with start_in_thread(small_world(), clock=lambda: frozen) as running:
        yield running


@pytest.fixture(scope="session")
def searches(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("searches") / "searches.toml"
    path.write_text('[[search]]\nname = "everything"\ntext = ""\n', encoding="utf-8")
    return str(path)


@pytest.fixture(scope="session")
def baseline(prefect_api, fault_sandbox, searches, migrated_engine, database_url, tmp_path_factory) -> dict:
    """Checksums of a fault-free run over the session's emulator."""
    truncate(migrated_engine)
    env = run_env(database_url, tmp_path_factory.mktemp("baseline-home"))
    served_before = fault_sandbox.stats.total
    error = run_daily(fault_sandbox, searches, env).error
    assert error is None, f"the fault-free baseline run failed: {error}"
    sums = table_checksums(migrated_engine)
    assert sums["vacancies"][0] > 200 and sums["avito_chats"][0] > 50, sums
    return {"checksums": sums, "requests": fault_sandbox.stats.total - served_before}


@pytest.fixture
def fresh(migrated_engine, database_url, tmp_path, baseline) -> dict[str, str]:
    """An emptied database and a new home (no tokens) for one faulted run and its rerun."""
    truncate(migrated_engine)
    return run_env(database_url, tmp_path / "home")


@pytest.fixture(autouse=True)
def _no_faults_left(fault_sandbox) -> Iterator[None]:
    yield
    fault_sandbox.config.faults = None
