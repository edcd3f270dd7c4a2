"""Fixtures of the sandbox tests: the parsed spec, a shared 30k-vacancy sandbox, small throwaway ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_core import OpenAPI

from sandbox.avito_config import AvitoConfig
from sandbox.config import SandboxConfig
from sandbox.server import RunningSandbox, start_in_thread
from tests.sandbox.spec_tools import avito_reality, load_avito_specs, load_spec

REPO_ROOT = Path(__file__).resolve().parents[2]
ANCHOR = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
UA = "jobpipe-tests/1.0 (tests@example.com)"
BASE_CONFIG = SandboxConfig(seed=7, vacancies=3000, anchor=ANCHOR, rate_limit_rps=0)
AVITO_CLIENT = {"client_id": "sandbox-avito-client-id", "client_secret": "sandbox-avito-client-secret"}
AVITO_ACCOUNT = 94235311


class ManualClock:
    """A clock tests move by hand (POSIX seconds)."""

    def __init__(self, start: float):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def spec(shared: Path) -> dict[str, Any]:
    return load_spec(shared / "hh-api" / "openapi-2026-02.yml")


@pytest.fixture(scope="session")
def spec_api(spec: dict[str, Any]) -> OpenAPI:
    return OpenAPI.from_dict(spec)


@pytest.fixture(scope="session")
def big_sandbox() -> Iterator[RunningSandbox]:
    """30 000 vacancies, no rate limit. Read-only: tests must not change its world or config."""
    sb = start_in_thread(replace(BASE_CONFIG, vacancies=30000))
    yield sb
    sb.stop()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A session that identifies itself like a well-behaved hh.ru client."""
    with requests.Session() as session:
        session.headers["HH-User-Agent"] = UA
        yield session


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., RunningSandbox]]:
    """Start small sandboxes with config overrides (and ``clock=``); all are stopped afterwards."""
    started: list[RunningSandbox] = []

    def make(clock: Callable[[], float] | None = None, **overrides: Any) -> RunningSandbox:
        sb = start_in_thread(replace(BASE_CONFIG, **overrides), clock=clock)
        started.append(sb)
        return sb

    yield make
    for sb in started:
        sb.stop()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(ANCHOR.timestamp())


# ---------------------------------------------------------------------- Avito


@pytest.fixture(scope="session")
def avito_specs(shared: Path) -> dict[str, dict[str, Any]]:
    """The official Avito specs (auth, user, messenger, job), normalized to load."""
    return load_avito_specs(shared / "avito-api")


@pytest.fixture(scope="session")
def avito_api(avito_specs: dict[str, dict[str, Any]]) -> dict[str, OpenAPI]:
    """openapi-core objects of the specs as published (after normalization only)."""
    return {name: OpenAPI.from_dict(spec) for name, spec in avito_specs.items()}


@pytest.fixture(scope="session")
def avito_real_api(avito_specs: dict[str, dict[str, Any]]) -> dict[str, OpenAPI]:
    """The specs with the documented spec-vs-reality differences allowed (see ``avito_reality``)."""
    return {name: OpenAPI.from_dict(spec) for name, spec in avito_reality(avito_specs).items()}


def avito_sandbox_config(**avito: Any) -> SandboxConfig:
    """A sandbox without hh.ru vacancies whose Avito part has no Job rate limit unless asked."""
    return replace(BASE_CONFIG, vacancies=0, avito=AvitoConfig(**{"job_rate_limit_rps": 0, **avito}))


@pytest.fixture(scope="session")
def avito_sandbox() -> Iterator[RunningSandbox]:
    """3000 chats and 3000 applications, no rate limit. Read-only: tests must not change it."""
    sb = start_in_thread(avito_sandbox_config(chats=3000, applications=3000))
    yield sb
    sb.stop()


@pytest.fixture
def make_avito() -> Iterator[Callable[..., RunningSandbox]]:
    """Start small Avito sandboxes with AvitoConfig overrides (and ``clock=``); stopped afterwards."""
    started: list[RunningSandbox] = []

    def make(clock: Callable[[], float] | None = None, **avito: Any) -> RunningSandbox:
        sb = start_in_thread(avito_sandbox_config(**avito), clock=clock)
        started.append(sb)
        return sb

    yield make
    for sb in started:
        sb.stop()


def avito_session(sb: RunningSandbox) -> requests.Session:
    """A session holding a fresh client-credentials token of ``sb`` (got over HTTP)."""
    session = requests.Session()
    r = session.post(f"{sb.avito_url}/token", data={"grant_type": "client_credentials", **AVITO_CLIENT})
    assert r.status_code == 200, r.text
    session.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return session


@pytest.fixture(scope="session")
def avito_http(avito_sandbox: RunningSandbox) -> Iterator[requests.Session]:
    """An authorized session on the shared ``avito_sandbox``."""
    with avito_session(avito_sandbox) as session:
        yield session
