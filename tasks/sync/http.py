"""The one HTTP core that every API client (hh.ru, Avito) uses.

It owns what is the same for every source: a User-Agent, timeouts, a shared rate limiter,
retries with exponential backoff and jitter on 429 and 5xx (``Retry-After`` honoured) and on
transient faults (no answer, a timeout, a connection closed mid-body, a 2xx body that is not
JSON), re-authentication once on an expired token, and a count of the calls made. Per-source clients
only describe endpoints, pagination and how their errors look (:class:`ErrorPolicy`).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# No answer, or an answer cut short: the connection failed, timed out, or closed mid-body.
TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class ApiError(RuntimeError):
    """An API answered with an error that retrying will not fix."""

    def __init__(self, message: str, status: int | None = None, body: Any = None):
        super().__init__(message)
        self.status = status
        self.body = body


class StopRun(ApiError):
    """The run must stop and a person must act (captcha, banned User-Agent, revoked access)."""


class AuthExpired(ApiError):
    """The token was refused as expired; the caller re-authenticates once and retries."""


class RateLimiter:
    """A token bucket shared by every thread of a client: at most ``rate`` requests per second.

    ``burst`` requests may go at once after an idle period; after that they are spaced out. When the
    API answers 429 the rate drops (at most once per second, by ``slow_factor``); each success then
    brings it back a little towards the configured rate, so a misjudged limit costs a few 429s,
    not a storm and not a crawl.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        slow_factor: float = 0.75,
        floor: float = 0.5,
        unlimited_start: float = 4.0,
    ):
        self.target = rate
        self.rate = rate
        self.burst = max(1, burst)
        self.slow_factor = slow_factor
        self.floor = floor
        self.unlimited_start = unlimited_start
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(self.burst)
        self._updated = clock()
        self._slowed_at = float("-inf")

    def slow_down(self, announced: float | None = None) -> None:
        """The API said 429: send slower (an unlimited limiter starts limiting).

        ``announced`` is the API's own limit in requests per second, when it says (Avito's
        ``X-RateLimit-Limit``): the rate then drops straight to 90% of it, for good.
        """
        with self._lock:
            now = self._clock()
            if announced and announced > 0 and (self.rate <= 0 or self.rate > announced * 0.9):
                self.target = self.rate = announced * 0.9
                self._slowed_at = now
                return
            if now - self._slowed_at < 1.0:
                return  # one 429 burst seen by several threads counts once
            self._slowed_at = now
            if self.rate <= 0:
                self.target = self.rate = self.unlimited_start
            else:
                self.rate = max(self.floor, self.rate * self.slow_factor)

    def retarget(self, rate: float) -> None:
        """A new configured rate (a shared limit's share changed): a rate slowed down by 429s keeps
        its proportion of the target, and moves back towards the new target as before."""
        with self._lock:
            if self.target > 0 and rate > 0:
                self.rate = min(rate, self.rate * rate / self.target)
            else:
                self.rate = rate
            self.target = rate

    def recover(self) -> None:
        """A request went through: move the rate back towards the configured one."""
        if 0 < self.rate < self.target:
            with self._lock:
                self.rate = min(self.target, self.rate + max(0.05, (self.target - self.rate) * 0.05))

    def acquire(self) -> float:
        """Wait for a slot; return the seconds waited."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        if wait > 0:
            self._sleep(wait)
        return wait


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    backoff: float = 0.5  # first delay in seconds; doubles each attempt
    max_delay: float = 30.0
    jitter: float = 0.5  # each delay is multiplied by a random factor in [1-jitter, 1+jitter]

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry ``attempt`` (0-based); never less than ``Retry-After``."""
        delay = min(self.max_delay, self.backoff * (2**attempt)) * rng.uniform(1 - self.jitter, 1 + self.jitter)
        if retry_after is not None:
            # spread clients that were told the same moment, but never come back early
            delay = max(delay, min(retry_after, self.max_delay * 4) * rng.uniform(1, 1 + self.jitter / 2))
        return delay


class ErrorPolicy:
    """How a source's error responses are told apart; the default treats every 4xx as final."""

    def classify(self, response: requests.Response, body: Any) -> ApiError | None:
        """Return the error to raise for a non-retryable failure, or None to accept the response."""
        if response.status_code < 400:
            return None
        return ApiError(
            f"{response.request.method} {_path(response.url)} failed with HTTP {response.status_code}",
            response.status_code,
            body,
        )


@dataclass
class CallStats:
    """How many requests a client made, by path and by outcome."""

    calls: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    retries: int = 0
    waited: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, path: str) -> None:
        with self._lock:
            self.calls[path] += 1

    def outcome(self, status: int) -> None:
        with self._lock:
            self.statuses[status] += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def _path(url: str) -> str:
    return requests.utils.urlparse(url).path or "/"


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _announced_rate(response: requests.Response) -> float | None:
    """Requests per second from ``X-RateLimit-Limit`` (Avito states it per minute)."""
    try:
        return float(response.headers["X-RateLimit-Limit"]) / 60.0
    except (KeyError, ValueError):
        return None


def _content_type(response: requests.Response) -> str:
    return (response.headers.get("Content-Type") or "no content type").split(";")[0]


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


