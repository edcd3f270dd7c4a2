"""Whole runs of the hh.ru vacancies flow against the emulator, into a real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prefect.artifacts import Artifact
from sqlalchemy import func, select

from flows.daily import daily
from jobpipe.runs import report_key
from sandbox.config import SandboxConfig
from sandbox.server import start_in_thread
from schemas.tables import employers, quarantine, run_log, sync_cursors, vacancies
from tasks.hh.search import floor_step
from tests.flows.reports import searches


@pytest.fixture(scope="module")
def big_sandbox():
    # 30,000 vacancies over 30 days: "python" matches well over 10,000, far beyond hh's 2000 depth
    with start_in_thread(SandboxConfig(seed=11, vacancies=30_000, rate_limit_rps=0)) as running:
        yield running


def write_searches(tmp_path, text: str) -> str:
    path = tmp_path / "searches.toml"
    path.write_text(f'[[search]]\nname = "all-{text}"\ntext = "{text}"\n', encoding="utf-8")
    return str(path)


def count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def test_daily_harvests_every_match_then_a_rerun_writes_nothing(big_sandbox, jobpipe_env, engine, tmp_path):
    searches_file = write_searches(tmp_path, "python")
    first = daily(emulator_url=big_sandbox.url, searches_file=searches_file, lookback_days=31, sources=["hh"])
    (s1,) = searches(first)
    assert s1["found"] >= 10_000  # far beyond what one query can page through
    assert s1["extracted"] == s1["found"]
    assert s1["balanced"] and s1["quarantined"] == 0
    assert s1["inserted"] == s1["found"] == count(engine, vacancies)
    with engine.connect() as conn:
        loaded_ids = set(conn.execute(select(vacancies.c.vacancy_id)).scalars())
        n_detailed = conn.execute(
            select(func.count()).select_from(vacancies).where(vacancies.c.key_skills.is_not(None))
        ).scalar_one()
    expected = {v.id for v in big_sandbox.world.vacancies() if not v.archived and "python" in v.name.lower()}
    assert expected <= loaded_ids  # every vacancy with the word in its title, at least
    assert n_detailed == len(loaded_ids)  # details fetched for every one
    assert count(engine, employers) > 0

    second = daily(emulator_url=big_sandbox.url, searches_file=searches_file, sources=["hh"])
    (s2,) = searches(second)
    print(
        f"\nAPI calls: first run {s1['api_calls']}, second run {s2['api_calls']}; "
        f"row writes on the second run: {s2['inserted'] + s2['updated']}"
    )
    assert s2["inserted"] == s2["updated"] == 0
    assert s2["balanced"]
    assert s2["api_calls"] * 20 < s1["api_calls"]
    assert count(engine, vacancies) == s1["found"]
    with engine.connect() as conn:
        runs = conn.execute(select(run_log.c.run_id, run_log.c.status).order_by(run_log.c.started_at)).all()
    assert [status for _, status in runs] == ["completed", "completed"]
    assert [run_id for run_id, _ in runs] == [first["run_id"], second["run_id"]]

    artifact = Artifact.get(report_key("daily"))  # the newest run's report, published to the Prefect API
    assert artifact is not None and artifact.type == "markdown"
    assert "extracted = loaded + quarantined" in artifact.data
    assert f"| all-python | {s2['found']} | {s2['extracted']} |" in artifact.data


def test_new_and_changed_vacancies_are_picked_up_by_the_next_run(big_sandbox, jobpipe_env, engine, tmp_path):
    searches_file = write_searches(tmp_path, "python")
    daily(emulator_url=big_sandbox.url, searches_file=searches_file, lookback_days=3, sources=["hh"])
    with engine.connect() as conn:
        cursor = conn.execute(select(sync_cursors.c.position)).scalar_one()
        before = count(engine, vacancies)
        some_id = conn.execute(select(vacancies.c.vacancy_id).limit(1)).scalar_one()
    # published inside the overlap a daily run re-reads (late indexing), and one vacancy raised
    moment = floor_step(cursor) - timedelta(minutes=3)
    new_ids = big_sandbox.world.add_vacancies(4, published_at=moment)
    for vid in new_ids:
        big_sandbox.world.update_vacancy(vid, name="Python developer (new)")
    big_sandbox.world.update_vacancy(some_id, salary_from=123456, salary_to=234567, published_at=moment)

    (summary,) = searches(daily(emulator_url=big_sandbox.url, searches_file=searches_file, sources=["hh"]))
    assert summary["inserted"] == 4
    assert summary["updated"] == 1
    assert count(engine, vacancies) == before + 4
    with engine.connect() as conn:
        salary = conn.execute(select(vacancies.c.salary_to).where(vacancies.c.vacancy_id == some_id)).scalar_one()
    assert float(salary) == 234567
    assert count(engine, quarantine) == 0
