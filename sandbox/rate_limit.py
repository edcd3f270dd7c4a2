"""A sliding one-second window rate limiter keyed by client."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindowLimiter:
    """Allows at most ``rps`` requests per client within any 1-second window.

    A refused request is not counted, so a client that backs off gets through as soon as its oldest
    accepted request leaves the window. ``rps`` is passed per call so the limit can change at runtime.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, window: float = 1.0):
        self.clock = clock
        self.window = window
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str, rps: float) -> bool:
        """Record a request of ``key`` and say whether it is within the limit (``rps <= 0``: no limit)."""
        if rps <= 0:
            return True
        with self._lock:
            now = self.clock()
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= rps:
                return False
            hits.append(now)
            return True

    def reset(self) -> None:
        """Forget every client's history."""
        with self._lock:
            self._hits.clear()
