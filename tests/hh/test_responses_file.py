"""Reading an applicant's own responses file: vacancy references, dates, headers, events, rejections."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pandas as pd
import pytest

from schemas.status import MANUAL
from schemas.tables import data_columns, hh_negotiations, key_columns
from tasks.hh.responses_file import (
    ResponsesFileError,
    find_columns,
    parse_date,
    read_csv,
    read_responses_file,
    transform_responses,
    vacancy_id_of,
)
from tasks.sync.status import canonical_status
from tasks.sync.transform import RecordError

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
FETCHED = NOW


def csv_batch(text: str, *, encoding: str = "utf-8", name: str = "responses.csv"):
    return transform_responses(read_csv(text.encode(encoding), name), FETCHED, NOW)


# --- vacancy references ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        "123",
        " 123 ",
        123,
        123.0,  # an XLSX number cell
        "123.0",  # such a cell exported to CSV
        "https://hh.ru/vacancy/123?from=applicant_recommended&hhtmFrom=main",
        "https://hh.ru/vacancy/123",
        "http://hh.ru/vacancy/123/",
        "hh.ru/vacancy/123",
        "HTTPS://HH.RU/vacancy/123",
        "https://spb.hh.ru/vacancy/123?query=python",
        "https://hh.kz/vacancy/123",
        "https://almaty.hh.kz/vacancy/123",
        "https://api.hh.ru/vacancies/123",
        "https://hh.ru/applicant/vacancy_response?vacancyId=123",
    ],
    ids=repr,
)
def test_every_vacancy_reference_form_gives_the_id(cell: Any) -> None:
    assert vacancy_id_of(cell) == "123"


@pytest.mark.parametrize(
    "cell",
    [
        "abc",
        "Python developer",
        "https://example.com/vacancy/123",
        "https://hh.ru.example.com/vacancy/123",
        "https://hh.ru/employer/123",
        "https://hh.ru/vacancy/12a",
        12.5,
        -5,
        "0",
        True,
    ],
    ids=repr,
)
def test_anything_else_is_a_bad_vacancy_ref(cell: Any) -> None:
    with pytest.raises(RecordError) as caught:
        vacancy_id_of(cell)
    assert caught.value.rule == "bad_vacancy_ref"


@pytest.mark.parametrize("cell", [None, "", "   ", float("nan")], ids=repr)
def test_an_empty_vacancy_cell_is_missing(cell: Any) -> None:
    with pytest.raises(RecordError) as caught:
        vacancy_id_of(cell)
    assert caught.value.rule == "missing_vacancy"


# --- dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2025-11-20", datetime(2025, 11, 20, tzinfo=MSK)),
        ("2025-11-20T14:30", datetime(2025, 11, 20, 14, 30, tzinfo=MSK)),
        ("2025-11-20 14:30:15", datetime(2025, 11, 20, 14, 30, 15, tzinfo=MSK)),
        ("2025-11-20T11:30:00Z", datetime(2025, 11, 20, 11, 30, tzinfo=UTC)),
        ("2025-11-20T14:30:00+05:00", datetime(2025, 11, 20, 9, 30, tzinfo=UTC)),
        ("20.11.2025", datetime(2025, 11, 20, tzinfo=MSK)),
        ("20.11.25", datetime(2025, 11, 20, tzinfo=MSK)),
        ("1.2.2025 9:05", datetime(2025, 2, 1, 9, 5, tzinfo=MSK)),
        ("20.11.2025 14:30:15", datetime(2025, 11, 20, 14, 30, 15, tzinfo=MSK)),
        (datetime(2025, 11, 20, 14, 30), datetime(2025, 11, 20, 14, 30, tzinfo=MSK)),  # an Excel date cell
        (date(2025, 11, 20), datetime(2025, 11, 20, tzinfo=MSK)),
        (pd.Timestamp("2025-11-20 14:30"), datetime(2025, 11, 20, 14, 30, tzinfo=MSK)),
        (45000, datetime(2023, 3, 15, tzinfo=MSK)),  # an Excel day number in a number-formatted cell
        (45000.5, datetime(2023, 3, 15, 12, tzinfo=MSK)),
    ],
    ids=repr,
)
def test_date_forms(cell: Any, expected: datetime) -> None:
    moment = parse_date(cell, NOW)
    assert moment == expected
    assert moment.tzinfo is not None  # an instant, never a naive time


def test_a_date_without_zone_is_moscow_time() -> None:
    assert parse_date("2025-11-20 03:00", NOW) == datetime(2025, 11, 20, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("cell", ["вчера", "31.02.2025", "2025-13-01", "20/11/2025", "11-20-2025", 12, True])
def test_what_is_not_a_date_is_a_bad_date(cell: Any) -> None:
    with pytest.raises(RecordError) as caught:
        parse_date(cell, NOW)
    assert caught.value.rule == "bad_date"


@pytest.mark.parametrize("cell", [None, "", " ", float("nan"), pd.NaT], ids=repr)
def test_an_empty_date_cell_is_missing(cell: Any) -> None:
    with pytest.raises(RecordError) as caught:
        parse_date(cell, NOW)
    assert caught.value.rule == "missing_date"


def test_more_than_a_day_ahead_is_a_future_date_but_less_is_accepted() -> None:
    assert parse_date(NOW + timedelta(hours=23), NOW) == NOW + timedelta(hours=23)
    with pytest.raises(RecordError) as caught:
        parse_date(NOW + timedelta(days=1, minutes=1), NOW)
    assert caught.value.rule == "future_date"
    with pytest.raises(RecordError):
        parse_date("01.01.2027", NOW)


# --- headers, delimiters, encodings ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["vacancy", "date", "status"], {"vacancy": 0, "date": 1, "status": 2}),
        (["Вакансия", "Дата", "Статус", "Заметка"], {"vacancy": 0, "date": 1, "status": 2, "note": 3}),
        (["  VACANCY_ID ", "DATE", "Status", "Comment"], {"vacancy": 0, "date": 1, "status": 2, "note": 3}),
        (["Компания", "Ссылка", "дата", "СТАТУС", "Комментарий"], {"vacancy": 1, "date": 2, "status": 3, "note": 4}),
        (["url", "date", "status", "note"], {"vacancy": 0, "date": 1, "status": 2, "note": 3}),
        # a title column next to the link: the link is the reference
        (["Вакансия", "Ссылка", "Дата", "Статус"], {"vacancy": 1, "date": 2, "status": 3}),
    ],
)
def test_headers_in_english_or_russian_any_case(header: list[str], expected: dict[str, int]) -> None:
    assert find_columns(header) == expected


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        (["vacancy", "date"], "status"),
        (["Вакансия", "Статус"], "date"),
        (["company", "дата", "статус"], "vacancy"),
    ],
)
def test_a_missing_column_is_named(header: list[str], missing: str) -> None:
    with pytest.raises(ResponsesFileError) as caught:
        find_columns(header, "my.csv")
    message = str(caught.value)
    assert f"no {missing} column" in message
    assert "my.csv" in message and repr(header[0]) in message  # what the file has


def test_a_missing_column_stops_the_whole_file() -> None:
    with pytest.raises(ResponsesFileError, match="no status column"):
        csv_batch("vacancy,date\n123,2025-11-20\n")


@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251"])
def test_delimiters_and_encodings(delimiter: str, encoding: str) -> None:
    rows = [["Вакансия", "Дата", "Статус", "Заметка"], ["123", "20.11.2025", "Отклик", "через сайт, вечером"]]
    text = "\r\n".join(delimiter.join(f'"{c}"' if delimiter in c else c for c in row) for row in rows) + "\r\n"
    batch = csv_batch(text, encoding=encoding)
    assert batch.rejections == []
    (negotiation,) = batch.negotiations.to_dict("records")
    assert negotiation["vacancy_id"] == "123"
    assert negotiation["state"] == "Отклик" and negotiation["status"] == "applied"
    assert negotiation["note"] == "через сайт, вечером"


def test_an_empty_file_says_what_it_needs() -> None:
    with pytest.raises(ResponsesFileError, match="empty"):
        read_csv(b"", "empty.csv")


# --- events and negotiations ----------------------------------------------------------------------

HISTORY_OF_ONE = """vacancy,date,status,note
https://hh.ru/vacancy/7,2025-11-20,Отклик,first
7,2025-11-25 10:00,Собеседование,
https://spb.hh.ru/vacancy/7,2025-11-22,Просмотрен,seen
8,2025-11-21,Отклик,
8,2025-11-21,Отказ,same day
"""


def test_rows_of_one_vacancy_are_its_status_changes() -> None:
    batch = csv_batch(HISTORY_OF_ONE)
    assert batch.rows == batch.events == 5 and batch.rejections == []
    by_id = {n["negotiation_id"]: n for n in batch.negotiations.to_dict("records")}
    seven = by_id["manual-7"]
    assert seven["origin"] == "manual" and seven["vacancy_id"] == "7" and seven["resume_id"] is None
    assert seven["created_at"] == datetime(2025, 11, 20, tzinfo=MSK)
    assert seven["updated_at"] == datetime(2025, 11, 25, 10, tzinfo=MSK)
    assert (seven["state"], seven["status"]) == ("Собеседование", "interview")
    assert seven["note"] == "seen"  # the latest non-empty note
    assert [e["status"] for e in seven["payload"]["events"]] == ["Отклик", "Просмотрен", "Собеседование"]
    eight = by_id["manual-8"]
    assert (eight["state"], eight["status"], eight["note"]) == ("Отказ", "rejected", "same day")  # tie: later row
    history = batch.history
    assert history[history.record_id == "manual-7"]["status"].tolist() == ["applied", "viewed", "interview"]
    assert history[history.record_id == "manual-8"]["state"].tolist() == ["Отклик", "Отказ"]
    assert set(history["source"]) == {"hh"} and set(history["entity"]) == {"negotiation"}


def test_the_negotiations_frame_has_the_tables_columns() -> None:
    frame = csv_batch(HISTORY_OF_ONE).negotiations
    assert set(key_columns(hh_negotiations) + data_columns(hh_negotiations)) == set(frame.columns)


def test_an_unknown_label_loads_as_unknown_and_is_counted() -> None:
    batch = csv_batch("vacancy,date,status\n1,2025-11-20,Думаю\n2,2025-11-20,\n3,2025-11-20,Оффер\n")
    assert batch.rejections == []
    assert batch.negotiations["status"].tolist() == ["unknown", "unknown", "offer"]
    assert batch.unknown_states == {"Думаю": 1, "(empty)": 1}


@pytest.mark.parametrize(
    ("label", "status"),
    [
        ("Отклик", "applied"),
        ("Откликнулся", "applied"),
        ("  отклик ", "applied"),
        ("Не просмотрен", "applied"),
        ("Просмотрен", "viewed"),
        ("Приглашение", "interview"),
        ("Собеседование", "interview"),
        ("Интервью", "interview"),
        ("Тестовое задание", "interview"),
        ("Оффер", "offer"),
        ("Предложение", "offer"),
        ("  ВЫХОД   НА РАБОТУ ", "hired"),
        ("Принят", "hired"),
        ("Отказ", "rejected"),
        ("Отклонён", "rejected"),
        ("Архив", "archived"),
        ("applied", "applied"),
        ("Interview", "interview"),
        ("discard_after_interview", "rejected"),
        ("response", "applied"),
        ("hidden", "archived"),
        ("unknown", "unknown"),
        ("Думаю", "unknown"),
    ],
)
def test_manual_status_labels(label: str, status: str) -> None:
    assert canonical_status(MANUAL, label) == status


# --- rejections -----------------------------------------------------------------------------------

BAD = """Вакансия;Дата;Статус;Комментарий
123;20.11.2025;Отклик;ok
;20.11.2025;Отклик;no vacancy
Python developer;20.11.2025;Отклик;a title, not a reference
124;;Отклик;no date
125;позавчера;Отклик;not a date
126;01.01.2030;Отклик;future
https://hh.ru/vacancy/123;2025-11-20;ОТКЛИК;same as row 2
;;;
127;21.11.2025;Отказ;ok
"""


def test_every_bad_row_is_rejected_with_its_row_and_what_to_fix() -> None:
    batch = csv_batch(BAD, name="мои отклики.csv")
    rules = {r.rule: r for r in batch.rejections}
    assert [r.rule for r in batch.rejections] == [
        "missing_vacancy",
        "bad_vacancy_ref",
        "missing_date",
        "bad_date",
        "future_date",
        "duplicate_row",
    ]
    assert batch.rows == 8 and batch.blank_rows == 1 and batch.events == 2 and batch.balanced
    assert rules["missing_vacancy"].reason.startswith("мои отклики.csv row 3: the vacancy cell is empty; write")
    assert "row 4" in rules["bad_vacancy_ref"].reason and "'Python developer'" in rules["bad_vacancy_ref"].reason
    assert "row 5" in rules["missing_date"].reason
    assert "row 6" in rules["bad_date"].reason and "'позавчера'" in rules["bad_date"].reason
    assert "row 7" in rules["future_date"].reason and "2030-01-01" in rules["future_date"].reason
    assert "row 8: it repeats row 2" in rules["duplicate_row"].reason
    for rejection in batch.rejections:
        assert rejection.stage == "transform"
        assert rejection.record.source == "hh" and rejection.record.entity == "manual_response"
        assert rejection.record.payload["file"] == "мои отклики.csv"
        assert rejection.record.payload["row"] == rejection.record.meta["row"]
        assert "Комментарий" in rejection.record.payload["cells"]  # the raw row, every cell
    assert rules["missing_date"].record.record_id == "manual-124"
    assert rules["missing_vacancy"].record.record_id is None
    assert sorted(batch.negotiations["vacancy_id"]) == ["123", "127"]


def test_row_numbers_follow_the_file_across_a_note_spanning_lines() -> None:
    text = 'vacancy,date,status,note\n1,2025-11-20,Отклик,"two\nlines"\nx,2025-11-20,Отклик,\n'
    (rejection,) = csv_batch(text).rejections
    assert rejection.record.meta["row"] == 4  # the spreadsheet's row: header 1, the note's row 2 (2 lines)


# --- XLSX -----------------------------------------------------------------------------------------


def test_an_xlsx_with_number_and_date_cells(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Ссылка", "Дата", "Статус", "Заметка"])
    sheet.append([123.0, datetime(2025, 11, 20, 14, 30), "Отклик", None])
    sheet.append([None, None, None, None])
    sheet.append(["https://hh.ru/vacancy/123", date(2025, 11, 24), "Приглашение", "в среду"])
    sheet.append(["oops", datetime(2025, 11, 20), "Отклик", None])
    path = tmp_path / "responses.xlsx"
    book.save(path)
    batch = transform_responses(read_responses_file(path), FETCHED, NOW)
    assert (batch.rows, batch.blank_rows, batch.events) == (3, 1, 2)
    (negotiation,) = batch.negotiations.to_dict("records")
    assert negotiation["negotiation_id"] == "manual-123"
    assert negotiation["created_at"] == datetime(2025, 11, 20, 14, 30, tzinfo=MSK)
    assert negotiation["updated_at"] == datetime(2025, 11, 24, tzinfo=MSK)
    assert negotiation["note"] == "в среду"
    (rejection,) = batch.rejections
    assert rejection.rule == "bad_vacancy_ref" and "responses.xlsx row 5" in rejection.reason


def test_a_file_that_is_not_a_workbook_says_so(tmp_path: Path) -> None:
    path = tmp_path / "responses.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ResponsesFileError, match="not a readable .xlsx"):
        read_responses_file(path)
