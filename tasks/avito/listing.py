"""What to fetch from Avito on a run: every chat, and only what changed since the cursors.

- Applications: ``get_ids`` from the applications cursor's date, then ``get_by_ids`` (100 per call)
  for those whose ``updated_at`` differs from the stored one.
- Chats: the list is newest-updated first and one listing reaches at most 1100 chats; when a
  listing is cut there, the chats are listed again per vacancy (``item_ids``), for every vacancy
  known from the chats, the applications and the database. A vacancy with more than 1100 chats
  updated since the cursor is reported as not fully reachable.
- Messages: only for chats updated since the chats cursor, back to that cursor.
- Resumes: for the changed applications' resume ids that are new, or whose application changed
  after the resume was last fetched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from tasks.avito.client import AvitoClient
from tasks.sync.records import RawRecord

log = logging.getLogger(__name__)


def records(
    entity: str, payloads: Iterable[Any], fetched_at: datetime, key: str = "id", **meta: Any
) -> list[RawRecord]:
    """Raw Avito payloads as records (a missing id is the transform's to reject)."""
    result = []
    for payload in payloads:
        record_id = payload.get(key) if isinstance(payload, Mapping) else None
        result.append(
            RawRecord(
                "avito",
                entity,
                str(record_id) if record_id is not None else None,
                fetched_at,
                payload if isinstance(payload, dict) else {"_raw": payload},
                dict(meta),
            )
        )
    return result


def parse_time(value: Any) -> datetime | None:
    """Avito's RFC 3339 (``...+03:00``, ``...Z``, fractional seconds) as an aware datetime."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


@dataclass
class ApplicationsPlan:
    listed: list[dict]  # what get_ids returned
    changed_ids: list[str]  # to fetch with get_by_ids
    unchanged_ids: list[str]  # stored with the same updated_at
    cursor: datetime | None  # the newest updated_at listed


def plan_applications(listed: Sequence[dict], stored_updated: Mapping[str, datetime | None]) -> ApplicationsPlan:
    """Split listed application ids into changed (new or newer updated_at) and unchanged ones."""
    changed, unchanged = [], []
    newest: datetime | None = None
    seen: set[str] = set()
    for entry in listed:
        app_id = str(entry.get("id"))
        if app_id in seen:
            continue
        seen.add(app_id)
        updated = parse_time(entry.get("updated_at"))
        if updated is not None and (newest is None or updated > newest):
            newest = updated
        stored = stored_updated.get(app_id)
        if stored is not None and updated is not None and stored >= updated:
            unchanged.append(app_id)
        else:
            changed.append(app_id)
    return ApplicationsPlan(list(listed), changed, unchanged, newest)


@dataclass
class ChatHarvest:
    chats: list[dict]
    split_by_item: bool = False
    unreachable_items: list[int] = field(default_factory=list)
    listings: int = 0


def _item_id(chat: Mapping[str, Any]) -> int | None:
    context = chat.get("context")
    if isinstance(context, Mapping) and context.get("type") == "item" and isinstance(context.get("value"), Mapping):
        value = context["value"].get("id")
        return int(value) if isinstance(value, int | str) and str(value).isdigit() else None
    return None


def harvest_chats(client: AvitoClient, updated_after: int | None, known_items: Iterable[int]) -> ChatHarvest:
    """Every chat updated after ``updated_after`` (unix seconds; None: all), beyond 1100 if needed."""
    first = client.list_chats(updated_after=updated_after)
    by_id = {c["id"]: c for c in first.chats if isinstance(c, Mapping) and "id" in c}
    harvest = ChatHarvest(chats=[], listings=1)
    if first.saturated:
        harvest.split_by_item = True
        items = set(known_items) | {i for c in by_id.values() if (i := _item_id(c)) is not None}
        log.info("Avito: more than 1100 chats, listing them per vacancy (%d vacancies)", len(items))
        for item in sorted(items):
            listing = client.list_chats(item_ids=[item], updated_after=updated_after)
            harvest.listings += 1
            by_id.update({c["id"]: c for c in listing.chats if isinstance(c, Mapping) and "id" in c})
            if listing.saturated:
                harvest.unreachable_items.append(item)
                log.warning(
                    "Avito: vacancy %d has more than 1100 chats updated since the cursor; "
                    "Avito's listing cannot reach the older ones",
                    item,
                )
    if updated_after is not None:
        by_id = {k: c for k, c in by_id.items() if int(c.get("updated") or 0) > updated_after}
    harvest.chats = sorted(by_id.values(), key=lambda c: (int(c.get("updated") or 0), str(c["id"])))
    return harvest


def resume_ids_to_fetch(applications: Sequence[Mapping[str, Any]], stored_seen: Mapping[str, datetime]) -> list[str]:
    """Resume ids of these applications that are new, or whose application changed after the
    resume was last fetched."""
    wanted: dict[str, None] = {}
    for app in applications:
        applicant = app.get("applicant") if isinstance(app, Mapping) else None
        resume_id = applicant.get("resume_id") if isinstance(applicant, Mapping) else None
        if resume_id in (None, ""):
            continue
        resume_id = str(resume_id)
        seen = stored_seen.get(resume_id)
        updated = parse_time(app.get("updated_at"))
        if seen is None or (updated is not None and updated > seen):
            wanted[resume_id] = None
    return list(wanted)


def lookback_date(cursor: datetime | None, lookback_days: int, today: date | None = None) -> date:
    """``updatedAtFrom`` for get_ids: the cursor's date (a day-granular filter, so it overlaps)."""
    from datetime import timedelta

    today = today or datetime.now(UTC).date()
    return cursor.astimezone(UTC).date() if cursor else today - timedelta(days=lookback_days)
