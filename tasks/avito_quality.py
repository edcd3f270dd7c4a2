"""The clean-stage quality checks of an Avito batch (suites from schemas/expectations.py).

Rows that fail an ERROR rule leave the batch for the quarantine with their raw record; WARNING
rules (an unknown application state) are reported only. Messages of a chat that failed go with it,
since they cannot be loaded without their chat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import pandas as pd

from schemas import expectations as ex
from schemas.tables import key_columns
from tasks.avito.transform_candidates import AvitoBatch
from tasks.sync.quality import CheckResult, check
from tasks.sync.records import RawRecord, Rejection

FRAMES = (("chat", "chats"), ("message", "messages"), ("application", "applications"), ("resume", "resumes"))


def _record_of(entity: str, frame: pd.DataFrame, records: Sequence[RawRecord]):
    (key,) = key_columns(ex.AVITO_TABLES[entity])
    by_id = {r.record_id: r for r in records}

    def record_of(row: int) -> RawRecord:
        record_id = frame[key].iat[row]
        found = by_id.get(record_id)
        return found or RawRecord("avito", entity, record_id, datetime.now(UTC), frame["payload"].iat[row])

    return record_of


def check_avito(batch: AvitoBatch, records: Mapping[str, Sequence[RawRecord]]) -> tuple[AvitoBatch, list[CheckResult]]:
    """Run each entity's clean suite; returns the batch to load and the check results.

    Args:
        batch: the transformed batch (its rejections are kept and extended).
        records: the raw records per entity (chat, message, application, resume), for quarantine rows.
    """
    results: list[CheckResult] = []
    rejections: list[Rejection] = list(batch.rejections)
    frames: dict[str, pd.DataFrame] = {}
    for entity, attr in FRAMES:
        frame = getattr(batch, attr).reset_index(drop=True)
        result = check(frame, ex.avito_clean(entity))
        rejections += result.rejections(_record_of(entity, frame, records.get(entity, ())))
        frames[attr] = result.passed.reset_index(drop=True)
        results.append(result)
    rejected_chats = set(batch.chats["chat_id"]) - set(frames["chats"]["chat_id"])
    if rejected_chats:
        orphans = frames["messages"]["chat_id"].isin(list(rejected_chats))
        record_of = _record_of("message", frames["messages"], records.get("message", ()))
        for row in orphans.to_numpy().nonzero()[0]:
            rejections.append(
                Rejection(record_of(int(row)), "clean", "chat_rejected", "its chat failed the clean checks")
            )
        frames["messages"] = frames["messages"].loc[~orphans].reset_index(drop=True)
    checked = AvitoBatch(history=batch.history, rejections=rejections, **frames)
    return checked, results
