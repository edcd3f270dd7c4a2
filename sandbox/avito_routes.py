"""HTTP routes of the emulated Avito API, served as a Starlette sub-app mounted at ``/avito``.

A client uses ``<sandbox url>/avito`` as its base URL and the real paths below it. Every data route
runs through the same gate, in this order:

1. the rate limit, counted at arrival, then ``latency_ms`` of asyncio sleep (in parallel);
2. rate limit per client (bearer header, else remote address) and group: ``/job/...`` at
   ``job_rate_limit_rps``, ``/messenger/...`` at ``messenger_rate_limit_rps`` (0 = off), over a
   sliding 1-second window. A limited group answers ``X-RateLimit-Limit`` (per minute, rps × 60) and
   ``X-RateLimit-Remaining`` (left in the current 1-second window) on every response, and 429
   ``{"error": {"code": 429}}`` (+ ``Retry-After`` when ``retry_after`` is set) above the rate;
3. an injected ``fail_status`` (503/500) with probability ``fail_rate`` (seeded RNG);
4. the bearer token: missing/unknown → 401; expired → per ``expired_token_status``;
5. 402 Payment required when the route's group is in ``tariff_402``;
6. the handler; the answer is counted in the shared :class:`~sandbox.stats.RequestStats` under
   ``/avito`` + the spec's path template.

``POST /token`` (also ``/token/``) skips steps 1–5.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.avito_auth import AccessToken, AvitoAuth, BearerError, TokenError
from sandbox.avito_config import AvitoConfig
from sandbox.avito_data import (
    RESUME_FIELDS,
    RESUME_PARAMS,
    STATES,
    AvitoWorld,
    Clock,
    message_payload,
    moscow_midnight,
)
from sandbox.config import SandboxConfig
from sandbox.rate_limit import SlidingWindowLimiter
from sandbox.stats import RequestStats

PREFIX = "/avito"
MAX_LIMIT = 100
MAX_OFFSET = 1000
PAGE_SIZE = 100
"""``get_ids`` page size."""
CHAT_TYPES = frozenset({"u2i", "u2u", "a2u"})
_OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
_MESSAGES = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    500: "Error while processing request. Please, contact support",
    503: "Service temporarily unavailable. Please, contact support",
}
EXPIRED_RESULT_BODY = {"result": {"message": "access token expired", "status": False}}


class WindowLimiter(SlidingWindowLimiter):
    """The sandbox limiter plus what is left in the window (for ``X-RateLimit-Remaining``)."""

    def hit(self, key: str, rps: float) -> tuple[bool, int]:
        """Record a request; (allowed, requests left in the current window after it)."""
        allowed = self.allow(key, rps)
        with self._lock:
            used = len(self._hits.get(key, ()))
        return allowed, max(0, int(rps) - used)


@dataclass(slots=True)
class AvitoRuntime:
    """Per-app machinery of the Avito routes (on the sub-app's ``state.runtime``)."""

    limiter: WindowLimiter
    fail_rng: random.Random


@dataclass(frozen=True, slots=True)
class Ctx:
    """What the gate hands to a handler."""

    token: AccessToken | None


Handler = Callable[[Request, Ctx], Awaitable[Response]]


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON answer (non-ASCII kept as UTF-8)."""
    return JSONResponse(body, status_code=status, headers=headers)


def error(status: int, message: str | None = None, **extra: Any) -> JSONResponse:
    """The common Avito error body ``{"error": {"code": status, "message": ...}}``."""
    body: dict[str, Any] = {"code": status, "message": message or _MESSAGES.get(status, "Error")}
    body.update(extra)
    return json_response(status, {"error": body})


def validation_error(fields: dict[str, str]) -> JSONResponse:
    """400 ``{"error": {"code": 400, "message": "Validation error", "fields": {...}}}``."""
    return error(400, "Validation error", fields=fields)


def _cfg(request: Request) -> AvitoConfig:
    return request.app.state.sandbox_config.avito


def _world(request: Request) -> AvitoWorld:
    return request.app.state.world


def avito_route(
    path: str,
    methods: list[str],
    *,
    data: bool = True,
    group: str | None = None,
    tariff: frozenset[str] = frozenset(),
    aliases: tuple[str, ...] = (),
) -> Callable[[Handler], list[Route]]:
    """Wrap a handler with the gate of the module docstring; Routes for ``path`` and its ``aliases``.

    ``group`` (``job``/``messenger``) selects the rate limit, ``tariff`` the ``tariff_402`` entries
    that make the route answer 402. Stats use ``/avito`` + ``path`` for the aliases too.
    """

    def wrap(handler: Handler) -> list[Route]:
        async def endpoint(request: Request) -> Response:
            response = await _gate(request, handler, data, group, tariff)
            request.app.state.stats.record(request.method, PREFIX + path, response.status_code)
            return response

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return [Route(p, endpoint, methods=methods) for p in (path, *aliases)]

    return wrap


async def _gate(request: Request, handler: Handler, data: bool, group: str | None, tariff: frozenset[str]) -> Response:
    cfg = _cfg(request)
    runtime: AvitoRuntime = request.app.state.runtime
    if not data:
        return await handler(request, Ctx(None))
    # the limit is counted when the request arrives, as a real front does; the answer (429 or data)
    # comes after the emulated latency either way
    rps = {"job": cfg.job_rate_limit_rps, "messenger": cfg.messenger_rate_limit_rps}.get(group or "", 0.0)
    limit_headers: dict[str, str] = {}
    allowed = True
    if rps > 0:
        authorization = request.headers.get("authorization")
        who = f"token:{authorization}" if authorization else f"addr:{request.client.host if request.client else '?'}"
        allowed, remaining = runtime.limiter.hit(f"{group}:{who}", rps)
        limit_headers = {"X-RateLimit-Limit": str(int(rps * 60)), "X-RateLimit-Remaining": str(remaining)}
    if cfg.latency_ms > 0:
        await asyncio.sleep(cfg.latency_ms / 1000)
    if not allowed:
        headers = dict(limit_headers)
        if cfg.retry_after is not None:
            headers["Retry-After"] = str(cfg.retry_after)
        return json_response(429, {"error": {"code": 429}}, headers)
    response = await _checked(request, handler, cfg, runtime, tariff)
    response.headers.update(limit_headers)
    return response


async def _checked(
    request: Request, handler: Handler, cfg: AvitoConfig, runtime: AvitoRuntime, tariff: frozenset[str]
) -> Response:
    if cfg.fail_rate > 0 and runtime.fail_rng.random() < cfg.fail_rate:
        return error(cfg.fail_status)
    auth: AvitoAuth = request.app.state.auth
    try:
        token = auth.identify(request.headers.get("authorization"))
    except BearerError as exc:
        if exc.kind == "expired":
            if cfg.expired_token_status == "result":  # noqa: S105 - a mode name, not a secret
                return json_response(403, EXPIRED_RESULT_BODY)
            return error(int(cfg.expired_token_status))
        return error(401)
    if tariff & cfg.tariff_402:
        return error(402)
    return await handler(request, Ctx(token))


# ---------------------------------------------------------------------- parameters


class Invalid(Exception):
    """A parameter that cannot be used: becomes a 400 validation error naming it."""

    def __init__(self, name: str, reason: str):
        super().__init__(name)
        self.name = name
        self.reason = reason


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(name, "must be an integer") from None
    if not lo <= value <= hi:
        raise Invalid(name, f"must be between {lo} and {hi}")
    return value


def _bool_param(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    low = raw.lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    raise Invalid(name, "must be a boolean")


def _list_param(request: Request, name: str) -> list[str] | None:
    """A comma list (``a,b``), also given as a repeated parameter; None when absent or empty."""
    values = [v.strip() for raw in request.query_params.getlist(name) for v in raw.split(",") if v.strip()]
    return values or None


def _int_list_param(request: Request, name: str) -> list[int] | None:
    values = _list_param(request, name)
    if values is None:
        return None
    if not all(v.isdigit() for v in values):
        raise Invalid(name, "must be a comma-separated list of integers")
    return [int(v) for v in values]


def _own_account(request: Request) -> Response | None:
    """None when ``{user_id}`` is the account; else 400 (not a number) or 403 (someone else)."""
    raw = request.path_params["user_id"]
    if not raw.isdigit():
        return validation_error({"user_id": "must be an integer"})
    if int(raw) != _world(request).account_id:
        return error(403)
    return None


def _paging(request: Request, fields: dict[str, str]) -> tuple[int, int]:
    limit = offset = 0
    try:
        limit = _int_param(request, "limit", MAX_LIMIT, 1, MAX_LIMIT)
    except Invalid as exc:
        fields[exc.name] = exc.reason
    try:
        offset = _int_param(request, "offset", 0, 0, MAX_OFFSET)
    except Invalid as exc:
        fields[exc.name] = exc.reason
    return limit, offset


# ---------------------------------------------------------------------- auth and account


@avito_route("/token", ["POST"], data=False, aliases=("/token/",))
async def post_token(request: Request, ctx: Ctx) -> Response:
    """``POST /token`` (form-encoded): client_credentials, authorization_code, refresh_token."""
    form: dict[str, str] = {}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = dict(parse_qsl((await request.body()).decode("utf-8", errors="replace"), keep_blank_values=True))
    try:
        return json_response(200, request.app.state.auth.grant(form))
    except TokenError as exc:
        return json_response(exc.status, exc.body())


@avito_route("/core/v1/accounts/self", ["GET"])
async def get_self(request: Request, ctx: Ctx) -> Response:
    """The account behind the token (its ``id`` is the messenger ``user_id``)."""
    return json_response(200, _world(request).account)


# ---------------------------------------------------------------------- messenger


@avito_route("/messenger/v2/accounts/{user_id}/chats", ["GET"], group="messenger")
async def get_chats(request: Request, ctx: Ctx) -> Response:
    """Chats, newest ``updated`` first (ties by id); limit 1..100, offset 0..1000."""
    if (refused := _own_account(request)) is not None:
        return refused
    fields: dict[str, str] = {}
    limit, offset = _paging(request, fields)
    types = _list_param(request, "chat_types") or ["u2i"]
    if not set(types) <= CHAT_TYPES:
        fields["chat_types"] = "must be a comma-separated list of u2i, u2u, a2u"
    item_ids = unread = None
    try:
        item_ids = _int_list_param(request, "item_ids")
    except Invalid as exc:
        fields[exc.name] = exc.reason
    try:
        unread = _bool_param(request, "unread_only")
    except Invalid as exc:
        fields[exc.name] = exc.reason
    if fields:
        return validation_error(fields)
    world = _world(request)
    found = world.list_chats(types, item_ids, bool(unread))
    return json_response(200, {"chats": [world.chat_payload(c) for c in found[offset : offset + limit]]})


@avito_route("/messenger/v2/accounts/{user_id}/chats/{chat_id}", ["GET"], group="messenger")
async def get_chat(request: Request, ctx: Ctx) -> Response:
    """One chat with its last message; 404 when unknown."""
    if (refused := _own_account(request)) is not None:
        return refused
    world = _world(request)
    chat = world.chat(request.path_params["chat_id"])
    if chat is None:
        return error(404)
    return json_response(200, world.chat_payload(chat))


@avito_route(
    "/messenger/v3/accounts/{user_id}/chats/{chat_id}/messages/",
    ["GET"],
    group="messenger",
    tariff=frozenset({"messages"}),
    aliases=("/messenger/v3/accounts/{user_id}/chats/{chat_id}/messages",),
)
async def get_messages(request: Request, ctx: Ctx) -> Response:
    """Messages newest first; the envelope follows ``messages_envelope``. Does not mark anything read."""
    if (refused := _own_account(request)) is not None:
        return refused
    fields: dict[str, str] = {}
    limit, offset = _paging(request, fields)
    if fields:
        return validation_error(fields)
    world = _world(request)
    chat = world.chat(request.path_params["chat_id"])
    if chat is None:
        return error(404)
    msgs = world.messages(chat)
    page = [message_payload(m) for m in msgs[offset : offset + limit]]
    if _cfg(request).messages_envelope == "array":
        return json_response(200, page)
    return json_response(200, {"messages": page, "meta": {"has_more": offset + len(page) < len(msgs)}})


# ---------------------------------------------------------------------- job: applications


def _day_param(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return moscow_midnight(raw)
    except ValueError:
        raise Invalid(name, "must be a date in the format YYYY-MM-DD") from None


@avito_route("/job/v1/applications/get_ids", ["GET"], group="job", tariff=frozenset({"job"}))
async def get_application_ids(request: Request, ctx: Ctx) -> Response:
    """Up to 100 application ids, highest (= newest created) first; ``cursor`` = last id seen.

    ``updatedAtFrom``/``createdAtFrom`` are Moscow days (inclusive); at least one is required.
    """
    fields: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, parse in (
        ("updatedAtFrom", _day_param),
        ("createdAtFrom", _day_param),
        ("vacancyIds", _int_list_param),
        ("is_viewed", _bool_param),
    ):
        try:
            values[name] = parse(request, name)
        except Invalid as exc:
            fields[exc.name] = exc.reason
    if not fields and values["updatedAtFrom"] is None and values["createdAtFrom"] is None:
        fields["updatedAtFrom"] = "updatedAtFrom or createdAtFrom is required"
    cursor = request.query_params.get("cursor") or None
    if cursor is not None:
        cursor = cursor.lower()
        if not _OBJECT_ID.match(cursor):
            fields["cursor"] = "must be an application id"
    if fields:
        return validation_error(fields)
    world = _world(request)
    page = world.application_ids_page(
        updated_from=values["updatedAtFrom"],
        created_from=values["createdAtFrom"],
        vacancy_ids=values["vacancyIds"],
        is_viewed=values["is_viewed"],
        state=request.query_params.get("state") or None,
        cursor=cursor,
        limit=PAGE_SIZE,
    )
    return json_response(200, {"applies": [world.application_brief(a) for a in page]})


@avito_route("/job/v1/applications/get_by_ids", ["POST"], group="job", tariff=frozenset({"job"}))
async def get_applications_by_ids(request: Request, ctx: Ctx) -> Response:
    """Applications for 1..100 ids (``{"ids": [...]}``), in request order; unknown ids are left out."""
    try:
        body = json.loads(await request.body())
    except ValueError:
        return validation_error({"body": "must be a JSON object"})
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return validation_error({"ids": "must be an array of strings"})
    if not 1 <= len(ids) <= MAX_LIMIT:
        return validation_error({"ids": f"must contain from 1 to {MAX_LIMIT} items"})
    world = _world(request)
    found = [world.application(i) for i in dict.fromkeys(ids)]
    return json_response(200, {"applies": [world.application_payload(a) for a in found if a is not None]})


@avito_route("/job/v1/applications/get_states", ["GET"], group="job", tariff=frozenset({"job"}))
async def get_application_states(request: Request, ctx: Ctx) -> Response:
    """The documented state slugs (the world also holds a few with an unlisted slug)."""
    return json_response(200, {"states": [{"slug": s, "description": d} for s, d in STATES]})


# ---------------------------------------------------------------------- job: resumes


def _resume(request: Request) -> tuple[Any, Response | None]:
    raw = request.path_params["resume_id"]
    if not raw.isdigit():
        return None, error(400)
    resume = _world(request).resume(int(raw))
    return resume, (error(404) if resume is None else None)


@avito_route("/job/v2/resumes/{resume_id}", ["GET"], group="job", tariff=frozenset({"job"}))
async def get_resume(request: Request, ctx: Ctx) -> Response:
    """A resume; ``fields``/``params`` (comma lists) project it, ``photos=true`` adds photos."""
    resume, refused = _resume(request)
    if refused is not None:
        return refused
    fields = _list_param(request, "fields")
    params = _list_param(request, "params")
    if (fields and not set(fields) <= set(RESUME_FIELDS)) or (params and not set(params) <= set(RESUME_PARAMS)):
        return error(400)
    try:
        photos = bool(_bool_param(request, "photos"))
    except Invalid:
        return error(400)
    return json_response(200, _world(request).resume_payload(resume, fields, params, photos))


@avito_route(
    "/job/v1/resumes/{resume_id}/contacts/",
    ["GET"],
    group="job",
    tariff=frozenset({"job", "contacts"}),
    aliases=("/job/v1/resumes/{resume_id}/contacts",),
)
async def get_resume_contacts(request: Request, ctx: Ctx) -> Response:
    """Contacts of a resume (free here: every sandbox resume came with an application)."""
    resume, refused = _resume(request)
    if refused is not None:
        return refused
    return json_response(200, _world(request).resume_contacts_payload(resume))


# ---------------------------------------------------------------------- the sub-app


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods answer in the Avito error shape."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    request.app.state.stats.record(request.method, "<unrouted>", status)
    return error(status)


def routes() -> list[Route]:
    """Every Avito route (paths relative to the ``/avito`` mount)."""
    return [
        *post_token,
        *get_self,
        *get_chats,
        *get_chat,
        *get_messages,
        *get_application_ids,
        *get_applications_by_ids,
        *get_application_states,
        *get_resume,
        *get_resume_contacts,
    ]


def create_avito_app(config: SandboxConfig, stats: RequestStats, clock: Clock | None = None) -> Starlette:
    """The Avito sub-app. Its ``state`` holds ``sandbox_config`` (``.avito`` read per request),
    ``world`` (:class:`AvitoWorld`), ``auth`` (:class:`AvitoAuth`), ``stats`` (shared with the
    hh.ru routes) and ``runtime`` (limiter and failure RNG)."""
    avito = config.avito
    seed = avito.effective_seed(config.seed)
    app = Starlette(routes=routes(), exception_handlers={HTTPException: _http_error})
    app.state.sandbox_config = config
    app.state.world = AvitoWorld(avito, seed, config.anchor, clock=clock)
    app.state.auth = AvitoAuth(avito, clock=clock)
    app.state.stats = stats
    app.state.runtime = AvitoRuntime(limiter=WindowLimiter(), fail_rng=random.Random(f"avito:{seed}:fail"))
    return app
