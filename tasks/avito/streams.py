"""Avito as streams: applications with their resumes, chats with their messages.

Declarations only (see :mod:`tasks.sync.streams`); the engine runs them, all four in one unit and
one transaction per run.

=============================  =========  ==========================================================
stream                         kind       fetched
=============================  =========  ==========================================================
``avito:applications``         listing    ``get_ids`` from the day of its cursor
``avito:application_details``  detail     ``get_by_ids`` (100 per call) for those whose ``updated_at``
                                          differs from the stored one
``avito:resumes``              child      ``GET /job/v2/resumes/{id}`` of those applications' resumes
                                          that are new, or older than their application's change
``avito:chats``                listing    every chat updated since its cursor (per vacancy beyond the
                                          1100 one listing reaches)
``avito:messages``             child      the messages of the chats updated since its cursor
=============================  =========  ==========================================================

A resume Avito answers 404 for (deleted or hidden) goes to the quarantine at the extract stage
(rule ``not_found``); its application loads all the same (see :mod:`schemas.entities`). A 402 (a
tariff without the API) skips the stream it answers for, and its children, with a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any

from schemas.tables import avito_chats, avito_resumes
from tasks.avito.client import AvitoClient
from tasks.avito.listing import chats_to_read, list_applications, list_chats, parse_time, resume_ids_to_fetch
from tasks.avito.transform_candidates import application_rows, chat_rows, message_rows, resume_rows
from tasks.sync.engine import Job
from tasks.sync.lookups import Lookups
from tasks.sync.records import RawRecord
from tasks.sync.streams import CHILD, DETAIL, Stream


def _resumes_to_fetch(parents: Sequence[RawRecord], since: Any, lookups: Lookups) -> list[tuple[str, None]]:
    applications = [r.payload for r in parents]
    ids = [str(a["applicant"]["resume_id"]) for a in applications if _resume_id(a)]
    return [
        (rid, None) for rid in resume_ids_to_fetch(applications, lookups.stored(avito_resumes, "last_seen_at", ids))
    ]


def _resume_id(application: Any) -> bool:
    applicant = application.get("applicant") if isinstance(application, dict) else None
    return isinstance(applicant, dict) and applicant.get("resume_id") not in (None, "")


def _applications(client: AvitoClient, ids: Sequence[str], workers: int) -> dict[str, dict]:
    return {str(a.get("id")): a for a in client.applications(list(ids)) if isinstance(a, dict)}


def _resume(client: AvitoClient, resume_id: str, since: Any = None) -> dict | None:
    return client.resume(resume_id, missing_ok=False)


def _messages(client: AvitoClient, chat_id: str, since: int | None) -> list[dict]:
    return client.messages(chat_id, since)


APPLICATIONS = Stream(
    "avito:applications",
    "application",
    cursor_field="updated_at",
    transform=application_rows,
)
APPLICATIONS = replace(APPLICATIONS, fetch=partial(list_applications, entity_record=APPLICATIONS.record))
APPLICATION_DETAILS = Stream(
    "avito:application_details",
    "application",
    kind=DETAIL,
    parent="avito:applications",
    fetch=_applications,
    marker=lambda record: parse_time(record.payload.get("updated_at")),
    marker_column="updated_at",
)
RESUMES = Stream(
    "avito:resumes",
    "resume",
    kind=CHILD,
    parent="avito:applications",
    fetch=_resume,
    select=_resumes_to_fetch,
    tolerate=frozenset({404}),
    transform=resume_rows,
)
CHATS = Stream(
    "avito:chats", "chat", cursor_field="updated", overlap=timedelta(minutes=5), lookback=False, transform=chat_rows
)
CHATS = replace(CHATS, fetch=partial(list_chats, entity_record=CHATS.record))
MESSAGES = Stream(
    "avito:messages",
    "message",
    kind=CHILD,
    parent="avito:chats",
    fetch=_messages,
    select=chats_to_read,
    link="chat_id",
    cursor_field="created",
    overlap=timedelta(minutes=5),
    lookback=False,
    transform=message_rows,
)

STREAMS = (APPLICATIONS, APPLICATION_DETAILS, RESUMES, CHATS, MESSAGES)


def _prepare(client: AvitoClient, lookups: Lookups) -> dict[str, Any]:
    """What the transforms need: the account's own id, and the chats the database holds as those of
    candidates who forbade processing."""
    return {
        "account_id": client.account_id(),
        "masked_before": lookups.keys_where(avito_chats, "parsing_allowed", False),
    }


def candidates(client: AvitoClient, lookback_days: int = 90, workers: int = 8) -> Job:
    """The account's applications, resumes, chats and messages as one job of one unit."""
    streams = tuple(replace(s, workers=workers) if s.kind == CHILD else s for s in STREAMS)
    return Job("Avito", streams, client, lookback=timedelta(days=lookback_days), prepare=_prepare)


def reprocessing_context(lookups: Lookups) -> dict[str, Any]:
    """What the Avito transforms need to re-process quarantined records without the API: the chats
    the database holds as those of candidates who forbade processing (a chat keeps its account's id
    in its meta)."""
    return {"account_id": None, "masked_before": lookups.keys_where(avito_chats, "parsing_allowed", False)}
