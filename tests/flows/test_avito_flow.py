"""Whole runs of the Avito candidates flow against the emulator, into a real PostgreSQL."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from flows.avito_candidates import avito_candidates
from sandbox.avito_config import AvitoConfig
from sandbox.config import SandboxConfig
from sandbox.server import start_in_thread
from schemas.tables import avito_applications, avito_chats, avito_messages, avito_resumes, quarantine, status_history
from tasks.analytics.export import export_workbook
from tests.flows.reports import job, rows

# 3,000 chats and 3,000 applications; the two most popular vacancies have ~900 chats each, so the
# 1100-chat reach of one listing is exceeded overall but not per vacancy
WORLD = AvitoConfig(chats=3000, applications=3000, popular_vacancy_shares=(0.3, 0.28, 0.08), job_rate_limit_rps=0)


@pytest.fixture(scope="module")
def avito_sandbox():
    with start_in_thread(SandboxConfig(vacancies=10, rate_limit_rps=0, avito=WORLD)) as running:
        yield running


def count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def by_entity(report) -> dict[str, dict]:
    return rows(report, "Avito")


def test_every_record_is_accounted_for_and_a_rerun_is_cheap(avito_sandbox, jobpipe_env, engine, tmp_path):
    world = avito_sandbox.avito_world
    first = avito_candidates(emulator_url=avito_sandbox.url, lookback_days=365)
    entities = by_entity(first)
    assert all(e["balanced"] for e in entities.values()), entities
    # nothing skipped or out of reach; the states without a mapping are noted (and flagged below)
    assert [n for n in job(first, "Avito")["notes"] if "no mapping" not in n] == []
    u2i_chats = [c for c in world.chats() if c.id.startswith("u2i-")]
    assert entities["chats"]["extracted"] == len(u2i_chats) == count(engine, avito_chats)
    assert entities["applications"]["extracted"] == len(world.applications()) == 3000
    assert count(engine, avito_applications) + count(engine, quarantine, quarantine.c.entity == "application") == 3000
    with_resume = {str(a.resume_id) for a in world.applications() if a.resume_id}
    assert count(engine, avito_resumes) + count(engine, quarantine, quarantine.c.entity == "resume") == len(with_resume)
    assert count(engine, avito_messages) == sum(len(world.messages(c)) for c in u2i_chats)
    # unknown Avito states are kept as "unknown", never dropped
    unknown = [
        a
        for a in world.applications()
        if a.state not in {"new", "inprocess", "interview", "selected", "rejected", "archive"}
    ]
    assert count(engine, avito_applications, avito_applications.c.status == "unknown") == len(unknown)
    # ... and flagged by the quality checks as a warning, with every other expectation met
    outcomes = {(o["entity"], o["rule"]): o for o in first["expectations"]}
    flagged = outcomes[("application", "unknown_status")]
    assert flagged["severity"] == "warning" and flagged["unexpected_count"] == len(unknown) > 0
    assert all(o["success"] for key, o in outcomes.items() if key != ("application", "unknown_status"))
    # candidates who opted out are masked everywhere
    with engine.connect() as conn:
        masked = conn.execute(select(avito_chats.c.candidate_name).where(avito_chats.c.parsing_allowed.is_(False)))
        assert {name for (name,) in masked} == {"***"}
    print(
        f"\nfirst run: {first['api_calls']} API calls; "
        + ", ".join(f"{k} {v['extracted']}" for k, v in entities.items())
    )

    second = avito_candidates(emulator_url=avito_sandbox.url)
    again = by_entity(second)
    assert all(e["inserted"] == e["updated"] == 0 for e in again.values())
    assert job(second, "Avito")["status_changes"] == 0
    assert second["api_calls"] * 20 < first["api_calls"]
    print(f"second run: {second['api_calls']} API calls")

    # a state change and a new message are picked up by the next run, and recorded once
    app = world.applications()[0]
    world.set_application_state(app.id, "interview" if app.state != "interview" else "rejected")
    chat = u2i_chats[0]
    world.touch_chat(chat.id, text="Когда можно прийти на собеседование?")
    third = avito_candidates(emulator_url=avito_sandbox.url)
    changed = by_entity(third)
    assert changed["applications"]["updated"] == 1 and job(third, "Avito")["status_changes"] == 1
    assert changed["messages"]["inserted"] == 1
    with engine.connect() as conn:
        states = conn.execute(select(status_history.c.status).where(status_history.c.record_id == app.id)).scalars()
        assert len(list(states)) == 2

    # the recruiter's workbook opens and its numbers match the database
    path = tmp_path / "candidates.xlsx"
    export_workbook(engine, path)
    book = load_workbook(path, read_only=True)
    candidates = list(book["candidates"].iter_rows(values_only=True))
    header = candidates[0]
    application_ids = [row[header.index("application_id")] for row in candidates[1:]]
    assert len([a for a in application_ids if a]) == count(engine, avito_applications)
    chats_only = count(engine, avito_chats) - len(
        {
            c
            for c in (row[header.index("chat_id")] for row in candidates[1:] if row[header.index("application_id")])
            if c
        }
    )
    assert len([a for a in application_ids if not a]) == chats_only
    analytics = list(book["analytics"].iter_rows(values_only=True))
    total = analytics[-1]
    assert total[0] == "total" and total[-1] == count(engine, avito_applications)
    status_col = analytics[0].index("interview")
    assert total[status_col] == count(engine, avito_applications, avito_applications.c.status == "interview")


@pytest.fixture
def small_sandbox():
    world = AvitoConfig(chats=400, applications=400, job_rate_limit_rps=0)
    with start_in_thread(SandboxConfig(vacancies=10, rate_limit_rps=0, avito=world)) as running:
        yield running


def test_402_on_messages_skips_that_stream_and_loses_nothing(small_sandbox, jobpipe_env, engine):
    small_sandbox.config.avito.tariff_402 = frozenset({"messages"})
    report = avito_candidates(emulator_url=small_sandbox.url, lookback_days=365)
    assert any("messages skipped" in note for note in job(report, "Avito")["notes"])
    assert count(engine, avito_messages) == 0 and count(engine, avito_chats) > 0
    # once the tariff allows it, the next run fetches the messages it could not read
    small_sandbox.config.avito.tariff_402 = frozenset()
    later = avito_candidates(emulator_url=small_sandbox.url)
    assert by_entity(later)["messages"]["inserted"] > 0
    u2i = [c for c in small_sandbox.avito_world.chats() if c.id.startswith("u2i-")]
    assert count(engine, avito_messages) == sum(len(small_sandbox.avito_world.messages(c)) for c in u2i)


def test_faults_and_rate_limits_lose_nothing(jobpipe_env, engine, monkeypatch):
    # a smaller world with 3% injected 503s and a Job limit the client slightly misjudges
    world = AvitoConfig(chats=400, applications=400, fail_rate=0.03, job_rate_limit_rps=20)
    monkeypatch.setattr("jobpipe.connect.SANDBOX_RATE_LIMIT", 24.0)
    with start_in_thread(SandboxConfig(vacancies=10, rate_limit_rps=0, avito=world)) as sandbox:
        report = avito_candidates(emulator_url=sandbox.url, lookback_days=365)
        assert sandbox.stats.count(status=503) > 0
        u2i = [c for c in sandbox.avito_world.chats() if c.id.startswith("u2i-")]
        assert count(engine, avito_messages) == sum(len(sandbox.avito_world.messages(c)) for c in u2i)
    assert all(e["balanced"] for e in by_entity(report).values())
    assert count(engine, avito_applications) + count(engine, quarantine, quarantine.c.entity == "application") == 400
    assert count(engine, avito_chats) == len(u2i)
