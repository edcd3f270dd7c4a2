"""hh.ru's limit shared across processes (flows/shared_limit.py): the hook runs once per request after
the local limiter, also for each retry, never when it is not configured, and its errors stop the
request before anything is sent; the share follows the processes holding a slot. No Prefect server
here: the slots are a fake (tests/flows/test_shared_limit.py runs them on a real one)."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from jobpipe import connect as runtime
from jobpipe.settings import ConfigurationError, load_settings
from jobpipe.shared_limit import SharedRate
from tasks.sync.http import HttpCore, RateLimiter, RetryPolicy


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
    assert runtime.Connections(load_settings(env)).hh().core.global_limit is None
    assert load_settings({**env, "HH_GLOBAL_RATE_LIMIT": "  "}).hh.global_rate_limit is None

    shared = load_settings({**env, "HH_GLOBAL_RATE_LIMIT": "hh-api", "HH_RATE_LIMIT": "10"})
    assert shared.hh.global_rate_limit == "hh-api"
    first, second = runtime.Connections(shared).hh(), runtime.Connections(shared).hh()
    # one share per process, whatever number of clients; nothing asked of Prefect before a request
    assert isinstance(first.core.global_limit, SharedRate) and first.core.global_limit is second.core.global_limit
    assert first.core.global_limit.rate == 10 and first.core.limiter.target == 10


def test_a_limit_name_prefect_would_refuse_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="HH_GLOBAL_RATE_LIMIT"):
        load_settings({"JOBPIPE_HOME": str(tmp_path), "HH_GLOBAL_RATE_LIMIT": "hh/api"})


class FakeSlots:
    """The server side of one shared limit, as several processes see it."""

    def __init__(self) -> None:
        self.leases: set[uuid.UUID] = set()
        self.calls = 0

    def take(self) -> uuid.UUID:
        self.calls += 1
        lease = uuid.uuid4()
        self.leases.add(lease)
        return lease

    def renew(self, lease: uuid.UUID) -> bool:
        self.calls += 1
        return lease in self.leases

    def give_back(self, lease: uuid.UUID) -> None:
        self.leases.discard(lease)

    def held(self) -> int:
        self.calls += 1
        return len(self.leases)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def process(slots: FakeSlots, clock: Clock, rate: float = 10.0) -> tuple[SharedRate, RateLimiter]:
    shared = SharedRate(slots, rate, refresh=2.0, lease_seconds=60.0, clock=clock)
    limiter = RateLimiter(rate)
    shared.attach(limiter)
    return shared, limiter


def test_processes_split_the_rate_and_the_last_one_gets_it_back():
    slots, clock = FakeSlots(), Clock()
    (a, a_limiter), (b, b_limiter) = process(slots, clock), process(slots, clock)
    a()  # A's first request takes a slot: alone, the whole rate
    assert len(slots.leases) == 1 and a_limiter.target == 10
    b()  # B joins: it sees two holders at once
    assert len(slots.leases) == 2 and b_limiter.target == 5
    a()  # A keeps its share until its next refresh ...
    assert a_limiter.target == 10
    clock.now += 2.0
    a()  # ... then halves it
    assert a_limiter.target == 5 and a_limiter.rate == 5
    b.close()  # B is done: its slot goes back at once
    assert len(slots.leases) == 1
    clock.now += 2.0
    a()
    assert a_limiter.target == 10 and a_limiter.rate == 10


def test_the_api_is_asked_per_refresh_not_per_request():
    slots, clock = FakeSlots(), Clock()
    shared, _ = process(slots, clock)
    for _ in range(1000):
        shared()
    assert slots.calls == 2  # the slot and the count
    clock.now += 2.0
    for _ in range(1000):
        shared()
    assert slots.calls == 3  # the count again; the lease is renewed every 20 s (a third of 60 s)
    clock.now += 20.0
    shared()
    assert slots.calls == 5


def test_a_lease_that_ran_out_while_idle_is_taken_again():
    slots, clock = FakeSlots(), Clock()
    shared, limiter = process(slots, clock)
    shared()
    slots.leases.clear()  # idle past the lease: the server revoked it
    clock.now += 120.0
    shared()
    assert len(slots.leases) == 1 and limiter.target == 10


def test_a_slowed_limiter_keeps_its_proportion_when_its_share_changes():
    limiter = RateLimiter(10.0)
    limiter.slow_down()  # a 429: 7.5 of 10
    limiter.retarget(5.0)
    assert limiter.target == 5.0 and limiter.rate == pytest.approx(3.75)
    limiter.retarget(10.0)
    assert limiter.rate == pytest.approx(7.5)


def test_an_unlimited_limiter_takes_the_share():
    limiter = RateLimiter(0)
    limiter.retarget(5.0)
    assert limiter.rate == limiter.target == 5.0


def test_closing_the_core_gives_the_slot_back():
    slots, clock = FakeSlots(), Clock()
    shared = SharedRate(slots, 10.0, clock=clock)
    events: list[str] = []
    core = core_with(events, [200], global_limit=shared)
    core.get("/vacancies")
    assert len(slots.leases) == 1
    core.close()
    assert not slots.leases
