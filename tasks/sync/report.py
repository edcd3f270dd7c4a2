"""The run report in markdown: one table of every stream's counts, the notes, the quality checks.

It renders the dicts of :mod:`tasks.sync.runs` (what ``run_log.counts`` keeps), so a report can be
rendered again from the run log alone (``jobpipe report``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tasks.sync.quality import ExpectationOutcome, merge_outcomes

COLUMNS = [
    ("label", "stream"),
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


def _cell(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "**NO**"
    return "" if value is None else str(value)


def render_streams(rows: Sequence[Mapping[str, Any]]) -> str:
    """A markdown table: one row per stream (a search, an entity of a job), then the totals."""
    lines = ["| " + " | ".join(label for _, label in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(key)) for key, _ in COLUMNS) + " |")
    if len(rows) > 1:
        totals: dict[str, Any] = {
            key: sum(int(r.get(key) or 0) for r in rows) for key, _ in COLUMNS[1:] if key != "balanced"
        }
        totals["label"] = "**total**"
        totals["found"] = None
        totals["balanced"] = all(r.get("balanced") for r in rows)
        lines.append("| " + " | ".join(_cell(totals.get(key)) for key, _ in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def render_markdown(title: str, rows: Sequence[Mapping[str, Any]], extra: Mapping[str, Any] | None = None) -> str:
    """A markdown report: a title, the streams table, then any extra facts."""
    lines = [f"# {title}", "", render_streams(rows)]
    if extra:
        lines.extend(f"- {key}: {value}" for key, value in extra.items())
    return "\n".join(lines).rstrip() + "\n"


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


def render_quality(jobs: Sequence[Mapping[str, Any]], expectations: Iterable[Mapping[str, Any]] = ()) -> str:
    """The quality section of a run report: quarantined records by stage and rule over the jobs,
    then the expectations table."""
    stages: dict[str, int] = {}
    rules: dict[str, int] = {}
    for job in jobs:
        for stage, n in (job.get("quarantined_by_stage") or {}).items():
            stages[stage] = stages.get(stage, 0) + n
        for rule, n in (job.get("quarantined_by_rule") or {}).items():
            rules[rule] = rules.get(rule, 0) + n
    lines = ["## Quality checks", ""]
    if stages:
        by_stage = ", ".join(f"{stage} {n}" for stage, n in stages.items())
        by_rule = ", ".join(f"{rule} {n}" for rule, n in sorted(rules.items(), key=lambda kv: (-kv[1], kv[0])))
        lines += [f"- quarantined by stage: {by_stage}", f"- quarantined by rule: {by_rule}", ""]
    else:
        lines += ["- nothing quarantined", ""]
    lines.append(render_expectations(expectations))
    return "\n".join(lines)


def render_run(report: Mapping[str, Any], title: str, facts: Mapping[str, Any] | None = None) -> str:
    """The whole run report: streams, facts, notes, quality, and the sections of what else ran."""
    markdown = render_markdown(title, report.get("streams", []), facts)
    notes = [note for job in report.get("jobs", []) for note in job.get("notes", [])] + list(report.get("notes", []))
    if notes:
        markdown += "\n## Notes\n\n" + "\n".join(f"- {note}" for note in notes) + "\n"
    if report.get("jobs"):
        markdown += "\n" + render_quality(report["jobs"], report.get("expectations", []))
    for section in report.get("extra", {}).get("sections", []):
        markdown += "\n" + section
    return markdown


def render_reprocess(result: Mapping[str, Any]) -> str:
    """The markdown of a quarantine re-processing run (:meth:`tasks.sync.reprocess.ReprocessResult.as_dict`)."""
    d = result
    lines = [
        f"# jobpipe quarantine re-processing {d['run_id']}",
        "",
        "| entity | rules | selected | loaded | superseded | still failing | inserted | updated | unchanged |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {d['entity']} | {', '.join(d['rules'] or ['all'])} | {d['selected']} | {d['loaded']} | {d['superseded']} "
        f"| {d['still_failing']} | {d['inserted']} | {d['updated']} | {d['unchanged']} |",
        "",
    ]
    if d["failing_rules"]:
        lines += ["- still failing by rule: " + ", ".join(f"{k} {v}" for k, v in d["failing_rules"].items()), ""]
    lines.append(render_expectations(d["expectations"]))
    return "\n".join(lines)
