"""The guarantee under API faults: a daily run either completes with all data or stops with a clear
message; the next run completes; the database then equals the fault-free baseline (checksums), with
no duplicates and every cursor stream present. (A fault that never passes is tested on the client
in test_client_faults.py: a flow run would only add minutes of back-off.)"""

from __future__ import annotations

import pytest

from bench.checksums import differences, duplicates, table_checksums
from bench.faultruns import run_daily
from sandbox.faults import FaultPlan, FaultRule
from tasks.sync.http import StopRun

R = FaultRule
# name: (plan, the run must stop with a message containing this, or None when it must complete)
SCENARIOS: dict[str, tuple[FaultPlan, str | None]] = {
    "429 bursts and 5xx answers, JSON and HTML": (
        FaultPlan(
            [
                # scheduled rules first: on one request the first rule that fires wins
                R("429", "/vacancies/{id}", requests=(40, 43)),
                R("429_retry_after", "/avito/*", requests=(5, 6), retry_after=1),
                R("500", "/avito/*", requests=(10, 10)),
                R("502_html", "/vacancies", requests=(1, 1)),
                R("502", probability=0.01),
                R("503_html", probability=0.01),
            ],
            seed=11,
        ),
        None,
    ),
    "dropped connections, truncated and invalid JSON with 200": (
        FaultPlan(
            [
                R("drop_before_headers", "/vacancies/{id}", requests=(20, 21)),
                R("drop_mid_body", "/vacancies/{id}", requests=(70, 70)),
                R("drop_mid_body", "/avito/messenger/*", requests=(3, 3)),
                R("truncated_json", "/vacancies", requests=(1, 1)),
                R("truncated_json", "/vacancies/{id}", requests=(60, 61)),
                R("invalid_json", "/avito/*", requests=(7, 8)),
            ]
        ),
        None,
    ),
    "tokens expiring mid-run and a failing token endpoint": (
        FaultPlan(
            [
                R("token_expired", "/vacancies/{id}", requests=(80, 80)),
                R("token_expired", "/avito/*", requests=(15, 15)),
                R("refresh_fail", requests=(2, 3)),
            ]
        ),
        None,
    ),
    "captcha on hh.ru": (FaultPlan([R("captcha", "/vacancies/{id}", requests=(30, 30))]), "captcha"),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_a_faulted_run_completes_or_stops_clearly_and_the_rerun_restores_everything(
    name, fault_sandbox, searches, fresh, baseline, migrated_engine
):
    plan, stop_message = SCENARIOS[name]
    fault_sandbox.faults.reset()
    fault_sandbox.config.faults = plan
    error = run_daily(fault_sandbox, searches, fresh).error
    fault_sandbox.config.faults = None
    injected = dict(fault_sandbox.faults.injected)
    assert injected, "no fault was injected: the scenario tests nothing"
    expected_kinds = {rule.kind for rule in plan.rules if rule.requests}
    assert expected_kinds <= set(injected), injected

    if stop_message is None:
        assert error is None, f"{name}: the run should have survived {injected} but stopped: {error!r}"
        assert differences(baseline["checksums"], table_checksums(migrated_engine)) == {}
    else:
        assert isinstance(error, StopRun), f"{name}: expected a stop, got {error!r}"
        assert stop_message in str(error)

    assert run_daily(fault_sandbox, searches, fresh).error is None, "the run after the fault must complete"
    assert differences(baseline["checksums"], table_checksums(migrated_engine)) == {}
    assert not any(duplicates(migrated_engine).values())