class HttpCore:
    """Sends requests for one API: base URL, headers, limiter, retries and authentication.

    Args:
        base_url: the API root, e.g. ``https://api.hh.ru``.
        user_agent: sent as ``User-Agent`` (and as any extra header names in ``ua_headers``).
        rate_limit: requests per second shared by all threads using this core.
        auth: returns the ``Authorization`` header value, or None for anonymous calls; called
            with ``rejected=<the header the API refused as expired>`` to get a renewed one.
        errors: the source's error classification.
        timeout: (connect, read) seconds.
        global_limit: called once per request, after the local limiter: a limit shared with other
            processes (:class:`jobpipe.shared_limit.SharedRate`, which sets this core's limiter to
            the process's share); its ``close``, if any, is called by :meth:`close`. None: only
            the local limiter applies.
    """

    def __init__(
        self,
        base_url: str,
        user_agent: str,
        *,
        rate_limit: float = 4.0,
        burst: int = 1,
        auth: Callable[..., str | None] | None = None,
        errors: ErrorPolicy | None = None,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        ua_headers: tuple[str, ...] = (),
        seed: int | None = None,
        global_limit: Callable[[], None] | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.headers = {"User-Agent": user_agent, "Accept": "application/json"}
        for name in ua_headers:
            self.headers[name] = user_agent
        self.limiter = RateLimiter(rate_limit, burst)
        self.global_limit = global_limit
        self.auth = auth
        self.errors = errors or ErrorPolicy()
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.stats = CallStats()
        self._rng = random.Random(seed)
        self._local = threading.local()

    def close(self) -> None:
        """The work is done: give back what is shared with other processes (a later request takes
        it again)."""
        close = getattr(self.global_limit, "close", None)
        if close is not None:
            close()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(self.headers)
            self._local.session = session
        return session

    def get(self, path: str, params: Mapping[str, Any] | None = None, **kw: Any) -> Any:
        return self.request("GET", path, params=params, **kw)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        json_body: Any = None,
        authenticate: bool = True,
    ) -> Any:
        """Send one request with retries; return the decoded JSON body (None when empty).

        Raises:
            StopRun: the API requires a person (captcha, blocked application).
            ApiError: a final error, or retries exhausted.
        """
        url = self.base_url + path
        refreshed = False  # re-authenticate at most once per request
        rejected: str | None = None
        attempt = 0
        while True:
            headers = {}
            if authenticate and self.auth is not None:
                value = self.auth(rejected=rejected)
                rejected = None
                if value:
                    headers["Authorization"] = value
            self.stats.waited += self.limiter.acquire()
            if self.global_limit is not None:
                started = time.monotonic()
                self.global_limit()
                self.stats.waited += time.monotonic() - started
            self.stats.record(path if method == "GET" else f"{method} {path}")
            try:
                response = self._session().request(
                    method, url, params=params, data=data, json=json_body, headers=headers, timeout=self.timeout
                )
            except TRANSIENT_ERRORS as exc:
                if attempt + 1 >= self.retry.attempts:
                    raise ApiError(
                        f"{method} {path}: no answer after {attempt + 1} attempts ({type(exc).__name__}); "
                        "check the network or the API's status and run again"
                    ) from None
                self._sleep(attempt, None, f"{type(exc).__name__}")
                attempt += 1
                continue

            body = _json_or_none(response)
            self.stats.outcome(response.status_code)
            if response.status_code == 429:
                self.limiter.slow_down(_announced_rate(response))
                log.warning(
                    "%s %s: 429 Too Many Requests, now at most %.1f requests/s", method, path, self.limiter.rate
                )
            if response.status_code in RETRY_STATUSES:
                if attempt + 1 >= self.retry.attempts:
                    raise ApiError(
                        f"{method} {path}: HTTP {response.status_code} after {attempt + 1} attempts; "
                        "the API is overloaded or failing, run again later",
                        response.status_code,
                        body,
                    )
                self._sleep(attempt, _retry_after(response), f"HTTP {response.status_code}")
                attempt += 1
                continue

            self.limiter.recover()
            error = self.errors.classify(response, body)
            if isinstance(error, AuthExpired) and not refreshed and self.auth is not None:
                log.info("%s %s: token expired, re-authenticating once", method, path)
                refreshed = True
                rejected = headers.get("Authorization", "")
                continue
            if isinstance(error, AuthExpired) and refreshed:
                raise StopRun(
                    f"{method} {path}: the API refused the token again right after it was renewed ({error}); "
                    "check the client credentials or authorize again, then run again",
                    error.status,
                    error.body,
                )
            if error is not None:
                raise error
            if response.status_code == 204 or not response.content:
                return None
            if body is None:
                # a success whose body is cut short or not JSON (a proxy's page): a transient fault
                if attempt + 1 >= self.retry.attempts:
                    raise ApiError(
                        f"{method} {path}: HTTP {response.status_code} with a body that is not JSON "
                        f"({_content_type(response)}) after {attempt + 1} attempts; the API or a proxy in "
                        "front of it is failing, run again later",
                        response.status_code,
                    )
                self._sleep(attempt, None, f"HTTP {response.status_code} with a body that is not JSON")
                attempt += 1
                continue
            return body

    def _sleep(self, attempt: int, retry_after: float | None, why: str) -> None:
        delay = self.retry.delay(attempt, retry_after, self._rng)
        self.stats.retries += 1
        log.warning("retrying in %.1fs after %s (attempt %d)", delay, why, attempt + 1)
        time.sleep(delay)


def fetch_many(fetch: Callable[[str], Any], ids: Sequence[str], workers: int) -> dict[str, Any]:
    """``{id: fetch(id)}`` for many ids, ``workers`` requests in flight (a client's rate limiter still
    rules)."""
    if not ids:
        return {}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(ids)))) as pool:
        return dict(zip(ids, pool.map(fetch, ids), strict=True))
