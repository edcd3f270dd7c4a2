"""The clean-stage quality checks of an hh.ru negotiations batch (suites from schemas/expectations.py).

Rows failing an ERROR rule leave the batch for the quarantine with their raw record (and their
history row with them); WARNING rules (a state jobpipe has no mapping for) are reported only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd

from schemas import expectations as ex
from tasks.hh.transform_negotiations import NegotiationBatch
from tasks.sync.quality import CheckResult, check
from tasks.sync.records import RawRecord

FRAMES = (("negotiation", "negotiations", "negotiation_id"), ("negotiation_message", "messages", "message_id"))


def _record_of(entity: str, frame: pd.DataFrame, key: str, records: Sequence[RawRecord]):
    by_id = {r.record_id: r for r in records if r.entity == entity}

    def record_of(row: int) -> RawRecord:
        record_id = frame[key].iat[row]
        found = by_id.get(record_id)
        return found or RawRecord("hh", entity, record_id, datetime.now(UTC), frame["payload"].iat[row])

    return record_of


def check_negotiations(
    batch: NegotiationBatch, records: Sequence[RawRecord]
) -> tuple[NegotiationBatch, list[CheckResult]]:
    """Run the clean suites; returns the batch to load (failures moved to its rejections) and the results."""
    results: list[CheckResult] = []
    rejections = list(batch.rejections)
    frames: dict[str, pd.DataFrame] = {}
    for entity, attr, key in FRAMES:
        frame = getattr(batch, attr).reset_index(drop=True)
        result = check(frame, ex.hh_negotiation_clean(entity))
        rejections += result.rejections(_record_of(entity, frame, key, records))
        frames[attr] = result.passed.reset_index(drop=True)
        results.append(result)
    kept = set(frames["negotiations"]["negotiation_id"])
    history = batch.history[batch.history["record_id"].isin(list(kept))].reset_index(drop=True)
    return replace(batch, history=history, rejections=rejections, **frames), results
