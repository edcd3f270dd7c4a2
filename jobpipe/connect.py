"""What a flow needs at its edge: settings, the sandbox when asked for, the database, the clients.

Configuration is resolved here once per run and handed to tasks as plain objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Engine

from jobpipe.settings import AvitoSettings, HHSettings, Settings
from jobpipe.shared_limit import shared_rate
from tasks.avito.client import AvitoAuth, AvitoClient
from tasks.hh.client import USER_PAIR, HHAuth, HHClient
from tasks.hh.search import Search, load_searches
from tasks.sync.database import engine_for
from tasks.sync.migrate import upgrade
from tasks.sync.tokens import TokenStore

BUNDLED_SEARCHES = Path(__file__).with_name("searches.toml")
# The emulator answers at loopback speed: let the client go faster than against hh.ru.
SANDBOX_RATE_LIMIT = 200.0


@contextmanager
def sandbox_settings(settings: Settings, url: str | None = None, vacancies: int = 20000) -> Iterator[Settings]:
    """Settings pointed at the bundled emulator: ``url`` when one runs, else one started in-process.

    The sandbox gets its own token store, so its tokens never mix with real hh.ru ones.
    """
    from sandbox.avito_config import AvitoConfig
    from sandbox.config import SandboxConfig

    defaults = SandboxConfig()
    avito_defaults = AvitoConfig()
    avito = replace(
        settings.avito,
        client_id=avito_defaults.client_id,
        client_secret=avito_defaults.client_secret,
        job_rate_limit=SANDBOX_RATE_LIMIT,
        messenger_rate_limit=SANDBOX_RATE_LIMIT,
        token_store=settings.home / "sandbox_avito_tokens.json",
    )
    hh = replace(
        settings.hh,
        client_id=defaults.client_id,
        client_secret=defaults.client_secret,
        redirect_uri=defaults.redirect_uri,
        rate_limit=SANDBOX_RATE_LIMIT,
        token_store=settings.home / "sandbox_tokens.json",
    )
    if url:
        yield _pointed_at(settings, hh, avito, url.rstrip("/"))
        return
    from sandbox.server import start_in_thread

    config = SandboxConfig(vacancies=vacancies, rate_limit_rps=0, avito=AvitoConfig(job_rate_limit_rps=0))
    with start_in_thread(config) as running:
        yield _pointed_at(settings, hh, avito, running.url)


def _pointed_at(settings: Settings, hh: HHSettings, avito: AvitoSettings, url: str) -> Settings:
    """hh.ru at the emulator's root, Avito under its ``/avito`` prefix."""
    return replace(settings, hh=replace(hh, api_url=url), avito=replace(avito, api_url=f"{url}/avito"))


def database(settings: Settings) -> Engine:
    """The engine for this run, with the schema migrated to the newest revision."""
    engine = engine_for(settings.database_url, settings.home, settings.allow_insecure_db)
    upgrade(engine)
    return engine


def hh_client(settings: Settings, mode: str = "application", pair_key: str = USER_PAIR) -> HHClient:
    hh = settings.hh
    auth = HHAuth(
        TokenStore(hh.token_store),
        hh.client_id,
        hh.client_secret,
        mode=mode,
        redirect_uri=hh.redirect_uri,
        pair_key=pair_key,
    )
    shared = shared_rate(hh.global_rate_limit, hh.rate_limit) if hh.global_rate_limit else None
    client = HHClient.create(hh.api_url, hh.user_agent, auth, rate_limit=hh.rate_limit, global_limit=shared)
    if shared is not None:  # every process on the IP shares HH_RATE_LIMIT
        shared.attach(client.core.limiter)
    return client


def hh_accounts(settings: Settings) -> list[str]:
    """The hh.ru user accounts authorized in the token store (``jobpipe auth hh``), by store key."""
    store = TokenStore(settings.hh.token_store)
    with store.locked():
        keys = store.read_all()
    return sorted(key for key in keys if key == USER_PAIR or key.startswith(USER_PAIR + ":"))


SANDBOX_ACCOUNTS = {f"{USER_PAIR}:employer": "employer", f"{USER_PAIR}:applicant": "applicant"}
"""The emulator's two users (a recruiter and an applicant), each under its own store key."""


def _known_to(hh: HHSettings, access_token: str) -> bool:
    """Whether the emulator knows this access token (valid or merely expired): a pair stored by an
    earlier emulator process is unknown to a new one, and is replaced."""
    import requests

    answer = requests.get(
        f"{hh.api_url}/me",
        headers={"Authorization": f"Bearer {access_token}", "HH-User-Agent": hh.user_agent},
        timeout=10,
    )
    return answer.status_code == 200 or "token_expired" in answer.text


def authorize_sandbox_accounts(settings: Settings) -> list[str]:
    """Authorize the emulator's employer and applicant users once, as a person would with
    ``jobpipe auth hh`` (consent page, then the code exchange); returns their store keys."""
    import requests

    hh = settings.hh
    store = TokenStore(hh.token_store)
    for key, login in SANDBOX_ACCOUNTS.items():
        pair = store.get(key)
        if pair is not None and _known_to(hh, pair.access_token):
            continue
        query = {"response_type": "code", "client_id": hh.client_id, "redirect_uri": hh.redirect_uri, "login": login}
        answer = requests.get(f"{hh.api_url}/oauth/authorize", params=query, allow_redirects=False, timeout=10)
        code = parse_qs(urlsplit(answer.headers.get("Location", "")).query).get("code")
        if answer.status_code != 302 or not code:
            raise RuntimeError(f"the sandbox did not authorize its {login} user (HTTP {answer.status_code})")
        hh_client(settings, mode="user", pair_key=key).core.auth.exchange_code(code[0])
    return list(SANDBOX_ACCOUNTS)


def avito_client(settings: Settings) -> AvitoClient:
    avito = settings.avito
    auth = AvitoAuth(TokenStore(avito.token_store), avito.client_id, avito.client_secret)
    return AvitoClient.create(
        avito.api_url,
        settings.hh.user_agent,
        auth,
        job_rate_limit=avito.job_rate_limit,
        messenger_rate_limit=avito.messenger_rate_limit,
    )


def searches(settings: Settings, path: str | None = None) -> list[Search]:
    """The configured searches: ``path``, else JOBPIPE_SEARCHES, else the bundled file."""
    return load_searches(Path(path) if path else settings.searches_file or BUNDLED_SEARCHES)
