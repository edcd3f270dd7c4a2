"""Searches that miss nothing: date windows under hh.ru's 2000-item depth limit.

hh.ru returns at most 2000 items of one query (``page * per_page + per_page <= 2000``), whatever
``found`` says. A search is therefore cut into publication-date windows, each with at most 2000
matches: a window's first page is requested (it doubles as the probe), and a window that is too
large is sliced in proportion to its ``found`` and probed again. hh.ru rounds ``date_from`` and
``date_to`` to 5 minutes, so every boundary is on a 5-minute mark.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tasks.hh.client import MAX_DEPTH, MAX_PER_PAGE, HHClient
from tasks.sync.engine import Job, Plan
from tasks.sync.records import RawRecord
from tasks.sync.streams import Fetch, Listed

log = logging.getLogger(__name__)

STEP = timedelta(minutes=5)
# Fields of a search item that change with the query or the viewer, not with the vacancy.
VOLATILE_ITEM_FIELDS = frozenset(
    {
        "snippet",
        "relations",
        "counters",
        "sort_point_distance",
        "adv_context",
        "adv_response_url",
        "is_adv_vacancy",
        "show_logo_in_search",
        "premium",
    }
)
SEARCH_PARAMS = frozenset(
    {
        "text",
        "area",
        "professional_role",
        "salary",
        "currency",
        "only_with_salary",
        "experience",
        "employment_form",
        "work_format",
        "schedule",
        "industry",
        "employer_id",
        "search_field",
        "label",
        "excluded_text",
        "education",
    }
)


@dataclass(frozen=True)
class Search:
    """A configured search: a name (its cursor's key) and ``GET /vacancies`` filters."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def stream(self) -> str:
        return f"hh:vacancies:{self.name}"


def load_searches(path: Path) -> list[Search]:
    """Read searches from a TOML file of ``[[search]]`` tables (``name`` plus hh.ru filters)."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    searches = []
    for i, entry in enumerate(data.get("search", [])):
        entry = dict(entry)
        name = entry.pop("name", None)
        if not name:
            raise ValueError(f"{path}: search #{i + 1} has no name")
        unknown = set(entry) - SEARCH_PARAMS
        if unknown:
            raise ValueError(
                f"{path}: search {name!r} has unknown filters {sorted(unknown)}; known: {sorted(SEARCH_PARAMS)}"
            )
        searches.append(Search(name=name, params=entry))
    if not searches:
        raise ValueError(f"{path}: no [[search]] entries")
    return searches


def select_partition(searches: Sequence[Search], partition: str | None) -> list[Search]:
    """The searches of partition ``"k/n"`` (1-based): every n-th search by name, starting at the k-th.

    Workers given ``1/n`` ... ``n/n`` harvest disjoint sets that together are all searches; each
    search's cursor is its own, so a search always goes to the same worker. None: all of them.
    """
    if not partition:
        return list(searches)
    try:
        k, n = (int(part) for part in partition.split("/"))
    except ValueError:
        raise ValueError(f"partition must look like '1/2' (worker number / workers), got {partition!r}") from None
    if not 1 <= k <= n:
        raise ValueError(f"partition {partition!r}: the worker's number must be between 1 and {n}")
    ordered = sorted(searches, key=lambda s: s.name)
    return [s for i, s in enumerate(ordered) if i % n == k - 1]


@dataclass(frozen=True)
class Window:
    """Publication times ``[start, end)``, both on 5-minute marks."""

    start: datetime
    end: datetime

    @property
    def steps(self) -> int:
        return int((self.end - self.start) / STEP)

    def split(self, parts: int) -> list[Window]:
        """Cut into ``parts`` (at most one per 5 minutes) nearly equal windows, oldest first."""
        parts = max(1, min(parts, self.steps))
        bounds = [self.start + STEP * round(self.steps * i / parts) for i in range(parts + 1)]
        return [Window(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]

    def params(self) -> dict[str, str]:
        fmt = "%Y-%m-%dT%H:%M:%S%z"
        return {"date_from": self.start.strftime(fmt), "date_to": self.end.strftime(fmt)}


def floor_step(moment: datetime) -> datetime:
    """Round down to a 5-minute mark (UTC)."""
    moment = moment.astimezone(UTC).replace(second=0, microsecond=0)
    return moment - timedelta(minutes=moment.minute % 5)


def query(search: Search, window: Window) -> dict[str, Any]:
    params = {k: v for k, v in search.params.items() if v is not None}
    params.update(window.params())
    params["order_by"] = "publication_time"
    return params


@dataclass
class PlannedWindow:
    window: Window
    first_page: dict
    truncated: bool = False  # more than 2000 matches in 5 minutes: only 2000 reachable

    @property
    def found(self) -> int:
        return int(self.first_page.get("found", 0))


def plan_windows(
    probe: Callable[[Window], dict], span: Window, limit: int = MAX_DEPTH, fill: float = 0.8, workers: int = 1
) -> list[PlannedWindow]:
    """Cut ``span`` into windows of at most ``limit`` matches each, oldest first.

    Args:
        probe: returns the first page of a window (that page is kept, not fetched again).
        span: the whole period to harvest.
        fill: target share of ``limit`` per slice, so that uneven density rarely forces another split.
        workers: the slices of one split are probed this many at once (the rate limiter still rules).
    """
    pending = [span]
    planned: list[PlannedWindow] = []
    while pending:
        if workers > 1 and len(pending) > 1:
            with ThreadPoolExecutor(max_workers=min(workers, len(pending))) as pool:
                probed = list(zip(pending, pool.map(probe, pending), strict=True))
        else:
            probed = [(w, probe(w)) for w in pending]
        pending = []
        for window, page in probed:
            _place(window, page, limit, fill, planned, pending)
    planned.sort(key=lambda p: p.window.start)
    return planned


def _place(
    window: Window, page: dict, limit: int, fill: float, planned: list[PlannedWindow], pending: list[Window]
) -> None:
    """Keep a probed window (it fits, or cannot be cut further) or queue its slices for probing."""
    found = int(page.get("found", 0))
    if found <= limit:
        planned.append(PlannedWindow(window, page))
    elif window.steps <= 1:
        log.warning(
            "%d vacancies published in 5 minutes from %s: only %d are reachable; narrow the search",
            found,
            window.start.isoformat(),
            limit,
        )
        planned.append(PlannedWindow(window, page, truncated=True))
    else:
        pending.extend(window.split(math.ceil(found / (limit * fill))))


def harvest_window(client: HHClient, search: Search, planned: PlannedWindow, workers: int = 1) -> list[dict]:
    """All search items of one planned window (its first page is reused), in page order.

    ``workers`` pages are requested at once (the client's rate limiter still rules), so the
    latency of one page does not leave the rate limit unused."""
    items = list(planned.first_page.get("items", []))
    per_page = int(planned.first_page.get("per_page") or MAX_PER_PAGE)
    pages = range(1, min(int(planned.first_page.get("pages", 0)), MAX_DEPTH // per_page))
    params = query(search, planned.window)

    def fetch(page: int) -> list[dict]:
        return client.search(params, page=page, per_page=per_page).get("items", [])

    if workers <= 1 or len(pages) <= 1:
        for page in pages:
            items.extend(fetch(page))
        return items
    with ThreadPoolExecutor(max_workers=min(workers, len(pages))) as pool:
        for page_items in pool.map(fetch, pages):
            items.extend(page_items)
    return items


def search_hash(item: Mapping[str, Any]) -> str:
    """A hash of what a search item says about the vacancy (query-dependent fields left out)."""
    stable = {k: v for k, v in item.items() if k not in VOLATILE_ITEM_FIELDS}
    blob = json.dumps(stable, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.sha1(blob, usedforsecurity=False).hexdigest()  # a change detector, not a signature


def to_records(items: Iterable[Mapping[str, Any]], fetched_at: datetime) -> list[RawRecord]:
    """Search items as raw records (ids kept as given; a missing id is the transform's to reject)."""
    records = []
    for item in items:
        payload = dict(item) if isinstance(item, Mapping) else {"_raw": item}
        record_id = payload.get("id")
        records.append(
            RawRecord(
                source="hh",
                entity="vacancy",
                record_id=str(record_id) if record_id is not None else None,
                fetched_at=fetched_at,
                payload=payload,
                meta={"search_hash": search_hash(payload), "detail_fetched_at": None},
            )
        )
    return records


# --- the vacancy listing as the engine runs it -------------------------------------------------------


@dataclass(frozen=True)
class SearchWindow:
    """What one unit of a search lists: a planned window (its first page already fetched)."""

    search: Search
    planned: PlannedWindow
    workers: int = 1


def plan_search(search: Search, workers: int, job: Job, since: datetime | None, until: datetime) -> Plan:
    """A search's span cut into windows of at most 2000 matches, oldest first (its plan).

    ``since`` and ``until`` are rounded down to 5 minutes, as hh.ru rounds them."""
    start, end = floor_step(since or until), floor_step(until)
    planned = plan_windows(lambda w: job.client.search(query(search, w)), Window(start, end), workers=workers)
    found = sum(p.found for p in planned)
    log.info(
        "search %r: %d vacancies found from %s to %s, in %d windows",
        search.name,
        found,
        start.isoformat(),
        end.isoformat(),
        len(planned),
    )
    truncated = [p for p in planned if p.truncated]
    notes = [
        f"search {search.name!r}: {p.found} vacancies published in 5 minutes from {p.window.start.isoformat()}, "
        f"only {MAX_DEPTH} reachable; narrow the search"
        for p in truncated
    ]
    parts = [SearchWindow(search, p, workers) for p in planned]
    return Plan(parts=parts, since=start, until=end, found=found, notes=notes, incomplete=len(truncated))


def list_window(fetch: Fetch) -> Listed:
    """The search items of one planned window, as records; the cursor moves to the window's end."""
    window: SearchWindow = fetch.part
    items = harvest_window(fetch.client, window.search, window.planned, workers=window.workers)
    records = to_records(items, datetime.now().astimezone())
    return Listed(records, position=window.planned.window.end, found=window.planned.found)
