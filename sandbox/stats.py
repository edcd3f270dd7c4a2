"""Thread-safe request counters by method, path template and status (read by tests and benchmarks)."""

from __future__ import annotations

import threading
from collections import Counter


class RequestStats:
    """Counts answered requests as ``(method, path template, status)``.

    ``path`` is the route template (``/vacancies/{vacancy_id}``), not the concrete URL.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, int]] = Counter()

    def record(self, method: str, path: str, status: int) -> None:
        """Count one answered request."""
        with self._lock:
            self._counts[(method.upper(), path, status)] += 1

    def count(self, path: str | None = None, status: int | None = None, method: str | None = None) -> int:
        """How many requests matched every given criterion (None = any)."""
        with self._lock:
            return sum(
                n
                for (m, p, s), n in self._counts.items()
                if (path is None or p == path)
                and (status is None or s == status)
                and (method is None or m == method.upper())
            )

    def snapshot(self) -> dict[tuple[str, str, int], int]:
        """A copy of all counters keyed by ``(method, path template, status)``."""
        with self._lock:
            return dict(self._counts)

    def as_rows(self) -> list[dict[str, object]]:
        """The counters as JSON-friendly rows, sorted (handy for benchmark reports)."""
        return [{"method": m, "path": p, "status": s, "count": n} for (m, p, s), n in sorted(self.snapshot().items())]

    @property
    def total(self) -> int:
        """All answered requests."""
        return self.count()

    def reset(self) -> None:
        """Forget all counts."""
        with self._lock:
            self._counts.clear()
