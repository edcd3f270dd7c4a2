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

from sandbox.config import SandboxConfig
from sandbox.server import RunningSandbox, start_in_thread
from tests.sandbox.spec_tools import load_spec

REPO_ROOT = Path(__file__).resolve().parents[2]
ANCHOR = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
UA = "jobpipe-tests/1.0 (tests@example.com)"
BASE_CONFIG = SandboxConfig(seed=7, vacancies=3000, anchor=ANCHOR, rate_limit_rps=0)


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
