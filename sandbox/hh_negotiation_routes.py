"""HTTP routes of the emulated hh.ru negotiations (отклики), both roles, behind the gate of :mod:`sandbox.hh_routes`.

Employer (``openapi-2026-02.yml``): ``GET /employers/{employer_id}/vacancies/active``,
``GET /negotiations?vacancy_id=`` (the collections of a vacancy), ``GET /negotiations/{collection_name}``
(spec path ``/negotiations/response``), ``GET /negotiations/{id}``, ``GET /negotiations/{nid}/messages``.
Applicant (the pre-closure ``openapi.yml``): ``GET /negotiations`` (list), ``GET /negotiations/{id}``,
``GET /negotiations/{nid}/messages``; with ``config.applicant_api_closed`` (default) an applicant token
gets 403 on all three, as hh.ru answers since 15 Dec 2025.

Access: no token -> 403 ``oauth/bad_authorization``; an application token -> 403
``oauth/user_auth_expected``; a user of the other role -> 403 ``forbidden``. Choices the specs leave
open are listed in ``sandbox/README.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.hh_auth import APPLICANT, EMPLOYER, SandboxUser
from sandbox.hh_data import format_hh_time
from sandbox.hh_negotiations import (
    APPLICANT_STATUSES,
    COLLECTION_BY_ID,
    COLLECTIONS,
    EMPLOYER_STATE_NAMES,
    ORDER_TYPES,
    NegotiationWorld,
    View,
)
from sandbox.hh_routes import (
    ArgumentError,
    Ctx,
    _bool_arg,
    _int_arg,
    bad_argument,
    error_response,
    hh_route,
    json_response,
)

COLLECTION_MAX_PER_PAGE = 50
"""The spec's maximum ``per_page`` of a collection list."""
LIST_MAX_PER_PAGE = 100
"""Applicant list, messages and active vacancies: the sandbox's maximum ``per_page`` (the specs name none,
except 50 for active vacancies)."""
ACTIVE_MAX_PER_PAGE = 50
CLOSED_DESCRIPTION = "Forbidden"


def _world(request: Request) -> NegotiationWorld:
    return request.app.state.negotiations


def _forbidden(ctx: Ctx, kind: str = "forbidden", value: str | None = None) -> Response:
    error: dict[str, str] = {"type": kind}
    if value is not None:
        error["value"] = value
    return error_response(403, ctx.request_id, [error], "Forbidden")


def _not_found(ctx: Ctx) -> Response:
    return error_response(404, ctx.request_id, [{"type": "not_found"}], "Not Found")


def _caller(request: Request, ctx: Ctx, roles: tuple[str, ...]) -> SandboxUser | Response:
    """The user behind the token when their role may call this route, else the 403 to answer."""
    identity = ctx.identity
    if identity.kind == "application":
        return _forbidden(ctx, "oauth", "user_auth_expected")
    user = identity.user
    if identity.kind != "user" or user is None:
        return _forbidden(ctx, "oauth", "bad_authorization")
    if user.role not in roles:
        return _forbidden(ctx)
    if user.role == APPLICANT and request.app.state.config.applicant_api_closed:
        return _forbidden(ctx)
    return user


def _paging(request: Request, maximum: int, default: int = 20) -> tuple[int, int]:
    per_page = _int_arg(request, "per_page", default, 1)
    if per_page > maximum:
        raise ArgumentError("per_page", f"per_page can't be more than {maximum}")
    return _int_arg(request, "page", 0, 0), per_page


def _page_body(items: list[Any], page: int, per_page: int) -> dict[str, Any]:
    return {
        "found": len(items),
        "pages": math.ceil(len(items) / per_page),
        "page": page,
        "per_page": per_page,
        "items": items[page * per_page : page * per_page + per_page],
    }


def _vacancy_arg(request: Request, ctx: Ctx, world: NegotiationWorld) -> str | Response:
    """The employer's ``vacancy_id`` (400 when missing, 404 when not one of theirs)."""
    vacancy_id = request.query_params.get("vacancy_id") or ""
    if not vacancy_id:
        return bad_argument(ctx.request_id, "vacancy_id", "vacancy_id is required for an employer")
    if not world.owns_vacancy(vacancy_id):
        return _not_found(ctx)
    return vacancy_id


# ---------------------------------------------------------------------- employer


