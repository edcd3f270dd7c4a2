"""hh.ru's limit shared through a real Prefect server (the session's harness): slots are leases of a
global concurrency limit without slot decay, counted by the server; a missing limit or one with
slot decay stops the first request with what to create."""

from __future__ import annotations

import uuid

import pytest

from jobpipe.settings import ConfigurationError
from jobpipe.shared_limit import PrefectSlots, SharedRate
from tasks.sync.http import RateLimiter


def create_limit(name: str, limit: int = 10, decay: float = 0.0) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=name, limit=limit, slot_decay_per_second=decay)
        )


def test_two_processes_hold_a_slot_each_and_share_the_rate() -> None:
    name = f"test-share-{uuid.uuid4().hex[:8]}"
    create_limit(name)
    processes = []
    for _ in range(2):  # two processes: each its own SharedRate and Prefect client
        shared, limiter = SharedRate(PrefectSlots(name), 10.0, refresh=0.0), RateLimiter(10.0)
        shared.attach(limiter)
        processes.append((shared, limiter))
    (a, a_limiter), (b, b_limiter) = processes
    a()
    b()
    a()  # refresh 0: every call re-reads the count
    assert a.slots.held() == 2
    assert a_limiter.target == b_limiter.target == 5.0
    assert a.slots.renew(a._lease) is True
    assert a.slots.renew(uuid.uuid4()) is False  # a lease the server does not know: taken again
    b.close()
    assert a.slots.held() == 1
    a()
    assert a_limiter.target == 10.0
    a.close()
    assert a.slots.held() == 0


def test_a_missing_limit_says_what_to_create() -> None:
    shared = SharedRate(PrefectSlots("test-share-missing"), 10.0)
    with pytest.raises(ConfigurationError, match=r"does not exist.*prefect gcl create test-share-missing --limit 10"):
        shared()


def test_a_limit_with_slot_decay_is_refused() -> None:
    name = f"test-share-decay-{uuid.uuid4().hex[:8]}"
    create_limit(name, limit=1, decay=14.0)
    with pytest.raises(ConfigurationError, match="has slot decay"):
        SharedRate(PrefectSlots(name), 10.0)()


def test_a_slot_taken_inside_a_task_is_held_after_the_task_ends() -> None:
    """A flow's first hh.ru request is made in a task (the currency rates): the slot must outlive it
    (``prefect.concurrency`` gives back the leases taken in a task run when it ends)."""
    from prefect import flow, task

    name = f"test-share-task-{uuid.uuid4().hex[:8]}"
    create_limit(name)
    shared = SharedRate(PrefectSlots(name), 10.0)

    @task
    def first_request() -> None:
        shared()

    @flow
    def harvest() -> int:
        first_request()
        return shared.slots.held()

    assert harvest() == 1
    shared.close()
    assert shared.slots.held() == 0


def test_a_full_limit_makes_the_next_process_wait_for_a_slot() -> None:
    import threading

    name = f"test-share-full-{uuid.uuid4().hex[:8]}"
    create_limit(name, limit=1)
    first, second = SharedRate(PrefectSlots(name), 10.0), SharedRate(PrefectSlots(name), 10.0)
    first()
    waiting = threading.Thread(target=second)
    waiting.start()
    waiting.join(timeout=3)
    assert waiting.is_alive()  # every slot is held: the second waits
    first.close()
    waiting.join(timeout=30)
    assert not waiting.is_alive() and second.slots.held() == 1
    second.close()
