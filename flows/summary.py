"""Run summaries: per-stage counts and the reconciliation ``extracted = loaded + quarantined``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tasks.load import LoadResult


@dataclass
class SearchSummary:
    search: str
    since: datetime
    until: datetime
    found: int = 0  # what hh.ru says matches
    extracted: int = 0  # search items harvested
    detailed: int = 0  # new or changed: details fetched, transformed, loaded or quarantined
    seen_again: int = 0  # already in the database unchanged: nothing to fetch or write
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0  # sent to the database, identical content: not rewritten
    employers_inserted: int = 0
    employers_updated: int = 0
    quarantined: int = 0
    truncated_windows: int = 0
    api_calls: int = 0
    rules: dict[str, int] = field(default_factory=dict)

    def add_window(self, harvested: int, detailed: int, unchanged_ids: list[str], result: LoadResult) -> None:
        self.extracted += harvested
        self.detailed += detailed
        self.seen_again += len(unchanged_ids)
        vac = result.tables.get("vacancies")
        if vac:
            self.inserted += vac.inserted
            self.updated += vac.updated
            self.unchanged += vac.unchanged
        emp = result.tables.get("employers")
        if emp:
            self.employers_inserted += emp.inserted
            self.employers_updated += emp.updated
        self.quarantined += result.quarantined

    @property
    def loaded(self) -> int:
        return self.inserted + self.updated + self.unchanged + self.seen_again

    @property
    def balanced(self) -> bool:
        return self.extracted == self.loaded + self.quarantined

    def as_dict(self) -> dict[str, Any]:
        return {
            "search": self.search,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "found": self.found,
            "extracted": self.extracted,
            "detailed": self.detailed,
            "seen_again": self.seen_again,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "loaded": self.loaded,
            "quarantined": self.quarantined,
            "balanced": self.balanced,
            "employers_inserted": self.employers_inserted,
            "employers_updated": self.employers_updated,
            "truncated_windows": self.truncated_windows,
            "api_calls": self.api_calls,
        }


COLUMNS = [
    ("search", "search"),
    ("found", "found"),
    ("extracted", "extracted"),
    ("detailed", "new/changed"),
    ("seen_again", "seen again"),
    ("inserted", "inserted"),
    ("updated", "updated"),
    ("unchanged", "unchanged"),
    ("loaded", "loaded"),
    ("quarantined", "quarantined"),
    ("balanced", "extracted = loaded + quarantined"),
    ("api_calls", "API calls"),
]


def render_markdown(title: str, rows: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> str:
    """A markdown report: one table row per search, then totals and any extra facts."""
    lines = [f"# {title}", ""]
    lines.append("| " + " | ".join(label for _, label in COLUMNS) + " |")
    lines.append("|" + "---|" * len(COLUMNS))
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(key)) for key, _ in COLUMNS) + " |")
    if rows:
        totals = {key: sum(int(r.get(key) or 0) for r in rows) for key, _ in COLUMNS[1:] if key != "balanced"}
        totals["search"] = "**total**"
        totals["balanced"] = all(r.get("balanced") for r in rows)
        lines.append("| " + " | ".join(_cell(totals.get(key)) for key, _ in COLUMNS) + " |")
    if extra:
        lines.append("")
        lines.extend(f"- {key}: {value}" for key, value in extra.items())
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "**NO**"
    return "" if value is None else str(value)
