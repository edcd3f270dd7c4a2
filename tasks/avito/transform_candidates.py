"""The Avito streams' transforms, and what links them: masking of candidates who opted out.

Each entity has its own transform (:mod:`.transform_chats`, :mod:`.transform_applications`,
:mod:`.transform_resumes`); the engine runs them parents first, so these wrappers see the chats
already transformed. What crosses entities:

- a candidate who forbade processing of their profile (``parsing_allowed: false`` in a chat's
  ``users[]``) is masked everywhere: their chat, their applications, and the text of the messages
  they wrote. The chats of such candidates are those of this unit's chats frame, and those the
  database already holds as such (``masked_before``, read when the unit is fetched);
- a message belongs to a chat: a message whose chat was rejected is rejected with it (the engine's
  parent rule, :mod:`schemas.entities`), and one whose chat is neither in the unit nor in the database
  fails the pre-load reference check.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence

import pandas as pd

from tasks.avito.transform_applications import transform_applications
from tasks.avito.transform_chats import masked_chat_ids, transform_chats, transform_messages
from tasks.avito.transform_resumes import transform_resumes
from tasks.sync.records import RawRecord
from tasks.sync.streams import TransformContext, Transformed
from tasks.sync.transform import MASK


def masked_chats(context: TransformContext) -> set[str]:
    """Chats of candidates who forbade processing: in this unit's chats, or known to the database."""
    chats = context.frames.get("chat")
    masked = set(masked_chat_ids(chats)) if chats is not None else set()
    return masked | set(context.values.get("masked_before", ()))


def mask_messages(messages: pd.DataFrame, masked: Collection[str]) -> pd.DataFrame:
    """Hide the text of messages written by masked candidates (incoming, in their chats)."""
    hit = messages["chat_id"].isin(list(masked)) & (messages["direction"] == "in")
    if not hit.any():
        return messages
    messages = messages.copy()
    messages.loc[hit, "text"] = messages.loc[hit, "text"].map(lambda t: MASK if t is not None else None)
    payloads = []
    for payload in messages.loc[hit, "payload"]:
        masked_payload = copy.deepcopy(payload)
        content = masked_payload.get("content")
        if isinstance(content, dict) and content.get("text") is not None:
            content["text"] = MASK
        payloads.append(masked_payload)
    messages.loc[hit, "payload"] = pd.Series(payloads, index=messages.index[hit], dtype=object)
    return messages


def chat_rows(records: Sequence[RawRecord], context: TransformContext) -> Transformed:
    """Chats as rows of ``avito_chats`` (the other member than the account is the candidate)."""
    batch = transform_chats(records, context.values["account_id"])
    return Transformed({"chat": batch.chats}, batch.rejections)


def message_rows(records: Sequence[RawRecord], context: TransformContext) -> Transformed:
    """Messages as rows of ``avito_messages``, masked candidates' texts hidden."""
    batch = transform_messages(records)
    return Transformed({"message": mask_messages(batch.messages, masked_chats(context))}, batch.rejections)


def application_rows(records: Sequence[RawRecord], context: TransformContext) -> Transformed:
    """Applications as rows of ``avito_applications`` with their status history, masked candidates hidden."""
    batch = transform_applications(records, masked_chat_ids=masked_chats(context))
    return Transformed({"application": batch.applications}, batch.rejections, history=batch.history)


def resume_rows(records: Sequence[RawRecord], context: TransformContext) -> Transformed:
    """Resumes as rows of ``avito_resumes``."""
    batch = transform_resumes(records)
    return Transformed({"resume": batch.resumes}, batch.rejections)
