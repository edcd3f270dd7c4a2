"""Transform raw Avito Messenger chats and messages into the ``avito_chats`` and ``avito_messages`` frames.

Pure: no Prefect, no database. The conventions (one rejection or one row per record, duplicates,
dtypes, masking) are those of :mod:`.avito`.

Chats (``GET /messenger/v2/accounts/{user_id}/chats[/{chat_id}]``, one chat per record)
    * ``account_id``: ``meta["account_id"]`` when the record has one, else the ``account_id``
      argument (the account whose chat list was read).
    * ``chat_type``: the id's prefix, ``u2i`` / ``u2u`` / ``a2u`` (the API sends no type); an id with
      another prefix is kept with ``chat_type`` ``other``.
    * ``item_id`` / ``item_title``: ``context.value.id`` / ``.title`` when ``context.type`` is
      ``item`` (for job chats, the vacancy); None for other contexts.
    * The candidate is the first ``users[]`` member whose id is not the account's. Modern u2i ids
      are opaque tokens and are never parsed. Only when ``users[]`` has no other member, the
      numeric forms ``u2i-<item>-<user>`` and ``a2u-<x>-<y>`` give ``candidate_user_id`` as a
      fallback: the first of their user ids (``<user>``; ``<x>`` then ``<y>``) that is not the
      account. For an a2u chat that is the Avito side (support or a system bot).
    * ``candidate_name``: the member's ``name`` whitespace-normalized; ``parsing_allowed``: the
      member's flag (None when absent). A member whose ``parsing_allowed`` is false has forbidden
      processing of their profile: ``candidate_name`` is ``"***"``, and in the stored payload every
      such member (other than the account) has ``name`` ``"***"`` and no ``public_user_profile``
      (profile URL and avatars).
    * ``created_at`` / ``updated_at``: ``created`` / ``updated`` unix seconds as UTC timestamps;
      ``last_message_text``: ``last_message.content.text`` when the last message is a text one;
      ``last_message_at``: ``last_message.created``.

Messages (``GET /messenger/v3/accounts/{user_id}/chats/{chat_id}/messages/``, one message per record)
    * ``chat_id``: ``meta["chat_id"]`` (listed messages do not carry it); a webhook ``value``
      carries its own ``chat_id``, used when the meta has none.
    * ``text``: ``content.text`` of ``text`` messages, None for other types.
    * ``created_at`` (required) and ``read_at`` (``read``, null while unread): unix seconds to UTC.
    * ``direction`` as sent; when absent and the payload has ``user_id`` (a webhook ``value``):
      ``out`` when ``author_id`` is that user (an echo of the account's own message), else ``in``.

Rules (the first one broken wins):

=========================  ===================================================================
``bad_payload``            the payload is not an object
``bad_meta``               ``meta`` is not an object, or its ``account_id`` is not an integer
``missing_id``             no id or a blank one; ``bad_id`` when it is not a string (chats) or not a
                           string or integer (messages)
``missing_chat_id``        messages: no chat id in the meta nor the payload; ``bad_chat_id`` when it
                           is not a string
``missing_created``        messages: no ``created``
``bad_<field>``            a wrongly typed field: chats ``context``, ``users`` (not a list of
                           ``{id: int, name: str, parsing_allowed: bool}``), ``created`` and
                           ``updated`` (not unix seconds from 1970 to 2100), ``last_message``;
                           messages ``author_id``, ``user_id``, ``direction``, ``type``,
                           ``content``, ``created``, ``is_read``, ``read``
``duplicate_in_batch``     a later record of the same chat / message supersedes this one
=========================  ===================================================================
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from schemas.tables import avito_chats, avito_messages
from tasks.sync.records import RawRecord, Rejection
from tasks.sync.storable import MAX_KEY_LENGTH
from tasks.sync.transform import (
    MASK,
    RecordError,
    RecordPass,
    finish,
    id_text,
    optional_bool,
    optional_dict,
    optional_int,
    optional_list,
    optional_text,
    table_columns,
    text_of,
    unix_seconds,
    unix_timestamps,
)

CHAT_COLUMNS: tuple[str, ...] = table_columns(avito_chats)
"""Key + data columns of the ``avito_chats`` table, in declared order."""
MESSAGE_COLUMNS: tuple[str, ...] = table_columns(avito_messages)
"""Key + data columns of the ``avito_messages`` table, in declared order."""

CHAT_TYPES: tuple[str, ...] = ("u2i", "u2u", "a2u")
OTHER_CHAT_TYPE = "other"
TEXT_MESSAGE = "text"

_NUMERIC_CHAT_ID = re.compile(r"(u2i|a2u)-(\d+)-(\d+)")


@dataclass
class ChatBatch:
    """The result of :func:`transform_chats`."""

    chats: pd.DataFrame
    rejections: list[Rejection] = field(default_factory=list)


@dataclass
class MessageBatch:
    """The result of :func:`transform_messages`."""

    messages: pd.DataFrame
    rejections: list[Rejection] = field(default_factory=list)


def chat_type(chat_id: str) -> str:
    """``u2i``, ``u2u`` or ``a2u`` from the prefix of a chat id (``u2i-...``); ``other`` otherwise."""
    prefix, dash, _ = chat_id.partition("-")
    return prefix if dash and prefix in CHAT_TYPES else OTHER_CHAT_TYPE


def parsed_member_ids(chat_id: str) -> list[int]:
    """The user ids written into a numeric chat id, in order; [] for opaque ids.

    ``u2i-<item>-<user>`` gives ``[user]``, ``a2u-<x>-<y>`` gives ``[x, y]``.
    """
    match = _NUMERIC_CHAT_ID.fullmatch(chat_id)
    if match is None:
        return []
    kind, first, second = match.groups()
    return [int(second)] if kind == "u2i" else [int(first), int(second)]


# --- chats ----------------------------------------------------------------------------------------


def _chat_id(payload: dict[str, Any]) -> str:
    value = payload.get("id")
    if value is not None and not isinstance(value, str):
        raise RecordError("bad_id", f"id is {value!r}, not a string")
    if not value or not value.strip():
        raise RecordError("missing_id", "the payload has no id")
    if len(value) > MAX_KEY_LENGTH:
        raise RecordError("bad_id", f"id is {len(value)} characters long, longer than any chat id")
    return value.strip()


def _account_id(record: RawRecord, default: int) -> int:
    meta = record.meta
    if not isinstance(meta, dict):
        raise RecordError("bad_meta", f"meta is a {type(meta).__name__}, not an object")
    account_id = optional_int(meta, "account_id", "bad_meta", where="meta ")
    return default if account_id is None else account_id


def _item(payload: dict[str, Any]) -> tuple[int | None, str | None]:
    context = optional_dict(payload, "context")
    if context is None or context.get("type") != "item":
        return None, None
    value = optional_dict(context, "value", "bad_context", where="context.")
    if value is None:
        return None, None
    title = optional_text(value, "title", "bad_context", where="context.value.")
    return optional_int(value, "id", "bad_context", where="context.value."), text_of(title)


def _users(payload: dict[str, Any]) -> list[dict[str, Any]]:
    users = optional_list(payload, "users") or []
    for user in users:
        if not isinstance(user, dict):
            raise RecordError("bad_users", f"users has {user!r}, not an object")
        if optional_int(user, "id", "bad_users", where="users[].") is None:
            raise RecordError("bad_users", f"users has {user!r} without an id")
        optional_text(user, "name", "bad_users", where="users[].")
        optional_bool(user, "parsing_allowed", "bad_users", where="users[].")
    return users


def _last_message(payload: dict[str, Any]) -> tuple[str | None, float | None]:
    message = optional_dict(payload, "last_message")
    if message is None:
        return None, None
    where = "last_message."
    created = unix_seconds(message, "created", "bad_last_message", where=where)
    if optional_text(message, "type", "bad_last_message", where=where) != TEXT_MESSAGE:
        return None, created
    content = optional_dict(message, "content", "bad_last_message", where=where) or {}
    return optional_text(content, "text", "bad_last_message", where=f"{where}content."), created


def _masked_chat(payload: dict[str, Any], account_id: int) -> dict[str, Any]:
    """A deep copy of ``payload`` whose members who forbade processing are masked (see module doc)."""
    masked = copy.deepcopy(payload)
    for user in masked["users"]:
        if user["id"] != account_id and user.get("parsing_allowed") is False:
            user["name"] = MASK
            user.pop("public_user_profile", None)
    return masked


def _read_chat(record: RawRecord, default_account_id: int) -> dict[str, Any]:
    payload = record.payload
    if not isinstance(payload, dict):
        raise RecordError("bad_payload", f"payload is a {type(payload).__name__}, not an object")
    account_id = _account_id(record, default_account_id)
    chat_id = _chat_id(payload)
    item_id, item_title = _item(payload)
    users = _users(payload)
    created = unix_seconds(payload, "created")
    updated = unix_seconds(payload, "updated")
    last_text, last_at = _last_message(payload)

    others = [user for user in users if user["id"] != account_id]
    if others:
        candidate = others[0]
        candidate_id = candidate["id"]
        parsing_allowed = candidate.get("parsing_allowed")
        name = MASK if parsing_allowed is False else text_of(candidate.get("name"))
    else:
        candidate_id = next((i for i in parsed_member_ids(chat_id) if i != account_id), None)
        parsing_allowed = name = None
    if any(user["id"] != account_id and user.get("parsing_allowed") is False for user in others):
        payload = _masked_chat(payload, account_id)

    return {
        "chat_id": chat_id,
        "account_id": account_id,
        "chat_type": chat_type(chat_id),
        "item_id": item_id,
        "item_title": item_title,
        "candidate_user_id": candidate_id,
        "candidate_name": name,
        "parsing_allowed": parsing_allowed,
        "created_at": created,
        "updated_at": updated,
        "last_message_text": last_text,
        "last_message_at": last_at,
        "payload": payload,
    }


def transform_chats(records: Sequence[RawRecord], account_id: int) -> ChatBatch:
    """Turn raw Avito chats into the ``avito_chats`` frame and rejections.

    Args:
        records: raw records whose payload is one chat object; ``meta["account_id"]`` (int), when
            present, is the account the chat belongs to.
        account_id: the account (``/core/v1/accounts/self`` id) for records without one in the meta.

    Returns:
        A :class:`ChatBatch`: ``chats`` with the key + data columns of ``avito_chats`` (see the module
        doc), one rejection per rejected record, in input order.
        ``len(chats) + len(rejections) == len(records)``.

    Raises:
        ValueError: ``account_id`` is not an integer (a caller error).
    """
    if not isinstance(account_id, int) or isinstance(account_id, bool):
        raise ValueError(f"account_id is {account_id!r}, not an integer")
    batch = RecordPass(records, lambda record: _read_chat(record, account_id), CHAT_COLUMNS)
    for column, rule in (("created_at", "bad_created"), ("updated_at", "bad_updated")):
        batch.parse(column, unix_timestamps, rule, "unix seconds from 1970 to 2100")
    batch.parse("last_message_at", unix_timestamps, "bad_last_message", "unix seconds from 1970 to 2100")
    keep = batch.reject_duplicates("chat_id", "chat")
    return ChatBatch(chats=finish(batch.frame.loc[keep], avito_chats), rejections=batch.rejections())


def masked_chat_ids(chats: pd.DataFrame) -> frozenset[str]:
    """The chats whose candidate forbade processing of their profile (``parsing_allowed`` false).

    Args:
        chats: a ``chats`` frame of :func:`transform_chats` (or rows of the table).

    Returns:
        Their chat ids: the ``masked_chat_ids`` of :func:`.avito_applications.transform_applications`.
    """
    forbidden = chats["parsing_allowed"].map(lambda flag: flag is False or flag is np.False_)
    return frozenset(chats.loc[forbidden.astype(bool), "chat_id"])


# --- messages -------------------------------------------------------------------------------------


def _message_chat_id(record: RawRecord) -> str:
    meta = record.meta
    if not isinstance(meta, dict):
        raise RecordError("bad_meta", f"meta is a {type(meta).__name__}, not an object")
    value = meta.get("chat_id")
    if value is None:
        value = record.payload.get("chat_id")
    if value is not None and not isinstance(value, str):
        raise RecordError("bad_chat_id", f"chat_id is {value!r}, not a string")
    if not value or not value.strip():
        raise RecordError("missing_chat_id", "neither the meta nor the payload has a chat_id")
    if len(value) > MAX_KEY_LENGTH:
        raise RecordError("bad_chat_id", f"chat_id is {len(value)} characters long, longer than any chat id")
    return value.strip()


def _direction(payload: dict[str, Any], author_id: int | None) -> str | None:
    direction = optional_text(payload, "direction")
    if direction is not None:
        return direction
    user_id = optional_int(payload, "user_id")
    if user_id is None or author_id is None:
        return None
    return "out" if author_id == user_id else "in"


def _read_message(record: RawRecord) -> dict[str, Any]:
    payload = record.payload
    if not isinstance(payload, dict):
        raise RecordError("bad_payload", f"payload is a {type(payload).__name__}, not an object")
    message_id = id_text(payload.get("id"))
    chat_id = _message_chat_id(record)
    if payload.get("created") is None:
        raise RecordError("missing_created", "the message has no created time")
    created = unix_seconds(payload, "created")
    author_id = optional_int(payload, "author_id")
    message_type = optional_text(payload, "type")
    content = optional_dict(payload, "content") or {}
    text = optional_text(content, "text", "bad_content", where="content.") if message_type == TEXT_MESSAGE else None
    return {
        "message_id": message_id,
        "chat_id": chat_id,
        "author_id": author_id,
        "direction": _direction(payload, author_id),
        "message_type": message_type,
        "text": text,
        "created_at": created,
        "is_read": optional_bool(payload, "is_read"),
        "read_at": unix_seconds(payload, "read"),
        "payload": payload,
    }


def transform_messages(records: Sequence[RawRecord]) -> MessageBatch:
    """Turn raw Avito messages into the ``avito_messages`` frame and rejections.

    Args:
        records: raw records whose payload is one message (a v3 messages entry or a webhook
            ``payload.value``), with ``meta["chat_id"]`` naming its chat.

    Returns:
        A :class:`MessageBatch`: ``messages`` with the key + data columns of ``avito_messages`` (see
        the module doc), one rejection per rejected record, in input order.
        ``len(messages) + len(rejections) == len(records)``.
    """
    batch = RecordPass(records, _read_message, MESSAGE_COLUMNS)
    batch.parse("created_at", unix_timestamps, "bad_created", "unix seconds from 1970 to 2100")
    batch.parse("read_at", unix_timestamps, "bad_read", "unix seconds from 1970 to 2100")
    keep = batch.reject_duplicates("message_id", "message")
    return MessageBatch(messages=finish(batch.frame.loc[keep], avito_messages), rejections=batch.rejections())
