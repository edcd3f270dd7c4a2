"""One Avito run's records, transformed together: chats, messages, applications, resumes.

The four transforms are independent except where records point at each other:
- a message belongs to a chat: messages of a chat that was rejected are rejected with it (rule
  ``chat_rejected``), since they could not be loaded without their chat;
- a candidate who forbade processing of their profile (``parsing_allowed: false``) is masked
  everywhere: their chat, their applications, and the text of the messages they wrote;
- a resume listed by an application that Avito no longer has (404) is quarantined at the extract
  stage (rule ``not_found``), so that it is accounted for, not silently missing.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from tasks.avito.transform_applications import transform_applications
from tasks.avito.transform_chats import masked_chat_ids, transform_chats, transform_messages
from tasks.avito.transform_resumes import transform_resumes
from tasks.sync.records import RawRecord, Rejection
from tasks.sync.transform import MASK

ENTITIES = {"chat": "chats", "message": "messages", "application": "applications", "resume": "resumes"}


@dataclass
class AvitoBatch:
    chats: pd.DataFrame
    messages: pd.DataFrame
    applications: pd.DataFrame
    resumes: pd.DataFrame
    history: pd.DataFrame
    rejections: list[Rejection] = field(default_factory=list)

    def quarantined(self, entities: str) -> int:
        """How many records of ``entities`` (chats, messages, applications, resumes) were rejected."""
        return sum(1 for r in self.rejections if ENTITIES.get(r.record.entity) == entities)


def _mask_messages(messages: pd.DataFrame, masked: Collection[str]) -> pd.DataFrame:
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


def transform_avito(
    account_id: int,
    chats: Sequence[RawRecord],
    messages: Sequence[RawRecord],
    applications: Sequence[RawRecord],
    resumes: Mapping[str, dict | None],
    fetched_at: datetime,
    masked_before: Collection[str] = (),
) -> AvitoBatch:
    """Transform one run's Avito records.

    Args:
        account_id: the account's own user id (the other chat member is the candidate).
        chats, messages, applications: raw records (messages carry ``meta["chat_id"]``).
        resumes: ``{resume_id: payload}``, None for a resume that answered 404.
        fetched_at: when the resumes were fetched.
        masked_before: chat ids already known (from the database) to belong to masked candidates.
    """
    chat_batch = transform_chats(chats, account_id)
    masked = set(masked_chat_ids(chat_batch.chats)) | set(masked_before)
    kept_chats = set(chat_batch.chats["chat_id"])
    rejected_chats = {r.record.record_id for r in chat_batch.rejections}

    orphaned = [m for m in messages if m.meta.get("chat_id") in rejected_chats]
    message_batch = transform_messages([m for m in messages if m.meta.get("chat_id") not in rejected_chats])
    rejections = [*chat_batch.rejections, *message_batch.rejections]
    rejections += [
        Rejection(m, "transform", "chat_rejected", f"its chat {m.meta.get('chat_id')} was rejected") for m in orphaned
    ]
    messages_frame = message_batch.messages
    unknown_chat = ~messages_frame["chat_id"].isin(list(kept_chats))
    if unknown_chat.any():  # a message whose chat is not in this run's batch cannot be loaded before it
        # the frame holds each record's own payload object (masking, which copies, comes after)
        by_payload = {id(m.payload): m for m in messages}
        for chat_id, payload in messages_frame.loc[unknown_chat, ["chat_id", "payload"]].itertuples(index=False):
            record = by_payload[id(payload)]
            rejections.append(Rejection(record, "transform", "chat_missing", f"chat {chat_id} is not in the batch"))
        messages_frame = messages_frame.loc[~unknown_chat].reset_index(drop=True)
    messages_frame = _mask_messages(messages_frame, masked)

    application_batch = transform_applications(applications, masked_chat_ids=masked)
    rejections += application_batch.rejections

    resume_records, gone = [], []
    for resume_id, payload in resumes.items():
        if payload is None:
            record = RawRecord("avito", "resume", resume_id, fetched_at, {"resume_id": resume_id})
            gone.append(
                Rejection(record, "extract", "not_found", f"resume {resume_id} answered 404 (deleted or hidden)")
            )
        else:
            resume_records.append(RawRecord("avito", "resume", resume_id, fetched_at, payload))
    resume_batch = transform_resumes(resume_records)
    rejections += gone + resume_batch.rejections

    return AvitoBatch(
        chats=chat_batch.chats,
        messages=messages_frame,
        applications=application_batch.applications,
        resumes=resume_batch.resumes,
        history=application_batch.history,
        rejections=rejections,
    )
