"""HTTP routes of the emulated api.hh.ru (Starlette).

Every API route runs through the same gate, in this order:

1. ``X-Request-Id`` is generated (and copied into error bodies as ``request_id``);
2. ``User-Agent`` or ``HH-User-Agent`` must be present, else 400 ``bad_user_agent``/``unset``;
3. rate limit per client (bearer token, else remote address) over a sliding 1-second window:
   429, with ``Retry-After`` when ``config.retry_after`` is set;
4. on data routes (vacancies, vacancy, dictionaries, me, negotiations) a 502 ``bad_gateway`` with probability
   ``config.fail_rate`` from a seeded RNG (the token endpoints are spared so a client can always
   authenticate);
5. the bearer token is checked (none = anonymous; unknown/expired/revoked = 403 ``oauth``);
6. the handler runs and the answer is counted in ``app.state.stats``.

``date_from`` is inclusive and ``date_to`` exclusive, both rounded down to 5 minutes, so adjacent
windows partition the results exactly.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from sandbox.config import SandboxConfig
from sandbox.hh_auth import ANONYMOUS, APPLICANT, EMPLOYER, BearerError, HHAuth, Identity, SandboxUser, TokenError
from sandbox.hh_data import MSK, HHWorld, SearchQuery, tokenize
from sandbox.hh_dictionaries import AREA_BY_ID, CURRENCY_BY_CODE, area_with_descendants, dictionaries_payload, to_rur
from sandbox.rate_limit import SlidingWindowLimiter
from sandbox.stats import RequestStats

MAX_DEPTH = 2000
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
DEPTH_MESSAGE = "you can't look up more than 2000 items in the list"
ORDERS = frozenset({"publication_time", "relevance", "salary_desc", "salary_asc", "distance"})


@dataclass(slots=True)
class HHRuntime:
    """Per-app mutable machinery of the hh.ru routes (kept on ``app.state.hh``)."""

    limiter: SlidingWindowLimiter
    fail_rng: random.Random


@dataclass(frozen=True, slots=True)
class Ctx:
    """What the gate hands to a handler."""

    request_id: str
    identity: Identity
    api_base: str


Handler = Callable[[Request, Ctx], Awaitable[Response]]


def new_request_id() -> str:
    """A request id in the hh.ru style: a millisecond timestamp followed by random hex."""
    return f"{int(time.time() * 1000)}{secrets.token_hex(10)}"


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON answer (non-ASCII kept as UTF-8)."""
    return JSONResponse(body, status_code=status, headers=headers)


def error_response(
    status: int,
    request_id: str,
    errors: list[dict[str, Any]],
    description: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """The hh.ru error envelope ``{"errors": [...], "description": ..., "request_id": ...}``."""
    body: dict[str, Any] = {"errors": errors}
    if description is not None:
        body["description"] = description
    body.update(extra)
    body["request_id"] = request_id
    return json_response(status, body, headers)


def bad_argument(request_id: str, name: str, description: str | None = None) -> JSONResponse:
    """400 ``bad_argument`` for one query parameter, with the legacy ``bad_argument(s)`` keys."""
    text = description or f"Invalid parameter: {name}"
    return error_response(
        400,
        request_id,
        [{"type": "bad_argument", "value": name}],
        text,
        bad_argument=name,
        bad_arguments=[{"name": name, "description": text}],
    )


class ArgumentError(Exception):
    """A query parameter that cannot be used; becomes a 400 ``bad_argument``."""

    def __init__(self, name: str, description: str | None = None):
        super().__init__(name)
        self.name = name
        self.description = description


def _state(request: Request) -> tuple[SandboxConfig, HHWorld, HHAuth, RequestStats, HHRuntime]:
    s = request.app.state
    return s.config, s.world, s.auth, s.stats, s.hh


def hh_route(path: str, methods: list[str], *, data: bool) -> Callable[[Handler], Route]:
    """Wrap a handler with the gate described in the module docstring and make it a Route."""

    def wrap(handler: Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            config, _world, auth, stats, runtime = _state(request)
            rid = new_request_id()
            response = await _gate(request, handler, rid, config, auth, runtime, data)
            response.headers["X-Request-Id"] = rid
            stats.record(request.method, path, response.status_code)
            return response

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return Route(path, endpoint, methods=methods)

    return wrap


async def _gate(
    request: Request,
    handler: Handler,
    rid: str,
    config: SandboxConfig,
    auth: HHAuth,
    runtime: HHRuntime,
    data: bool,
) -> Response:
    if not (request.headers.get("hh-user-agent") or request.headers.get("user-agent")):
        return error_response(400, rid, [{"type": "bad_user_agent", "value": "unset"}], "Bad User-Agent")
    authorization = request.headers.get("authorization")
    client_key = f"token:{authorization}" if authorization else f"addr:{request.client.host if request.client else '?'}"
    if not runtime.limiter.allow(client_key, config.rate_limit_rps):
        headers = {"Retry-After": str(config.retry_after)} if config.retry_after is not None else None
        # The spec gives no body for 429 (get-vacancy declares it without content, get-vacancies not
        # at all); the common error envelope is used.
        return error_response(429, rid, [{"type": "too_many_requests"}], "Too Many Requests", headers)
    if config.latency_ms > 0:  # counted at arrival, answered after the emulated network latency
        await asyncio.sleep(config.latency_ms / 1000)
    if data and config.fail_rate > 0 and runtime.fail_rng.random() < config.fail_rate:
        return error_response(502, rid, [{"type": "bad_gateway"}], "Bad Gateway")
    identity = ANONYMOUS
    if data or request.method == "DELETE":
        try:
            identity = auth.identify(authorization)
        except BearerError as exc:
            return error_response(403, rid, [{"type": "oauth", "value": exc.value}], "Forbidden")
    api_base = str(request.base_url).rstrip("/")
    return await handler(request, Ctx(rid, identity, api_base))


# ---------------------------------------------------------------------- /vacancies


def _int_arg(request: Request, name: str, default: int, lo: int, hi: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ArgumentError(name) from None
    if not value.is_integer() or value < lo or (hi is not None and value > hi):
        raise ArgumentError(name)
    return int(value)


def _bool_arg(request: Request, name: str) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return False
    low = raw.lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    raise ArgumentError(name)


def _ids_arg(request: Request, name: str) -> list[str] | None:
    values = [v for v in request.query_params.getlist(name) if v != ""]
    if not values:
        return None
    for v in values:
        if not v.isdigit():
            raise ArgumentError(name)
    return values


def _set_arg(request: Request, name: str) -> frozenset[str] | None:
    values = [v for v in request.query_params.getlist(name) if v != ""]
    return frozenset(values) if values else None


_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+\- ]\d{2}:?\d{2})?)?$"
)


