"""The hh.ru client against the emulator over real HTTP: tokens, retries, limits, stops."""

from __future__ import annotations

import json
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from sandbox.config import SandboxConfig
from sandbox.server import start_in_thread
from tasks.hh.client import APP_PAIR, USER_PAIR, HHAuth, HHClient, TokenRefused
from tasks.sync.http import ApiError, RetryPolicy, StopRun
from tasks.sync.tokens import TokenStore
from tests.clients import FAST_RETRY, Clock

UA = "jobpipe-tests/1.0 (tests@example.com)"


@pytest.fixture
def sandbox(clock):
    config = SandboxConfig(vacancies=2000, rate_limit_rps=0, access_token_lifetime=3600)
    with start_in_thread(config, clock=clock) as running:
        yield running


def client_for(sandbox, store: TokenStore, mode: str, clock=time.time, rate: float = 0, **kw) -> HHClient:
    auth = HHAuth(
        store,
        sandbox.config.client_id,
        sandbox.config.client_secret,
        mode=mode,
        redirect_uri=sandbox.config.redirect_uri,
        clock=clock,
    )
    return HHClient.create(sandbox.url, UA, auth, rate_limit=rate, retry=FAST_RETRY, **kw)


def token_grants(sandbox) -> int:
    return sandbox.stats.count(path="/token", status=200, method="POST")


def authorize_user(sandbox, store, clock) -> HHClient:
    client = client_for(sandbox, store, "user", clock)
    client.core.auth.exchange_code(sandbox.auth.issue_code())
    return client


def test_code_exchange_stores_the_pair_privately(sandbox, tmp_path, clock):
    store = TokenStore(tmp_path / "tokens.json")
    client = authorize_user(sandbox, store, clock)
    pair = store.get(USER_PAIR)
    assert pair.access_token.startswith("USER") and pair.refresh_token
    assert pair.expires_at == pytest.approx(clock.now + 3600)
    assert stat.S_IMODE((tmp_path / "tokens.json").stat().st_mode) == 0o600
    assert client.core.get("/me")["is_application"] is False


def test_expiry_refreshes_once_and_persists_the_rotated_pair_before_use(sandbox, tmp_path, clock):
    store = TokenStore(tmp_path / "tokens.json")
    client = authorize_user(sandbox, store, clock)
    old = store.get(USER_PAIR)
    client.core.get("/me")
    grants = token_grants(sandbox)

    clock.now += 3601  # the access token expires, for the emulator and the client alike
    seen_on_disk = []
    original_put = store._write_all

    def spy(data):
        seen_on_disk.append(json.loads(json.dumps(data)))
        original_put(data)

    store._write_all = spy
    assert client.core.get("/me")["is_application"] is False
    new = store.get(USER_PAIR)
    assert new.access_token != old.access_token and new.refresh_token != old.refresh_token
    assert seen_on_disk and seen_on_disk[-1][USER_PAIR]["access_token"] == new.access_token
    assert token_grants(sandbox) == grants + 1
    # the old refresh token is spent: hh.ru (and the emulator) refuse a second use
    again = requests.post(
        sandbox.url + "/token",
        data={"grant_type": "refresh_token", "refresh_token": old.refresh_token},
        headers={"User-Agent": UA},
        timeout=5,
    )
    assert again.json()["error_description"] == "token has already been refreshed"


def test_no_refresh_before_expiry(sandbox, tmp_path, clock):
    store = TokenStore(tmp_path / "tokens.json")
    client = authorize_user(sandbox, store, clock)
    grants = token_grants(sandbox)
    for _ in range(5):
        clock.now += 600  # still inside the hour
        client.core.get("/me")
    assert token_grants(sandbox) == grants
    assert sandbox.stats.count(path="/token", status=400) == 0  # never refused as "token not expired"


def test_concurrent_users_of_an_expired_token_refresh_it_once(sandbox, tmp_path, clock):
    store = TokenStore(tmp_path / "tokens.json")
    authorize_user(sandbox, store, clock)
    clock.now += 3601
    grants = token_grants(sandbox)
    # four clients (as four runs would) share one store and hit the expiry at the same moment
    clients = [client_for(sandbox, TokenStore(tmp_path / "tokens.json"), "user", clock) for _ in range(4)]
    barrier = threading.Barrier(4)

    def call(c):
        barrier.wait()
        return c.core.get("/me")["id"]

    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(call, clients))
    assert len(set(ids)) == 1
    assert token_grants(sandbox) == grants + 1  # one refresh; nobody reused the spent token
    assert sandbox.stats.count(path="/token", status=400) == 0


def test_server_side_expiry_is_refreshed_on_token_expired(sandbox, tmp_path, clock):
    store = TokenStore(tmp_path / "tokens.json")
    client = authorize_user(sandbox, store, clock)
    sandbox_clock_ahead = Clock()
    sandbox_clock_ahead.now = clock.now + 3601
    sandbox.set_clock(sandbox_clock_ahead)  # the API says expired; the stored expiry does not yet
    assert client.core.get("/me")["is_application"] is False
    assert store.get(USER_PAIR).expires_at == pytest.approx(clock.now + 3600)


