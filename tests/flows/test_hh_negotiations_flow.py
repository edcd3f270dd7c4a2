"""hh.ru negotiations end to end against the emulator: employer stream, the closed applicant stream,
incremental re-runs and the status history across days (the emulator's clock is moved by hand)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from flows.hh_negotiations import hh_negotiations
from sandbox.config import SandboxConfig
from sandbox.server import start_in_thread
from schemas.status import HH_APPLICANT, HH_EMPLOYER
from schemas.tables import hh_negotiation_messages, status_history, vacancies
from schemas.tables import hh_negotiations as negotiations_table
from tasks.sync.status import canonical_status
from tests.flows.reports import job, rows

ANCHOR = datetime(2026, 11, 20, 9, tzinfo=UTC)
DAY = 86400


@pytest.fixture
def world(monkeypatch, tmp_path, jobpipe_env):
    """A small emulator on a hand-moved clock, and a home of its own (fresh user tokens)."""
    monkeypatch.setenv("JOBPIPE_HOME", str(tmp_path))
    config = SandboxConfig(
        vacancies=1500, anchor=ANCHOR, rate_limit_rps=0, employer_negotiations=160, applicant_negotiations=40
    )
    now = [ANCHOR.timestamp()]
    with start_in_thread(config) as running:
        running.set_clock(lambda: now[0])
        yield running, now


EMPLOYER, APPLICANT = "hh:user:employer", "hh:user:applicant"


def status_changes(report: dict) -> int:
    return sum(j["status_changes"] for j in report["jobs"])


def _expected(running, login: str, vocabulary: str) -> dict[str, str]:
    negotiations = running.negotiations
    return {v.neg.id: canonical_status(vocabulary, v.event.state) for v in negotiations.views(negotiations.user(login))}


def test_employer_negotiations_load_applicant_stream_stops_cleanly_and_history_follows_the_days(world, engine):
    running, now = world
    first = hh_negotiations(emulator_url=running.url)

    # the applicant API is closed (as on hh.ru since 15 Dec 2025): a note, not a crash
    closed = " ".join(job(first, APPLICANT)["notes"])
    assert "skipped" in closed and "15 Dec 2025" in closed and "jobpipe import responses" in closed
    # the employer's negotiations are all there, with the emulator's states mapped
    expected = _expected(running, "employer", HH_EMPLOYER)
    with engine.connect() as conn:
        stored = dict(conn.execute(select(negotiations_table.c.negotiation_id, negotiations_table.c.status)).all())
        messages = conn.execute(select(func.count()).select_from(hh_negotiation_messages)).scalar_one()
    assert stored == expected and len(stored) > 50
    unknown = sum(1 for s in expected.values() if s == "unknown")
    employer = job(first, EMPLOYER)
    assert unknown > 0 and employer["unknown_states"] == unknown  # security_check: kept, flagged
    outcomes = {o["rule"]: o for o in employer["expectations"] if o["suite"] == "hh.negotiation.clean"}
    assert outcomes["unknown_status"]["unexpected_count"] == unknown and not outcomes["unknown_status"]["success"]
    assert all(o["success"] for o in employer["expectations"] if o["rule"] != "unknown_status")
    entities = rows(first, EMPLOYER)
    assert entities["negotiations"]["loaded"] == len(expected) and entities["negotiations"]["balanced"]
    assert messages == entities["negotiation messages"]["loaded"] > len(expected)
    assert status_changes(first) == len(expected)  # one first observation each
    # the employer's vacancies were fetched by id, so the analytics can join salary and employer
    with engine.connect() as conn:
        nego_vacancies = set(conn.execute(select(negotiations_table.c.vacancy_id).distinct()).scalars())
        held = set(conn.execute(select(vacancies.c.vacancy_id)).scalars())
    assert nego_vacancies and nego_vacancies <= held
    fetched = entities["vacancies"]
    assert fetched["inserted"] + fetched["updated"] == len(nego_vacancies)

    # the same moment again: nothing new, far fewer calls
    again = hh_negotiations(emulator_url=running.url)
    assert status_changes(again) == 0
    assert rows(again, EMPLOYER)["negotiations"]["inserted"] == 0
    print(f"API calls: first run {first['api_calls']}, re-run {again['api_calls']}")
    assert again["api_calls"] < first["api_calls"] / 2

    # a day later: every changed or new negotiation adds exactly one history row
    now[0] += DAY
    later = _expected(running, "employer", HH_EMPLOYER)
    changed = [nid for nid, status in later.items() if nid in expected and status != expected[nid]]
    state_changed = {
        v.neg.id
        for v in running.negotiations.views(running.negotiations.user("employer"))
        if v.neg.id in expected and v.event.ts > ANCHOR.timestamp()
    }
    new = [nid for nid in later if nid not in expected]
    assert changed, "the emulator's next day should bring state changes"
    next_day = hh_negotiations(emulator_url=running.url)
    assert status_changes(next_day) == len(state_changed) + len(new)
    with engine.connect() as conn:
        history = conn.execute(
            select(status_history.c.record_id, func.count())
            .where(status_history.c.entity == "negotiation")
            .group_by(status_history.c.record_id)
        ).all()
    per_record = dict(history)
    assert all(per_record[nid] == 2 for nid in state_changed)
    assert all(per_record[nid] == 1 for nid in new)

    # re-running that day adds none
    assert status_changes(hh_negotiations(emulator_url=running.url)) == 0


def test_applicant_tokens_with_access_still_read_their_negotiations(world, engine):
    running, _ = world
    running.config.applicant_api_closed = False
    report = hh_negotiations(emulator_url=running.url)
    assert not any("skipped" in note for note in job(report, APPLICANT)["notes"])
    expected = _expected(running, "applicant", HH_APPLICANT)
    with engine.connect() as conn:
        stored = dict(
            conn.execute(
                select(negotiations_table.c.negotiation_id, negotiations_table.c.status).where(
                    negotiations_table.c.origin == "applicant"
                )
            ).all()
        )
    assert stored == expected and len(stored) > 10
    assert status_changes(report) >= len(expected)


def test_daily_reads_negotiations_imports_a_responses_file_and_publishes_the_analytics(world, engine, tmp_path):
    from PIL import Image

    from flows.daily import daily
    from jobpipe.runs import render

    running, _ = world
    ids = running.world.ids()[:3]
    responses = tmp_path / "responses.csv"
    responses.write_text(
        "vacancy;date;status;note\n"
        f"https://hh.ru/vacancy/{ids[0]}?from=search;2026-11-01;Отклик;\n"
        f"https://hh.ru/vacancy/{ids[0]};2026-11-04;Приглашение;call on Monday\n"
        f"{ids[1]};02.11.2026;откликнулся;\n"
        f"{ids[2]};2026-11-03;Отказ;\n"
        ";2026-11-05;Отклик;no vacancy\n",
        encoding="utf-8",
    )
    report = daily(emulator_url=running.url, sources=["hh_negotiations"], responses_file=str(responses))

    imported = report["extra"]["manual_import"]
    assert (imported["rows"], imported["events"], imported["rejected"], imported["negotiations"]) == (5, 4, 1, 3)
    # joined: the named vacancies the database lacked were fetched from the emulator
    assert imported["vacancies_fetched"] == imported["missing_vacancies"] > 0
    employer = len(_expected(running, "employer", HH_EMPLOYER))
    analytics = report["extra"]["analytics"]
    assert analytics["responses"] == employer + 3
    with engine.connect() as conn:
        manual = dict(
            conn.execute(
                select(negotiations_table.c.vacancy_id, negotiations_table.c.status).where(
                    negotiations_table.c.origin == "manual"
                )
            ).all()
        )
    assert manual == {ids[0]: "interview", ids[1]: "applied", ids[2]: "rejected"}
    with engine.connect() as conn:
        assert set(
            conn.execute(select(vacancies.c.vacancy_id).where(vacancies.c.vacancy_id.in_(ids))).scalars()
        ) == set(ids)
    for path in analytics["files"]:
        if path.endswith(".png"):
            with Image.open(path) as image:
                assert image.size[0] >= 800 and image.size[1] >= 400
    assert any(path.endswith(".xlsx") for path in analytics["files"])
    markdown = render(report, True)
    assert "## Funnel" in markdown and f"| {analytics['responses']} |" in markdown
    assert "Responses imported from a file" in markdown and "| hh:user:employer negotiations |" in markdown
