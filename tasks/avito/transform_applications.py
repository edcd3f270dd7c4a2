"""Transform raw Avito.Работа applications (отклики) into the ``avito_applications`` frame and its history.

Pure: no Prefect, no database. The conventions (one rejection or one row per record, duplicates,
dtypes) are those of :mod:`.avito`. A payload is one entry of ``applies`` of
``POST /job/v1/applications/get_by_ids``.

Columns
    * ``application_id`` (``id``), ``vacancy_id``, ``negotiation_id``, ``is_viewed``,
      ``application_type`` (``type``: by_chat | by_phone) as sent.
    * ``state``: the raw slug; ``status``: canonical (:func:`.status.map_avito_application_statuses`:
      ``new`` with ``is_viewed`` is viewed). An unknown or missing state is kept with status
      ``unknown``, never rejected: the quality checks flag it.
    * ``chat_id``: ``contacts.chat.value``; None when ``contacts.chat`` is null (a by_phone
      application: the only channel was a call).
    * ``resume_id`` / ``applicant_id``: ``applicant.resume_id`` / ``applicant.id`` as text (the API
      sends strings, int64 elsewhere; null stays None).
    * ``candidate_name``: ``applicant.data.name`` whitespace-normalized, else built from
      ``full_name`` (last, first, patronymic).
    * ``phone``: the digits of the first ``contacts.phones[].value`` that has any; None without.
    * ``birthday`` (as sent, ``YYYY-MM-DD``), ``citizenship`` (normalized text), ``gender``
      (``male`` / ``female`` from ``male``/``Мужской``/``female``/``Женский``, else None; the raw
      value stays in the payload).
    * ``created_at`` / ``updated_at``: RFC 3339 with fractions and offsets
      (``2026-07-17T12:57:12.38374+03:00``, ``2026-07-17T10:31:10Z``) to UTC. A time without an
      offset is rejected: it could be Moscow time or UTC.

Masking: ``masked_chat_ids`` names the chats whose candidate forbade processing of their profile
(``parsing_allowed`` false: :func:`.avito_chats.masked_chat_ids` of the chats frame, plus any such
chats already stored). An application in one of those chats has
``candidate_name`` and ``phone`` ``"***"``, and its stored payload is a deep copy where the same
data is masked too (``applicant.data.name`` and the ``full_name`` parts, ``contacts.phones[].value``,
``enriched_properties.full_name`` / ``.phone`` values, ``prevalidation.summary`` answers to
:data:`PERSONAL_PREVALIDATION_VARIABLES`), so the personal data of such users is masked before it
reaches the database.

History: one row per loaded application with the columns of ``status_history`` the transform knows
(``source`` "avito", ``entity`` "application", ``record_id``, ``state``, ``status``, ``changed_at`` =
``updated_at``); the loader stores it only when the status changed.

Rules (the first one broken wins):

=========================  ===================================================================
``bad_payload``            the payload is not an object
``missing_id``             no ``id`` or a blank one; ``bad_id`` when it is not a string or integer
``bad_<field>``            a wrongly typed top-level field: ``vacancy_id``, ``negotiation_id`` (not
                           int64), ``state``, ``type`` (not strings), ``is_viewed`` (not a boolean)
``bad_applicant``          ``applicant`` is not an object, its ids are not strings or integers, or
                           ``data`` is not an object of strings (``full_name`` of strings)
``bad_contacts``           ``contacts``, ``contacts.chat`` or a phone is not an object, the chat
                           value not a string, ``phones`` not a list, a phone value not text
``bad_created_at``         ``created_at`` is not an RFC 3339 string with an offset; likewise
                           ``bad_updated_at``
``duplicate_in_batch``     a later record of the same application supersedes this one
=========================  ===================================================================
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from schemas.tables import avito_applications
from tasks.sync.records import RawRecord, Rejection
from tasks.sync.status import current_states, map_avito_application_statuses
from tasks.sync.transform import (
    MASK,
    SOURCE,
    RecordError,
    RecordPass,
    finish,
    gender,
    id_text,
    optional_bool,
    optional_dict,
    optional_int,
    optional_list,
    optional_text,
    person_name,
    rfc3339_timestamps,
    table_columns,
    text_of,
)

ENTITY = "application"

APPLICATION_COLUMNS: tuple[str, ...] = table_columns(avito_applications)
"""Key + data columns of the ``avito_applications`` table, in declared order."""


PERSONAL_PREVALIDATION_VARIABLES: frozenset[str] = frozenset({"job_fio", "job_phone"})
"""``prevalidation.summary[].variable`` values whose answers are masked with the name and phone."""

_FLAT_COLUMNS = tuple(c for c in APPLICATION_COLUMNS if c != "status")


@dataclass
class ApplicationBatch:
    """The result of :func:`transform_applications`."""

    applications: pd.DataFrame
    history: pd.DataFrame
    rejections: list[Rejection] = field(default_factory=list)


def _ref_text(obj: dict[str, Any], key: str, rule: str, where: str) -> str | None:
    """An id that may come as a string or an integer, as text; None when null or blank."""
    value = obj.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return id_text(value)
    except RecordError:
        raise RecordError(rule, f"{where}{key} is {value!r}, not a string or integer") from None


def _applicant(payload: dict[str, Any]) -> dict[str, Any]:
    rule, where = "bad_applicant", "applicant."
    applicant = optional_dict(payload, "applicant") or {}
    data = optional_dict(applicant, "data", rule, where=where) or {}
    where_data = f"{where}data."
    return {
        "resume_id": _ref_text(applicant, "resume_id", rule, where),
        "applicant_id": _ref_text(applicant, "id", rule, where),
        "candidate_name": person_name(data.get("name"), data.get("full_name"), rule=rule, where=where_data),
        "birthday": (optional_text(data, "birthday", rule, where=where_data) or "").strip() or None,
        "citizenship": text_of(optional_text(data, "citizenship", rule, where=where_data)),
        "gender": gender(optional_text(data, "gender", rule, where=where_data)),
    }


def _contacts(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(chat_id, phone digits)`` from ``contacts``."""
    rule, where = "bad_contacts", "contacts."
    contacts = optional_dict(payload, "contacts") or {}
    chat = optional_dict(contacts, "chat", rule, where=where) or {}
    chat_id = optional_text(chat, "value", rule, where=f"{where}chat.")
    phone = None
    for entry in optional_list(contacts, "phones", rule, where=where) or []:
        if not isinstance(entry, dict):
            raise RecordError(rule, f"contacts.phones has {entry!r}, not an object")
        value = entry.get("value")
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise RecordError(rule, f"contacts.phones[].value is {value!r}, not text")
        digits = "".join(ch for ch in str(value) if ch.isascii() and ch.isdigit())
        if digits and phone is None:
            phone = digits
    return (chat_id.strip() or None) if chat_id else None, phone


