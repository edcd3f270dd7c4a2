"""Run summaries: per-stage counts and the reconciliation ``extracted = loaded + quarantined``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tasks.sync.load import LoadResult
from tasks.sync.quality import ExpectationOutcome, merge_outcomes


class Reconciled:
    """extracted = loaded + quarantined, where loaded counts rows written, rows found identical and
    rows not re-sent because the source said they had not changed."""

    extracted: int
    inserted: int
    updated: int
    unchanged: int
    seen_again: int
    quarantined: int

    @property
    def loaded(self) -> int:
        return self.inserted + self.updated + self.unchanged + self.seen_again

    @property
    def balanced(self) -> bool:
        return self.extracted == self.loaded + self.quarantined


@dataclass
class SearchSummary(Reconciled):
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
    rules: dict[str, int] = field(default_factory=dict)  # quarantined per rule
    stream: str | None = None  # the search's cursor name; the volume rule finds previous runs by it
    quarantined_by_stage: dict[str, int] = field(default_factory=dict)  # raw, transform, clean, preload
    expectations: list[dict[str, Any]] = field(default_factory=list)  # per rule, summed over windows
    check_seconds: float = 0.0

    def add_checks(self, rejections: Sequence[Any], outcomes: Iterable[ExpectationOutcome], seconds: float = 0.0):
        """Count a window's rejections (every stage) by stage and rule, and sum its expectations."""
        for r in rejections:
            self.quarantined_by_stage[r.stage] = self.quarantined_by_stage.get(r.stage, 0) + 1
            self.rules[r.rule] = self.rules.get(r.rule, 0) + 1
        self.expectations = merge_outcomes(self.expectations, outcomes)
        self.check_seconds += seconds

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
            "stream": self.stream,
            "quarantined_by_stage": dict(self.quarantined_by_stage),
            "quarantined_by_rule": dict(sorted(self.rules.items(), key=lambda kv: (-kv[1], kv[0]))),
            "expectations": [dict(e) for e in self.expectations],
            "check_seconds": round(self.check_seconds, 2),
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


EXPECTATION_COLUMNS = [
    ("stage", "stage"),
    ("entity", "entity"),
    ("rule", "rule"),
    ("expectation", "expectation"),
    ("severity", "severity"),
    ("success", "success"),
    ("unexpected_count", "unexpected"),
    ("element_count", "checked"),
]


def render_expectations(outcomes: Iterable[ExpectationOutcome | Mapping[str, Any]]) -> str:
    """A markdown table of expectations: one row per suite and rule (summed over the outcomes
    given, e.g. every window of every search), failures first within each stage.

    The expectation column reads ``expect_column_values_to_be_between: salary_to_rub_gross within
    1,000 .. 10,000,000 RUB``; a failed WARNING shows ``warning`` in the success column, not
    ``**NO**``: its rows were kept.
    """
    rows = merge_outcomes(outcomes)
    if not rows:
        return "No expectations were checked.\n"
    stage_order = {"raw": 0, "clean": 1, "preload": 2}
    rows.sort(key=lambda r: (stage_order.get(r["stage"], 9), r["entity"], r["success"]))
    lines = [
        "| " + " | ".join(label for _, label in EXPECTATION_COLUMNS) + " |",
        "|" + "---|" * len(EXPECTATION_COLUMNS),
    ]
    for row in rows:
        cells = dict(row, expectation=f"{row['expectation']}: {row['description']}")
        if not row["success"] and row["severity"] == "warning":
            cells["success"] = "warning"
        lines.append("| " + " | ".join(_cell(cells.get(key)) for key, _ in EXPECTATION_COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def render_quality(rows: Sequence[Mapping[str, Any]]) -> str:
    """The quality section of a run report from the search summaries: quarantined records by stage
    and rule, then the expectations table (:func:`render_expectations`) over every search."""
    stages: dict[str, int] = {}
    rules: dict[str, int] = {}
    for row in rows:
        for stage, n in (row.get("quarantined_by_stage") or {}).items():
            stages[stage] = stages.get(stage, 0) + n
        for rule, n in (row.get("quarantined_by_rule") or {}).items():
            rules[rule] = rules.get(rule, 0) + n
    lines = ["## Quality checks", ""]
    if stages:
        by_stage = ", ".join(f"{stage} {n}" for stage, n in stages.items())
        by_rule = ", ".join(f"{rule} {n}" for rule, n in sorted(rules.items(), key=lambda kv: (-kv[1], kv[0])))
        lines += [f"- quarantined by stage: {by_stage}", f"- quarantined by rule: {by_rule}", ""]
    else:
        lines += ["- nothing quarantined", ""]
    lines.append(render_expectations(o for row in rows for o in row.get("expectations") or []))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "**NO**"
    return "" if value is None else str(value)


@dataclass
class EntitySummary(Reconciled):
    """Counts of one entity of a run (Avito chats, messages, applications, resumes)."""

    entity: str
    extracted: int = 0
    seen_again: int = 0  # listed, already stored unchanged: not fetched again
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0

    def add_load(self, counts: Any, quarantined: int) -> None:
        if counts is not None:
            self.inserted += counts.inserted
            self.updated += counts.updated
            self.unchanged += counts.unchanged
        self.quarantined += quarantined

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "extracted": self.extracted,
            "seen_again": self.seen_again,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "loaded": self.loaded,
            "quarantined": self.quarantined,
            "balanced": self.balanced,
        }


ENTITY_COLUMNS = [
    ("entity", "entity"),
    ("extracted", "extracted"),
    ("seen_again", "seen again"),
    ("inserted", "inserted"),
    ("updated", "updated"),
    ("unchanged", "unchanged"),
    ("loaded", "loaded"),
    ("quarantined", "quarantined"),
    ("balanced", "extracted = loaded + quarantined"),
]


def render_entities(title: str, rows: list[dict[str, Any]], notes: list[str] = ()) -> str:
    """A markdown section: one row per entity, then the notes (skipped streams, limits met)."""
    lines = [
        f"## {title}",
        "",
        "| " + " | ".join(label for _, label in ENTITY_COLUMNS) + " |",
        "|" + "---|" * len(ENTITY_COLUMNS),
    ]
    lines += ["| " + " | ".join(_cell(r.get(k)) for k, _ in ENTITY_COLUMNS) + " |" for r in rows]
    lines += [""] + [f"- {note}" for note in notes] if notes else []
    return "\n".join(lines) + "\n"