def parse_hh_date(raw: str) -> int:
    """``YYYY-MM-DD`` or ``YYYY-MM-DDThh:mm:ss±hhmm`` (also ``±hh:mm``, ``Z``) to POSIX seconds.

    A date or a time without offset is Moscow time. A ``+`` that arrived unencoded (a space) is
    accepted. The result is rounded down to 5 minutes, as hh.ru does.
    """
    m = _DATE.match(raw.strip())
    if not m:
        raise ValueError(raw)
    year, month, day, hour, minute, second, offset = m.groups()
    tz = MSK
    if offset == "Z":
        tz = UTC
    elif offset:
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=tz)
    ts = int(moment.timestamp())
    return ts - ts % 300


def _date_arg(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_hh_date(raw)
    except ValueError:
        raise ArgumentError(name) from None


def build_query(request: Request, config: SandboxConfig, world: HHWorld) -> SearchQuery:
    """Translate ``GET /vacancies`` parameters into a :class:`SearchQuery` (unknown ones ignored)."""
    words = tuple(dict.fromkeys(tokenize(request.query_params.get("text", ""))))

    areas = None
    area_ids = _ids_arg(request, "area")
    if area_ids is not None:
        matched: set[str] = set()
        for a in area_ids:
            if a in AREA_BY_ID:
                matched |= area_with_descendants(a)
        areas = frozenset(matched)  # ids the sandbox does not know match nothing
    role_ids = _ids_arg(request, "professional_role")
    roles = frozenset(role_ids) if role_ids is not None else None

    salary_rur = None
    raw_salary = request.query_params.get("salary")
    currency = request.query_params.get("currency") or "RUR"
    if currency not in CURRENCY_BY_CODE:
        raise ArgumentError("currency")
    if raw_salary:
        try:
            amount = float(raw_salary)
        except ValueError:
            raise ArgumentError("salary") from None
        if not math.isfinite(amount) or amount < 0:
            raise ArgumentError("salary")
        salary_rur = to_rur(amount, currency)

    ts_from = _date_arg(request, "date_from")
    ts_to = _date_arg(request, "date_to")
    period = _int_arg(request, "period", 0, 0)
    if period:
        if ts_from is not None:
            raise ArgumentError("period", "period can't be used with date_from")
        now = world.now()
        ts_from = now - period * 86400
        ts_from -= ts_from % 300

    order_by = request.query_params.get("order_by") or "relevance"
    if order_by not in ORDERS:
        raise ArgumentError("order_by")
    if order_by == "distance":
        if not (request.query_params.get("sort_point_lat") and request.query_params.get("sort_point_lng")):
            raise ArgumentError("sort_point_lat")
        order_by = "relevance"  # no geo sort in the sandbox

    return SearchQuery(
        words=words,
        areas=areas,
        roles=roles,
        salary_rur=salary_rur,
        only_with_salary=_bool_arg(request, "only_with_salary"),
        ts_from=ts_from,
        ts_to=ts_to,
        experience=_set_arg(request, "experience"),
        employment_form=_set_arg(request, "employment_form"),
        work_format=_set_arg(request, "work_format"),
        schedule=_set_arg(request, "schedule"),
        employer_ids=_set_arg(request, "employer_id"),
        include_archived=config.archived_in_search,
        order_by=order_by,
    )


def _alternate_url(request: Request, per_page: int) -> str:
    pairs = [("enable_snippets", "true"), ("items_on_page", str(per_page))]
    for key in ("text", "area", "professional_role", "salary", "currency", "only_with_salary", "order_by"):
        pairs += [(key, v) for v in request.query_params.getlist(key)]
    return "https://hh.ru/search/vacancy?" + urlencode(pairs)


def _search_page(request: Request, ctx: Ctx) -> Response:
    config, world, _auth, _stats, _rt = _state(request)
    try:
        per_page = _int_arg(request, "per_page", DEFAULT_PER_PAGE, 0)
        if per_page > MAX_PER_PAGE:
            raise ArgumentError("per_page", f"per_page can't be more than {MAX_PER_PAGE}")
        page = _int_arg(request, "page", 0, 0)
        if page * per_page + per_page > MAX_DEPTH:
            return error_response(
                400,
                ctx.request_id,
                [{"type": "bad_argument", "value": "page"}, {"type": "bad_argument", "value": "per_page"}],
                DEPTH_MESSAGE,
                bad_arguments=[{"name": "page, per_page", "description": DEPTH_MESSAGE}],
                bad_argument="page, per_page",
            )
        query = build_query(request, config, world)
    except ArgumentError as exc:
        return bad_argument(ctx.request_id, exc.name, exc.description)

    found = world.search(query)
    total = len(found)
    pages = min(math.ceil(total / per_page), MAX_DEPTH // per_page) if per_page else 0
    chunk = found[page * per_page : page * per_page + per_page]
    items = [world.item(rec, ctx.api_base, query.words) for rec in chunk]
    return json_response(
        200,
        {
            "items": items,
            "found": total,
            "pages": pages,
            "page": page,
            "per_page": per_page,
            "clusters": None,
            "arguments": None,
            "fixes": None,
            "suggests": None,
            "alternate_url": _alternate_url(request, per_page),
        },
    )


@hh_route("/vacancies", ["GET"], data=True)
async def get_vacancies(request: Request, ctx: Ctx) -> Response:
    """Vacancy search with paging, the 2000-item depth limit and the filters listed in the notes."""
    return _search_page(request, ctx)


@hh_route("/vacancies/{vacancy_id}", ["GET"], data=True)
async def get_vacancy(request: Request, ctx: Ctx) -> Response:
    """One vacancy card; 404 when unknown, 403 captcha for anonymous callers when configured."""
    config, world, _auth, _stats, _rt = _state(request)
    if config.captcha_anonymous and ctx.identity.kind == "anonymous":
        state = secrets.token_hex(8)
        return error_response(
            403,
            ctx.request_id,
            [
                {
                    "type": "captcha_required",
                    "value": "captcha_required",
                    "captcha_url": f"https://hh.ru/account/captcha?state={state}",
                    "fallback_url": f"https://hh.ru/account/captcha?state={state}&fallback=true",
                }
            ],
            "Forbidden",
        )
    rec = world.get(request.path_params["vacancy_id"])
    if rec is None:
        return error_response(404, ctx.request_id, [{"type": "not_found"}], "Not Found")
    return json_response(200, world.detail(rec, ctx.api_base))


@hh_route("/dictionaries", ["GET"], data=True)
async def get_dictionaries(request: Request, ctx: Ctx) -> Response:
    """Field dictionaries, including currencies with their rates to the rouble."""
    return json_response(200, dictionaries_payload())


@hh_route("/me", ["GET"], data=True)
async def get_me(request: Request, ctx: Ctx) -> Response:
    """The profile behind the token: the application, the sandbox applicant or the employer's manager."""
    flags = {"is_admin": False, "is_employer": False, "is_employer_integration": False}
    if ctx.identity.kind == "application":
        return json_response(200, {"auth_type": "application", "is_application": True, "is_applicant": False, **flags})
    user = ctx.identity.user
    if ctx.identity.kind != "user" or user is None:
        return error_response(403, ctx.request_id, [{"type": "oauth", "value": "bad_authorization"}], "Forbidden")
    if user.role == EMPLOYER:
        return json_response(200, _employer_me(user, ctx.api_base))
    return json_response(
        200,
        {
            "auth_type": "applicant",
            "is_application": False,
            "is_applicant": True,
            **flags,
            "id": user.id,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "middle_name": None,
            "email": user.email,
            "phone": None,
            "is_in_search": True,
            "counters": {"unread_negotiations": 0, "new_resume_views": 0, "resumes_count": 1},
            "linked_socials": [],
            "resumes_url": f"{ctx.api_base}/resumes/mine",
            "negotiations_url": f"{ctx.api_base}/negotiations",
        },
    )


def _employer_me(user: SandboxUser, api_base: str) -> dict[str, Any]:
    """``GET /me`` of an employer's manager (``MeManagerProfile``)."""
    return {
        "auth_type": EMPLOYER,
        "is_application": False,
        "is_applicant": False,
        "is_admin": False,
        "is_employer": True,
        "is_employer_integration": False,
        "id": user.id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "middle_name": None,
        "email": user.email,
        "phone": None,
        "employer": {"id": user.employer_id, "name": user.employer_name, "manager_id": user.manager_id},
        "manager": {
            "id": user.manager_id,
            "has_admin_rights": True,
            "has_multiple_manager_accounts": False,
            "is_main_contact_person": True,
            "manager_settings_url": f"{api_base}/employers/{user.employer_id}/managers/{user.manager_id}/settings",
        },
    }


# ---------------------------------------------------------------------- OAuth


@hh_route("/token", ["POST"], data=False)
async def post_token(request: Request, ctx: Ctx) -> Response:
    """``POST /token`` (form-encoded) for the three grant types."""
    _config, _world, auth, _stats, _rt = _state(request)
    fields: dict[str, str] = {}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        # Parsed by hand: Starlette's request.form() needs python-multipart, which is not a dependency.
        body = (await request.body()).decode("utf-8", errors="replace")
        fields = dict(parse_qsl(body, keep_blank_values=True))
    try:
        return json_response(200, auth.grant(fields))
    except TokenError as exc:
        return json_response(exc.status, exc.body())


@hh_route("/token", ["DELETE"], data=False)
async def delete_token(request: Request, ctx: Ctx) -> Response:
    """Invalidate the caller's user access token (204); app tokens and anonymous callers get 403."""
    _config, _world, auth, _stats, _rt = _state(request)
    if ctx.identity.kind != "user" or ctx.identity.token is None:
        value = "user_auth_expected" if ctx.identity.kind == "application" else "bad_authorization"
        return error_response(403, ctx.request_id, [{"type": "oauth", "value": value}], "Forbidden")
    auth.invalidate(ctx.identity.token)
    return Response(status_code=204)


async def oauth_authorize(request: Request) -> Response:
    """The browser step (hh.ru/oauth/authorize): approves at once and redirects with ``code``."""
    config, _world, auth, stats, _rt = _state(request)
    params = request.query_params
    redirect_uri = params.get("redirect_uri") or config.redirect_uri
    response: Response
    if params.get("client_id") != config.client_id:
        response = json_response(
            400, {"error": "invalid_client", "error_description": "client_id or client_secret not found"}
        )
    elif params.get("response_type") != "code":
        response = json_response(400, {"error": "invalid_request", "error_description": "response_type must be code"})
    elif not auth.redirect_allowed(redirect_uri):
        response = json_response(400, {"error": "invalid_request", "error_description": "bad redirect url"})
    elif params.get("login", APPLICANT) not in (APPLICANT, EMPLOYER):
        response = json_response(
            400, {"error": "invalid_request", "error_description": "login must be applicant or employer (sandbox only)"}
        )
    else:
        # ``login`` is sandbox-only: which sandbox user approves (applicant unless login=employer).
        user = request.app.state.negotiations.user(params.get("login", APPLICANT))
        code = auth.issue_code(redirect_uri, user)
        parts = urlsplit(redirect_uri)
        query = parse_qsl(parts.query, keep_blank_values=True) + [("code", code)]
        if params.get("state") is not None:
            query.append(("state", params["state"]))
        response = RedirectResponse(urlunsplit(parts._replace(query=urlencode(query))), status_code=302)
    response.headers["X-Request-Id"] = new_request_id()
    stats.record("GET", "/oauth/authorize", response.status_code)
    return response


def build_runtime(config: SandboxConfig) -> HHRuntime:
    """Fresh limiter and failure RNG (seeded from the config) for one app."""
    return HHRuntime(limiter=SlidingWindowLimiter(), fail_rng=random.Random(f"{config.seed}:fail"))


def routes() -> list[Route]:
    """Every hh.ru route, to be placed at the root of the sandbox app."""
    return [
        get_vacancies,
        get_vacancy,
        get_dictionaries,
        get_me,
        post_token,
        delete_token,
        Route("/oauth/authorize", oauth_authorize, methods=["GET"]),
    ]
