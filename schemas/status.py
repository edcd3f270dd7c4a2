"""The one status vocabulary of applications and negotiations, whatever their source.

Order matters: it is the funnel, from the first response to the end of the process.
"""

from __future__ import annotations

APPLIED = "applied"
VIEWED = "viewed"
INTERVIEW = "interview"
OFFER = "offer"
HIRED = "hired"
REJECTED = "rejected"
ARCHIVED = "archived"
UNKNOWN = "unknown"  # a source state we have no mapping for: kept, flagged by the quality checks

CANONICAL_STATUSES: tuple[str, ...] = (APPLIED, VIEWED, INTERVIEW, OFFER, HIRED, REJECTED, ARCHIVED, UNKNOWN)