@hh_route("/employers/{employer_id}/vacancies/active", ["GET"], data=True)
async def get_active_vacancies(request: Request, ctx: Ctx) -> Response:
    """The sandbox employer's active vacancies with negotiation counters (``get-active-vacancy-list``)."""
    user = _caller(request, ctx, (EMPLOYER,))
    if isinstance(user, Response):
        return user
    world = _world(request)
    if request.path_params["employer_id"] != user.employer_id:
        return _forbidden(ctx)
    try:
        page, per_page = _paging(request, ACTIVE_MAX_PER_PAGE)
    except ArgumentError as exc:
        return bad_argument(ctx.request_id, exc.name, exc.description)
    items = [_active_item(world, user, rec_id, ctx.api_base) for rec_id in (v.id for v in world.employer_vacancies)]
    return json_response(200, _page_body([i for i in items if i is not None], page, per_page))


def _active_item(world: NegotiationWorld, user: SandboxUser, vacancy_id: str, api_base: str) -> dict[str, Any] | None:
    rec = world.world.get(vacancy_id)
    if rec is None:
        return None
    item = world.world.item(rec, api_base)
    keys = (
        "id name premium department has_test response_letter_required area salary salary_range type address "
        "response_url sort_point_distance published_at created_at archived apply_alternate_url "
        "show_logo_in_search show_contacts url alternate_url employer relations"
    ).split()
    body = {k: item[k] for k in keys}
    views = world.views(user, vacancy_id)
    in_progress = sum(1 for v in views if v.event.state not in ("response", "discard_by_employer"))
    invited = sum(1 for v in views if v.event.state not in ("response", "consider", "discard_by_employer"))
    body.update(
        {
            "billing_type": {"id": "standard", "name": "Стандарт"},
            "can_upgrade_billing_type": False,
            "counters": {
                "responses": len(views),
                "invitations": invited,
                "resumes_in_progress": in_progress,
                "unread_responses": sum(1 for v in views if v.event.state == "response" and v.unread),
                "views": len(views) * 9 + int(rec.id) % 97,
            },
            "expires_at": format_hh_time(rec.ts + 30 * 86400),
            "has_updates": any(v.unread for v in views),
            "manager": {
                "id": user.manager_id,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "middle_name": None,
            },
        }
    )
    return body


def _collections_body(world: NegotiationWorld, user: SandboxUser, vacancy_id: str, api_base: str) -> dict[str, Any]:
    counts = world.collection_counts(user, vacancy_id)
    collections = []
    for c in COLLECTIONS:
        url = f"{api_base}/negotiations/{c.id}?vacancy_id={vacancy_id}"
        total, with_updates = counts[c.id]
        collections.append(
            {
                "id": c.id,
                "name": c.name,
                "description": c.description,
                "hidden": False,
                "url": url,
                "counters": {"total": total, "with_updates": with_updates},
                "order_types": [
                    {"id": oid, "name": name, "url": f"{url}&order_by={oid}"} for oid, name in ORDER_TYPES.items()
                ],
            }
        )
    return {
        "collections": collections,
        "employer_states": [{"id": sid, "name": name} for sid, name in EMPLOYER_STATE_NAMES.items()],
        "generated_collections": [],
    }


def _order_key(order_by: str) -> Callable[[View], tuple[int, int]]:
    """Sort key of an ``order_by`` value (callers sort newest first)."""
    if order_by == "created_at":
        return lambda v: (v.neg.created_ts, int(v.neg.id))
    if order_by == "last_change_time_except_employer_inbox":
        # creation or the applicant's newest message, whichever is later
        return lambda v: (max([v.neg.created_ts, *(m.ts for m in v.messages if m.author == APPLICANT)]), int(v.neg.id))
    return lambda v: (v.updated_ts, int(v.neg.id))


@hh_route("/negotiations/{collection_name}", ["GET"], data=True)
async def get_collection(request: Request, ctx: Ctx) -> Response:
    """One collection of one vacancy, newest first by ``order_by`` (``get-collection-negotiations-list``)."""
    user = _caller(request, ctx, (EMPLOYER,))
    if isinstance(user, Response):
        return user
    world = _world(request)
    collection = COLLECTION_BY_ID.get(request.path_params["collection_name"])
    if collection is None:
        return _not_found(ctx)
    vacancy_id = _vacancy_arg(request, ctx, world)
    if isinstance(vacancy_id, Response):
        return vacancy_id
    order_by = request.query_params.get("order_by") or next(iter(ORDER_TYPES))
    try:
        if order_by not in ORDER_TYPES:
            raise ArgumentError("order_by")
        page, per_page = _paging(request, COLLECTION_MAX_PER_PAGE)
        # The spec splits one filter in two: unseen responses in /response, unread messages elsewhere.
        only_new = _bool_arg(request, "show_only_new_responses" if collection.id == "response" else "show_only_new")
    except ArgumentError as exc:
        return bad_argument(ctx.request_id, exc.name, exc.description)
    views = [
        v
        for v in world.views(user, vacancy_id)
        if v.event.state in collection.states and (not only_new or v.unread > 0)
    ]
    views.sort(key=_order_key(order_by), reverse=True)
    body = _page_body(views, page, per_page)
    body["items"] = [world.employer_item(v, ctx.api_base, with_vacancy=False) for v in body["items"]]
    body["ordered_by"] = {"id": order_by, "name": ORDER_TYPES[order_by]}
    body["hidden_count"] = 0
    return json_response(200, body)


