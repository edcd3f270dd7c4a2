"""Settings of the offline API emulator (one dataclass, shared by the CLI, the app and the tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sandbox.avito_config import AvitoConfig
from sandbox.faults import FaultPlan


def start_of_current_hour() -> datetime:
    """The current UTC time truncated to the hour: the default anchor of the generated world."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass
class SandboxConfig:
    """Everything that shapes the emulated hh.ru (the data world, limits, failures and OAuth client)
    and, in ``avito``, the emulated Avito API.

    The object is kept on ``app.state.config`` and read on every request, so a test may change
    ``rate_limit_rps``, ``retry_after``, ``fail_rate`` or ``captcha_anonymous`` on a running sandbox.
    """

    seed: int = 7
    """Seed of the world generator and of the failure-injection RNG."""
    vacancies: int = 20000
    """How many vacancies the world holds at start."""
    days: int = 30
    """``published_at`` is spread over this many days before ``anchor``."""
    anchor: datetime = field(default_factory=start_of_current_hour)
    """Newest possible publication time of the generated vacancies (timezone-aware)."""
    rate_limit_rps: float = 20.0
    """Requests per second per client (bearer token, else remote address); 0 switches the limit off."""
    retry_after: int | None = None
    """Seconds sent in ``Retry-After`` with a 429; None sends no header."""
    fail_rate: float = 0.0
    """Probability of a 502 bad_gateway on an API data request (seeded RNG)."""
    access_token_lifetime: int = 1209600
    """``expires_in`` of user access tokens, seconds (14 days like hh.ru)."""
    app_token_min_interval: int = 300
    """An application token may be re-issued at most once per this many seconds."""
    auth_code_lifetime: int = 600
    """Seconds an authorization code stays exchangeable."""
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"  # noqa: S105 - a public sandbox credential
    redirect_uri: str = "http://localhost/callback"
    """Registered redirect URI; /oauth/authorize accepts refinements on the same scheme/host/port."""
    captcha_anonymous: bool = False
    """When True, ``GET /vacancies/{id}`` without a token answers 403 captcha_required."""
    archived_in_search: bool = False
    """hh.ru search returns only active vacancies; True also lists archived ones in /vacancies."""
    latency_ms: int = 0
    """Milliseconds each hh.ru API answer is delayed (an asyncio sleep: requests overlap); 0 = none."""
    employer_vacancies: int = 8
    """Active vacancies of the sandbox employer (taken from the vacancy world) that carry negotiations."""
    employer_negotiations: int = 400
    """Negotiations (отклики) spread over the employer's vacancies, created up to ``days`` before
    ``anchor`` and a few days after it (so moving the clock reveals new ones and new states)."""
    applicant_negotiations: int = 150
    """Negotiations of the sandbox applicant, over random vacancies of the vacancy world."""
    applicant_api_closed: bool = True
    """hh.ru closed the applicant API on 15 Dec 2025: applicant tokens get 403 on ``/negotiations...``.
    False serves the applicant negotiations as the last pre-closure spec describes them."""
    avito: AvitoConfig = field(default_factory=AvitoConfig)
    """The Avito emulator mounted at ``/avito`` (its own world, tokens, limits and faults)."""
    faults: FaultPlan | None = None
    """Faults injected in front of every route (see :mod:`sandbox.faults`); may be replaced live."""

    def __post_init__(self) -> None:
        if self.anchor.tzinfo is None:
            raise ValueError("SandboxConfig.anchor must be timezone-aware")
        if self.vacancies < 0 or self.days <= 0:
            raise ValueError("vacancies must be >= 0 and days > 0")
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError("fail_rate must be within [0, 1]")
        if min(self.employer_vacancies, self.employer_negotiations, self.applicant_negotiations) < 0:
            raise ValueError("employer_vacancies, employer_negotiations and applicant_negotiations must be >= 0")
