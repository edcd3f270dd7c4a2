"""Records as they travel between stages.

Every extracted record keeps where it came from, its id, when it was fetched and the raw
payload; every record that cannot continue becomes a :class:`Rejection` with its stage and the
rule it broke, and ends in the quarantine table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class RawRecord:
    source: str  # "hh", "avito"
    entity: str  # "vacancy", ...
    record_id: str | None
    fetched_at: datetime
    payload: dict[str, Any]
    # extra facts the extractor knows, e.g. {"search_hash": ..., "detail": True}
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rejection:
    record: RawRecord
    stage: str  # "extract", "raw", "transform", "clean", "load"
    rule: str  # short machine name, e.g. "missing_id", "bad_published_at"
    reason: str  # what went wrong, for a human
