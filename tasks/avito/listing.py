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
from datetime import UTC, datetime
from typing import Any

from schemas.tables import avito_chats
from tasks.avito.client import AvitoClient
from tasks.sync.streams import Fetch, Listed

log = logging.getLogger(__name__)


def parse_time(value: Any) -> datetime | None:
    """Avito's RFC 3339 (``...+03:00``, ``...Z``, fractional seconds) as an aware datetime."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


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


# --- the listings as the engine runs them ---------------------------------------------------------


def unix(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def list_applications(fetch: Fetch, entity_record: Any) -> Listed:
    """``get_ids`` from the day of ``fetch.since`` (a day-granular filter, so it overlaps): each
    application id once, as a listed record; the cursor moves to the newest ``updated_at``."""
    since = fetch.since or datetime.now(UTC)
    listed, seen, newest = [], set(), None
    for entry in fetch.client.application_ids(since.astimezone(UTC).date()):
        app_id = str(entry.get("id")) if isinstance(entry, Mapping) else None
        if app_id in seen:
            continue
        seen.add(app_id)
        listed.append(entity_record(entry, fetch.at))
        updated = parse_time(entry.get("updated_at")) if isinstance(entry, Mapping) else None
        if updated is not None and (newest is None or updated > newest):
            newest = updated
    return Listed(listed, position=newest)


def list_chats(fetch: Fetch, entity_record: Any) -> Listed:
    """Every chat updated after ``fetch.since`` (all of them on a first run), listed again per vacancy
    beyond Avito's 1100 reach; the cursor moves to the newest ``updated``."""
    applications = fetch.records.get("avito:applications", [])
    vacancies = {int(r.payload["vacancy_id"]) for r in applications if str(r.payload.get("vacancy_id", "")).isdigit()}
    known = fetch.lookups.distinct(avito_chats, "item_id")  # every vacancy the chats named before
    harvest = harvest_chats(fetch.client, unix(fetch.since), sorted(known | vacancies))
    notes = []
    if harvest.unreachable_items:
        notes.append(
            f"vacancies with more than 1100 chats to read, older ones unreachable: {harvest.unreachable_items}"
        )
    account = fetch.values.get("account_id")
    records = [entity_record(c, fetch.at, account_id=account) for c in harvest.chats]
    newest = max((int(c.get("updated") or 0) for c in harvest.chats), default=0)
    return Listed(records, position=datetime.fromtimestamp(newest, UTC) if newest else None, notes=notes)


def chats_to_read(parents: Sequence[Any], since: datetime | None, lookups: Any) -> list[tuple[str, int | None]]:
    """The chats whose messages to read: those updated after ``since`` (every one on a first run),
    each back to ``since``."""
    after = unix(since)
    return [
        (str(c.payload["id"]), after)
        for c in parents
        if c.record_id is not None and (after is None or int(c.payload.get("updated") or 0) > after)
    ]