# ---------------------------------------------------------------------- both roles


@hh_route("/negotiations", ["GET"], data=True)
async def get_negotiations(request: Request, ctx: Ctx) -> Response:
    """Employer: the collections of ``vacancy_id``. Applicant: their negotiations, filtered and paged."""
    user = _caller(request, ctx, (EMPLOYER, APPLICANT))
    if isinstance(user, Response):
        return user
    world = _world(request)
    if user.role == EMPLOYER:
        vacancy_id = _vacancy_arg(request, ctx, world)
        if isinstance(vacancy_id, Response):
            return vacancy_id
        return json_response(200, _collections_body(world, user, vacancy_id, ctx.api_base))
    try:
        page, per_page = _paging(request, LIST_MAX_PER_PAGE)
        order_by = request.query_params.get("order_by") or "updated_at"
        if order_by not in ("updated_at", "created_at"):
            raise ArgumentError("order_by")
        order = request.query_params.get("order") or "desc"
        if order not in ("asc", "desc"):
            raise ArgumentError("order")
        status = request.query_params.get("status") or "all"
        if status not in APPLICANT_STATUSES:
            raise ArgumentError("status")
        has_updates = _bool_arg(request, "has_updates")
    except ArgumentError as exc:
        return bad_argument(ctx.request_id, exc.name, exc.description)
    vacancy_id = request.query_params.get("vacancy_id") or None
    states = APPLICANT_STATUSES[status]
    views = [
        v
        for v in world.views(user, vacancy_id)
        if (states is None or v.event.state in states) and (not has_updates or v.unread > 0)
    ]
    views.sort(key=_order_key(order_by), reverse=order == "desc")
    body = _page_body(views, page, per_page)
    body["items"] = [world.applicant_item(v, ctx.api_base) for v in body["items"]]
    return json_response(200, body)


def _visible(request: Request, ctx: Ctx, nid: str) -> tuple[NegotiationWorld, SandboxUser, View] | Response:
    user = _caller(request, ctx, (EMPLOYER, APPLICANT))
    if isinstance(user, Response):
        return user
    world = _world(request)
    neg = world.get(nid)
    view = world.view(user, neg) if neg is not None else None
    if view is None:
        return _not_found(ctx)
    return world, user, view


@hh_route("/negotiations/{id:int}", ["GET"], data=True)
async def get_negotiation(request: Request, ctx: Ctx) -> Response:
    """One negotiation as its employer or applicant sees it now; 404 when unknown or not created yet."""
    found = _visible(request, ctx, str(request.path_params["id"]))
    if isinstance(found, Response):
        return found
    world, user, view = found
    if user.role == EMPLOYER:
        return json_response(200, world.employer_item(view, ctx.api_base, with_vacancy=True))
    return json_response(200, world.applicant_item(view, ctx.api_base))


@hh_route("/negotiations/{nid:int}/messages", ["GET"], data=True)
async def get_messages(request: Request, ctx: Ctx) -> Response:
    """The messages of a negotiation, oldest first, paged; the fetch clears ``has_updates``."""
    nid = str(request.path_params["nid"])
    found = _visible(request, ctx, nid)
    if isinstance(found, Response):
        return found
    world, user, view = found
    try:
        page, per_page = _paging(request, LIST_MAX_PER_PAGE)
        text_only = _bool_arg(request, "with_text_only")
    except ArgumentError as exc:
        return bad_argument(ctx.request_id, exc.name, exc.description)
    items = world.message_items(view, world.last_read(user, nid))
    if text_only:
        items = [m for m in items if m["text"]]
    world.mark_read(user, nid)
    return json_response(200, _page_body(items, page, per_page))


def routes() -> list[Route]:
    """The negotiation routes, in matching order (numeric ids before collection names)."""
    return [get_active_vacancies, get_negotiations, get_messages, get_negotiation, get_collection]
