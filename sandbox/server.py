"""Run the sandbox over real HTTP: in a background thread (tests) or blocking (CLI)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from sandbox.app import create_app
from sandbox.avito_auth import AvitoAuth
from sandbox.avito_data import AvitoWorld
from sandbox.config import SandboxConfig
from sandbox.faults import FaultInjector
from sandbox.hh_auth import HHAuth
from sandbox.hh_data import Clock, HHWorld
from sandbox.hh_negotiations import NegotiationWorld
from sandbox.stats import RequestStats


class RunningSandbox:
    """A sandbox served by uvicorn in a daemon thread; use as a context manager or call :meth:`stop`."""

    def __init__(self, app: Starlette, server: uvicorn.Server, thread: threading.Thread, host: str, port: int):
        self.app = app
        self.server = server
        self.thread = thread
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        return base_url(self.host, self.port)

    @property
    def avito_url(self) -> str:
        """Base URL of the Avito API, e.g. ``http://127.0.0.1:54321/avito`` (no trailing slash)."""
        return self.url + "/avito"

    @property
    def config(self) -> SandboxConfig:
        return self.app.state.config

    @property
    def world(self) -> HHWorld:
        return self.app.state.world

    @property
    def negotiations(self) -> NegotiationWorld:
        return self.app.state.negotiations

    @property
    def auth(self) -> HHAuth:
        return self.app.state.auth

    @property
    def avito_world(self) -> AvitoWorld:
        return self.app.state.avito_world

    @property
    def avito_auth(self) -> AvitoAuth:
        return self.app.state.avito_auth

    @property
    def stats(self) -> RequestStats:
        return self.app.state.stats

    @property
    def faults(self) -> FaultInjector:
        """Faults injected so far (``faults.injected`` counts them per kind)."""
        return self.app.state.faults

    def set_clock(self, clock: Clock) -> None:
        """Replace the time source of the hh.ru (vacancies, negotiations) and Avito worlds and auths (POSIX seconds)."""
        self.world.clock = clock
        self.negotiations.clock = clock
        self.auth.clock = clock
        self.avito_world.clock = clock
        self.avito_auth.clock = clock

    def stop(self, timeout: float = 5.0) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(timeout)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on ``host:port`` (0 = a free port)."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)[0][0]
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on such sockets, and without it every
    # keep-alive request waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)  # connections made before uvicorn runs wait in the backlog instead of failing
    return sock


def base_url(host: str, port: int) -> str:
    """``http://host:port`` (IPv6 hosts in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _uvicorn_config(app: Starlette, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")


def start_in_thread(
    config: SandboxConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Clock | None = None,
    startup_timeout: float = 30.0,
) -> RunningSandbox:
    """Build the app, bind ``host:port`` (0 = a free port) and serve it from a daemon thread.

    Returns once uvicorn is accepting connections.
    """
    app = create_app(config or SandboxConfig(), clock=clock)
    sock = bind(host, port)
    real_port = sock.getsockname()[1]
    server = uvicorn.Server(_uvicorn_config(app, host, real_port))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="hh-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("sandbox server thread exited during startup")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError("sandbox server did not start in time")
        time.sleep(0.01)
    return RunningSandbox(app, server, thread, host, real_port)


def serve(
    config: SandboxConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the sandbox in the foreground until interrupted (SIGINT/SIGTERM).

    ``on_ready`` gets the base URL once the port is bound (with ``port=0``, the real port).
    """
    app = create_app(config or SandboxConfig())
    sock = bind(host, port)
    real_port = sock.getsockname()[1]
    if on_ready is not None:
        on_ready(base_url(host, real_port))
    uvicorn.Server(_uvicorn_config(app, host, real_port)).run(sockets=[sock])
