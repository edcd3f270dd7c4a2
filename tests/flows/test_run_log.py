"""Every flow run on its own (a deployment, a partition) leaves its run log row, so the checks that
read past runs work in the scale-out setup too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from flows.avito_candidates import avito_candidates
from flows.hh_vacancies import hh_vacancies
from sandbox.avito_config import AvitoConfig
from sandbox.config import SandboxConfig
from sandbox.server import start_in_thread
from schemas.tables import run_log, sync_cursors
from tasks.sync.checks import BatchRejected


@pytest.fixture(scope="module")
def sandbox():
    world = AvitoConfig(chats=60, applications=60, job_rate_limit_rps=0)
    with start_in_thread(SandboxConfig(seed=5, vacancies=800, rate_limit_rps=0, avito=world)) as running:
        yield running


def searches(tmp_path, second: str) -> str:
    path = tmp_path / "searches.toml"
    path.write_text(f'[[search]]\nname = "a-python"\ntext = "python"\n\n[[search]]\nname = "b-all"\n{second}\n')
    return str(path)


def logged(engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(run_log.c.run_id, run_log.c.flow, run_log.c.status))]


def test_a_partition_run_is_logged_and_a_search_that_suddenly_finds_nothing_is_refused(
    sandbox, jobpipe_env, engine, tmp_path
):
    first = hh_vacancies(searches_file=searches(tmp_path, ""), partition="2/2", emulator_url=sandbox.url)
    assert [(r["job"], r["stream"]) for r in first["jobs"]] == [("b-all", "hh:vacancies:b-all")]
    assert first["streams"][0]["extracted"] > 500
    assert logged(engine) == [(first["run_id"], "hh-vacancies", "completed")]
    # a week later (the cursor a week back), the same search's query finds nothing, where the
    # partition's previous run predicts about 800 / 30 * 7
    with engine.begin() as conn:
        conn.execute(sync_cursors.update().values(position=sync_cursors.c.position - timedelta(days=7)))
        cursor = conn.execute(select(sync_cursors.c.position)).scalar_one()
    with pytest.raises(BatchRejected, match="hh:vacancies:b-all: 0 records"):
        hh_vacancies(searches_file=searches(tmp_path, 'text = "zzzqqqxxx"'), partition="2/2", emulator_url=sandbox.url)
    runs = logged(engine)
    assert len(runs) == 2 and [status for _, flow, status in runs] == ["completed", "failed"]
    with engine.connect() as conn:
        assert conn.execute(select(sync_cursors.c.position)).scalar_one() == cursor  # the cursor stayed


def test_an_avito_run_of_its_own_is_logged(sandbox, jobpipe_env, engine):
    report = avito_candidates(emulator_url=sandbox.url)
    assert logged(engine) == [(report["run_id"], "avito-candidates", "completed")]
    assert report["balanced"] and report["streams"]
