"""Where a run's clients come from, chosen once: the real APIs, or an emulator at a URL.

:func:`connect` is the one place that knows the difference. With ``emulator_url`` (the bundled
emulator, ``jobpipe sandbox``, or the one the CLI starts for ``--sandbox``) the settings point both
APIs at it, use its public client credentials and token stores of their own (its tokens never mix
with real ones), and its two hh.ru users are authorized. Flows and tasks get a :class:`Connections`
and never ask which one they have.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import Engine

from jobpipe.settings import Settings, load_settings
from jobpipe.shared_limit import shared_rate
from tasks.avito.client import AvitoAuth, AvitoClient
from tasks.hh.client import USER_PAIR, HHAuth, HHClient
from tasks.hh.search import Search, load_searches, select_partition
from tasks.sync.database import engine_for
from tasks.sync.migrate import upgrade
from tasks.sync.tokens import TokenStore

BUNDLED_SEARCHES = Path(__file__).with_name("searches.toml")
# The emulator answers at loopback speed: let the client go faster than against hh.ru.
SANDBOX_RATE_LIMIT = 200.0


@dataclass
class Connections:
    """The database and the API clients of one run (:func:`connect` made them)."""

    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)
    _clients: list = field(default_factory=list, repr=False)

    def database(self) -> Engine:
        """The run's database, its schema migrated to the newest revision (once per connection)."""
        if self._engine is None:
            s = self.settings
            self._engine = engine_for(s.database_url, s.home, s.allow_insecure_db)
            upgrade(self._engine)
        return self._engine

    def hh(self, mode: str = "application", account: str = USER_PAIR) -> HHClient:
        """An hh.ru client: the application token (searches), or a user's (``account``: its store key)."""
        hh = self.settings.hh
        auth = HHAuth(
            TokenStore(hh.token_store),
            hh.client_id,
            hh.client_secret,
            mode=mode,
            redirect_uri=hh.redirect_uri,
            pair_key=account,
        )
        shared = shared_rate(hh.global_rate_limit, hh.rate_limit) if hh.global_rate_limit else None
        client = HHClient.create(hh.api_url, hh.user_agent, auth, rate_limit=hh.rate_limit, global_limit=shared)
        if shared is not None:  # every process on the IP shares HH_RATE_LIMIT
            shared.attach(client.core.limiter)
        self._clients.append(client)
        return client

    def avito(self) -> AvitoClient:
        avito = self.settings.avito
        auth = AvitoAuth(TokenStore(avito.token_store), avito.client_id, avito.client_secret)
        client = AvitoClient.create(
            avito.api_url,
            self.settings.hh.user_agent,
            auth,
            job_rate_limit=avito.job_rate_limit,
            messenger_rate_limit=avito.messenger_rate_limit,
        )
        self._clients.append(client)
        return client

    def hh_accounts(self) -> list[str]:
        """The hh.ru user accounts authorized in the token store (``jobpipe auth hh``), by store key."""
        store = TokenStore(self.settings.hh.token_store)
        with store.locked():
            keys = store.read_all()
        return sorted(key for key in keys if key == USER_PAIR or key.startswith(USER_PAIR + ":"))

    def searches(self, path: str | None = None, partition: str | None = None) -> list[Search]:
        """The configured searches (``path``, else JOBPIPE_SEARCHES, else the bundled file), or
        partition ``k/n`` of them."""
        return select_partition(
            load_searches(Path(path) if path else self.settings.searches_file or BUNDLED_SEARCHES), partition
        )

    def close(self) -> None:
        """Give back what the clients share with other processes, and close the database's pool."""
        for client in self._clients:
            client.close()
        self._clients.clear()
        if self._engine is not None:
            self._engine.dispose()


def emulated(settings: Settings, url: str) -> Settings:
    """``settings`` pointed at the emulator at ``url``: hh.ru at its root, Avito under ``/avito``, its
    public client credentials, token stores of its own."""
    from sandbox.avito_config import AvitoConfig
    from sandbox.config import SandboxConfig

    hh_defaults, avito_defaults, url = SandboxConfig(), AvitoConfig(), url.rstrip("/")
    hh = replace(
        settings.hh,
        api_url=url,
        client_id=hh_defaults.client_id,
        client_secret=hh_defaults.client_secret,
        redirect_uri=hh_defaults.redirect_uri,
        rate_limit=SANDBOX_RATE_LIMIT,
        token_store=settings.home / "sandbox_tokens.json",
    )
    avito = replace(
        settings.avito,
        api_url=f"{url}/avito",
        client_id=avito_defaults.client_id,
        client_secret=avito_defaults.client_secret,
        job_rate_limit=SANDBOX_RATE_LIMIT,
        messenger_rate_limit=SANDBOX_RATE_LIMIT,
        token_store=settings.home / "sandbox_avito_tokens.json",
    )
    return replace(settings, hh=hh, avito=avito)


def connect(emulator_url: str | None = None, settings: Settings | None = None) -> Connections:
    """The run's connections: the real APIs, or the emulator at ``emulator_url`` (its users authorized)."""
    settings = settings or load_settings()
    if not emulator_url:
        return Connections(settings)
    connections = Connections(emulated(settings, emulator_url))
    authorize_emulator_users(connections)
    return connections


def authorize_emulator_users(connections: Connections) -> list[str]:
    """Authorize the emulator's employer and applicant users once (a pair an earlier emulator issued
    is replaced); returns their store keys."""
    from sandbox.accounts import DEMO_USERS, authorization_code, knows

    hh = connections.settings.hh
    store = TokenStore(hh.token_store)
    for key, login in DEMO_USERS.items():
        pair = store.get(key)
        if pair is not None and knows(hh.api_url, pair.access_token, hh.user_agent):
            continue
        assert hh.client_id is not None
        client = connections.hh(mode="user", account=key)
        client.authorize(authorization_code(hh.api_url, hh.client_id, hh.redirect_uri, login))
    return list(DEMO_USERS)


@contextmanager
def local_emulator(vacancies: int = 20000) -> Iterator[str]:
    """The bundled emulator, started in this process for the length of a command; yields its URL."""
    from sandbox.avito_config import AvitoConfig
    from sandbox.config import SandboxConfig
    from sandbox.server import start_in_thread

    config = SandboxConfig(vacancies=vacancies, rate_limit_rps=0, avito=AvitoConfig(job_rate_limit_rps=0))
    with start_in_thread(config) as running:
        yield running.url
