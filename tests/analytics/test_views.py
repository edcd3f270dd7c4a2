"""The analytics views and the report on a fixture whose answers are computed by hand below.

Fixture (times UTC; weeks are Moscow weeks, UTC+3; A = week of Mon 2026-11-02, B = week of Mon 2026-11-09):

employers: Alpha (hh:1), Beta (hh:2)
vacancies (net monthly RUB -> salary_rub_net, band):
    101 Alpha  80k..100k -> 90000 '<100k'      102 Alpha 120k.. -> 120000 '100-150k'
    103 Beta   ..250k    -> 250000 '200-300k'  104 Beta 400k..400k -> 400000 '300k+' (no response)
    105 Alpha  no salary -> 'not given' (no response)

hh_employer (8 responses), history times are changed_at unless marked "obs" (changed_at null):
    N1 101 applied 11-02 09:00, interview 11-04 09:00, rejected 11-06 09:00    week A
    N2 101 applied 11-02 09:00, viewed 11-02 21:00, interview 11-05 09:00, offer 11-09 09:00   A
    N3 102 applied 11-03 09:00, viewed obs 11-04 09:00; status viewed, updated_at 11-03 21:00  A
    N4 102 applied 11-04 09:00, no history, status applied                  A
    N5 103 applied 11-05 09:00, no history, status interview, updated_at 11-06 09:00          A
    N6 103 applied 11-08 22:00 (Mon 01:00 in Moscow), rejected 11-10 22:00  B
    N7 101 applied 11-09 09:00, offer 11-11 09:00, hired 11-13 09:00         B
    N8 102 applied 11-10 09:00, archived 11-12 09:00                         B
hh_manual (2): N9 101 applied 11-11 09:00, interview obs 11-12 09:00, no updated_at   B
               N10 103 applied 11-12 09:00, no history, no updated_at                 B
avito (5, items 9001 'Курьер' and 9002 'Кладовщик', no employer, no salary):
    A1 9001 applied 11-03 09:00, no history, status applied                 A
    A2 9001 applied 11-03 09:00 (obs), interview 11-04 21:00                 A
    A3 9002 applied 11-10 09:00, viewed 11-10 21:00, interview 11-11 09:00, offer 11-13 09:00   B
    A4 9002 applied 11-10 09:00, rejected 11-11 09:00                        B
    A5 9002 no created_at: applied obs 11-12 09:00 (= applied_at); status viewed, updated_at 11-12 21:00   B

Stages reached (an offer implies interview and viewed; days after applied_at):
    N1 viewed=interview 2.0, rejected    N2 viewed 0.5, interview 3.0, offer 7.0 (interview->offer 4.0)
    N3 viewed 0.5 (updated_at is earlier than the observation)    N5 viewed=interview 1.0 (updated_at)
    N6 rejected    N7 viewed=interview=offer 2.0 (interview->offer 0.0), hired 4.0
    N9 viewed=interview 1.0 (the history's time; no updated_at)
    A2 viewed=interview 1.5    A3 viewed 0.5, interview 1.0, offer 3.0 (interview->offer 2.0)
    A4 rejected    A5 viewed 0.5

By source:  hh_employer 8 responses, 4 interviews (N1 N2 N5 N7), 2 offers (N2 N7): 0.5000, 0.2500
            hh_manual 2, 1, 0: 0.5000, 0.0000      avito 5, 2, 1: 0.4000, 0.2000
            hh_applicant 0: rates null             all 15, 7, 3: 7/15 = 0.4667, 3/15 = 0.2000
By employer: Alpha (N1 N2 N3 N4 N7 N8 N9) 7, 4, 2: 0.5714, 0.2857
             not known (avito) 5, 2, 1: 0.4000, 0.2000     Beta (N5 N6 N10) 3, 1, 0: 0.3333, 0.0000
By band: <100k (N1 N2 N7 N9) 4, 4, 2: 1.0000, 0.5000   100-150k 3, 0, 0: 0, 0   150-200k 0: null
         200-300k 3, 1, 0: 0.3333, 0   300k+ 0: null   not given (avito) 5, 2, 1: 0.4000, 0.2000
Weekly: A hh_employer N1-N5: 5 responses, 4 viewed, 3 interviews, 1 offer, 0 hired, 1 rejected: 0.6000, 0.2000
        A avito A1 A2: 2, 1, 1, 0, 0, 0: 0.5000, 0.0000
        B hh_employer N6-N8: 3, 1, 1, 1, 1, 1: 0.3333, 0.3333 (N6 is in B only in Moscow time)
        B hh_manual N9 N10: 2, 1, 1, 0, 0, 0: 0.5000, 0.0000
        B avito A3-A5: 3, 2, 1, 1, 0, 1: 0.3333, 0.3333
Stage times (count, average, median days):
    hh_employer applied->viewed [2, .5, .5, 1, 2]: 5, 1.20, 1.00;  applied->interview [2, 3, 1, 2]: 4, 2.00, 2.00
                interview->offer [4, 0]: 2, 2.00, 2.00;  applied->offer [7, 2]: 2, 4.50, 4.50
    hh_manual   applied->viewed [1]: 1, 1.00, 1.00; applied->interview [1]: 1, 1.00, 1.00; others 0, null
    avito       applied->viewed [1.5, .5, .5]: 3, 0.83, 0.50;  applied->interview [1.5, 1]: 2, 1.25, 1.25
                interview->offer [2]: 1, 2.00, 2.00;  applied->offer [3]: 1, 3.00, 3.00
    all         applied->viewed (9, sum 9.5): 9, 1.06, 1.00;  applied->interview [2,3,1,2,1,1.5,1]: 7, 1.64, 1.50
                interview->offer [4, 0, 2]: 3, 2.00, 2.00;  applied->offer [7, 2, 3]: 3, 4.00, 3.00
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import Engine, insert, select, text

from schemas.analytics import (
    VIEWS,
    conversion_by_employer,
    conversion_by_salary_band,
    conversion_by_source,
    funnel_weekly,
    market_salaries,
    response_stages,
    responses,
    stage_times,
)
from schemas.tables import avito_applications, avito_chats, employers, hh_negotiations, status_history, vacancies
from tasks.analytics.report import build_report
from tasks.analytics.views import AnalyticsViewsError, create_views, drop_views

D = Decimal
WEEK_A, WEEK_B = date(2026, 11, 2), date(2026, 11, 9)
OBSERVED = datetime(2026, 11, 20, 6, tzinfo=UTC)  # when jobpipe saw the changes that carry changed_at


def t(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def _book(**kw) -> dict:
    return {"content_hash": "h", "payload": {}, **kw}


def _vacancy(vid: str, employer: str, lo: int | None, hi: int | None) -> dict:
    return _book(
        vacancy_id=vid,
        source="hh",
        name=f"vacancy {vid}",
        employer_key=employer,
        published_at=t(1, 9),
        status="open",
        search_hash="s",
        # gross differs from net: the views must take net
        salary_from_rub_gross=lo and lo * 2,
        salary_to_rub_gross=hi and hi * 2,
        salary_from_rub_net=lo,
        salary_to_rub_net=hi,
    )


def _negotiation(nid, origin, vid, created, status, updated=None) -> dict:
    return _book(
        negotiation_id=nid, origin=origin, vacancy_id=vid, created_at=created, status=status, updated_at=updated
    )


def _application(aid, item, created, status, updated=None) -> dict:
    return _book(application_id=aid, vacancy_id=item, created_at=created, status=status, updated_at=updated)


def _history(source, entity, record, *changes) -> list[dict]:
    """changes: (status, changed_at) or (status, None, observed_at)."""
    rows = []
    for status, changed, *observed in changes:
        rows.append(
            {
                "source": source,
                "entity": entity,
                "record_id": record,
                "state": status,
                "status": status,
                "changed_at": changed,
                "observed_at": observed[0] if observed else OBSERVED,
            }
        )
    return rows


def hh(record, *changes):
    return _history("hh", "negotiation", record, *changes)


def av(record, *changes):
    return _history("avito", "application", record, *changes)


@pytest.fixture
def fixture_db(engine: Engine) -> Engine:
    with engine.begin() as conn:
        conn.execute(
            insert(employers),
            [
                _book(employer_key=k, source="hh", name=n, canonical_name=n.lower(), is_anonymous=False)
                for k, n in (("hh:1", "Alpha"), ("hh:2", "Beta"))
            ],
        )
        conn.execute(
            insert(vacancies),
            [
                _vacancy("101", "hh:1", 80_000, 100_000),
                _vacancy("102", "hh:1", 120_000, None),
                _vacancy("103", "hh:2", None, 250_000),
                _vacancy("104", "hh:2", 400_000, 400_000),
                _vacancy("105", "hh:1", None, None),
            ],
        )
        conn.execute(
            insert(hh_negotiations),
            [
                _negotiation("N1", "employer", "101", t(2, 9), "rejected", t(6, 9)),
                _negotiation("N2", "employer", "101", t(2, 9), "offer", t(9, 9)),
                _negotiation("N3", "employer", "102", t(3, 9), "viewed", t(3, 21)),
                _negotiation("N4", "employer", "102", t(4, 9), "applied", t(4, 9)),
                _negotiation("N5", "employer", "103", t(5, 9), "interview", t(6, 9)),
                _negotiation("N6", "employer", "103", t(8, 22), "rejected", t(10, 22)),
                _negotiation("N7", "employer", "101", t(9, 9), "hired", t(13, 9)),
                _negotiation("N8", "employer", "102", t(10, 9), "archived", t(12, 9)),
                _negotiation("N9", "manual", "101", t(11, 9), "interview"),
                _negotiation("N10", "manual", "103", t(12, 9), "applied"),
            ],
        )
        conn.execute(
            insert(avito_chats),
            [
                _book(chat_id=c, account_id=1, chat_type="u2i", item_id=i, item_title=title)
                for c, i, title in (("c1", 9001, "Курьер"), ("c2", 9002, "Кладовщик"), ("c3", 9002, "Кладовщик"))
            ],
        )
        conn.execute(
            insert(avito_applications),
            [
                _application("A1", 9001, t(3, 9), "applied", t(3, 9)),
                _application("A2", 9001, t(3, 9), "interview", t(4, 21)),
                _application("A3", 9002, t(10, 9), "offer", t(13, 9)),
                _application("A4", 9002, t(10, 9), "rejected", t(11, 9)),
                _application("A5", 9002, None, "viewed", t(12, 21)),
            ],
        )
        conn.execute(
            insert(status_history),
            [
                *hh("N1", ("applied", t(2, 9)), ("interview", t(4, 9)), ("rejected", t(6, 9))),
                *hh("N2", ("applied", t(2, 9)), ("viewed", t(2, 21)), ("interview", t(5, 9)), ("offer", t(9, 9))),
                *hh("N3", ("applied", t(3, 9)), ("viewed", None, t(4, 9))),
                *hh("N6", ("applied", t(8, 22)), ("rejected", t(10, 22))),
                *hh("N7", ("applied", t(9, 9)), ("offer", t(11, 9)), ("hired", t(13, 9))),
                *hh("N8", ("applied", t(10, 9)), ("archived", t(12, 9))),
                *hh("N9", ("interview", None, t(12, 9))),
                *av("A2", ("applied", None, t(3, 9)), ("interview", t(4, 21))),
                *av("A3", ("applied", t(10, 9)), ("viewed", t(10, 21)), ("interview", t(11, 9)), ("offer", t(13, 9))),
                *av("A4", ("applied", t(10, 9)), ("rejected", t(11, 9))),
                *av("A5", ("applied", None, t(12, 9))),
            ],
        )
    return engine


def rows(engine: Engine, view, *columns: str) -> list[tuple]:
    tbl = view.table
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(*(tbl.c[c] for c in columns)))]


def test_responses_one_row_per_response_with_vacancy_salary_and_applied_at(fixture_db):
    got = {
        r[1]: r
        for r in rows(
            fixture_db,
            responses,
            "source",
            "response_id",
            "vacancy_name",
            "employer_name",
            "salary_rub_net",
            "salary_band",
            "applied_at",
        )
    }
    assert len(got) == 15
    assert got["N1"] == ("hh_employer", "N1", "vacancy 101", "Alpha", D("90000.00"), "<100k", t(2, 9))
    assert got["N3"][4:6] == (D("120000.00"), "100-150k")
    assert got["N6"][3:7] == ("Beta", D("250000.00"), "200-300k", t(8, 22))
    assert got["N10"][0] == "hh_manual"
    assert got["A1"] == ("avito", "A1", "Курьер", None, None, "not given", t(3, 9))
    # no created_at: the earliest time in its history
    assert got["A5"][2:] == ("Кладовщик", None, None, "not given", t(12, 9))


def test_response_stages_first_time_each_stage_was_reached(fixture_db):
    cols = ("response_id", "applied_at", "viewed_at", "interview_at", "offer_at", "hired_at", "rejected_at")
    got = {r[0]: r[1:] for r in rows(fixture_db, response_stages, *cols)}
    assert got["N1"] == (t(2, 9), t(4, 9), t(4, 9), None, None, t(6, 9))  # applied -> interview -> rejected
    assert got["N2"] == (t(2, 9), t(2, 21), t(5, 9), t(9, 9), None, None)  # applied -> viewed -> interview -> offer
    assert got["N3"] == (t(3, 9), t(3, 21), None, None, None, None)  # updated_at earlier than the observation
    assert got["N4"] == (t(4, 9), None, None, None, None, None)
    assert got["N5"] == (t(5, 9), t(6, 9), t(6, 9), None, None, None)  # no history: the current status
    assert got["N7"] == (t(9, 9), t(11, 9), t(11, 9), t(11, 9), t(13, 9), None)  # an offer implies an interview
    assert got["N8"] == (t(10, 9), None, None, None, None, None)  # archived is outside the ladder
    assert got["N9"] == (t(11, 9), t(12, 9), t(12, 9), None, None, None)
    assert got["A5"] == (t(12, 9), t(12, 21), None, None, None, None)


def test_funnel_weekly_in_moscow_weeks(fixture_db):
    cols = ("week", "source", "responses", "viewed", "interviews", "offers", "hired", "rejected")
    got = rows(fixture_db, funnel_weekly, *cols, "applied_to_interview", "applied_to_offer")
    assert got == [
        (WEEK_A, "avito", 2, 1, 1, 0, 0, 0, D("0.5000"), D("0.0000")),
        (WEEK_A, "hh_employer", 5, 4, 3, 1, 0, 1, D("0.6000"), D("0.2000")),
        (WEEK_B, "avito", 3, 2, 1, 1, 0, 1, D("0.3333"), D("0.3333")),
        (WEEK_B, "hh_employer", 3, 1, 1, 1, 1, 1, D("0.3333"), D("0.3333")),
        (WEEK_B, "hh_manual", 2, 1, 1, 0, 0, 0, D("0.5000"), D("0.0000")),
    ]


CONVERSION = ("responses", "interviews", "offers", "applied_to_interview", "applied_to_offer")


def test_conversion_by_source_employer_and_salary_band(fixture_db):
    assert rows(fixture_db, conversion_by_source, "source", *CONVERSION) == [
        ("hh_employer", 8, 4, 2, D("0.5000"), D("0.2500")),
        ("hh_applicant", 0, 0, 0, None, None),
        ("hh_manual", 2, 1, 0, D("0.5000"), D("0.0000")),
        ("avito", 5, 2, 1, D("0.4000"), D("0.2000")),
    ]
    assert rows(fixture_db, conversion_by_employer, "employer_key", "employer_name", *CONVERSION) == [
        ("hh:1", "Alpha", 7, 4, 2, D("0.5714"), D("0.2857")),
        (None, "not known", 5, 2, 1, D("0.4000"), D("0.2000")),
        ("hh:2", "Beta", 3, 1, 0, D("0.3333"), D("0.0000")),
    ]
    assert rows(fixture_db, conversion_by_salary_band, "salary_band", *CONVERSION) == [
        ("<100k", 4, 4, 2, D("1.0000"), D("0.5000")),
        ("100-150k", 3, 0, 0, D("0.0000"), D("0.0000")),
        ("150-200k", 0, 0, 0, None, None),
        ("200-300k", 3, 1, 0, D("0.3333"), D("0.0000")),
        ("300k+", 0, 0, 0, None, None),
        ("not given", 5, 2, 1, D("0.4000"), D("0.2000")),
    ]


def test_stage_times_per_source_and_overall(fixture_db):
    got = rows(fixture_db, stage_times, "source", "transition", "responses", "avg_days", "median_days")
    assert got == [
        ("hh_employer", "applied->viewed", 5, D("1.20"), D("1.00")),
        ("hh_employer", "applied->interview", 4, D("2.00"), D("2.00")),
        ("hh_employer", "interview->offer", 2, D("2.00"), D("2.00")),
        ("hh_employer", "applied->offer", 2, D("4.50"), D("4.50")),
        ("hh_manual", "applied->viewed", 1, D("1.00"), D("1.00")),
        ("hh_manual", "applied->interview", 1, D("1.00"), D("1.00")),
        ("hh_manual", "interview->offer", 0, None, None),
        ("hh_manual", "applied->offer", 0, None, None),
        ("avito", "applied->viewed", 3, D("0.83"), D("0.50")),
        ("avito", "applied->interview", 2, D("1.25"), D("1.25")),
        ("avito", "interview->offer", 1, D("2.00"), D("2.00")),
        ("avito", "applied->offer", 1, D("3.00"), D("3.00")),
        ("all", "applied->viewed", 9, D("1.06"), D("1.00")),
        ("all", "applied->interview", 7, D("1.64"), D("1.50")),
        ("all", "interview->offer", 3, D("2.00"), D("2.00")),
        ("all", "applied->offer", 3, D("4.00"), D("3.00")),
    ]


def test_market_salaries_flags_the_vacancies_responded_to(fixture_db):
    got = sorted(rows(fixture_db, market_salaries, "vacancy_id", "salary_rub_net", "salary_band", "responded"))
    assert got == [
        ("101", D("90000.00"), "<100k", True),
        ("102", D("120000.00"), "100-150k", True),
        ("103", D("250000.00"), "200-300k", True),
        ("104", D("400000.00"), "300k+", False),
        ("105", None, "not given", False),
    ]


def analytics_views(conn) -> list[str]:
    found = conn.execute(text("select table_name from information_schema.views where table_schema = 'analytics'"))
    return sorted(found.scalars())


def test_create_views_leaves_current_views_alone_and_replaces_a_view_whose_columns_changed(fixture_db):
    with fixture_db.connect() as conn, conn.begin():
        assert create_views(conn) == []  # the migration made them: nothing to do, no lock taken
        conn.exec_driver_sql("DROP VIEW analytics.market_salaries")
        conn.exec_driver_sql("CREATE VIEW analytics.market_salaries AS SELECT 1 AS old_column")
        # the column list changed: CREATE OR REPLACE fails, so every view is dropped and created again
        assert create_views(conn) == [f"analytics.{v.name}" for v in VIEWS]
        assert create_views(conn) == []
        assert analytics_views(conn) == sorted(v.name for v in VIEWS)
        assert len(conn.execute(select(market_salaries.table)).all()) == 5
        drop_views(conn)
        assert analytics_views(conn) == []
        conn.rollback()


def test_a_view_of_the_user_on_the_analytics_views_stops_the_drop_with_a_clear_error(fixture_db):
    with fixture_db.connect() as conn, conn.begin():
        conn.exec_driver_sql("CREATE VIEW public.my_dashboard AS SELECT source FROM analytics.responses")
        with pytest.raises(AnalyticsViewsError, match=r"analytics.responses .*my_dashboard.*jobpipe db migrate"):
            drop_views(conn)
        conn.rollback()


def _png_size(path) -> tuple[int, int]:
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.load()
        # a chart, not a blank canvas
        assert len(image.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 10
        return image.size


def test_report_gives_the_hand_computed_figures_and_files(fixture_db, tmp_path):
    report = build_report(fixture_db, tmp_path / "out")
    assert (report.responses, report.interviews, report.offers) == (15, 7, 3)
    md = report.markdown
    assert "**15** responses, **7** interviews, **3** offers" in md
    assert "applied→interview **46.7%**, applied→offer **20.0%**" in md
    assert "| hh_employer | 8 | 4 | 2 | 50.0% | 25.0% |" in md
    assert "| hh_manual | 2 | 1 | 0 | 50.0% | 0.0% |" in md
    assert "| avito | 5 | 2 | 1 | 40.0% | 20.0% |" in md
    assert "| all | 15 | 7 | 3 | 46.7% | 20.0% |" in md
    assert "hh_applicant" not in md  # no responses: not in the markdown tables
    assert "| all | applied->interview | 7 | 1.64 | 1.50 |" in md
    assert "| avito | applied->viewed | 3 | 0.83 | 0.50 |" in md
    assert "| 2026-11-09 | hh_employer | 3 | 1 | 1 | 1 | 1 | 1 | 33.3% | 33.3% |" in md
    assert "| Alpha | 7 | 4 | 2 | 57.1% | 28.6% |" in md

    assert [p.name for p in report.files] == ["funnel.png", "salaries.png", "analytics.xlsx"]
    assert _png_size(report.funnel_png) == (1000, 600)
    assert _png_size(report.salaries_png) == (1000, 600)

    book = load_workbook(report.workbook)
    assert book.sheetnames == [v.name for v in VIEWS]
    expected_rows = {
        "responses": 15,
        "response_stages": 15,
        "funnel_weekly": 5,
        "conversion_by_source": 4,
        "conversion_by_employer": 3,
        "conversion_by_salary_band": 6,
        "stage_times": 16,
        "market_salaries": 5,
    }
    for name, count in expected_rows.items():
        assert book[name].max_row == count + 1, name
    weekly = list(book["funnel_weekly"].iter_rows())
    assert [c.value for c in weekly[0]][:3] == ["week", "source", "responses"]
    assert weekly[1][0].is_date and weekly[1][0].value == datetime(2026, 11, 2)
    header = [c.value for c in book["responses"][1]]
    applied = book["responses"].cell(row=2, column=header.index("applied_at") + 1)
    assert applied.is_date and applied.value.tzinfo is None  # Moscow wall time: Excel has no zones
    rates = [c.value for c in book["conversion_by_source"]["E"]]
    assert rates == ["applied_to_interview", 0.5, None, 0.5, 0.4]


def test_report_on_an_empty_database_says_so(engine, tmp_path):
    report = build_report(engine, tmp_path)
    assert "No responses yet" in report.markdown
    assert (report.responses, report.interviews, report.offers) == (0, 0, 0)
    assert _png_size(report.funnel_png) == (1000, 600)
    assert _png_size(report.salaries_png) == (1000, 600)
    book = load_workbook(report.workbook)
    assert book.sheetnames == [v.name for v in VIEWS]
    assert book["responses"].max_row == 1  # the header only
    assert book["conversion_by_source"].max_row == 5  # every known source, with zeros
