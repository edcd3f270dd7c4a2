"""The hook for a rate limit shared across processes (a Prefect global concurrency limit): taken once
per request after the local limiter, also for each retry, never when it is not configured; its
errors stop the request before anything is sent. No Prefect server: the acquire function is a fake."""

from __future__ import annotations

import time

import pytest
import requests

from flows import runtime
from flows.settings import ConfigurationError, load_settings
from tasks.extract.http import HttpCore, RetryPolicy


def response(status: int, body: bytes = b'{"ok": true}') -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer._content = body
    answer.headers["Content-Type"] = "application/json"
    answer.url = "http://api.test/vacancies"
    answer.request = requests.Request("GET", answer.url).prepare()
    return answer


class FakeSession:
    """Answers each request with the next of ``statuses``; records what happened, in order."""

    def __init__(self, events: list[str], statuses: list[int]) -> None:
        self.events = events
        self.statuses = statuses

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        self.events.append("sent")
        return response(self.statuses.pop(0))


def core_with(events: list[str], statuses: list[int], global_limit=None) -> HttpCore:
    core = HttpCore(
        "http://api.test",
        "test/1.0 (t@example.com)",
        rate_limit=0,
        retry=RetryPolicy(attempts=3, backoff=0.0, jitter=0.0),
        global_limit=global_limit,
    )
    local = core.limiter.acquire

    def local_acquire() -> float:
        events.append("local")
        return local()

    core.limiter.acquire = local_acquire  # type: ignore[method-assign]
    core._local.session = FakeSession(events, statuses)
    return core


def test_the_global_limit_is_taken_after_the_local_one_before_each_request_and_each_retry():
    events: list[str] = []
    core = core_with(events, [200, 429, 200], global_limit=lambda: events.append("global"))
    assert core.get("/vacancies") == {"ok": True}
    assert core.get("/vacancies") == {"ok": True}  # one 429, then the retry
    assert events == ["local", "global", "sent"] * 3


def test_without_a_global_limit_only_the_local_limiter_runs():
    events: list[str] = []
    core = core_with(events, [200, 200])
    core.get("/vacancies")
    core.get("/vacancies")
    assert events == ["local", "sent"] * 2


def test_time_waiting_for_the_global_limit_counts_as_waited():
    events: list[str] = []
    core = core_with(events, [200], global_limit=lambda: time.sleep(0.05))
    core.get("/vacancies")
    assert core.stats.waited >= 0.05


def test_a_refused_global_limit_stops_the_request_before_it_is_sent():
    events: list[str] = []

    def missing() -> None:
        raise ConfigurationError("HH_GLOBAL_RATE_LIMIT='hh-api': the limit does not exist")

    core = core_with(events, [200], global_limit=missing)
    with pytest.raises(ConfigurationError, match="does not exist"):
        core.get("/vacancies")
    assert "sent" not in events


def test_the_setting_names_the_limit_and_the_client_uses_it(tmp_path):
    env = {"JOBPIPE_HOME": str(tmp_path)}
    assert load_settings(env).hh.global_rate_limit is None
    assert runtime.hh_client(load_settings(env)).core.global_limit is None
    assert load_settings({**env, "HH_GLOBAL_RATE_LIMIT": "  "}).hh.global_rate_limit is None

    shared = load_settings({**env, "HH_GLOBAL_RATE_LIMIT": "hh-api"})
    assert shared.hh.global_rate_limit == "hh-api"
    assert callable(runtime.hh_client(shared).core.global_limit)


def test_a_limit_name_prefect_would_refuse_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="HH_GLOBAL_RATE_LIMIT"):
        load_settings({"JOBPIPE_HOME": str(tmp_path), "HH_GLOBAL_RATE_LIMIT": "hh/api"})
