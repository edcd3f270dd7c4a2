"""What the client tests share: one clock for the emulator and the client, fast retries."""

from __future__ import annotations

import time

import pytest

from tasks.sync.http import RetryPolicy

FAST_RETRY = RetryPolicy(attempts=6, backoff=0.01, max_delay=0.5, jitter=0.2)


class Clock:
    """One clock for the emulator and the client, so tokens expire without sleeping."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()
