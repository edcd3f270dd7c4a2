"""The sandbox ASGI application: hh.ru routes at the root, Avito under ``/avito``, shared state on ``app.state``."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount

from sandbox import avito_routes, hh_negotiation_routes, hh_routes
from sandbox.config import SandboxConfig
from sandbox.faults import FaultInjector, FaultMiddleware
from sandbox.hh_auth import HHAuth
from sandbox.hh_data import Clock, HHWorld
from sandbox.hh_negotiations import NegotiationWorld
from sandbox.stats import RequestStats


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods answer in the hh.ru error envelope, not plain text."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    kind = {404: "not_found", 405: "bad_request"}.get(status, "bad_request")
    rid = hh_routes.new_request_id()
    body = {"errors": [{"type": kind}], "description": str(getattr(exc, "detail", "")), "request_id": rid}
    request.app.state.stats.record(request.method, "<unrouted>", status)
    return JSONResponse(body, status_code=status, headers={"X-Request-Id": rid})


def create_app(config: SandboxConfig | None = None, clock: Clock | None = None) -> Starlette:
    """Build the emulator.

    ``app.state`` holds ``config`` (read on every request, may be changed live), ``world``
    (:class:`~sandbox.hh_data.HHWorld`), ``negotiations`` (:class:`~sandbox.hh_negotiations.NegotiationWorld`,
    built on ``world``), ``auth`` (:class:`~sandbox.hh_auth.HHAuth`), ``stats``
    (:class:`~sandbox.stats.RequestStats`, shared with Avito) and ``hh`` (limiter and failure RNG);
    ``avito_app``, ``avito_world`` and ``avito_auth`` are the Avito sub-app (mounted at ``/avito``,
    see :mod:`sandbox.avito_routes`) and its state. ``clock`` (POSIX seconds) is shared by the worlds
    and auths; each keeps it as an attribute tests may replace.
    """
    config = config or SandboxConfig()
    stats = RequestStats()
    avito_app = avito_routes.create_avito_app(config, stats, clock=clock)
    app = Starlette(
        routes=[*hh_routes.routes(), *hh_negotiation_routes.routes(), Mount(avito_routes.PREFIX, app=avito_app)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.config = config
    app.state.world = HHWorld(config.seed, config.vacancies, config.anchor, config.days, clock=clock)
    app.state.negotiations = NegotiationWorld.from_config(config, app.state.world, clock=clock)
    app.state.auth = HHAuth(config, clock=clock)
    app.state.stats = stats
    app.state.hh = hh_routes.build_runtime(config)
    app.state.avito_app = avito_app
    app.state.avito_world = avito_app.state.world
    app.state.avito_auth = avito_app.state.auth
    app.state.faults = FaultInjector()  # counts what config.faults injected, per kind
    app.add_middleware(FaultMiddleware)
    return app
