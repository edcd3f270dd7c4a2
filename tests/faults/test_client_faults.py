"""Each kind of injected fault against the clients directly (fast retry policy, short timeouts):
transient faults are retried and the answer is the fault-free one; permanent ones stop with a
message that says what happened."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.faultruns import small_world
from sandbox.faults import KINDS, FaultInjector, FaultPlan, FaultRule
from sandbox.server import RunningSandbox, start_in_thread
from tasks.avito.client import AvitoAuth, AvitoClient
from tasks.hh.client import HHAuth, HHClient
from tasks.sync.http import ApiError, RetryPolicy, StopRun
from tasks.sync.tokens import TokenStore

UA = "jobpipe-tests/1.0 (faults@example.com)"
FAST = RetryPolicy(attempts=4, backoff=0.01, max_delay=0.05)
TRANSIENT = [k for k in KINDS if k not in ("captcha", "refresh_fail", "token_expired")]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with start_in_thread(small_world(seed=9)) as running:
        yield running


@pytest.fixture(autouse=True)
def clean(sandbox) -> Iterator[None]:
    sandbox.faults.reset()
    yield
    sandbox.config.faults = None


def hh(sandbox: RunningSandbox, tmp_path, mode: str = "application") -> HHClient:
    cfg = sandbox.config
    auth = HHAuth(TokenStore(tmp_path / "hh.json"), cfg.client_id, cfg.client_secret, mode=mode)
    return HHClient.create(sandbox.url, UA, auth, rate_limit=0, retry=FAST, timeout=(2.0, 0.5), seed=1)


def avito(sandbox: RunningSandbox, tmp_path) -> AvitoClient:
    cfg = sandbox.config.avito
    auth = AvitoAuth(TokenStore(tmp_path / "avito.json"), cfg.client_id, cfg.client_secret)
    return AvitoClient.create(
        sandbox.avito_url, UA, auth, job_rate_limit=0, messenger_rate_limit=0, retry=FAST, timeout=(2.0, 0.5)
    )


def some_vacancy(sandbox: RunningSandbox) -> str:
    return next(v.id for v in sandbox.world.vacancies() if not v.archived)


@pytest.mark.parametrize("kind", TRANSIENT)
def test_a_transient_fault_is_retried_and_the_answer_is_the_fault_free_one(kind, sandbox, tmp_path):
    client = hh(sandbox, tmp_path)
    vacancy_id = some_vacancy(sandbox)
    expected = client.vacancy(vacancy_id)
    sandbox.config.faults = FaultPlan([FaultRule(kind, "/vacancies/{id}", requests=(1, 2), retry_after=1, delay=1.0)])
    retries = client.core.stats.retries
    assert client.vacancy(vacancy_id) == expected
    assert sandbox.faults.injected == {kind: 2}
    assert client.core.stats.retries - retries == 2


@pytest.mark.parametrize("kind", ["drop_mid_body", "invalid_json", "truncated_json", "503_html", "429"])
def test_avito_survives_transient_faults(kind, sandbox, tmp_path):
    client = avito(sandbox, tmp_path)
    expected = client.chats_page(0)
    sandbox.config.faults = FaultPlan([FaultRule(kind, "/avito/messenger/*", requests=(1, 2))])
    assert client.chats_page(0) == expected
    assert sandbox.faults.injected == {kind: 2}


def test_expired_tokens_are_renewed_once_and_a_failing_token_endpoint_is_retried(sandbox, tmp_path):
    hh_client, avito_client = hh(sandbox, tmp_path), avito(sandbox, tmp_path)
    vacancy_id = some_vacancy(sandbox)
    expected_vacancy, expected_chats = hh_client.vacancy(vacancy_id), avito_client.chats_page(0)
    old_hh = hh_client.core.auth.store.get("hh:app")
    sandbox.config.faults = FaultPlan(
        [FaultRule("token_expired", requests=(1, 1)), FaultRule("refresh_fail", requests=(1, 3))]
    )
    assert hh_client.vacancy(vacancy_id) == expected_vacancy
    assert avito_client.chats_page(0) == expected_chats
    assert sandbox.faults.injected == {"token_expired": 1, "refresh_fail": 3}
    assert hh_client.core.auth.store.get("hh:app") != old_hh  # the renewed token was stored


def test_a_token_refused_again_after_its_renewal_stops_with_what_to_do(sandbox, tmp_path):
    client = avito(sandbox, tmp_path)
    client.chats_page(0)
    sandbox.config.faults = FaultPlan([FaultRule("token_expired", "/avito/messenger/*", requests=(1, 2))])
    with pytest.raises(StopRun, match="refused the token again right after it was renewed") as caught:
        client.chats_page(0)
    assert "check the client credentials" in str(caught.value)
    assert sandbox.faults.injected == {"token_expired": 2}


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("invalid_json", "body that is not JSON (application/json) after 4 attempts"),
        ("truncated_json", "body that is not JSON (application/json) after 4 attempts"),
        ("drop_before_headers", "no answer after 4 attempts (ConnectionError)"),
        ("drop_mid_body", "no answer after 4 attempts (ChunkedEncodingError)"),
        ("timeout", "no answer after 4 attempts (ReadTimeout)"),
        ("503_html", "HTTP 503 after 4 attempts"),
    ],
)
def test_a_fault_that_does_not_pass_stops_with_a_clear_message(kind, message, sandbox, tmp_path):
    client = hh(sandbox, tmp_path)
    vacancy_id = some_vacancy(sandbox)
    client.vacancy(vacancy_id)  # the token is fetched before the faults start
    sandbox.config.faults = FaultPlan([FaultRule(kind, "/vacancies/{id}", probability=1.0, delay=1.0)])
    with pytest.raises(ApiError) as caught:
        client.vacancy(vacancy_id)
    assert message in str(caught.value)
    assert f"GET /vacancies/{vacancy_id}" in str(caught.value)
    assert sandbox.faults.injected == {kind: 4}


def test_captcha_stops_the_run_with_its_message(sandbox, tmp_path):
    client = hh(sandbox, tmp_path)
    sandbox.config.faults = FaultPlan([FaultRule("captcha", "/vacancies/{id}", requests=(1, 1))])
    with pytest.raises(StopRun, match="captcha") as caught:
        client.vacancy(some_vacancy(sandbox))
    assert "https://hh.ru/account/captcha?state=" in str(caught.value)
    assert client.core.stats.retries == 0


def test_the_same_plan_and_seed_inject_the_same_faults():
    plan = FaultPlan([FaultRule("502", probability=0.3), FaultRule("429", "/vacancies", requests=(3, 5))], seed=4)
    paths = ["/vacancies", "/vacancies/1", "/avito/job/v1/applications", "/token"] * 50

    def decisions(p: FaultPlan) -> list[str | None]:
        injector = FaultInjector()
        return [(r.kind if (r := injector.choose(p, path)) else None) for path in paths]

    first = decisions(plan)
    assert first == decisions(plan)
    assert first != decisions(FaultPlan(plan.rules, seed=5))
    assert first[8] == "429" and 30 < first.count("502") < 90  # the 3rd /vacancies request; ~30% of 150
    assert all(d is None for d, path in zip(first, paths, strict=True) if path == "/token")


def test_a_new_plan_on_a_running_sandbox_restarts_its_schedule(sandbox, tmp_path):
    client = hh(sandbox, tmp_path)
    client.dictionaries()
    sandbox.config.faults = FaultPlan([FaultRule("500", "/dictionaries", requests=(1, 1))])
    client.dictionaries()
    client.dictionaries()  # the 2nd matching request is outside the schedule
    sandbox.config.faults = FaultPlan([FaultRule("500", "/dictionaries", requests=(1, 1))])
    client.dictionaries()
    assert sandbox.faults.injected == {"500": 2}
