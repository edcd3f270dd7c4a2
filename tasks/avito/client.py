"""The Avito API client: Messenger (chats, messages) and Авито.Работа (applications, resumes).

Built on the shared HTTP core, like the hh.ru client. Avito tokens come from client credentials
and live 24 hours; there is no refresh token, so "refresh" means asking for a new one. The token
is cached in the token store until shortly before it expires, behind the store's lock; a 401, or
a 403 (Avito answers expired tokens with either), renews it once and retries once. Job endpoints
and Messenger endpoints have their own rate limiters (Job: 10 requests/s per account).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

import requests

from tasks.sync.http import ApiError, AuthExpired, ErrorPolicy, HttpCore, StopRun, fetch_many
from tasks.sync.streams import StreamRefused
from tasks.sync.tokens import TokenPair, TokenStore

log = logging.getLogger(__name__)

APP_PAIR = "avito:app"
EXPIRY_MARGIN = 600.0  # seconds before expiry when a cached token is no longer used
CHATS_PAGE = 100
CHATS_MAX_OFFSET = 1000  # Avito refuses offsets above 1000: one listing reaches 1100 chats
MESSAGES_PAGE = 100
IDS_PAGE = 100


class PaymentRequired(StreamRefused):
    """402: the account's tariff does not include this API; the stream is skipped, not the run."""


def _error_text(body: Any) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error.get("value") or error.get("code") or "")
        if isinstance(error, str):
            return f"{error}: {body.get('error_description', '')}"
        result = body.get("result")
        if isinstance(result, dict):
            return str(result.get("message", ""))
    return ""


class AvitoErrors(ErrorPolicy):
    """Avito's error bodies are not uniform: keep the status, read what text there is."""

    def classify(self, response: requests.Response, body: Any) -> ApiError | None:
        status = response.status_code
        if status < 400:
            return None
        path = requests.utils.urlparse(response.url).path
        text = _error_text(body)
        if path.rstrip("/").endswith("/token"):
            return StopRun(
                f"Avito refused the client credentials (HTTP {status} {text}): check AVITO_CLIENT_ID and "
                "AVITO_CLIENT_SECRET (avito.ru/professionals/api)",
                status,
                body,
            )
        if status in (401, 403):
            return AuthExpired(f"Avito {path}: HTTP {status} {text}", status, body)
        if status == 402:
            return PaymentRequired(
                f"Avito {path}: 402 payment required — the account's tariff does not include this API "
                "(Messenger and Job need the «Максимальный» subscription)",
                status,
                body,
            )
        return ApiError(f"Avito {path}: HTTP {status} {text}".strip(), status, body)


