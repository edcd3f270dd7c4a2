"""What a flow needs at its edge: settings, the sandbox when asked for, the database, the clients.

Configuration is resolved here once per run and handed to tasks as plain objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine

from flows.settings import Settings
from tasks.database import engine_for
from tasks.extract.hh import HHAuth, HHClient
from tasks.extract.hh_search import Search, load_searches
from tasks.extract.tokens import TokenStore
from tasks.migrate import upgrade

BUNDLED_SEARCHES = Path(__file__).with_name("searches.toml")
# The emulator answers at loopback speed: let the client go faster than against hh.ru.
SANDBOX_RATE_LIMIT = 200.0


@contextmanager
def sandbox_settings(settings: Settings, url: str | None = None, vacancies: int = 20000) -> Iterator[Settings]:
    """Settings pointed at the bundled emulator: ``url`` when one runs, else one started in-process.

    The sandbox gets its own token store, so its tokens never mix with real hh.ru ones.
    """
    from sandbox.config import SandboxConfig

    defaults = SandboxConfig()
    hh = replace(
        settings.hh,
        client_id=defaults.client_id,
        client_secret=defaults.client_secret,
        redirect_uri=defaults.redirect_uri,
        rate_limit=SANDBOX_RATE_LIMIT,
        token_store=settings.home / "sandbox_tokens.json",
    )
    if url:
        yield replace(settings, hh=replace(hh, api_url=url))
        return
    from sandbox.server import start_in_thread

    config = SandboxConfig(vacancies=vacancies, rate_limit_rps=0)
    with start_in_thread(config) as running:
        yield replace(settings, hh=replace(hh, api_url=running.url))


def database(settings: Settings) -> Engine:
    """The engine for this run, with the schema migrated to the newest revision."""
    engine = engine_for(settings.database_url, settings.home, settings.allow_insecure_db)
    upgrade(engine)
    return engine


def hh_client(settings: Settings, mode: str = "application") -> HHClient:
    hh = settings.hh
    auth = HHAuth(TokenStore(hh.token_store), hh.client_id, hh.client_secret, mode=mode, redirect_uri=hh.redirect_uri)
    return HHClient.create(hh.api_url, hh.user_agent, auth, rate_limit=hh.rate_limit)


def searches(settings: Settings, path: str | None = None) -> list[Search]:
    """The configured searches: ``path``, else JOBPIPE_SEARCHES, else the bundled file."""
    return load_searches(Path(path) if path else settings.searches_file or BUNDLED_SEARCHES)
