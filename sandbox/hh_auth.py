"""OAuth 2.0 of the emulated hh.ru: ``POST /token`` grants, authorization codes and bearer checks.

Rules follow the research notes, section 2 (and hhru/api ``docs/errors.md``):

* ``client_credentials`` issues an application token (prefix ``APPL``) with no expiry; asking again
  revokes the previous one and is refused with 403 ``forbidden`` / ``app token refresh too early``
  within ``app_token_min_interval`` seconds of the last issue.
* ``authorization_code`` exchanges a single-use code for a user pair (access prefix ``USER``,
  ``expires_in`` = ``access_token_lifetime``).
* ``refresh_token`` is single-use and only accepted once the access token has expired.
* A user access token can be invalidated (``DELETE /token``); its refresh token dies with it.

Time comes from ``clock`` (POSIX seconds), which tests may replace to expire tokens without sleeping.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from sandbox.config import SandboxConfig
from sandbox.oauth import TokenError

Clock = Callable[[], float]
_ALPHABET = string.ascii_uppercase + string.digits


def _token(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(60))


APPLICANT = "applicant"
EMPLOYER = "employer"


@dataclass(frozen=True, slots=True)
class SandboxUser:
    """Whom an authorization code belongs to: the sandbox applicant unless a test names another.

    ``role`` is ``applicant`` or ``employer``; an employer (a manager of one employer) also has
    ``employer_id``, ``employer_name`` and ``manager_id`` (see :mod:`sandbox.hh_negotiations`).
    """

    id: str = "100500"
    first_name: str = "Иван"
    last_name: str = "Песочный"
    email: str = "sandbox-user@example.com"
    role: str = APPLICANT
    employer_id: str | None = None
    employer_name: str | None = None
    manager_id: str | None = None


@dataclass(slots=True)
class _Code:
    user: SandboxUser
    redirect_uri: str
    expires_at: float
    used: bool = False


@dataclass(slots=True)
class UserTokens:
    """A user pair and its life cycle flags."""

    access_token: str
    refresh_token: str
    user: SandboxUser
    expires_at: float
    refreshed: bool = False
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a request speaks for: ``anonymous``, ``application`` or ``user``."""

    kind: str
    token: str | None = None
    user: SandboxUser | None = None


ANONYMOUS = Identity("anonymous")


class BearerError(Exception):
    """A refused bearer token: 403 with ``{"type": "oauth", "value": value}``."""

    def __init__(self, value: str):
        super().__init__(value)
        self.value = value


