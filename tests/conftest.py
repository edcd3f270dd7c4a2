"""Fixtures every test layer may use. Nothing here starts Prefect or a database unless a test asks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Database fixtures (a real PostgreSQL), used by tests/db and tests/flows; lazy, so free elsewhere.
pytest_plugins = ["tests.pg", "tests.clients"]


def shared_dir() -> Path:
    """The reference data (official specs, real payloads): ``$JOBPIPE_SHARED_DIR`` or ``../shared``."""
    return Path(os.environ.get("JOBPIPE_SHARED_DIR", REPO.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_dir()
    if not (path / "hh-api").is_dir():
        pytest.fail(f"reference data not found at {path}: clone next to ../shared or set JOBPIPE_SHARED_DIR")
    return path


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """One Prefect test harness per session (entering it costs about 12 s), for every layer that runs
    flows (tests/flows, tests/faults); its API URL serves flow runs in subprocesses too."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    from bench.stack import stop_prefect_event_workers

    stop_prefect_event_workers()
    with prefect_test_harness(server_startup_timeout=120):
        yield str(PREFECT_API_URL.value())
        stop_prefect_event_workers()
