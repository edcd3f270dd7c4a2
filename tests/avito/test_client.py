"""The Avito client against the emulator: tokens, expiry variants, 402, 429, 5xx, envelopes, reach."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from sandbox.avito_config import AvitoConfig
from sandbox.config import SandboxConfig
from sandbox.server import start_in_thread
from tasks.avito.client import APP_PAIR, AvitoAuth, AvitoClient, PaymentRequired
from tasks.avito.listing import harvest_chats
from tasks.sync.http import RetryPolicy, StopRun
from tasks.sync.tokens import TokenStore
from tests.clients import FAST_RETRY

UA = "jobpipe-tests/1.0"


def start(clock, **avito):
    avito.setdefault("chats", 300)
    avito.setdefault("applications", 300)
    avito.setdefault("job_rate_limit_rps", 0)
    return start_in_thread(SandboxConfig(vacancies=10, avito=AvitoConfig(**avito)), clock=clock)


@pytest.fixture
def sandbox(clock):
    with start(clock) as running:
        yield running


def client_for(sandbox, store: TokenStore, clock=time.time, rate: float = 0, secret: str | None = None) -> AvitoClient:
    config = sandbox.config.avito
    auth = AvitoAuth(store, config.client_id, secret or config.client_secret, clock=clock)
    return AvitoClient.create(
        sandbox.avito_url, UA, auth, job_rate_limit=rate, messenger_rate_limit=rate, retry=FAST_RETRY
    )


def token_grants(sandbox) -> int:
    return sum(sandbox.stats.count(path=p, status=200, method="POST") for p in ("/avito/token", "/avito/token/"))


def test_token_is_cached_in_the_store_until_shortly_before_expiry(sandbox, tmp_path, clock):
    store = TokenStore(tmp_path / "t.json")
    for _ in range(3):
        client_for(sandbox, store, clock).account_id()
    assert token_grants(sandbox) == 1
    clock.now += 86400 - 300  # inside the safety margin: a new token before the old one dies
    client_for(sandbox, store, clock).account_id()
    assert token_grants(sandbox) == 2
    assert store.get(APP_PAIR).expires_at == pytest.approx(clock.now + 86400)


@pytest.mark.parametrize("expired_status", [403, 401, "result"])
def test_token_expiring_mid_run_is_renewed_once_and_nothing_is_lost(clock, tmp_path, expired_status):
    with start(clock, expired_token_status=expired_status) as sandbox:
        store = TokenStore(tmp_path / "t.json")
        client = client_for(sandbox, store, clock=lambda: 0.0)  # the client never thinks it expired
        ids = [a["id"] for a in client.application_ids(date(2000, 1, 1))]
        clock.now += 86401  # the emulator expires the token in the middle of the run
        fetched = client.applications(ids)
        assert sorted(a["id"] for a in fetched) == sorted(ids)
        assert token_grants(sandbox) == 2


def test_concurrent_expiry_renews_the_token_once(sandbox, tmp_path, clock):
    store = TokenStore(tmp_path / "t.json")
    client = client_for(sandbox, store, clock=lambda: 0.0)
    resume_ids = []
    for app in client.applications([a["id"] for a in client.application_ids(date(2000, 1, 1))][:100]):
        if app["applicant"].get("resume_id"):
            resume_ids.append(str(app["applicant"]["resume_id"]))
    clock.now += 86401
    resumes = client.resumes(resume_ids[:40], workers=8)
    assert all(resumes[r] is not None for r in resume_ids[:40])
    assert token_grants(sandbox) == 2


def test_bad_credentials_stop_with_what_to_set(sandbox, tmp_path):
    with pytest.raises(StopRun, match="AVITO_CLIENT_ID") as err:
        client_for(sandbox, TokenStore(tmp_path / "t.json"), secret="not-the-secret").account_id()
    assert "not-the-secret" not in str(err.value)


@pytest.mark.parametrize("group", ["messages", "job"])
def test_402_is_a_payment_error_for_that_stream_only(clock, tmp_path, group):
    with start(clock, tariff_402=frozenset({group})) as sandbox:
        client = client_for(sandbox, TokenStore(tmp_path / "t.json"))
        chats = client.list_chats().chats
        assert chats  # the chat list still works
        with pytest.raises(PaymentRequired, match="Максимальный"):
            if group == "messages":
                client.messages(chats[0]["id"])
            else:
                list(client.application_ids(date(2000, 1, 1)))


def test_5xx_and_429_are_retried_without_losing_records(clock, tmp_path):
    with start(clock, fail_rate=0.2, job_rate_limit_rps=5) as sandbox:
        # the client believes in 8 requests/s, the emulator allows 5: 429s until the client slows down
        client = client_for(sandbox, TokenStore(tmp_path / "t.json"), rate=8)
        client.job.retry = RetryPolicy(attempts=6, backoff=0.25, max_delay=4, jitter=0.3)  # as in production
        ids = [a["id"] for a in client.application_ids(date(2000, 1, 1))]
        assert len(ids) == len(set(ids)) == len(sandbox.avito_world.applications())
        apps = client.applications(ids)
        assert sorted(a["id"] for a in apps) == sorted(ids)
        resume_ids = [str(a["applicant"]["resume_id"]) for a in apps if a["applicant"].get("resume_id")][:40]
        resumes = client.resumes(resume_ids, workers=8)
        assert all(resumes[r] is not None and str(resumes[r]["id"]) == r for r in resume_ids)
        assert sandbox.stats.count(status=503) > 0 and sandbox.stats.count(status=429) > 0


def test_job_limiter_keeps_under_the_limit_at_full_speed(clock, tmp_path):
    with start(clock, job_rate_limit_rps=10) as sandbox:
        client = client_for(sandbox, TokenStore(tmp_path / "t.json"), rate=9)
        apps = client.applications([a["id"] for a in client.application_ids(date(2000, 1, 1))])
        resume_ids = [str(a["applicant"]["resume_id"]) for a in apps if a["applicant"].get("resume_id")][:30]
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda ids: client.resumes(ids, workers=4), [resume_ids[:15], resume_ids[15:]]))
        assert sandbox.stats.count(status=429) <= 2  # a stray one at most, never a storm


@pytest.mark.parametrize("envelope", ["object", "array"])
def test_both_message_envelopes_are_read(clock, tmp_path, envelope):
    with start(clock, messages_envelope=envelope) as sandbox:
        client = client_for(sandbox, TokenStore(tmp_path / "t.json"))
        chat = max(client.list_chats().chats, key=lambda c: c["updated"])
        expected = sandbox.avito_world.messages(sandbox.avito_world.chat(chat["id"]))
        got = client.messages(chat["id"])
        assert [m["id"] for m in got] == [m.id for m in expected]


def test_more_than_1100_chats_are_reached_by_splitting_per_vacancy(clock, tmp_path):
    with start(clock, chats=2500, applications=100) as sandbox:
        client = client_for(sandbox, TokenStore(tmp_path / "t.json"))
        first = client.list_chats()
        assert first.saturated and len(first.chats) == 1100
        u2i = {c.id for c in sandbox.avito_world.chats() if c.id.startswith("u2i-")}
        # the vacancies the flow knows (from applications and earlier runs): every chat is reached
        vacancies = {c.vacancy.id for c in sandbox.avito_world.chats() if c.vacancy}
        harvest = harvest_chats(client, None, vacancies)
        assert harvest.split_by_item and not harvest.unreachable_items
        assert {c["id"] for c in harvest.chats} == u2i
        # knowing only the vacancies of the first 1100 chats and of the applications reaches most, and
        # the rest only through vacancies known from elsewhere: that is the API's limit, not ours
        apps = client.applications([a["id"] for a in client.application_ids(date(2000, 1, 1))])
        partial = harvest_chats(client, None, {int(a["vacancy_id"]) for a in apps})
        assert len(partial.chats) > 1100
