"""Manual import of one's own responses into a real PostgreSQL: 1,000 rows with bad ones, CSV and XLSX
alike, re-imports that write nothing, an extended file, the events mode of the status history, and the
vacancies fetched from the emulator for the join."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import func, select

from sandbox.config import SandboxConfig
from sandbox.server import start_in_thread
from schemas.tables import hh_negotiations, quarantine, status_history, vacancies
from tasks.hh.client import HHAuth, HHClient
from tasks.hh.import_responses import ImportSummary, import_responses, missing_vacancy_ids
from tasks.hh.responses_file import ResponsesFileError
from tasks.sync.load import load_batch
from tasks.sync.tokens import TokenStore

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
HEADER = ["Ссылка", "Дата", "Статус", "Комментарий"]
FUNNEL = ["Отклик", "Просмотрен", "Собеседование", "Оффер", "Отказ", "Думаю"]  # "Думаю" maps to unknown
STATUS = {
    "Отклик": "applied",
    "Просмотрен": "viewed",
    "Собеседование": "interview",
    "Оффер": "offer",
    "Отказ": "rejected",
    "Думаю": "unknown",
}
BAD_EACH = 8
RULES = ["missing_vacancy", "bad_vacancy_ref", "missing_date", "bad_date", "future_date", "duplicate_row"]


@dataclass
class Generated:
    """A responses file and the answers computed while writing it (not by the code under test)."""

    rows: list[list[object]] = field(default_factory=list)  # data rows, cells as a person writes them
    good: int = 0
    latest: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # vacancy -> (label, date)
    first: dict[str, datetime] = field(default_factory=dict)


def generate(total: int = 1000, seed: int = 5) -> Generated:
    rng = random.Random(seed)
    out = Generated()
    good_rows: list[list[object]] = []
    vacancy = 5_000_000
    while len(good_rows) < total - BAD_EACH * len(RULES):
        vacancy += 1
        vid = str(vacancy)
        day = datetime(2025, 9, 1, tzinfo=MSK) + timedelta(days=rng.randrange(60))
        for step in range(rng.randint(1, 4)):
            if len(good_rows) == total - BAD_EACH * len(RULES):
                break
            label = FUNNEL[min(step, len(FUNNEL) - 1)] if rng.random() > 0.05 else "Думаю"
            day += timedelta(days=rng.randint(1, 5), hours=rng.randint(0, 9))
            reference = rng.choice([vid, f"https://hh.ru/vacancy/{vid}?from=x", f"hh.ru/vacancy/{vid}"])
            when = rng.choice([day.strftime("%Y-%m-%d %H:%M"), day.strftime("%d.%m.%Y %H:%M")])
            good_rows.append([reference, when, label, rng.choice(["", f"note {vid}/{step}"])])
            out.first.setdefault(vid, day)
            out.latest[vid] = (label, day)
    out.good = len(good_rows)
    bad: list[list[object]] = []
    for i in range(BAD_EACH):
        other = str(9_000_000 + i)
        bad.append(["", "20.11.2025", "Отклик", "missing vacancy"])
        bad.append([f"Python developer #{i}", "20.11.2025", "Отклик", "a title, not a reference"])
        bad.append([other, "", "Отклик", "missing date"])
        bad.append([other, "32.13.2025", "Отклик", "bad date"])
        bad.append([other, "01.01.2031", "Отклик", "future"])
    rows = good_rows + bad
    rng.shuffle(rows)
    for i in range(BAD_EACH):  # the same vacancy (in another form), date and status, somewhere below the original
        original = good_rows[i * 7]
        at = next(k for k, row in enumerate(rows) if row is original)
        duplicate = [original[0].split("?")[0], original[1], original[2].upper(), "same as an earlier row"]
        rows.insert(rng.randint(at + 1, len(rows)), duplicate)
    out.rows = rows
    return out


def write_csv(path: Path, rows: list[list[object]], delimiter: str = ";", encoding: str = "utf-8-sig") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def as_cell(value: object) -> object:
    """What a spreadsheet holds for a cell a person typed: numbers as numbers, dates as date cells."""
    if not isinstance(value, str):
        return value
    if value.isdigit():
        return float(value)  # an XLSX number cell: 5000001.0
    for form in ("%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M", "%d.%m.%Y"):
        try:
            return datetime.strptime(value, form)
        except ValueError:
            continue
    return value or None


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append([as_cell(c) for c in row])
    book.save(path)
    return path


def count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def assert_loaded(engine, summary: ImportSummary, generated: Generated) -> None:
    bad = BAD_EACH * len(RULES)
    assert (summary.rows, summary.events, summary.rejected) == (1000, generated.good, bad)
    assert summary.rows == summary.events + summary.rejected and summary.balanced
    assert summary.quarantined_by_rule == dict.fromkeys(RULES, BAD_EACH)
    assert summary.negotiations == summary.negotiations_inserted == len(generated.latest)
    assert summary.history_added == generated.good
    assert summary.quarantined_new == bad
    assert summary.unknown_states.get("Думаю", 0) > 0
    assert count(engine, hh_negotiations) == len(generated.latest)
    assert count(engine, status_history, status_history.c.record_id.like("manual-%")) == generated.good
    assert count(engine, quarantine, quarantine.c.entity == "manual_response") == bad
    with engine.connect() as conn:
        stored = {
            r.vacancy_id: r
            for r in conn.execute(select(hh_negotiations).where(hh_negotiations.c.origin == "manual")).mappings()
        }
        reasons = conn.execute(select(quarantine.c.rule, quarantine.c.reason, quarantine.c.payload)).all()
    for vid, (label, day) in generated.latest.items():
        row = stored[vid]
        assert row["negotiation_id"] == f"manual-{vid}"
        assert (row["state"], row["status"]) == (label, STATUS[label])
        assert row["updated_at"] == day and row["created_at"] == generated.first[vid]
    for rule, reason, payload in reasons:
        assert rule in RULES
        assert f"row {payload['row']}:" in reason and "; " in reason  # where, what went wrong; what to fix


def test_a_1000_row_csv_loads_good_rows_and_quarantines_bad_ones(engine, tmp_path):
    generated = generate()
    path = write_csv(tmp_path / "responses.csv", generated.rows)
    summary = import_responses(engine, path, "import-1", now=NOW)
    assert_loaded(engine, summary, generated)
    assert summary.columns == {"vacancy": "Ссылка", "date": "Дата", "status": "Статус", "note": "Комментарий"}
    assert summary.missing_vacancies == len(generated.latest) and summary.vacancies_fetched == 0  # no client

    again = import_responses(engine, path, "import-2", now=NOW)
    assert (again.negotiations_inserted, again.negotiations_updated, again.history_added) == (0, 0, 0)
    assert again.quarantined_new == 0 and again.rejected == BAD_EACH * len(RULES)
    assert count(engine, quarantine) == BAD_EACH * len(RULES)
    assert count(engine, status_history) == generated.good
    with engine.connect() as conn:
        assert set(conn.execute(select(hh_negotiations.c.run_id).distinct()).scalars()) == {"import-1"}

    vid, (label, day) = next(iter(generated.latest.items()))
    later = day + timedelta(days=3)
    extended = write_csv(
        tmp_path / "responses.csv", [*generated.rows, [vid, later.strftime("%d.%m.%Y %H:%M"), "Оффер", ""]]
    )
    third = import_responses(engine, extended, "import-3", now=NOW)
    assert (third.negotiations_inserted, third.negotiations_updated, third.history_added) == (0, 1, 1)
    assert third.quarantined_new == 0
    with engine.connect() as conn:
        row = conn.execute(select(hh_negotiations).where(hh_negotiations.c.vacancy_id == vid)).mappings().one()
        history = conn.execute(
            select(status_history.c.state, status_history.c.changed_at)
            .where(status_history.c.record_id == f"manual-{vid}")
            .order_by(status_history.c.id)
        ).all()
    assert (row["state"], row["status"], row["updated_at"]) == ("Оффер", "offer", later)
    assert history[-1] == ("Оффер", later) and len(history) == len({h for h in history})


def test_the_same_rows_as_xlsx_give_the_same_result(engine, tmp_path):
    generated = generate()
    summary = import_responses(engine, write_xlsx(tmp_path / "responses.xlsx", generated.rows), "x-1", now=NOW)
    assert_loaded(engine, summary, generated)
    again = import_responses(engine, tmp_path / "responses.xlsx", "x-2", now=NOW)
    assert (again.negotiations_inserted, again.negotiations_updated, again.history_added, again.quarantined_new) == (
        0,
        0,
        0,
        0,
    )


def test_a_file_without_a_status_column_writes_nothing(engine, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("vacancy,date\n123,2025-11-20\n", encoding="utf-8")
    with pytest.raises(ResponsesFileError, match="no status column"):
        import_responses(engine, path, "r", now=NOW)
    assert count(engine, hh_negotiations) == count(engine, quarantine) == 0


# --- status history: several events of one record in one batch -----------------------------------

T0 = datetime(2025, 11, 20, 9, tzinfo=UTC)


def events(*rows: tuple[str, str, datetime]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"source": "hh", "entity": "negotiation", "record_id": r, "state": s, "status": s, "changed_at": at}
            for r, s, at in rows
        ]
    )


def history_rows(engine) -> list[tuple[str, str, datetime]]:
    with engine.connect() as conn:
        query = select(status_history.c.record_id, status_history.c.state, status_history.c.changed_at)
        return [tuple(r) for r in conn.execute(query.order_by(status_history.c.id))]


def load_events(engine, frame: pd.DataFrame, run: str) -> int:
    return load_batch(engine, [], [], run_id=run, seen_at=NOW, history=frame, history_events=True).status_changes


def test_events_a_then_b_are_both_kept_and_a_reload_adds_none(engine):
    a, b, c = T0, T0 + timedelta(days=1), T0 + timedelta(days=2)
    first = events(("n1", "applied", a), ("n1", "interview", b), ("n2", "applied", a))
    assert load_events(engine, first, "r1") == 3
    assert load_events(engine, first, "r2") == 0  # A differs from the latest B, but it is stored already
    assert load_events(engine, events(("n1", "applied", a), ("n1", "interview", b), ("n1", "offer", c)), "r3") == 1
    assert history_rows(engine) == [
        ("n1", "applied", a),
        ("n2", "applied", a),
        ("n1", "interview", b),
        ("n1", "offer", c),
    ]


def test_events_keep_the_batch_order_on_equal_times_and_collapse_identical_rows(engine):
    frame = events(("n1", "viewed", T0), ("n1", "applied", T0), ("n1", "viewed", T0), ("n1", "rejected", T0))
    assert load_events(engine, frame, "r") == 3
    assert [state for _, state, _ in history_rows(engine)] == ["viewed", "applied", "rejected"]


def test_without_events_a_batch_still_records_only_the_newest_state(engine):
    frame = events(("n1", "applied", T0), ("n1", "interview", T0 + timedelta(days=1)))
    result = load_batch(engine, [], [], run_id="r", seen_at=NOW, history=frame)
    assert result.status_changes == 1 and history_rows(engine) == [("n1", "interview", T0 + timedelta(days=1))]


# --- the join to vacancies: missing ones fetched from the emulator --------------------------------


@pytest.fixture(scope="module")
def small_sandbox():
    with start_in_thread(SandboxConfig(seed=3, vacancies=200, rate_limit_rps=0)) as running:
        yield running


def sandbox_client(sandbox, tmp_path: Path) -> HHClient:
    config = sandbox.config
    auth = HHAuth(TokenStore(tmp_path / "tokens.json"), config.client_id, config.client_secret, mode="application")
    return HHClient.create(sandbox.url, "jobpipe-tests/1.0 (tests@example.com)", auth, rate_limit=0)


def test_missing_vacancy_ids(engine):
    with engine.connect() as conn:
        assert missing_vacancy_ids(conn, ["1", "2", "1"]) == ["1", "2"]
        assert missing_vacancy_ids(conn, []) == []


def test_vacancies_the_database_lacks_are_fetched_and_a_deleted_one_stays_a_response(engine, tmp_path, small_sandbox):
    known = [v.id for v in small_sandbox.world.vacancies()[:3]]
    gone = "999999999"
    assert small_sandbox.world.get(gone) is None
    rows = [[vid, f"{date(2025, 11, 10 + i):%d.%m.%Y}", "Отклик", ""] for i, vid in enumerate([*known, gone])]
    path = write_csv(tmp_path / "mine.csv", rows, delimiter=",", encoding="utf-8")
    client = sandbox_client(small_sandbox, tmp_path)
    summary = import_responses(engine, path, "join-1", client, now=NOW)
    assert (summary.missing_vacancies, summary.vacancies_fetched, summary.vacancies_gone) == (4, 3, 1)
    assert summary.vacancy_error is None and summary.vacancies_quarantined == 0
    with engine.connect() as conn:
        assert missing_vacancy_ids(conn, [*known, gone]) == [gone]
        joined = conn.execute(
            select(hh_negotiations.c.vacancy_id, vacancies.c.name)
            .select_from(hh_negotiations.outerjoin(vacancies, hh_negotiations.c.vacancy_id == vacancies.c.vacancy_id))
            .order_by(hh_negotiations.c.vacancy_id)
        ).all()
    names = dict(joined)
    assert set(names) == {*known, gone}
    assert all(names[v] for v in known) and names[gone] is None  # the deleted vacancy's response stays

    again = import_responses(engine, path, "join-2", client, now=NOW)
    assert (again.missing_vacancies, again.vacancies_fetched, again.vacancies_gone) == (1, 0, 1)
    assert again.history_added == again.negotiations_inserted == again.negotiations_updated == 0


# --- the command --------------------------------------------------------------------------------


def test_the_command_imports_and_prints_the_summary(engine, database_url, tmp_path, monkeypatch, capsys):
    from jobpipe.cli import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("JOBPIPE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("JOBPIPE_USE_BLOCKS", "0")
    for variable in ("HH_CLIENT_ID", "HH_CLIENT_SECRET"):
        monkeypatch.delenv(variable, raising=False)
    path = write_csv(tmp_path / "r.csv", [["123", "20.11.2025", "Отклик", ""], ["x", "20.11.2025", "Отклик", ""]])
    assert main(["import", "responses", str(path)]) == 0
    out = capsys.readouterr().out
    assert "r.csv: 2 rows -> 1 status events + 1 quarantined (bad_vacancy_ref 1)" in out
    assert "1 vacancies of the file are not in the database: set HH_CLIENT_ID" in out
    assert count(engine, hh_negotiations) == count(engine, quarantine) == 1
    assert main(["import", "responses", str(tmp_path / "none.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