def _masked_application(payload: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``payload`` with the name and phones masked (see the module doc).

    Only called on payloads that passed the checks, so the masked parts have their documented shape.
    """
    masked = copy.deepcopy(payload)
    data = (masked.get("applicant") or {}).get("data") or {}
    if data.get("name") is not None:
        data["name"] = MASK
    if isinstance(data.get("full_name"), dict):
        data["full_name"] = {k: (MASK if v is not None else None) for k, v in data["full_name"].items()}
    for phone in (masked.get("contacts") or {}).get("phones") or []:
        if phone.get("value") is not None:
            phone["value"] = MASK
    enriched = masked.get("enriched_properties")
    if isinstance(enriched, dict):
        for key in ("full_name", "phone"):
            if isinstance(enriched.get(key), dict) and enriched[key].get("value") is not None:
                enriched[key]["value"] = MASK
    prevalidation = masked.get("prevalidation")
    if isinstance(prevalidation, dict) and isinstance(prevalidation.get("summary"), list):
        for answer in prevalidation["summary"]:
            if isinstance(answer, dict) and answer.get("variable") in PERSONAL_PREVALIDATION_VARIABLES:
                answer["value"] = MASK
    return masked


def _read_application(record: RawRecord, masked_chat_ids: Collection[str]) -> dict[str, Any]:
    payload = record.payload
    if not isinstance(payload, dict):
        raise RecordError("bad_payload", f"payload is a {type(payload).__name__}, not an object")
    application_id = id_text(payload.get("id"))
    row: dict[str, Any] = {
        "application_id": application_id,
        "vacancy_id": optional_int(payload, "vacancy_id"),
        "negotiation_id": optional_int(payload, "negotiation_id"),
        "state": optional_text(payload, "state"),
        "is_viewed": optional_bool(payload, "is_viewed"),
        "application_type": optional_text(payload, "type"),
    }
    row |= _applicant(payload)
    row["chat_id"], row["phone"] = _contacts(payload)
    row["created_at"] = optional_text(payload, "created_at")
    row["updated_at"] = optional_text(payload, "updated_at")
    row["payload"] = payload
    if row["chat_id"] is not None and row["chat_id"] in masked_chat_ids:
        row["candidate_name"] = MASK
        row["phone"] = MASK
        row["payload"] = _masked_application(payload)
    return row


def transform_applications(
    records: Sequence[RawRecord], masked_chat_ids: Collection[str] | None = None
) -> ApplicationBatch:
    """Turn raw Avito applications into the ``avito_applications`` frame, its history and rejections.

    Args:
        records: raw records whose payload is one application (an ``applies`` entry of get_by_ids).
        masked_chat_ids: chat ids whose candidate forbade processing of their profile; the personal
            data of their applications is masked (see the module doc). None: nothing is masked.

    Returns:
        An :class:`ApplicationBatch`: ``applications`` with the key + data columns of
        ``avito_applications``; ``history`` with :data:`HISTORY_COLUMNS`, one row per application;
        one rejection per rejected record, in input order.
        ``len(applications) + len(rejections) == len(records)``.
    """
    masked = frozenset(masked_chat_ids or ())
    batch = RecordPass(records, lambda record: _read_application(record, masked), _FLAT_COLUMNS)
    for column in ("created_at", "updated_at"):
        batch.parse(column, rfc3339_timestamps, f"bad_{column}", "an RFC 3339 time with an offset")
    keep = batch.reject_duplicates("application_id", "application")
    rows = batch.frame.loc[keep]
    rows = rows.assign(status=map_avito_application_statuses(rows["state"], rows["is_viewed"]))
    applications = finish(rows, avito_applications)
    return ApplicationBatch(
        applications=applications,
        history=current_states(SOURCE, ENTITY, applications, "application_id"),
        rejections=batch.rejections(),
    )
