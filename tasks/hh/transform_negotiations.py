"""Transform raw hh.ru negotiations and their messages into the ``hh_negotiations`` and
``hh_negotiation_messages`` frames, and the negotiations' status history.

Pure: no Prefect, no database. The batch conventions (one row or one rejection per record, the
latest fetched duplicate wins, dtypes from the table declarations) are those of :mod:`.avito`.

* The state is ``employer_state.id`` for negotiations read by an employer and ``state.id`` for
  those read by an applicant (``meta["origin"]``); its canonical status comes from the matching
  table of :mod:`.status`, ``unknown`` for an id the table lacks (kept, flagged by the checks).
* The vacancy is the one the employer's listing was read for (``meta["vacancy_id"]``), else the
  negotiation's own ``vacancy.id`` (null when hh.ru deleted the vacancy).
* History: one row per negotiation with its state and ``updated_at`` (hh.ru's time of the last
  change); the loader keeps only the rows whose state differs from the stored one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from schemas.status import HH_APPLICANT, HH_EMPLOYER
from schemas.tables import hh_negotiation_messages, hh_negotiations
from tasks.hh.negotiations import APPLICANT, EMPLOYER
from tasks.sync.records import RawRecord, Rejection
from tasks.sync.status import current_states, map_statuses
from tasks.sync.streams import TransformContext, Transformed
from tasks.sync.transform import (
    RecordError,
    RecordPass,
    finish,
    id_text,
    optional_bool,
    optional_dict,
    optional_text,
    rfc3339_timestamps,
    table_columns,
)

SOURCE = "hh"
ENTITY = "negotiation"
MESSAGE_ENTITY = "negotiation_message"
NEGOTIATION_COLUMNS = table_columns(hh_negotiations)
MESSAGE_COLUMNS = table_columns(hh_negotiation_messages)
VOCABULARY = {EMPLOYER: HH_EMPLOYER, APPLICANT: HH_APPLICANT}
INT32_MAX = 2**31 - 1
"""The largest ``messages_count`` the integer column holds."""


@dataclass
class NegotiationBatch:
    """The result of :func:`transform_negotiations`."""

    negotiations: pd.DataFrame
    messages: pd.DataFrame
    history: pd.DataFrame
    rejections: list[Rejection] = field(default_factory=list)


def _state_id(payload: dict[str, Any], key: str) -> str | None:
    state = optional_dict(payload, key, f"bad_{key}")
    return optional_text(state, "id", f"bad_{key}", where=f"{key}.") if state else None


def _read_negotiation(record: RawRecord) -> dict[str, Any]:
    payload = record.payload
    if not isinstance(payload, dict):
        raise RecordError("bad_payload", f"payload is a {type(payload).__name__}, not an object")
    origin = record.meta.get("origin")
    if origin not in VOCABULARY:
        raise RecordError("bad_origin", f"negotiation read as {origin!r}; expected employer or applicant")
    vacancy = optional_dict(payload, "vacancy", "bad_vacancy") or {}
    resume = optional_dict(payload, "resume", "bad_resume") or {}
    counters = optional_dict(payload, "counters", "bad_counters") or {}
    messages = counters.get("messages")
    vacancy_id = record.meta.get("vacancy_id") or vacancy.get("id")
    return {
        "negotiation_id": id_text(payload.get("id")),
        "origin": origin,
        "vacancy_id": id_text(vacancy_id, "vacancy_id") if vacancy_id is not None else None,
        "resume_id": optional_text(resume, "id", "bad_resume", where="resume."),
        "state": _state_id(payload, "employer_state" if origin == EMPLOYER else "state"),
        "created_at": optional_text(payload, "created_at", "bad_created_at"),
        "updated_at": optional_text(payload, "updated_at", "bad_updated_at"),
        "has_updates": optional_bool(payload, "has_updates", "bad_has_updates"),
        "viewed_by_opponent": optional_bool(payload, "viewed_by_opponent", "bad_viewed_by_opponent"),
        # a count the integer column cannot hold is as useless as a missing one (the payload keeps it)
        "messages_count": messages if type(messages) is int and 0 <= messages <= INT32_MAX else None,
        "note": None,
        "payload": payload,
    }


def _read_message(record: RawRecord) -> dict[str, Any]:
    payload = record.payload
    if not isinstance(payload, dict):
        raise RecordError("bad_payload", f"payload is a {type(payload).__name__}, not an object")
    negotiation_id = record.meta.get("negotiation_id")
    if negotiation_id is None:
        raise RecordError("missing_negotiation", "the message was fetched without its negotiation id")
    author = optional_dict(payload, "author", "bad_author") or {}
    return {
        "message_id": id_text(payload.get("id")),
        "negotiation_id": str(negotiation_id),
        "created_at": optional_text(payload, "created_at", "bad_created_at"),
        "author": optional_text(author, "participant_type", "bad_author", where="author."),
        "state": _state_id(payload, "state"),
        "text": optional_text(payload, "text", "bad_text"),
        "payload": payload,
    }


def _statuses(rows: pd.DataFrame) -> pd.Series:
    statuses = pd.Series("unknown", index=rows.index, dtype=object)
    for origin, vocabulary in VOCABULARY.items():
        mine = rows["origin"] == origin
        if mine.any():
            statuses[mine] = map_statuses(rows.loc[mine, "state"], vocabulary)
    return statuses


def negotiation_rows(records: Sequence[RawRecord], context: TransformContext | None = None) -> Transformed:
    """Negotiations as rows of ``hh_negotiations`` with their status history (one row per
    negotiation: its state at hh.ru's last change time), and the rejections."""
    nego = RecordPass(records, _read_negotiation, [c for c in NEGOTIATION_COLUMNS if c != "status"])
    for column in ("created_at", "updated_at"):
        nego.parse(column, rfc3339_timestamps, f"bad_{column}", "a time with an offset")
    keep = nego.reject_duplicates("negotiation_id", "negotiation")
    rows = nego.frame.loc[keep]
    rows = rows.assign(status=_statuses(rows))
    frame = finish(rows, hh_negotiations)
    return Transformed(
        {ENTITY: frame}, nego.rejections(), history=current_states(SOURCE, ENTITY, frame, "negotiation_id")
    )


def message_rows(records: Sequence[RawRecord], context: TransformContext | None = None) -> Transformed:
    """Messages as rows of ``hh_negotiation_messages``, and the rejections. A message of a rejected
    negotiation still loads (its negotiation exists at hh.ru and the message is valid); the quarantine
    holds the negotiation."""
    msgs = RecordPass(records, _read_message, list(MESSAGE_COLUMNS))
    msgs.parse("created_at", rfc3339_timestamps, "bad_created_at", "a time with an offset")
    keep = msgs.reject_duplicates("message_id", "message")
    return Transformed({MESSAGE_ENTITY: finish(msgs.frame.loc[keep], hh_negotiation_messages)}, msgs.rejections())


def transform_negotiations(negotiations: Sequence[RawRecord], messages: Sequence[RawRecord]) -> NegotiationBatch:
    """Negotiations and messages as frames of their tables, the history, and the rejections.

    ``len(negotiations frame) + len(messages frame) + len(rejections) == len(negotiations) +
    len(messages)``.
    """
    nego, msgs = negotiation_rows(negotiations), message_rows(messages)
    return NegotiationBatch(
        negotiations=nego.frames[ENTITY],
        messages=msgs.frames[MESSAGE_ENTITY],
        history=nego.history,
        rejections=nego.rejections + msgs.rejections,
    )
