"""All of jobpipe's configuration, in one place.

Settings come from environment variables (the same names later back Prefect blocks) and are
resolved at the edge — the CLI or a flow's entry — then passed down as plain values; tasks never
read the environment themselves.

| variable                  | meaning                                                        |
|---------------------------|----------------------------------------------------------------|
| DATABASE_URL              | PostgreSQL URL; unset = the embedded server in JOBPIPE_HOME    |
| JOBPIPE_HOME              | local state: embedded database, token store (./.jobpipe)      |
| JOBPIPE_ALLOW_INSECURE_DB | "1" allows a remote DATABASE_URL without sslmode=require      |
| HH_API_URL                | https://api.hh.ru (the sandbox sets its own)                   |
| HH_CLIENT_ID              | hh.ru application client id (dev.hh.ru)                        |
| HH_CLIENT_SECRET          | hh.ru application client secret                                |
| HH_USER_AGENT             | "AppName/1.0 (you@example.com)", required by hh.ru             |
| HH_REDIRECT_URI           | the redirect URI registered for the application (code exchange) |
| HH_RATE_LIMIT             | requests per second to hh.ru (default 4); with                 |
|                           | HH_GLOBAL_RATE_LIMIT, shared by every process holding a slot    |
| HH_GLOBAL_RATE_LIMIT      | name of a Prefect global concurrency limit (no slot decay) that |
|                           | counts the processes calling hh.ru from one IP, which then     |
|                           | split HH_RATE_LIMIT evenly (unset: each process has it all)     |
| HH_TOKEN_STORE            | token store file (default JOBPIPE_HOME/hh_tokens.json)         |
| JOBPIPE_SEARCHES          | TOML file with the searches (default: the bundled searches)   |
| AVITO_API_URL             | https://api.avito.ru                                           |
| AVITO_CLIENT_ID           | Avito client id (avito.ru/professionals/api)                   |
| AVITO_CLIENT_SECRET       | Avito client secret                                            |
| AVITO_JOB_RATE_LIMIT      | requests per second to Авито.Работа (default 9; Avito allows 10)|
| AVITO_TOKEN_STORE         | token store file (default JOBPIPE_HOME/avito_tokens.json)      |
| JOBPIPE_USE_BLOCKS        | 1: read Prefect Secret blocks; 0: never; unset: in deployments  |
| JOBPIPE_NOTIFY_URL        | webhook called when a flow run fails (jobpipe/hooks.py)        |
| JOBPIPE_NOTIFY_BLOCK      | or: a Prefect notification block to notify instead             |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HH_API_URL = "https://api.hh.ru"
DEFAULT_AVITO_API_URL = "https://api.avito.ru"
DEFAULT_USER_AGENT = "jobpipe/0.1 (set HH_USER_AGENT to 'YourApp/1.0 (you@example.com)')"


class ConfigurationError(RuntimeError):
    """A setting is missing or wrong; the message says what to set."""


@dataclass(frozen=True)
class HHSettings:
    api_url: str = DEFAULT_HH_API_URL
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    user_agent: str = DEFAULT_USER_AGENT
    redirect_uri: str | None = None
    rate_limit: float = 4.0
    token_store: Path = Path(".jobpipe/hh_tokens.json")
    global_rate_limit: str | None = None
    """A Prefect global concurrency limit without slot decay that counts the processes calling hh.ru
    from one IP (each holds one slot while it calls, and sends at ``rate_limit`` divided by the slots
    held; :mod:`jobpipe.shared_limit`); None: only this process's own limiter, at all of ``rate_limit``."""

    def require_credentials(self) -> tuple[str, str]:
        """The client id and secret, or a ConfigurationError that says where to get them."""
        if not self.client_id or not self.client_secret:
            raise ConfigurationError(
                "hh.ru client credentials are not set: register an application at "
                "https://dev.hh.ru/admin, then set HH_CLIENT_ID and HH_CLIENT_SECRET "
                "(or run with --sandbox to use the bundled emulator)."
            )
        return self.client_id, self.client_secret


@dataclass(frozen=True)
class AvitoSettings:
    api_url: str = DEFAULT_AVITO_API_URL
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    job_rate_limit: float = 9.0
    messenger_rate_limit: float = 8.0
    token_store: Path = Path(".jobpipe/avito_tokens.json")

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None = field(default=None, repr=False)
    allow_insecure_db: bool = False
    hh: HHSettings = field(default_factory=HHSettings)
    avito: AvitoSettings = field(default_factory=AvitoSettings)
    searches_file: Path | None = None


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    try:
        return float(env.get(name, default))
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of requests per second, got {env[name]!r}") from None


def _limit_name(env: Mapping[str, str], name: str) -> str | None:
    """A Prefect concurrency limit's name from ``env[name]``, or None when unset or blank."""
    value = (env.get(name) or "").strip()
    if any(c in value for c in "/%&><"):
        raise ConfigurationError(
            f"{name} must be the name of a Prefect global concurrency limit (no / % & > <), got {value!r}"
        )
    return value or None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (default: the process environment, with the Prefect Secret
    blocks filled in where :mod:`jobpipe.credentials` says: in deployed runs or with JOBPIPE_USE_BLOCKS=1)."""
    if env is None:
        from jobpipe.credentials import process_env

        env = process_env()
    home = Path(env.get("JOBPIPE_HOME", ".jobpipe")).expanduser().resolve()
    rate = _number(env, "HH_RATE_LIMIT", 4.0)
    hh = HHSettings(
        api_url=env.get("HH_API_URL", DEFAULT_HH_API_URL).rstrip("/"),
        client_id=env.get("HH_CLIENT_ID") or None,
        client_secret=env.get("HH_CLIENT_SECRET") or None,
        user_agent=env.get("HH_USER_AGENT") or DEFAULT_USER_AGENT,
        redirect_uri=env.get("HH_REDIRECT_URI") or None,
        rate_limit=rate,
        token_store=Path(env.get("HH_TOKEN_STORE") or home / "hh_tokens.json").expanduser(),
        global_rate_limit=_limit_name(env, "HH_GLOBAL_RATE_LIMIT"),
    )
    avito = AvitoSettings(
        api_url=env.get("AVITO_API_URL", DEFAULT_AVITO_API_URL).rstrip("/"),
        client_id=env.get("AVITO_CLIENT_ID") or None,
        client_secret=env.get("AVITO_CLIENT_SECRET") or None,
        job_rate_limit=_number(env, "AVITO_JOB_RATE_LIMIT", 9.0),
        token_store=Path(env.get("AVITO_TOKEN_STORE") or home / "avito_tokens.json").expanduser(),
    )
    searches = env.get("JOBPIPE_SEARCHES")
    return Settings(
        home=home,
        database_url=env.get("DATABASE_URL") or None,
        allow_insecure_db=_flag(env.get("JOBPIPE_ALLOW_INSECURE_DB")),
        hh=hh,
        avito=avito,
        searches_file=Path(searches).expanduser() if searches else None,
    )
