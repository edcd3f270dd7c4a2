"""The process killed: ``jobpipe run daily`` is SIGKILLed at a seeded random point of its run, then
run again; the database must equal the fault-free run's, with no duplicates. (The bench
``bench/reliability.py`` kills many runs at many points; CI kills one, it costs a subprocess.)"""

from __future__ import annotations

import random

from bench.checksums import differences, duplicates, table_checksums
from bench.faultruns import killed_run, run_daily

SEED = 20261122


def test_a_run_killed_at_a_random_point_then_run_again_equals_the_fault_free_run(
    prefect_api, fault_sandbox, searches, fresh, baseline, migrated_engine
):
    # somewhere in the hh.ru details or the Avito sync: loads of earlier windows have committed
    kill_after = random.Random(SEED).randint(baseline["requests"] // 4, baseline["requests"] * 3 // 4)
    killed = killed_run(fault_sandbox, searches, fresh, prefect_api, after_requests=kill_after)
    assert killed.killed, f"the run ended before request {kill_after}: {killed.output[-2000:]}"
    partial = table_checksums(migrated_engine)
    assert partial != baseline["checksums"], "the kill came too late to leave anything undone"

    assert run_daily(fault_sandbox, searches, fresh).error is None
    assert differences(baseline["checksums"], table_checksums(migrated_engine)) == {}
    assert not any(duplicates(migrated_engine).values())
