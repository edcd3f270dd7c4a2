"""The quality gates inside whole runs: the daily flow against the emulator, into a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prefect.artifacts import Artifact
from sqlalchemy import func, insert, select

from flows.daily import daily
from flows.reprocess_quarantine import reprocess_quarantine
from jobpipe.runs import report_key
from sandbox.config import SandboxConfig
from sandbox.server import start_in_thread
from schemas import expectations as ex
from schemas.tables import employers, quarantine, run_log, sync_cursors, vacancies
from tasks.sync.checks import BatchRejected, previous_count
from tasks.sync.report import render_quality
from tests.flows import reports


@pytest.fixture(scope="module")
def sandbox():
    # small: one window per search; tests below change its vacancies, the last one breaks most of them
    with start_in_thread(SandboxConfig(seed=21, vacancies=400, rate_limit_rps=0)) as running:
        yield running


def searches(tmp_path, name: str, text: str | None = None) -> str:
    path = tmp_path / "searches.toml"
    path.write_text(f'[[search]]\nname = "{name}"\n' + (f'text = "{text}"\n' if text else ""), encoding="utf-8")
    return str(path)


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def open_ids(sandbox) -> list[str]:
    return [v.id for v in sandbox.world.vacancies() if not v.archived]


def test_defects_are_quarantined_reported_and_reprocessed(sandbox, jobpipe_env, engine, tmp_path, monkeypatch):
    ids = open_ids(sandbox)
    for vid in ids[:2]:
        sandbox.world.update_vacancy(vid, salary_from=300_000, salary_to=100_000)
    sandbox.world.update_vacancy(ids[2], salary_from=50_000_000, salary_to=None, currency="RUR", gross=True)

    report = daily(emulator_url=sandbox.url, searches_file=searches(tmp_path, "all"), lookback_days=31, sources=["hh"])
    (summary,) = reports.searches(report)
    assert summary["balanced"] and summary["quarantined"] == 3
    assert summary["quarantined_by_stage"] == {"clean": 3}
    assert summary["quarantined_by_rule"] == {"salary_from_above_to": 2, "implausible_salary_from_rub": 1}
    outcomes = {o["rule"]: o for o in summary["expectations"] if o["suite"] == "hh.vacancy.clean"}
    assert (outcomes["salary_from_above_to"]["success"], outcomes["salary_from_above_to"]["unexpected_count"]) == (
        False,
        2,
    )
    assert outcomes["missing_name"]["success"] and outcomes["missing_name"]["element_count"] == summary["detailed"]
    assert count(engine, vacancies) == summary["loaded"] == summary["extracted"] - 3
    with engine.connect() as conn:
        rows = conn.execute(select(quarantine.c.record_id, quarantine.c.rule, quarantine.c.meta)).all()
        counts = conn.execute(select(run_log.c.counts)).scalar_one()
    assert {r.record_id for r in rows} == set(ids[:3])
    assert all(r.meta["search_hash"] and r.meta["detail_fetched_at"] for r in rows)
    assert reports.searches(counts)[0]["expectations"] == summary["expectations"]  # in the run log
    previous = previous_count(engine, "hh:vacancies:all")
    assert previous is not None and previous.extracted == summary["extracted"]
    section = render_quality(report["jobs"], report["expectations"])
    assert "- quarantined by stage: clean 3" in section
    assert "| clean | vacancy | salary_from_above_to | expect_column_pair_values_a_to_be_greater_than_b" in section

    monkeypatch.setattr(ex, "MAX_RUB_MONTHLY_GROSS", 100_000_000)  # a bound judged too strict
    (result,) = [r for r in reprocess_quarantine(emulator_url=sandbox.url)["extra"]["reprocess"] if r["selected"]]
    assert result["entity"] == "vacancy"
    assert (result["selected"], result["loaded"], result["still_failing"]) == (3, 1, 2)
    assert result["failing_rules"] == {"salary_from_above_to": 2}
    with engine.connect() as conn:
        assert set(conn.execute(select(quarantine.c.record_id)).scalars()) == set(ids[:2])
        flows = conn.execute(select(run_log.c.flow, run_log.c.status).order_by(run_log.c.started_at)).all()
    assert count(engine, vacancies) == summary["extracted"] - 2
    assert [tuple(f) for f in flows] == [("daily", "completed"), ("reprocess-quarantine", "completed")]
    artifact = Artifact.get(report_key("reprocess-quarantine"))
    assert artifact is not None and "| vacancy | all | 3 | 1 | 0 | 2 |" in artifact.data


def test_a_search_finding_nothing_after_a_run_that_found_many_stops_before_the_cursor(
    sandbox, jobpipe_env, engine, tmp_path
):
    now = datetime.now(UTC)
    stream = "hh:vacancies:nothing"
    summary = {
        "search": "nothing",
        "stream": stream,
        "extracted": 3000,
        "since": (now - timedelta(days=31)).isoformat(),
        "until": (now - timedelta(days=1)).isoformat(),
    }
    with engine.begin() as conn:
        conn.execute(
            insert(run_log).values(
                run_id="yesterday",
                flow="daily",
                started_at=now - timedelta(days=1),
                status="completed",
                counts={"hh_vacancies": [summary]},
            )
        )
    with pytest.raises(BatchRejected, match="hh:vacancies:nothing: 0 records"):
        daily(
            emulator_url=sandbox.url,
            searches_file=searches(tmp_path, "nothing", "zzzqqqxxx"),
            lookback_days=31,
            sources=["hh"],
        )
    assert count(engine, sync_cursors) == count(engine, vacancies) == 0
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(run_log.c.run_id, run_log.c.status)).all())
    assert list(statuses.values()).count("failed") == 1  # this run, recorded as failed


def test_a_window_with_most_records_failing_stops_the_run_with_nothing_written(sandbox, jobpipe_env, engine, tmp_path):
    ids = open_ids(sandbox)
    for vid in ids[: int(len(ids) * 0.6)]:
        sandbox.world.update_vacancy(vid, salary_from=300_000, salary_to=100_000)
    with pytest.raises(BatchRejected, match="failed the checks, more than the allowed 20%"):
        daily(emulator_url=sandbox.url, searches_file=searches(tmp_path, "all"), lookback_days=31, sources=["hh"])
    assert count(engine, vacancies) == count(engine, employers) == count(engine, quarantine) == 0
    assert count(engine, sync_cursors) == 0
