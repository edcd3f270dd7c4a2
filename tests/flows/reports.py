"""Reading a run's report (:meth:`tasks.sync.runs.RunReport.as_dict`) in the tests' words."""

from __future__ import annotations

from typing import Any

from schemas.entities import BY_NAME
from tasks.sync.runs import jobs_of


def job(report: dict[str, Any], name: str) -> dict[str, Any]:
    """A job of the run by name (a search, an account's store key, "Avito")."""
    (found,) = [j for j in report["jobs"] if j["job"] == name]
    return found


def rows(report: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    """A job's rows by entity label ("applications", "negotiation messages", ...)."""
    return {BY_NAME[r["entity"]].label: r for r in job(report, name)["rows"]}


def searches(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One summary per hh.ru search: its job's counts with its vacancy row's."""
    return jobs_of(report, "hh:vacancies:")