class AvitoAuth:
    """Client-credentials tokens, cached in the token store until ``EXPIRY_MARGIN`` before expiry."""

    def __init__(
        self,
        store: TokenStore,
        client_id: str | None,
        client_secret: str | None,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.client_id = client_id
        self._secret = client_secret
        self.clock = clock
        self.core: HttpCore | None = None  # set by AvitoClient

    def __call__(self, rejected: str | None = None) -> str:
        """The header value; ``rejected`` is the one the API just refused (renew it once)."""

        def change(current: TokenPair | None) -> TokenPair:
            usable = current is not None and not (
                current.expires_at is not None and self.clock() >= current.expires_at - EXPIRY_MARGIN
            )
            if usable and rejected != f"Bearer {current.access_token}":
                return current  # valid, or already renewed by another thread or run
            return self._new_token()

        pair = self.store.update(APP_PAIR, change)
        assert pair is not None
        return f"Bearer {pair.access_token}"

    def _new_token(self) -> TokenPair:
        if not self.client_id or not self._secret:
            raise StopRun(
                "Avito client credentials are not set: set AVITO_CLIENT_ID and AVITO_CLIENT_SECRET, "
                "or run with --sandbox"
            )
        assert self.core is not None
        body = self.core.request(
            "POST",
            "/token",
            data={"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self._secret},
            authenticate=False,
        )
        if not isinstance(body, dict) or "access_token" not in body:
            raise ApiError("Avito token endpoint answered without an access_token")
        expires_in = float(body.get("expires_in") or 86400)
        log.info("Avito: obtained a new access token (valid %.0f h)", expires_in / 3600)
        return TokenPair(access_token=body["access_token"], expires_at=self.clock() + expires_in)


@dataclass
class ChatListing:
    chats: list[dict]
    saturated: bool  # the listing hit the 1100-chat reach: there may be more


class AvitoClient:
    """Endpoints of api.avito.ru used by jobpipe.

    Args:
        job: the HTTP core for ``/job/`` endpoints (its own rate limiter).
        messenger: the HTTP core for everything else (Messenger, account).
    """

    def __init__(self, job: HttpCore, messenger: HttpCore, auth: AvitoAuth):
        self.job = job
        self.messenger = messenger
        self.auth = auth
        auth.core = messenger
        self._account_id: int | None = None

    @classmethod
    def create(
        cls,
        api_url: str,
        user_agent: str,
        auth: AvitoAuth,
        job_rate_limit: float = 8.0,
        messenger_rate_limit: float = 8.0,
        **core_options: Any,
    ) -> AvitoClient:
        def core(rate: float) -> HttpCore:
            # burst 1: Avito's sliding one-second window never sees more than ``rate`` requests
            return HttpCore(api_url, user_agent, rate_limit=rate, auth=auth, errors=AvitoErrors(), **core_options)

        return cls(core(job_rate_limit), core(messenger_rate_limit), auth)

    @property
    def calls(self) -> int:
        return self.job.stats.total + self.messenger.stats.total

    def close(self) -> None:
        """The work is done (nothing is shared with other processes for Avito)."""
        self.job.close()
        self.messenger.close()

    # -- account ------------------------------------------------------------------------------
    def account_id(self) -> int:
        if self._account_id is None:
            self._account_id = int(self.messenger.get("/core/v1/accounts/self")["id"])
        return self._account_id

    # -- messenger ------------------------------------------------------------------------------
    def chats_page(self, offset: int, item_ids: Sequence[int] = (), chat_types: str = "u2i") -> list[dict]:
        params: dict[str, Any] = {"limit": CHATS_PAGE, "offset": offset, "chat_types": chat_types}
        if item_ids:
            params["item_ids"] = ",".join(str(i) for i in item_ids)
        body = self.messenger.get(f"/messenger/v2/accounts/{self.account_id()}/chats", params)
        return list(body.get("chats", [])) if isinstance(body, dict) else []

    def list_chats(
        self, item_ids: Sequence[int] = (), updated_after: int | None = None, chat_types: str = "u2i"
    ) -> ChatListing:
        """Chats newest-updated first, as far as one listing reaches (1100), stopping at ``updated_after``.

        Returns the chats and whether the listing was cut by Avito's offset limit.
        """
        chats: list[dict] = []
        for offset in range(0, CHATS_MAX_OFFSET + 1, CHATS_PAGE):
            page = self.chats_page(offset, item_ids, chat_types)
            chats.extend(page)
            if updated_after is not None and page and int(page[-1].get("updated") or 0) <= updated_after:
                return ChatListing(chats, saturated=False)
            if len(page) < CHATS_PAGE:
                return ChatListing(chats, saturated=False)
        return ChatListing(chats, saturated=True)

    def messages(self, chat_id: str, created_after: int | None = None) -> list[dict]:
        """A chat's messages, newest first, back to ``created_after`` (at most 1100, Avito's reach).

        Accepts both envelopes seen from Avito: a bare array (the spec) and ``{"messages": [...]}``.
        """
        result: list[dict] = []
        path = f"/messenger/v3/accounts/{self.account_id()}/chats/{quote(chat_id, safe='')}/messages/"
        for offset in range(0, CHATS_MAX_OFFSET + 1, MESSAGES_PAGE):
            body = self.messenger.get(path, {"limit": MESSAGES_PAGE, "offset": offset})
            page = body if isinstance(body, list) else (body or {}).get("messages", [])
            result.extend(page)
            if created_after is not None and page and int(page[-1].get("created") or 0) <= created_after:
                break
            if len(page) < MESSAGES_PAGE:
                break
        return result

    # -- job ----------------------------------------------------------------------------------
    def application_ids(self, updated_from: date) -> Iterator[dict]:
        """``{id, created_at, updated_at, state}`` of applications updated since ``updated_from``."""
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"updatedAtFrom": updated_from.isoformat()}
            if cursor:
                params["cursor"] = cursor
            page = self.job.get("/job/v1/applications/get_ids", params).get("applies", [])
            yield from page
            if len(page) < IDS_PAGE:
                return
            cursor = page[-1]["id"]

    def applications(self, ids: Sequence[str]) -> list[dict]:
        """Full applications, at most 100 ids per call (the response key is ``applies``)."""
        result: list[dict] = []
        for start in range(0, len(ids), IDS_PAGE):
            chunk = list(ids[start : start + IDS_PAGE])
            body = self.job.request("POST", "/job/v1/applications/get_by_ids", json_body={"ids": chunk})
            result.extend(body.get("applies", []) if isinstance(body, dict) else [])
        return result

    def resume(self, resume_id: str, missing_ok: bool = True) -> dict | None:
        """``GET /job/v2/resumes/{id}``; None when Avito no longer has it (404), unless not ``missing_ok``."""
        try:
            return self.job.get(f"/job/v2/resumes/{quote(str(resume_id), safe='')}")
        except ApiError as exc:
            if exc.status == 404 and missing_ok:
                return None
            raise

    def resumes(self, ids: Sequence[str], workers: int = 8) -> dict[str, dict | None]:
        """Many resumes, ``workers`` requests in flight (the Job rate limiter still rules)."""
        return fetch_many(self.resume, ids, workers)
