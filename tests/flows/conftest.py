"""The session's Prefect harness for every flow test, and an environment that
points jobpipe at the test database and a private home directory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def prefect_harness(prefect_api: str) -> Iterator[None]:
    """Every flow test runs against the session's one Prefect harness (tests/conftest.py)."""
    yield


@pytest.fixture(scope="session")
def jobpipe_home(tmp_path_factory: pytest.TempPathFactory):
    # one home (and so one token store) per session, like one user's machine: the emulator, like
    # hh.ru, issues an application token at most once per 5 minutes
    return tmp_path_factory.mktemp("home")


@pytest.fixture
def jobpipe_env(monkeypatch: pytest.MonkeyPatch, jobpipe_home, database_url: str, engine) -> str:
    """Environment of a flow run: the (emptied) test database and the session's JOBPIPE_HOME."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("JOBPIPE_HOME", str(jobpipe_home))
    monkeypatch.delenv("JOBPIPE_SEARCHES", raising=False)
    return database_url
