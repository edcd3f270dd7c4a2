"""The recruiter's workbook: candidates with their chat, application status and resume, and counts.

Sheets:
    candidates  one row per application (with its chat and resume) and per chat without one
    analytics   applications by vacancy and status, with totals
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from schemas.status import CANONICAL_STATUSES
from schemas.views import avito_candidates


def candidates_frame(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql(avito_candidates(), conn)
    for column in frame.select_dtypes(include=["datetimetz"]).columns:
        frame[column] = frame[column].dt.tz_convert("Europe/Moscow").dt.tz_localize(None)  # Excel has no zones
    return frame.sort_values(["vacancy_id", "applied_at"], na_position="last", kind="stable").reset_index(drop=True)


def analytics_frame(candidates: pd.DataFrame) -> pd.DataFrame:
    """Applications per vacancy (rows) and canonical status (columns), with totals."""
    applications = candidates[candidates["application_id"].notna()]
    if applications.empty:
        return pd.DataFrame(columns=["vacancy_id", "vacancy_title", *CANONICAL_STATUSES, "total"])
    counts = pd.crosstab(
        [applications["vacancy_id"], applications["vacancy_title"].fillna("")], applications["status"]
    ).reindex(columns=list(CANONICAL_STATUSES), fill_value=0)
    counts["total"] = counts.sum(axis=1)
    counts = counts.reset_index()
    totals = {"vacancy_id": "total", "vacancy_title": "", **counts[[*CANONICAL_STATUSES, "total"]].sum().to_dict()}
    return pd.concat([counts, pd.DataFrame([totals])], ignore_index=True)


def export_workbook(engine: Engine, path: Path) -> dict[str, int]:
    """Write the workbook to ``path``; returns the row counts per sheet."""
    candidates = candidates_frame(engine)
    analytics = analytics_frame(candidates)
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        candidates.to_excel(writer, sheet_name="candidates", index=False)
        analytics.to_excel(writer, sheet_name="analytics", index=False)
        for sheet in writer.sheets.values():
            sheet.freeze_panes = "A2"
    return {"candidates": len(candidates), "analytics": len(analytics)}
