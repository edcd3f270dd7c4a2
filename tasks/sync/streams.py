"""Streams as declarations: what the sync engine needs to know about one kind of record.

A source (hh.ru, Avito) is a list of :class:`Stream` declarations and the small functions they name
(a client method that fetches, a transform); the engine (:mod:`tasks.sync.engine`) does the rest:
cursors, per-record tolerance, checks, load, counts. A stream is one of three kinds, by where its
records come from:

``listing``
    the stream's own pages, from its cursor (minus ``overlap``) to now: ``fetch(Fetch)`` returns a
    :class:`Listed` (hh.ru vacancy searches, negotiations, Avito chats and applications, a responses
    file). :class:`Fetch` carries the client, where to start, the part the job planned (an hh.ru date
    window, an account's role) and what the unit has fetched before it.
``detail``
    the full record of each listed item of its ``parent`` whose change marker differs from the
    stored one (the item's ``marker`` against the table's ``marker_column``); unchanged items count
    as seen again, nothing is fetched for them. ``fetch(client, ids, workers)`` returns ``{id:
    payload or None}``; a None replaces nothing when ``keep_listed`` (an hh.ru vacancy deleted since
    it was listed keeps its search item), else the item is gone and noted.
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
        facts: what else the report should keep (a file's blank rows and the columns it used).
    """

    records: list[RawRecord] = field(default_factory=list)
    position: datetime | None = None
    found: int | None = None
    notes: list[str] = field(default_factory=list)
    complete: bool = True
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Fetch:
    """What a listing stream's ``fetch`` gets.

    Attributes:
        client: the job's API client.
        since: where to start (its cursor minus its overlap); None: everything (a first run).
        part: what the job's plan gave this unit (an hh.ru date window, an account's role), or None.
        values: the unit's context so far (what the job's ``prepare`` read).
        records: what the unit's streams before this one fetched, by stream name.
        lookups: reads of the database (:class:`tasks.sync.lookups.Lookups`).
        at: when the unit started fetching.
    """

    client: Any
    since: datetime | None
    part: Any
    values: Mapping[str, Any]
    records: Mapping[str, list[RawRecord]]
    lookups: Any
    at: datetime


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
        meta: ``detail`` and ``child``: facts to keep with each fetched payload, ``meta(payload, at)``.
        lookback: a first run (no cursor yet) reads back the job's lookback; False: everything.
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
    meta: Callable[[Any, datetime], Mapping[str, Any]] | None = None
    lookback: bool = True
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


@dataclass
class TransformContext:
    """What a stream's transform may read besides its records.

    Attributes:
        values: the unit's context, set when it was fetched (currency rates, the account's id, ...).
        frames: the entities this unit has transformed so far (parents first): an Avito message's
            transform reads which chats belong to candidates who forbade processing.
    """

    values: Mapping[str, Any] = field(default_factory=dict)
    frames: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Transformed:
    """What a transform makes of its records: rows per entity and one rejection per record that
    cannot become a row (``rows + rejections = records`` for its entity).

    Attributes:
        frames: entity name -> rows with the key and data columns of its table.
        rejections: stage ``transform``, in input order.
        history: ``status_history`` rows (:data:`tasks.sync.status.HISTORY_COLUMNS`), or None.
        history_events: each history row is an event of its own (a responses file), not the
            record's current state (see :func:`tasks.sync.load.record_status_changes`).
    """

    frames: dict[str, Any] = field(default_factory=dict)
    rejections: list[Any] = field(default_factory=list)
    history: Any = None
    history_events: bool = False

    def merge(self, other: Transformed) -> None:
        """Add another stream's output (an entity appears in one transform only)."""
        import pandas as pd

        for name, frame in other.frames.items():
            self.frames[name] = (
                pd.concat([self.frames[name], frame], ignore_index=True) if name in self.frames else frame
            )
        self.rejections += other.rejections
        if other.history is not None:
            self.history = (
                other.history if self.history is None else pd.concat([self.history, other.history], ignore_index=True)
            )
        self.history_events = self.history_events or other.history_events
