"""Streams as declarations: what the sync engine needs to know about one kind of record.

A source (hh.ru, Avito) is a list of :class:`Stream` declarations and the small functions they name
(a client method that fetches, a transform); the engine (:mod:`tasks.sync.engine`) does the rest:
cursors, per-record tolerance, checks, load, counts. A stream is one of three kinds, by where its
records come from:

``listing``
    the stream's own pages, from its cursor (minus ``overlap``) to now: ``fetch(client, since, part)``
    returns a :class:`Listed` (hh.ru vacancy searches, negotiations, Avito chats and applications, a
    responses file). ``part`` is what the job planned (an hh.ru date window, an account), or None.
``detail``
    the full record of each listed item of its ``parent`` whose change marker differs from the
    stored one (the item's ``marker`` against the table's ``marker_column``); unchanged items count
    as seen again, nothing is fetched for them. ``fetch(client, ids)`` returns ``{id: payload or
    None}``; a None replaces nothing when ``keep_listed`` (an hh.ru vacancy deleted since it was
    listed keeps its search item), else the item is gone and noted.
``child``
    records fetched per parent record: ``select(parents, lookups)`` names the keys to fetch (and
    from when), ``fetch(client, key, since)`` returns a list of payloads (Avito messages of a chat,
    hh.ru messages of a negotiation), one payload (a resume) or None (nothing there any more).

Per-record tolerance (``tolerate``): an HTTP status in it, answered for one key of a ``detail`` or
``child`` stream, sends that key to the quarantine (stage ``extract``, rule ``http_<status>``) and
the stream goes on; a run stops only on a status outside it, or on a :class:`~tasks.sync.http.StopRun`.
A :class:`StreamRefused` (Avito's 402, hh.ru's closed applicant API) skips the stream and its
children with a note: their cursors stay, the next run that may read them catches up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tasks.sync.http import ApiError
from tasks.sync.records import RawRecord

LISTING, DETAIL, CHILD = "listing", "detail", "child"
KINDS = (LISTING, DETAIL, CHILD)


class StreamRefused(ApiError):
    """The API refuses a whole stream for this account (a tariff, a closed API): the stream and its
    children are skipped with this message as a note; the run and the other streams go on."""


@dataclass
class Listed:
    """What a listing stream's ``fetch`` found.

    Attributes:
        records: one raw record per item, in the API's order (see :meth:`Stream.record`).
        position: where the stream's cursor moves when these records commit (None: it stays).
        found: how many matches the API said there are (when it says), for the report.
        notes: what the report should say (a listing cut short by the API's reach, ...).
        complete: False when the listing could not reach everything it should have.
    """

    records: list[RawRecord] = field(default_factory=list)
    position: datetime | None = None
    found: int | None = None
    notes: list[str] = field(default_factory=list)
    complete: bool = True


@dataclass(frozen=True)
class Stream:
    """One kind of record and how to get it (see the module docstring for the kinds).

    Attributes:
        name: ``<source>:<stream>``, e.g. ``avito:messages``; also its cursor's name in
            ``sync_cursors`` (``<name>:<part>`` when a job runs it per part, e.g. per search).
        entity: the entity of its records (:mod:`schemas.entities`): table, key, expectation suites.
        kind: ``listing``, ``detail`` or ``child``.
        fetch: how its records are fetched; the signature depends on ``kind``.
        parent: the stream whose records a ``detail`` or ``child`` stream is fetched for.
        cursor_field: the payload field its cursor follows (documentation; ``Listed.position``
            carries the value).
        overlap: how far before its cursor a run starts reading again.
        tolerate: HTTP statuses that quarantine one key instead of stopping the stream.
        transform: ``transform(records, context) -> Transformed`` for its entity's records.
        check_params: the values of its entity's expectation parameters, from the unit's context.
        select: ``child``: which parent keys to fetch, ``select(parents, lookups) -> [(key, since)]``.
        marker: ``detail``: the change marker of a listed item; ``marker_column``: where the table
            keeps it (rows whose ``detail_fetched_at`` is null count as never fetched).
        keep_listed: ``detail``: a key the API no longer has keeps its listed item.
        link: ``child``: the meta key its records carry with the parent's key (``chat_id``).
        workers: requests in flight for a ``detail`` or ``child`` stream (the rate limiter rules).
    """

    name: str
    entity: str
    kind: str = LISTING
    fetch: Callable[..., Any] | None = None
    parent: str | None = None
    cursor_field: str | None = None
    overlap: timedelta = timedelta(0)
    tolerate: frozenset[int] = frozenset()
    transform: Callable[..., Any] | None = None
    check_params: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
    select: Callable[..., Sequence[tuple[str, Any]]] | None = None
    marker: Callable[[Mapping[str, Any]], Any] | None = None
    marker_column: str | None = None
    keep_listed: bool = False
    link: str | None = None
    workers: int = 8

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"stream {self.name}: kind {self.kind!r} is not one of {KINDS}")
        if self.kind != LISTING and not self.parent:
            raise ValueError(f"stream {self.name}: a {self.kind} stream needs a parent")
        if self.kind == CHILD and self.select is None:
            raise ValueError(f"stream {self.name}: a child stream needs select")

    @property
    def source(self) -> str:
        return self.name.split(":", 1)[0]

    def cursor_name(self, part: str | None = None) -> str:
        """The key of this stream's cursor in ``sync_cursors`` (one per part, when run per part)."""
        return f"{self.name}:{part}" if part else self.name

    def record(self, payload: Any, fetched_at: datetime, key: str = "id", **meta: Any) -> RawRecord:
        """A payload as a raw record of this stream's entity (its ``key`` field as the id, a
        missing one left for the checks to reject; a payload that is no object kept under ``_raw``)."""
        record_id = payload.get(key) if isinstance(payload, Mapping) else None
        return RawRecord(
            self.source,
            self.entity,
            str(record_id) if record_id is not None else None,
            fetched_at,
            payload if isinstance(payload, dict) else {"_raw": payload},
            dict(meta),
        )
