"""One API rate limit shared by every process that calls the API from one IP (hh.ru: about 10
requests/s per IP), through a Prefect global concurrency limit.

The limit counts the processes, it does not meter requests: a process that calls hh.ru holds one
slot of it (a lease, renewed while it keeps calling), and its own limiter sends at the IP's rate
divided by the slots held, re-read every ``refresh`` seconds. When one of two workers finishes,
the other goes back to the whole rate within seconds. Requests never wait on the Prefect API: a
process asks the server twice per ``refresh`` seconds, not once per request (a slot of a limit
with slot decay per request costs tens of milliseconds and, under contention, most of the rate;
see the README, Scale-out).

A process that stops calling (or dies) gives its slot back when its lease runs out (Prefect's
shortest lease is 60 s; the server looks for expired leases every 15 s); one that finishes its
work gives it back at once. A process that calls again after that takes a new slot.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Protocol
from uuid import UUID

from jobpipe.settings import ConfigurationError

log = logging.getLogger(__name__)

REFRESH_SECONDS = 1.0
LEASE_SECONDS = 60.0  # the shortest lease the Prefect server grants


class Retargetable(Protocol):
    def retarget(self, rate: float) -> None: ...


class Slots(Protocol):
    """The shared limit's server side: take, renew and give back one slot; count the slots held."""

    def take(self) -> UUID: ...

    def renew(self, lease: UUID) -> bool: ...

    def give_back(self, lease: UUID) -> None: ...

    def held(self) -> int: ...


class SharedRate:
    """``rate`` requests/s split evenly between the processes holding a slot of the shared limit.

    Called before every request (the :class:`~tasks.sync.http.HttpCore` ``global_limit`` hook);
    costs a clock read except every ``refresh`` seconds, when one thread renews the lease and
    re-reads the count while the others go on at the current share.
    """

    def __init__(
        self,
        slots: Slots,
        rate: float,
        refresh: float = REFRESH_SECONDS,
        lease_seconds: float = LEASE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.slots = slots
        self.rate = rate
        self.refresh = refresh
        self.renew_every = lease_seconds / 3
        self.share = rate
        self._clock = clock
        self._limiters: weakref.WeakSet[Retargetable] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._lease: UUID | None = None
        self._renewed = 0.0
        self._next = 0.0
        self._finalizer: weakref.finalize | None = None

    def attach(self, limiter: Retargetable) -> None:
        """A limiter that sends at this process's share (every hh.ru client of the process)."""
        self._limiters.add(limiter)
        limiter.retarget(self.share)

    def __call__(self) -> None:
        if self._lease is not None and self._clock() < self._next:
            return
        # the first request waits for the slot; later ones go on while one thread refreshes
        if not self._lock.acquire(blocking=self._lease is None):
            return
        try:
            now = self._clock()
            if self._lease is None:
                self._take(now)
            elif now < self._next:
                return
            elif now - self._renewed >= self.renew_every:
                if self.slots.renew(self._lease):
                    self._renewed = now
                else:  # the lease ran out (the process was idle): take a new slot
                    self._take(now)
            self._rescale(self.slots.held())
            self._next = now + self.refresh
        finally:
            self._lock.release()

    def _take(self, now: float) -> None:
        self._lease = self.slots.take()
        self._renewed = now
        if self._finalizer is not None:
            self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _give_back_quietly, self.slots, self._lease)

    def _rescale(self, held: int) -> None:
        share = self.rate / max(1, held)
        if share != self.share:
            log.info("hh.ru rate shared by %d process(es): %.2f requests/s here", max(1, held), share)
        self.share = share
        for limiter in list(self._limiters):
            limiter.retarget(share)

    def close(self) -> None:
        """Give the slot back now (the work is done); a later request takes a new one."""
        with self._lock:
            if self._finalizer is not None:
                self._finalizer()
            self._finalizer = None
            self._lease = None
            self._next = 0.0


def _give_back_quietly(slots: Slots, lease: UUID) -> None:
    try:
        slots.give_back(lease)
    except Exception as exc:
        log.debug("could not give the shared limit's slot back (%s); its lease runs out", type(exc).__name__)


class PrefectSlots:
    """:class:`Slots` of the Prefect global concurrency limit ``name`` (one without slot decay)."""

    def __init__(self, name: str, lease_seconds: float = LEASE_SECONDS) -> None:
        self.name = name
        self.lease_seconds = lease_seconds

    def _client(self):
        from prefect.client.orchestration import get_client

        return get_client(sync_client=True)

    def _limit(self, client):
        from prefect.exceptions import ObjectNotFound

        try:
            return client.read_global_concurrency_limit_by_name(self.name)
        except ObjectNotFound:
            raise ConfigurationError(self._advice("does not exist on the Prefect server")) from None

    def _advice(self, what: str) -> str:
        return (
            f"HH_GLOBAL_RATE_LIMIT={self.name!r} {what}. Create it on the Prefect server every worker uses "
            f"(PREFECT_API_URL): `prefect gcl create {self.name} --limit 10` (at most 10 processes call hh.ru "
            "at once; no slot decay: it counts the processes, which share HH_RATE_LIMIT), or unset "
            "HH_GLOBAL_RATE_LIMIT (README, Scale-out)"
        )

    def take(self) -> UUID:
        """One slot, leased: straight from the API, not through ``prefect.concurrency``, which
        inside a task run gives every lease back when that task ends (the first hh.ru request of a
        flow is made in a task), so the slot would be held for a moment instead of the harvest."""
        import httpx

        with self._client() as client:
            limit = self._limit(client)
            if limit.slot_decay_per_second:
                raise ConfigurationError(self._advice(f"has slot decay ({limit.slot_decay_per_second:g}/s)"))
            if not limit.active:
                raise ConfigurationError(self._advice("is inactive"))
            while True:
                try:
                    taken = client.increment_concurrency_slots_with_lease(
                        [self.name], 1, "concurrency", self.lease_seconds
                    )
                except httpx.HTTPStatusError as exc:
                    if exc.response.status_code != 423:
                        raise
                    # every slot is held: as many processes call hh.ru as the limit allows
                    log.info("HH_GLOBAL_RATE_LIMIT=%r: every slot is held, waiting for one", self.name)
                    time.sleep(float(exc.response.headers.get("Retry-After") or 1.0))
                    continue
                return UUID(taken.json()["lease_id"])

    def renew(self, lease: UUID) -> bool:
        import httpx

        with self._client() as client:
            try:
                client.renew_concurrency_lease(lease, self.lease_seconds)
            except httpx.HTTPStatusError as exc:
                if exc.response.status_code in (404, 410):  # expired, or revoked by the server
                    return False
                raise
        return True

    def give_back(self, lease: UUID) -> None:
        with self._client() as client:
            client.release_concurrency_slots_with_lease(lease)

    def held(self) -> int:
        with self._client() as client:
            return int(self._limit(client).active_slots)


_SHARED: dict[str, SharedRate] = {}
_SHARED_LOCK = threading.Lock()


def shared_rate(name: str, rate: float) -> SharedRate:
    """This process's one :class:`SharedRate` for the Prefect limit ``name`` (so that a process
    holds one slot, whatever number of hh.ru clients it makes)."""
    with _SHARED_LOCK:
        shared = _SHARED.get(name)
        if shared is None or shared.rate != rate:
            shared = _SHARED[name] = SharedRate(PrefectSlots(name), rate)
        return shared
