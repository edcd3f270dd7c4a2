"""Settings of the emulated Avito API (Messenger + Авито.Работа), held as ``SandboxConfig.avito``."""

from __future__ import annotations

from dataclasses import dataclass, field

TARIFF_GROUPS = frozenset({"messages", "job", "contacts"})
"""Groups that can be switched to 402 Payment required (a tariff without «Максимальный»)."""

EXPIRED_TOKEN_MODES: tuple[int | str, ...] = (403, 401, "result")
ENVELOPES = ("object", "array")


@dataclass
class AvitoConfig:
    """Everything that shapes the emulated Avito: the data world, tokens, limits, faults and tariff.

    Like :class:`~sandbox.config.SandboxConfig` the object is read on every request, so a test may
    change limits, ``latency_ms``, ``fail_rate``, ``messages_envelope``, ``expired_token_status`` or
    ``tariff_402`` on a running sandbox. World-shaping fields are read once, when the app is built.
    """

    seed: int | None = None
    """Seed of the world and of the failure RNG; None derives it from ``SandboxConfig.seed``."""
    account_id: int = 94235311
    """The own account (``GET /core/v1/accounts/self`` id, ``user_id`` of every messenger path)."""
    chats: int = 1500
    """u2i chats about the vacancies (the few a2u system chats come on top)."""
    system_chats: int = 3
    """a2u chats (Avito support / notifications) that are not about a vacancy."""
    applications: int = 1500
    """Applications (отклики) at start."""
    vacancies: int = 40
    """Vacancies (items) the chats and applications are about."""
    popular_vacancy_shares: tuple[float, ...] = (0.39, 0.38, 0.08)
    """Shares of all u2i chats given to the first vacancies (extra shares beyond ``vacancies`` are
    ignored); with 3000 chats the first two get more than 1100 each, beyond what even their own
    listing can reach (offset cap). The rest is spread unevenly over the other vacancies."""
    days: int = 60
    """Chats and applications are created within this many days before ``SandboxConfig.anchor``."""
    resume_share: float = 0.85
    """Share of applications that carry a ``resume_id`` (the rest have null)."""
    chats_without_application_share: float = 0.25
    """Share of u2i chats that no application points at (the candidate just wrote)."""
    phone_application_share: float = 0.15
    """Minimum share of applications made by phone (``type=by_phone``, ``contacts.chat`` null)."""
    parsing_forbidden_share: float = 0.10
    """Share of candidates with ``users[].parsing_allowed`` false."""
    max_messages: int = 30
    """Each chat has 0..max_messages messages (deterministic per chat)."""
    token_lifetime: int = 86400
    """``expires_in`` of access tokens, seconds (24 h like Avito)."""
    refresh_token_lifetime: int = 365 * 86400
    """Lifetime of refresh tokens of the authorization-code flow (1 year per the guide)."""
    client_id: str = "sandbox-avito-client-id"
    client_secret: str = "sandbox-avito-client-secret"  # noqa: S105 - a public sandbox credential
    job_rate_limit_rps: float = 10.0
    """Requests per second per bearer token on ``/job/...``; 0 switches the limit off."""
    messenger_rate_limit_rps: float = 0.0
    """Requests per second per bearer token on ``/messenger/...``; 0 (default) = no limit."""
    retry_after: int | None = None
    """Seconds sent in ``Retry-After`` with a 429; None sends no header (Avito documents none)."""
    latency_ms: int = 0
    """Milliseconds every data request waits before it is answered (asyncio.sleep, not blocking)."""
    fail_rate: float = 0.0
    """Probability that a data request fails with ``fail_status`` (seeded RNG)."""
    fail_status: int = 503
    """Status of injected failures: 503 (service unavailable) or 500 (internal error)."""
    messages_envelope: str = "object"
    """``object``: ``{"messages": [...], "meta": {"has_more": bool}}`` (what clients observe);
    ``array``: the bare list the spec declares."""
    expired_token_status: int | str = 403
    """Answer to an expired token: 403 Forbidden (the guide), 401 Unauthorized, or ``"result"``
    (403 with ``{"result": {"message": "access token expired", "status": false}}``)."""
    tariff_402: frozenset[str] = field(default_factory=frozenset)
    """Groups answering 402 Payment required: ``messages`` (message history), ``job`` (every
    /job/ route) and/or ``contacts`` (resume contacts only)."""

    def __post_init__(self) -> None:
        self.tariff_402 = frozenset(self.tariff_402)
        self.popular_vacancy_shares = tuple(self.popular_vacancy_shares)
        if unknown := self.tariff_402 - TARIFF_GROUPS:
            raise ValueError(f"unknown tariff_402 groups: {sorted(unknown)}")
        if self.expired_token_status not in EXPIRED_TOKEN_MODES:
            raise ValueError("expired_token_status must be 403, 401 or 'result'")
        if self.messages_envelope not in ENVELOPES:
            raise ValueError("messages_envelope must be 'object' or 'array'")
        if self.fail_status not in (500, 503):
            raise ValueError("fail_status must be 500 or 503")
        if min(self.chats, self.applications, self.system_chats, self.max_messages, self.latency_ms) < 0:
            raise ValueError("counts and latency_ms must be >= 0")
        if self.vacancies < 1 or self.days < 1:
            raise ValueError("vacancies and days must be >= 1")
        shares = (
            self.fail_rate,
            self.resume_share,
            self.chats_without_application_share,
            self.phone_application_share,
            self.parsing_forbidden_share,
        )
        if not all(0.0 <= s <= 1.0 for s in shares):
            raise ValueError("rates and shares must be within [0, 1]")
        if any(s < 0 for s in self.popular_vacancy_shares) or sum(self.popular_vacancy_shares) > 1.0:
            raise ValueError("popular_vacancy_shares must be >= 0 and sum to at most 1")

    def effective_seed(self, sandbox_seed: int) -> int:
        """``seed``, or the sandbox seed when unset."""
        return self.seed if self.seed is not None else sandbox_seed
