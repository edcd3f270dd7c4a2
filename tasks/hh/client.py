"""The hh.ru API client: endpoints, authentication and error meanings (on the shared HTTP core).

Vacancy search and details work with an *application* token (client_credentials), which hh.ru
issues without expiry and at most once per 5 minutes. *User* tokens (authorization code, then
refresh) are needed for negotiations; their refresh token is single-use and is refused before
the access token expires, so refresh is lazy: only when the stored expiry has passed or the API
answers ``token_expired``, and always under the token store's lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests

from tasks.sync.http import ApiError, AuthExpired, ErrorPolicy, HttpCore, StopRun, fetch_many
from tasks.sync.tokens import TokenPair, TokenStore

log = logging.getLogger(__name__)

APP_PAIR = "hh:app"
USER_PAIR = "hh:user"
MAX_PER_PAGE = 100
MAX_DEPTH = 2000  # hh.ru returns at most 2000 items of one query


class TokenRefused(StopRun):
    """The token endpoint refused a grant; the message says what to do."""


def _errors(body: Any) -> list[dict]:
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return [e for e in body["errors"] if isinstance(e, dict)]
    return []


class HHErrors(ErrorPolicy):
    """hh.ru error bodies: ``{"errors": [{"type": ..., "value": ...}], ...}``.

    Args:
        renewable: the token can simply be obtained again (an application token), so a revoked or
            unknown one is renewed once too; a user token is only ever refreshed after it expired.
    """

    def __init__(self, renewable: bool = False):
        self.renewable = renewable

    def classify(self, response: requests.Response, body: Any) -> ApiError | None:
        status = response.status_code
        if status < 400:
            return None
        path = requests.utils.urlparse(response.url).path
        if path.rstrip("/") in ("/token", "/oauth/token") and isinstance(body, dict) and "error" in body:
            return _token_error(status, body)
        errors = _errors(body)
        types = {e.get("type") for e in errors}
        values = {e.get("value") for e in errors}
        if "captcha_required" in types or "captcha_required" in values:
            url = next((e.get("captcha_url") for e in errors if e.get("captcha_url")), None)
            return StopRun(
                "hh.ru asks for a captcha: the run stopped. Use an application token (set "
                "HH_CLIENT_ID/HH_CLIENT_SECRET) or lower HH_RATE_LIMIT; to solve it, open "
                f"{url or 'the captcha page'} in a browser, then run again.",
                status,
                body,
            )
        if "bad_user_agent" in types:
            return StopRun(
                "hh.ru refused the User-Agent (" + ", ".join(sorted(map(str, values))) + "): set "
                "HH_USER_AGENT to 'YourApp/1.0 (you@example.com)' with a real contact.",
                status,
                body,
            )
        if "oauth" in types:
            if "token_expired" in values:
                return AuthExpired("hh.ru: access token expired", status, body)
            if self.renewable and values & {"bad_authorization", "token_revoked"}:
                # another application token was issued since (it revokes the previous one)
                return AuthExpired("hh.ru: application token revoked", status, body)
            return StopRun(
                "hh.ru refused the token (" + ", ".join(sorted(map(str, values))) + "): authorize "
                "again with `jobpipe auth hh`, or check HH_CLIENT_ID/HH_CLIENT_SECRET.",
                status,
                body,
            )
        description = body.get("description") if isinstance(body, dict) else None
        return ApiError(
            f"hh.ru {path}: HTTP {status} {description or ''} {sorted(map(str, types))}".strip(),
            status,
            body,
        )


def _token_error(status: int, body: dict) -> TokenRefused:
    error = str(body.get("error"))
    description = str(body.get("error_description") or "")
    hint = {
        "token not expired": "the access token is still valid; refresh only after it expires",
        "token has already been refreshed": "the refresh token was already used (another run?): "
        "authorize again with `jobpipe auth hh`",
        "app token refresh too early": "hh.ru issues an application token at most once per 5 "
        "minutes: wait and run again",
    }.get(description, "check the client credentials, or authorize again with `jobpipe auth hh`")
    return TokenRefused(f"hh.ru token endpoint: {error} ({description}); {hint}", status, body)


def _is(pair: TokenPair, header: str | None) -> bool:
    """Whether ``header`` is the Authorization value of ``pair``."""
    return header is not None and header == f"Bearer {pair.access_token}"


class HHAuth:
    """Supplies the Authorization header for one mode: ``application``, ``user`` or ``anonymous``.

    Args:
        store: the token store (shared with other processes through its lock).
        client_id, client_secret: the application's credentials (needed for application tokens
            and the code exchange).
        mode: which token authorizes API calls.
        clock: UNIX time source; tests move it forward to expire tokens.
        pair_key: where the user pair lives in the store (one key per authorized hh.ru account).
    """

    def __init__(
        self,
        store: TokenStore,
        client_id: str | None,
        client_secret: str | None,
        mode: str = "application",
        redirect_uri: str | None = None,
        clock: Callable[[], float] = time.time,
        pair_key: str = USER_PAIR,
    ):
        if mode not in ("application", "user", "anonymous"):
            raise ValueError(f"unknown hh.ru auth mode {mode!r}")
        self.store = store
        self.client_id = client_id
        self._secret = client_secret
        self.mode = mode
        self.redirect_uri = redirect_uri
        self.clock = clock
        self.pair_key = pair_key
        self.core: HttpCore | None = None  # set by HHClient

    # -- the header ---------------------------------------------------------------------------
    def __call__(self, rejected: str | None = None) -> str | None:
        """The header value; ``rejected`` is the one the API just refused as expired (renew it)."""
        if self.mode == "anonymous":
            return None
        if self.mode == "application":
            pair = self._application_token(rejected)
        else:
            pair = self._user_token(rejected)
        return f"Bearer {pair.access_token}"

    def _post_token(self, form: Mapping[str, str]) -> dict:
        assert self.core is not None, "HHAuth is used through HHClient"
        body = self.core.request("POST", "/token", data=dict(form), authenticate=False)
        if not isinstance(body, dict) or "access_token" not in body:
            raise ApiError("hh.ru token endpoint answered without an access_token")
        return body

    def _credentials(self) -> tuple[str, str]:
        if not self.client_id or not self._secret:
            raise StopRun(
                "hh.ru client credentials are not set: set HH_CLIENT_ID and HH_CLIENT_SECRET "
                "(dev.hh.ru), or run with --sandbox"
            )
        return self.client_id, self._secret

    def _application_token(self, rejected: str | None) -> TokenPair:
        def change(current: TokenPair | None) -> TokenPair:
            if current is not None and not _is(current, rejected):
                return current  # valid, or already renewed by another thread or run
            client_id, secret = self._credentials()
            body = self._post_token(
                {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
            )
            log.info("hh.ru: obtained a new application token")
            return TokenPair(access_token=body["access_token"])

        pair = self.store.update(APP_PAIR, change)
        assert pair is not None
        return pair

    def _user_token(self, rejected: str | None) -> TokenPair:
        def change(current: TokenPair | None) -> TokenPair:
            if current is None:
                raise StopRun("no hh.ru user token: authorize with `jobpipe auth hh --code CODE` first")
            if rejected is not None and not _is(current, rejected):
                return current  # another thread or run refreshed already: use its pair
            if rejected is None and not current.expired(self.clock()):
                return current  # hh.ru refuses early refreshes; never try one
            if not current.refresh_token:
                raise StopRun("the hh.ru user token expired and has no refresh token: authorize again")
            body = self._post_token({"grant_type": "refresh_token", "refresh_token": current.refresh_token})
            log.info("hh.ru: user token refreshed; the new pair is stored before use")
            return self._pair(body)

        pair = self.store.update(self.pair_key, change)
        assert pair is not None
        return pair

    def _pair(self, body: dict) -> TokenPair:
        expires_in = body.get("expires_in")
        return TokenPair(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token"),
            expires_at=self.clock() + float(expires_in) if expires_in is not None else None,
        )

    def exchange_code(self, code: str) -> TokenPair:
        """Exchange an authorization code (from the browser redirect) for a user token pair and store it."""
        client_id, secret = self._credentials()
        form = {
            "grant_type": "authorization_code",
            "client_id": client_id,
            "client_secret": secret,
            "code": code,
        }
        if self.redirect_uri:
            form["redirect_uri"] = self.redirect_uri
        with self.store.locked():
            pair = self._pair(self._post_token(form))
            self.store.put(self.pair_key, pair)
        return pair


def _path_of(url: str, base_url: str) -> str:
    """The API path of ``url`` without its query: hh.ru hands out absolute URLs (its own host, or
    the emulator's); the caller passes the query parameters itself."""
    path = requests.utils.urlparse(url).path
    base_path = requests.utils.urlparse(base_url).path.rstrip("/")
    if base_path and path.startswith(base_path + "/"):
        path = path[len(base_path) :]
    return path


class HHClient:
    """Endpoints of api.hh.ru used by jobpipe.

    Args:
        core: the HTTP core (its ``auth`` should be an :class:`HHAuth`).
    """

    def __init__(self, core: HttpCore):
        self.core = core
        if isinstance(core.auth, HHAuth):
            core.auth.core = core

    @classmethod
    def create(
        cls,
        api_url: str,
        user_agent: str,
        auth: HHAuth,
        rate_limit: float = 4.0,
        **core_options: Any,
    ) -> HHClient:
        core = HttpCore(
            api_url,
            user_agent,
            rate_limit=rate_limit,
            auth=auth,
            errors=HHErrors(renewable=auth.mode == "application"),
            ua_headers=("HH-User-Agent",),
            **core_options,
        )
        return cls(core)

    @property
    def calls(self) -> int:
        return self.core.stats.total

    def close(self) -> None:
        """The work is done: give back what this process shares with others (hh.ru's limit)."""
        self.core.close()

    def authorize(self, code: str) -> TokenPair:
        """Exchange an authorization code (from hh.ru's consent page) for a user token pair and store it."""
        assert isinstance(self.core.auth, HHAuth)
        return self.core.auth.exchange_code(code)

    def search(self, params: Mapping[str, Any], page: int = 0, per_page: int = MAX_PER_PAGE) -> dict:
        """One page of ``GET /vacancies`` (``page`` is 0-based; page*per_page+per_page <= 2000)."""
        query = dict(params)
        query.update(page=page, per_page=per_page)
        return self.core.get("/vacancies", query)

    def vacancy(self, vacancy_id: str) -> dict | None:
        """``GET /vacancies/{id}``; None when hh.ru no longer has it (404)."""
        try:
            return self.core.get(f"/vacancies/{vacancy_id}")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def vacancies(self, ids: Sequence[str], workers: int = 4) -> dict[str, dict | None]:
        """Details of many vacancies, ``workers`` requests in flight (the rate limiter still rules)."""
        return fetch_many(self.vacancy, ids, workers)

    def dictionaries(self) -> dict:
        return self.core.get("/dictionaries")

    # -- negotiations (user tokens) ----------------------------------------------------------
    def me(self) -> dict:
        """``GET /me``: who the user token speaks for (``is_employer``, ``employer.id``, ...)."""
        return self.core.get("/me")

    def employer_vacancies(self, employer_id: str, page: int = 0, per_page: int = 50) -> dict:
        """One page of ``GET /employers/{employer_id}/vacancies/active`` (at most 50 per page)."""
        return self.core.get(f"/employers/{employer_id}/vacancies/active", {"page": page, "per_page": per_page})

    def negotiation_collections(self, vacancy_id: str) -> dict:
        """``GET /negotiations?vacancy_id=``: the employer's collections of one vacancy."""
        return self.core.get("/negotiations", {"vacancy_id": vacancy_id})

    def collection_page(self, url: str, params: Mapping[str, Any]) -> dict:
        """One page of a collection, by the ``url`` hh.ru gave for it; ``params`` carry vacancy_id and paging."""
        return self.core.get(_path_of(url, self.core.base_url), params)

    def applicant_negotiations(self, page: int = 0, per_page: int = MAX_PER_PAGE) -> dict:
        """One page of the applicant's ``GET /negotiations``, newest update first (closed since 15 Dec 2025)."""
        query = {"page": page, "per_page": per_page, "order_by": "updated_at", "order": "desc"}
        return self.core.get("/negotiations", query)

    def negotiation_messages(self, negotiation_id: str, page: int = 0, per_page: int = MAX_PER_PAGE) -> dict:
        """One page of ``GET /negotiations/{nid}/messages`` (fetching them clears ``has_updates``)."""
        return self.core.get(f"/negotiations/{negotiation_id}/messages", {"page": page, "per_page": per_page})

    def currency_rates(self) -> dict[str, float]:
        """Units of each currency per 1 RUR, from ``/dictionaries`` (RUR itself is 1)."""
        rates = {c["code"]: float(c["rate"]) for c in self.dictionaries().get("currency", []) if c.get("rate")}
        rates.setdefault("RUR", 1.0)
        return rates
