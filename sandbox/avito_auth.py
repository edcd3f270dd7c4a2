"""OAuth of the emulated Avito: ``POST /token`` grants and the bearer check of every data route.

Rules (research notes, section 1):

* ``client_credentials`` (``client_id`` + ``client_secret``) issues an access token living
  ``token_lifetime`` seconds (24 h) with no refresh token and no scope. Asking again issues another
  token and does **not** invalidate the older ones (what Avito does is unknown; this is the lenient
  choice, noted in the sandbox README).
* ``authorization_code`` exchanges a code from :meth:`AvitoAuth.issue_code` (there is no browser
  step in the sandbox) for an access token plus a refresh token and ``scope``; ``refresh_token``
  returns a new pair and retires the used refresh token.
* Bad client credentials: 400 ``{"error": "invalid_client", "error_description": ...}`` (Avito's
  body is undocumented; OAuth-style as the notes suggest).
* A missing or unknown bearer token is :class:`BearerError` ``unauthorized``; an expired one is
  ``expired`` (the routes turn it into 403, 401 or the ``result`` body per ``expired_token_status``).

Time comes from ``clock`` (POSIX seconds), which tests replace to expire tokens without sleeping.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sandbox.avito_config import AvitoConfig
from sandbox.oauth import TokenError

Clock = Callable[[], float]
_ALPHABET = string.ascii_letters + string.digits
SCOPE = "messenger:read,messenger:write,job:applications,job:cv,user:read"


def _token(length: int = 22) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


class BearerError(Exception):
    """A refused bearer token; ``kind`` is ``unauthorized`` (missing/unknown) or ``expired``."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


@dataclass(slots=True)
class AccessToken:
    """An issued access token."""

    token: str
    expires_at: float
    grant: str


@dataclass(slots=True)
class _Refresh:
    expires_at: float
    used: bool = False


class AvitoAuth:
    """Token store and grant logic; thread-safe. ``config`` is read on every call."""

    def __init__(self, config: AvitoConfig, clock: Clock | None = None):
        self.config = config
        self.clock: Clock = clock or time.time
        self._lock = threading.Lock()
        self._tokens: dict[str, AccessToken] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._codes: set[str] = set()

    def issue_code(self) -> str:
        """An authorization code as if the account owner had approved the app (single use)."""
        code = _token(32)
        with self._lock:
            self._codes.add(code)
        return code

    def grant(self, form: Mapping[str, str]) -> dict[str, object]:
        """Handle a ``POST /token`` form: the JSON body on success, :class:`TokenError` otherwise."""
        grant_type = form.get("grant_type", "")
        if grant_type not in ("client_credentials", "authorization_code", "refresh_token"):
            raise TokenError(400, "unsupported_grant_type", "grant_type is not supported")
        if not form.get("client_id") or not form.get("client_secret"):
            raise TokenError(400, "invalid_request", "client_id and client_secret are required")
        if form["client_id"] != self.config.client_id or form["client_secret"] != self.config.client_secret:
            raise TokenError(400, "invalid_client", "Client authentication failed")
        with self._lock:
            if grant_type == "client_credentials":
                return self._new_access("client_credentials")
            if grant_type == "authorization_code":
                code = form.get("code", "")
                if code not in self._codes:
                    raise TokenError(400, "invalid_grant", "code is invalid or already used")
                self._codes.discard(code)
                return self._new_pair()
            refresh = self._refresh.get(form.get("refresh_token", ""))
            if refresh is None or refresh.used or self.clock() >= refresh.expires_at:
                raise TokenError(400, "invalid_grant", "refresh_token is invalid or expired")
            refresh.used = True
            return self._new_pair()

    def _new_access(self, grant: str) -> dict[str, object]:
        lifetime = self.config.token_lifetime
        token = AccessToken(_token(), self.clock() + lifetime, grant)
        self._tokens[token.token] = token
        return {"access_token": token.token, "expires_in": lifetime, "token_type": "Bearer"}

    def _new_pair(self) -> dict[str, object]:
        body = self._new_access("authorization_code")
        refresh = _token(38)
        self._refresh[refresh] = _Refresh(self.clock() + self.config.refresh_token_lifetime)
        return {**body, "refresh_token": refresh, "scope": SCOPE}

    def identify(self, authorization: str | None) -> AccessToken:
        """Resolve an ``Authorization: Bearer ...`` header or raise :class:`BearerError`."""
        scheme, _, value = (authorization or "").partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            raise BearerError("unauthorized")
        with self._lock:
            token = self._tokens.get(value)
            if token is None:
                raise BearerError("unauthorized")
            if self.clock() >= token.expires_at:
                raise BearerError("expired")
            return token

    def issue(self) -> str:
        """A fresh client-credentials access token without HTTP (for tests)."""
        with self._lock:
            return str(self._new_access("client_credentials")["access_token"])
