"""Fault injection for the sandbox: an ASGI middleware in front of the hh.ru and Avito routes.

A :class:`FaultPlan` (``SandboxConfig.faults``) is a list of :class:`FaultRule`. Each rule matches
request paths (a template such as ``/vacancies/{id}`` or ``/avito/job/*``) and fires by schedule
(``requests=(40, 45)``: the 40th to 45th matching request, counted per rule, whether or not
another rule fired on it) or by probability
(a seeded RNG per rule, so a run with the same request order meets the same faults). The first rule
that fires decides the request's fate; one request meets at most one fault.

Kinds (:data:`KINDS`):

* ``429`` / ``429_retry_after``: Too Many Requests without / with ``Retry-After``;
* ``500``, ``502``, ``503``: the source's JSON error envelope; ``500_html``, ``502_html``,
  ``503_html``: an HTML error page like a proxy in front of the API sends;
* ``timeout``: the answer comes ``delay`` seconds late (longer than the client waits);
* ``drop_before_headers``: the connection closes before any byte of the answer;
  ``drop_mid_body``: the headers and half the body arrive, then the connection closes;
* ``truncated_json``: 200 with the first half of the real body (a complete HTTP answer);
  ``invalid_json``: 200 with a body that is not JSON;
* ``token_expired``: every access token issued so far stops working (hh.ru user tokens expire,
  the hh.ru application token is revoked, Avito tokens expire), then the request goes on;
* ``refresh_fail``: the token endpoints answer 503 (its rules match ``/token`` paths only);
* ``captcha``: hh.ru's 403 ``captcha_required`` (hh.ru paths only).

Without a path a rule matches every API path except the token endpoints (``refresh_fail``: only
those). The plan may be replaced on a running sandbox (``running.config.faults = FaultPlan(...)``);
counters and RNGs restart with a new plan. What was injected is counted per kind in
:attr:`FaultInjector.injected` (``app.state.faults``, ``RunningSandbox.faults``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

KINDS = (
    "429",
    "429_retry_after",
    "500",
    "502",
    "503",
    "500_html",
    "502_html",
    "503_html",
    "timeout",
    "drop_before_headers",
    "drop_mid_body",
    "truncated_json",
    "invalid_json",
    "token_expired",
    "refresh_fail",
    "captcha",
)
TOKEN_PATHS = frozenset({"/token", "/oauth/token", "/avito/token"})
AVITO_PREFIX = "/avito"


@dataclass(frozen=True)
class FaultRule:
    """One kind of fault, where and when it happens.

    Args:
        kind: one of :data:`KINDS`.
        path: a path template (``{name}`` matches one segment, a trailing ``*`` anything), or None.
        requests: ``(first, last)``, 1-based and inclusive, of the requests this rule matches.
        probability: chance of firing on each matching request (within ``requests`` when given).
        retry_after: seconds announced by ``429_retry_after``.
        delay: seconds a ``timeout`` answer is held back.
    """

    kind: str
    path: str | None = None
    requests: tuple[int, int] | None = None
    probability: float = 0.0
    retry_after: int = 1
    delay: float = 3.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(KINDS)}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        if self.requests is None and self.probability == 0.0:
            raise ValueError("a fault rule needs requests=(first, last) or a probability > 0")

    def matches(self, path: str) -> bool:
        if self.kind == "refresh_fail" and path not in TOKEN_PATHS:
            return False
        if self.kind == "captcha" and path.startswith(AVITO_PREFIX):
            return False
        if self.path is None:
            return self.kind == "refresh_fail" or path not in TOKEN_PATHS
        return _pattern(self.path).fullmatch(path) is not None


@dataclass(frozen=True)
class FaultPlan:
    """The rules of a fault campaign and the seed of their RNGs."""

    rules: tuple[FaultRule, ...] = ()
    seed: int = 0

    def __init__(self, rules: Any = (), seed: int = 0):
        object.__setattr__(self, "rules", tuple(rules))
        object.__setattr__(self, "seed", seed)


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]*\}|\*$)", template)
    regex = "".join(
        "[^/]+" if p.startswith("{") else ".*" if p == "*" else re.escape(p) for p in parts if p is not None
    )
    return re.compile(regex)


@dataclass
class _RuleState:
    rule: FaultRule
    rng: random.Random
    seen: int = 0


@dataclass
class FaultInjector:
    """Decides, per request, which fault (if any) it meets, and counts what was injected."""

    injected: Counter = field(default_factory=Counter)
    _plan: FaultPlan | None = None
    _states: list[_RuleState] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def choose(self, plan: FaultPlan | None, path: str) -> FaultRule | None:
        """The rule that fires for this request under ``plan``, or None; counts it."""
        with self._lock:
            if plan is not self._plan:
                self._plan = plan
                rules = plan.rules if plan else ()
                seed = plan.seed if plan else 0
                self._states = [_RuleState(r, random.Random(f"{seed}:{i}:{r.kind}")) for i, r in enumerate(rules)]
            fired = None
            for state in self._states:  # every matching rule counts the request, the first that fires wins
                rule = state.rule
                if not rule.matches(path):
                    continue
                state.seen += 1
                if rule.requests is not None and not rule.requests[0] <= state.seen <= rule.requests[1]:
                    continue
                if rule.probability and state.rng.random() >= rule.probability:
                    continue
                fired = fired or rule
            if fired is not None:
                self.injected[fired.kind] += 1
            return fired

    @property
    def total(self) -> int:
        return sum(self.injected.values())

    def reset(self) -> None:
        """Forget the counts (the plan's schedule restarts too)."""
        with self._lock:
            self.injected.clear()
            self._plan = None


class InjectedDrop(Exception):
    """Raised inside the server to make uvicorn close the connection (a dropped-connection fault)."""


class _QuietDrops(logging.Filter):
    """uvicorn logs every exception of the app; a planned drop is not one worth a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, InjectedDrop) and "without completing response" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())

_HTML = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1>"
    "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def _error_body(path: str, status: int) -> bytes:
    if path.startswith(AVITO_PREFIX):
        body: dict[str, Any] = {"error": {"code": status, "message": _REASONS[status]}}
    elif path in TOKEN_PATHS:
        body = {"error": "server_error", "error_description": _REASONS[status]}
    else:
        kind = {429: "too_many_requests", 500: "internal_error", 502: "bad_gateway", 503: "service_unavailable"}
        body = {"errors": [{"type": kind[status]}], "description": _REASONS[status]}
    return json.dumps(body).encode()


def _captcha_body() -> bytes:
    state = random.getrandbits(64)
    error = {
        "type": "captcha_required",
        "value": "captcha_required",
        "captcha_url": f"https://hh.ru/account/captcha?state={state:x}",
        "fallback_url": f"https://hh.ru/account/captcha?state={state:x}&fallback=true",
    }
    return json.dumps({"errors": [error], "description": "Forbidden"}).encode()


def expire_tokens(app: Any) -> None:
    """Make every access token issued so far unusable (``token_expired`` faults).

    hh.ru user tokens reach their expiry (so their refresh tokens become usable), the hh.ru
    application token is revoked (as when another one is issued), Avito tokens expire.
    """
    state = app.state
    hh = getattr(state, "auth", None)
    if hh is not None:
        with hh._lock:
            now = hh.clock()
            for pair in hh._by_access.values():
                pair.expires_at = min(pair.expires_at, now)
            if hh._app_token is not None:
                hh._old_app_tokens.add(hh._app_token)
                hh._app_token = None
                hh._app_issued_at = None
    avito = getattr(state, "avito_auth", None)
    if avito is not None:
        with avito._lock:
            now = avito.clock()
            for token in avito._tokens.values():
                token.expires_at = min(token.expires_at, now)


class FaultMiddleware:
    """ASGI middleware applying ``app.state.config.faults`` to each HTTP request."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        plan = getattr(state.config, "faults", None)
        injector: FaultInjector = state.faults
        rule = injector.choose(plan, scope["path"]) if plan is not None and plan.rules else None
        if rule is None:
            await self.app(scope, receive, send)
            return
        await self._inject(rule, scope, receive, send)

    async def _inject(self, rule: FaultRule, scope: dict, receive: Any, send: Any) -> None:
        path, kind = scope["path"], rule.kind
        if kind == "timeout":
            await asyncio.sleep(rule.delay)
            await self.app(scope, receive, send)
        elif kind == "token_expired":
            expire_tokens(scope["app"])
            await self.app(scope, receive, send)
        elif kind == "drop_before_headers":
            await _drain(receive)
            try:
                # uvicorn marks the answer as started, then fails on the status line before writing
                # a byte; the exception makes it close the connection.
                await send({"type": "http.response.start", "status": 600, "headers": []})
            except Exception:
                pass
            raise InjectedDrop("connection dropped before the headers")
        elif kind in ("drop_mid_body", "truncated_json"):
            status, headers, body = await _capture(self.app, scope, receive)
            half = body[: len(body) // 2]
            if kind == "drop_mid_body":
                headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": half, "more_body": True})
                raise InjectedDrop("connection dropped in the middle of the body")
            await _answer(send, 200, half, b"application/json")
        elif kind == "invalid_json":
            await _drain(receive)
            await _answer(send, 200, b'{"items": [{"id": "1", "name": "broken', b"application/json")
        elif kind == "captcha":
            await _drain(receive)
            await _answer(send, 403, _captcha_body(), b"application/json")
        else:
            await _drain(receive)
            status = 503 if kind == "refresh_fail" else int(kind[:3])
            headers = [(b"retry-after", str(rule.retry_after).encode())] if kind == "429_retry_after" else []
            if kind.endswith("_html"):
                page = _HTML.format(status=status, reason=_REASONS[status]).encode()
                await _answer(send, status, page, b"text/html", headers)
            else:
                await _answer(send, status, _error_body(path, status), b"application/json", headers)


async def _drain(receive: Any) -> None:
    """Read the request body so the connection stays in a clean state."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


async def _answer(
    send: Any, status: int, body: bytes, content_type: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    head = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


async def _capture(app: Any, scope: dict, receive: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Run the real handler and return its status, headers and whole body."""
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def collect(message: dict) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, collect)
    return status, headers, b"".join(chunks)