class HHAuth:
    """Token store and grant logic of the sandbox; thread-safe."""

    def __init__(self, config: SandboxConfig, clock: Clock | None = None):
        self.config = config
        self.clock: Clock = clock or time.time
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._by_access: dict[str, UserTokens] = {}
        self._by_refresh: dict[str, UserTokens] = {}
        self._app_token: str | None = None
        self._app_issued_at: float | None = None
        self._old_app_tokens: set[str] = set()

    # ------------------------------------------------------------------ codes

    def issue_code(self, redirect_uri: str | None = None, user: SandboxUser | None = None) -> str:
        """An authorization code as if the user had approved access (what /oauth/authorize hands out)."""
        code = _token("")[:40]
        with self._lock:
            self._codes[code] = _Code(
                user=user or SandboxUser(),
                redirect_uri=redirect_uri or self.config.redirect_uri,
                expires_at=self.clock() + self.config.auth_code_lifetime,
            )
        return code

    def redirect_allowed(self, redirect_uri: str) -> bool:
        """hh.ru accepts a refinement of the registered URI: same scheme, host and port."""
        want, got = urlsplit(self.config.redirect_uri), urlsplit(redirect_uri)
        return (want.scheme, want.hostname, want.port) == (got.scheme, got.hostname, got.port)

    # ------------------------------------------------------------------ POST /token

    def grant(self, form: Mapping[str, str]) -> dict[str, object]:
        """Handle a ``POST /token`` form; the JSON body on success, :class:`TokenError` otherwise."""
        grant_type = form.get("grant_type", "")
        if grant_type == "client_credentials":
            self._check_client(form)
            return self._grant_app_token()
        if grant_type == "authorization_code":
            self._check_client(form)
            return self._grant_code(form)
        if grant_type == "refresh_token":
            return self._grant_refresh(form.get("refresh_token", ""))
        raise TokenError(400, "unsupported_grant_type", "unsupported grant_type")

    def _check_client(self, form: Mapping[str, str]) -> None:
        if form.get("client_id") != self.config.client_id or form.get("client_secret") != self.config.client_secret:
            raise TokenError(400, "invalid_client", "client_id or client_secret not found")

    def _grant_app_token(self) -> dict[str, object]:
        with self._lock:
            now = self.clock()
            if self._app_issued_at is not None and now - self._app_issued_at < self.config.app_token_min_interval:
                raise TokenError(403, "forbidden", "app token refresh too early")
            if self._app_token is not None:
                self._old_app_tokens.add(self._app_token)
            self._app_token = _token("APPL")
            self._app_issued_at = now
            return {"access_token": self._app_token, "token_type": "bearer"}

    def _grant_code(self, form: Mapping[str, str]) -> dict[str, object]:
        with self._lock:
            code = self._codes.get(form.get("code", ""))
            if code is None:
                raise TokenError(400, "invalid_request", "code not found")
            if code.used:
                raise TokenError(400, "invalid_grant", "code has already been used")
            if self.clock() >= code.expires_at:
                raise TokenError(400, "invalid_grant", "code expired")
            if form.get("redirect_uri") != code.redirect_uri:
                raise TokenError(400, "invalid_request", "bad redirect url")
            code.used = True
            return self._new_pair(code.user)

    def _grant_refresh(self, refresh_token: str) -> dict[str, object]:
        if not refresh_token:
            raise TokenError(400, "invalid_request", "token is empty")
        with self._lock:
            pair = self._by_refresh.get(refresh_token)
            if pair is None:
                raise TokenError(400, "invalid_grant", "bad token")
            if pair.refreshed:
                raise TokenError(400, "invalid_grant", "token has already been refreshed")
            if pair.revoked:
                raise TokenError(400, "invalid_grant", "token was revoked")
            if self.clock() < pair.expires_at:
                raise TokenError(400, "invalid_grant", "token not expired")
            pair.refreshed = True
            return self._new_pair(pair.user)

    def _new_pair(self, user: SandboxUser) -> dict[str, object]:
        lifetime = self.config.access_token_lifetime
        pair = UserTokens(_token("USER"), _token("USER"), user, self.clock() + lifetime)
        self._by_access[pair.access_token] = pair
        self._by_refresh[pair.refresh_token] = pair
        return {
            "access_token": pair.access_token,
            "token_type": "bearer",
            "expires_in": lifetime,
            "refresh_token": pair.refresh_token,
        }

    # ------------------------------------------------------------------ using tokens

    def identify(self, authorization: str | None) -> Identity:
        """Resolve an ``Authorization`` header; :class:`BearerError` when the token is not usable."""
        if not authorization:
            return ANONYMOUS
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise BearerError("bad_authorization")
        with self._lock:
            if token == self._app_token:
                return Identity("application", token)
            if token in self._old_app_tokens:
                raise BearerError("token_revoked")
            pair = self._by_access.get(token)
            if pair is None:
                raise BearerError("bad_authorization")
            if pair.revoked:
                raise BearerError("token_revoked")
            if self.clock() >= pair.expires_at:
                raise BearerError("token_expired")
            return Identity("user", token, pair.user)

    def invalidate(self, access_token: str) -> None:
        """``DELETE /token``: kill a live user access token and its refresh token."""
        with self._lock:
            pair = self._by_access.get(access_token)
            if pair is not None:
                pair.revoked = True

    def user_tokens(self, access_token: str) -> UserTokens | None:
        """The stored pair of a user access token (for tests)."""
        with self._lock:
            return self._by_access.get(access_token)

    @property
    def app_token(self) -> str | None:
        """The current application token, if one was issued."""
        return self._app_token
