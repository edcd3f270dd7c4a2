"""The shared HTTP core's pure parts: the rate limiter and the retry delays."""

from __future__ import annotations

import random

import pytest

from tasks.sync.http import RateLimiter, RetryPolicy


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.parametrize(("rate", "burst", "n"), [(4.0, 1, 41), (10.0, 1, 101), (10.0, 5, 105)])
def test_rate_limiter_spaces_requests(rate, burst, n):
    t = FakeTime()
    limiter = RateLimiter(rate, burst, clock=t.clock, sleep=t.sleep)
    for _ in range(n):
        limiter.acquire()
    # after the initial burst, one request per 1/rate seconds
    assert t.now == pytest.approx((n - burst) / rate)


def test_rate_limiter_refills_while_idle():
    t = FakeTime()
    limiter = RateLimiter(2.0, 1, clock=t.clock, sleep=t.sleep)
    limiter.acquire()
    t.now += 10
    assert limiter.acquire() == 0.0


def test_rate_limiter_off():
    assert RateLimiter(0, clock=lambda: 0.0, sleep=lambda s: pytest.fail("slept")).acquire() == 0.0


def test_retry_delays_grow_honour_retry_after_and_jitter():
    policy = RetryPolicy(backoff=0.5, max_delay=30, jitter=0.5)
    rng = random.Random(1)
    delays = [policy.delay(a, None, rng) for a in range(5)]
    for attempt, delay in enumerate(delays):
        base = 0.5 * 2**attempt
        assert base * 0.5 <= delay <= base * 1.5
    assert all(policy.delay(0, 12.0, rng) >= 12.0 for _ in range(50))  # never before Retry-After
    assert policy.delay(20, None, rng) <= 30 * 1.5  # capped


def test_429_slows_down_once_per_burst_then_recovers():
    t = FakeTime()
    limiter = RateLimiter(8.0, clock=t.clock, sleep=t.sleep)
    for _ in range(5):  # five threads see the same 429 burst
        limiter.slow_down()
    assert limiter.rate == pytest.approx(6.0)
    t.now += 1.5
    limiter.slow_down()
    assert limiter.rate == pytest.approx(4.5)
    for _ in range(200):
        limiter.recover()
    assert limiter.rate == pytest.approx(8.0)


def test_an_unlimited_limiter_starts_limiting_on_429():
    t = FakeTime()
    limiter = RateLimiter(0, clock=t.clock, sleep=t.sleep)
    limiter.slow_down()
    assert limiter.rate == 4.0


def test_an_announced_limit_sets_the_rate_at_once():
    t = FakeTime()
    limiter = RateLimiter(200.0, clock=t.clock, sleep=t.sleep)
    limiter.slow_down(announced=10.0)  # X-RateLimit-Limit: 600 per minute
    assert limiter.rate == pytest.approx(9.0)
    for _ in range(100):
        limiter.recover()
    assert limiter.rate == pytest.approx(9.0)  # never back above what the API announced