def test_application_token_is_obtained_once_and_shared(sandbox, tmp_path):
    store = TokenStore(tmp_path / "tokens.json")
    for _ in range(3):
        client = client_for(sandbox, store, "application")
        assert client.core.get("/me")["is_application"] is True
    assert token_grants(sandbox) == 1
    assert store.get(APP_PAIR).access_token.startswith("APPL")


def test_revoked_application_token_is_renewed_once(sandbox, tmp_path, clock):
    store = TokenStore(tmp_path / "tokens.json")
    client_for(sandbox, store, "application").core.get("/me")
    other = TokenStore(tmp_path / "elsewhere.json")  # another machine asks for a token later
    clock.now += 301
    client_for(sandbox, other, "application").core.get("/me")
    clock.now += 301
    assert client_for(sandbox, store, "application").core.get("/me")["is_application"] is True


def test_application_token_too_early_says_to_wait(sandbox, tmp_path):
    client_for(sandbox, TokenStore(tmp_path / "a.json"), "application").core.get("/me")
    with pytest.raises(TokenRefused, match="at most once per 5 minutes"):
        client_for(sandbox, TokenStore(tmp_path / "b.json"), "application").core.get("/me")


def test_missing_user_token_says_how_to_authorize(sandbox, tmp_path):
    with pytest.raises(StopRun, match="jobpipe auth hh --code"):
        client_for(sandbox, TokenStore(tmp_path / "t.json"), "user").core.get("/me")


def test_captcha_stops_the_run_with_instructions(sandbox, tmp_path):
    sandbox.config.captcha_anonymous = True
    client = client_for(sandbox, TokenStore(tmp_path / "t.json"), "anonymous")
    vacancy_id = sandbox.world.ids()[0]
    with pytest.raises(StopRun, match="captcha") as err:
        client.vacancy(vacancy_id)
    assert "captcha" in str(err.value) and "HH_CLIENT_ID" in str(err.value)


def test_retries_502_and_429_until_success(sandbox, tmp_path):
    sandbox.config.fail_rate = 0.3
    client = client_for(sandbox, TokenStore(tmp_path / "t.json"), "application")
    # 30% failures: ten attempts make "all ten failed" a one-in-a-million event per request
    client.core.retry = RetryPolicy(attempts=10, backoff=0.01, max_delay=0.2, jitter=0.2)
    ids = sandbox.world.ids()[:40]
    details = client.vacancies(ids, workers=4)
    assert all(details[i]["id"] == i for i in ids)
    assert sandbox.stats.count(status=502) > 0
    assert client.core.stats.retries >= sandbox.stats.count(status=502)


def test_429_retry_after_is_honoured(sandbox, tmp_path):
    sandbox.config.rate_limit_rps = 5
    sandbox.config.retry_after = 1
    client = client_for(sandbox, TokenStore(tmp_path / "t.json"), "application", rate=0)
    client.core.retry = RetryPolicy(attempts=6, backoff=0.01, max_delay=2, jitter=0.2)
    start = time.monotonic()
    for vid in sandbox.world.ids()[:12]:
        assert client.vacancy(vid)["id"] == vid
    assert sandbox.stats.count(status=429) > 0
    assert time.monotonic() - start >= 1.0  # waited for Retry-After instead of hammering


def test_rate_limiter_keeps_the_client_under_the_api_limit(sandbox, tmp_path):
    sandbox.config.rate_limit_rps = 10
    client = client_for(sandbox, TokenStore(tmp_path / "t.json"), "application", rate=8)
    client.vacancies(sandbox.world.ids()[:30], workers=6)
    assert sandbox.stats.count(status=429) == 0


def test_unknown_vacancy_is_none_and_other_errors_are_final(sandbox, tmp_path):
    client = client_for(sandbox, TokenStore(tmp_path / "t.json"), "application")
    assert client.vacancy("1") is None
    with pytest.raises(ApiError, match="HTTP 400"):
        client.search({}, page=50, per_page=100)  # beyond hh.ru's 2000-item depth


def test_missing_user_agent_stops_with_instructions(sandbox, tmp_path):
    client = client_for(sandbox, TokenStore(tmp_path / "t.json"), "anonymous")
    # an empty User-Agent is "unset" for hh.ru (dropping the header would let urllib3 add its own)
    client.core._session().headers.update({"User-Agent": "", "HH-User-Agent": ""})
    with pytest.raises(StopRun, match="HH_USER_AGENT"):
        client.search({})


def test_secrets_stay_out_of_errors(sandbox, tmp_path):
    auth = HHAuth(TokenStore(tmp_path / "t.json"), sandbox.config.client_id, "wrong-secret-value")
    client = HHClient.create(sandbox.url, UA, auth, rate_limit=0, retry=FAST_RETRY)
    with pytest.raises(TokenRefused) as err:
        client.core.get("/me")
    assert "wrong-secret-value" not in str(err.value)
    assert "wrong-secret-value" not in repr(auth)
