"""The quality task on frames: GX suites, failing rows, warnings, references, batch-level rules.

No database and no Prefect. GX is imported once (its import costs seconds): the module fixture.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from schemas import expectations as ex
from schemas.entities import entity
from tasks.hh.streams import vacancy_check_params
from tasks.sync import checks as ck
from tasks.sync import quality as q
from tasks.sync.records import RawRecord
from tasks.sync.report import render_expectations

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
RATES = {"RUR": 1.0, "USD": 0.0125, "EUR": 0.0108}


@pytest.fixture(scope="module", autouse=True)
def gx():
    return q.gx_engine()


def vacancies(n: int) -> pd.DataFrame:
    """A clean vacancies frame (the columns the clean suite reads, the transform's dtypes)."""
    salary = np.linspace(50_000, 150_000, n)
    return pd.DataFrame(
        {
            "vacancy_id": pd.Series([str(100 + i) for i in range(n)], dtype=object),
            "source": pd.Series(["hh"] * n, dtype=object),
            "name": pd.Series([f"Developer {i}" for i in range(n)], dtype=object),
            "employer_key": pd.Series(["hh:1"] * n, dtype=object),
            "published_at": pd.Series([pd.Timestamp(NOW - timedelta(hours=i)) for i in range(n)]).astype(
                "datetime64[us, UTC]"
            ),
            "status": pd.Series(["open"] * n, dtype=object),
            "search_hash": pd.Series([f"h{i}" for i in range(n)], dtype=object),
            "payload": pd.Series([{"id": str(100 + i)} for i in range(n)], dtype=object),
            "salary_from": salary,
            "salary_to": salary * 1.5,
            "salary_currency": pd.Series(["RUR"] * n, dtype=object),
            "salary_from_rub_gross": salary,
            "salary_to_rub_gross": salary * 1.5,
        }
    )


def params(**rates) -> dict:
    return vacancy_check_params({"rates": rates or RATES, "now": NOW})


def test_a_clean_frame_passes_whole():
    frame = vacancies(20)
    result = q.check(frame, ex.hh_vacancy_clean(), params=params())
    assert result.failed_rows == [] and result.warnings == [] and result.batch_failures == []
    assert len(result.passed) == 20
    assert all(o.success and o.unexpected_count == 0 and o.element_count == 20 for o in result.expectations)
    assert [o.rule for o in result.expectations] == [r.name for r in ex.hh_vacancy_clean().rules]


def test_each_defect_fails_its_row_with_its_rule():
    frame = vacancies(10)
    frame.loc[1, ["salary_from", "salary_to"]] = [200_000.0, 100_000.0]  # from > to, published amounts only
    frame.loc[2, "salary_to_rub_gross"] = 2e9  # absurd
    frame.loc[3, "salary_currency"] = "XYZ"  # not in the rates, with amounts
    frame.loc[4, ["salary_from", "salary_to", "salary_currency"]] = [np.nan, np.nan, "QQQ"]  # no amounts: harmless
    frame.loc[5, "published_at"] = pd.Timestamp(NOW + timedelta(days=2))
    frame.loc[6, "published_at"] = pd.Timestamp(NOW + timedelta(minutes=5))  # within the clock skew
    frame.loc[7, "status"] = "closed"
    frame.loc[8, "name"] = None
    result = q.check(frame, ex.hh_vacancy_clean(), params=params())
    failed = {f.record_id: f for f in result.failed_rows}
    assert {k: f.rules for k, f in failed.items()} == {
        "101": ("salary_from_above_to",),
        "102": ("implausible_salary_to_rub",),
        "103": ("unknown_currency",),
        "105": ("published_in_future",),
        "107": ("unknown_status",),
        "108": ("missing_name",),
    }
    assert failed["101"].reason == "salary_from 200000 is greater than salary_to 100000"
    assert failed["102"].reason == "salary_to_rub_gross 2000000000 is outside the plausible 1,000 .. 10,000,000 RUB"
    assert failed["103"].reason == "salary_currency 'XYZ' is not one of the currencies of the run's rates"
    assert failed["105"].reason.startswith("published_at 2026-11-22T12:00:00+00:00 is in the future")
    assert [f.row for f in result.failed_rows] == [1, 2, 3, 5, 7, 8]
    assert list(result.passed["vacancy_id"]) == ["100", "104", "106", "109"]
    outcome = {o.rule: o for o in result.expectations}
    assert not outcome["unknown_currency"].success and outcome["unknown_currency"].unexpected_count == 1
    assert outcome["salary_rub_from_above_to"].success


def test_a_row_breaking_several_rules_is_one_failed_row_listing_them_all():
    frame = vacancies(3)
    frame.loc[0, ["salary_from_rub_gross", "salary_to_rub_gross"]] = [5e9, 10.0]
    result = q.check(frame, ex.hh_vacancy_clean(), params=params())
    (failed,) = result.failed_rows
    assert failed.rules == ("salary_rub_from_above_to", "implausible_salary_from_rub", "implausible_salary_to_rub")
    assert failed.rule == "salary_rub_from_above_to"
    assert failed.reason.count(";") == 2 and "implausible_salary_to_rub: salary_to_rub_gross 10 is outside" in (
        failed.reason
    )
    record = RawRecord("hh", "vacancy", "100", NOW, {"id": "100"})
    (rejection,) = result.rejections(lambda row: record)
    assert (rejection.stage, rejection.rule, rejection.record) == ("clean", "salary_rub_from_above_to", record)


def test_the_run_rates_decide_which_currencies_are_known():
    frame = vacancies(2)
    frame.loc[0, "salary_currency"] = "KZT"
    assert q.check(frame, ex.hh_vacancy_clean(), params=params()).failed_positions == [0]
    assert q.check(frame, ex.hh_vacancy_clean(), params=params(KZT=6.2)).failed_positions == []


def test_raw_checks_reject_missing_and_mistyped_keys_and_only_report_duplicates():
    def rec(record_id, **payload):
        return RawRecord("hh", "vacancy", record_id, NOW, payload, {"search_hash": "h"})

    good = {"name": "Dev", "published_at": "2026-11-20T10:00:00+0300", "employer": {"id": "1", "name": "E"}}
    records = [
        rec("1", id="1", **good),
        rec(None, **good),  # no id
        rec("3", id="3", **dict(good, employer=None)),
        rec("4", id="4", **dict(good, name=42, published_at=None)),
        rec("5", id="5", **good),
        rec("5", id="5", **good),  # a duplicate: the transform keeps the latest fetch
        RawRecord("hh", "vacancy", "7", NOW, ["not", "an", "object"]),  # type: ignore[arg-type]
    ]
    raw = ck.check_raw(records)
    (result,) = raw.results
    assert [(r.record.record_id, r.rule) for r in raw.rejections] == [
        (None, "missing_id"),
        ("3", "missing_employer"),
        ("4", "missing_published_at"),
        ("7", "missing_id"),
    ]
    assert (
        raw.rejections[2].reason
        == "missing_published_at: published_at is missing; bad_name: name 42 is of type int, not str"
    )
    assert all(r.stage == "raw" for r in raw.rejections)
    assert [r.record_id for r in raw.records] == ["1", "5", "5"]
    assert [(w.record_id, w.rules) for w in result.warnings] == [("5", ("duplicate_id",)), ("5", ("duplicate_id",))]
    duplicate = next(o for o in result.expectations if o.rule == "duplicate_id")
    assert (duplicate.success, duplicate.severity, duplicate.unexpected_count) == (False, "warning", 2)


def test_an_empty_frame_needs_no_gx_and_passes():
    result = q.check(vacancies(0), ex.hh_vacancy_clean(), params=params())
    assert result.failed_rows == [] and len(result.passed) == 0
    assert all(o.success and o.element_count == 0 for o in result.expectations)


def test_a_missing_column_or_parameter_is_a_bug_not_bad_data():
    with pytest.raises(q.QualityError, match="lacks columns"):
        q.check(vacancies(2).drop(columns=["status"]), ex.hh_vacancy_clean(), params=params())
    with pytest.raises(q.QualityError, match="no value for parameters"):
        q.check(vacancies(2), ex.hh_vacancy_clean(), params={})


def test_a_column_level_error_fails_the_batch_not_rows():
    suite = ex.Suite("test.types", "vacancy", ex.CLEAN, (ex.of_types("salary_from", ("str",), "bad_salary_type"),))
    result = q.check(vacancies(3), suite)
    assert result.failed_rows == []
    assert len(result.batch_failures) == 1 and "salary_from is str" in result.batch_failures[0]
    with pytest.raises(ck.BatchRejected):
        ck.enforce_batch_failures([result])


def test_application_unknown_status_is_kept_and_flagged_other_statuses_rejected():
    frame = pd.DataFrame(
        {
            "application_id": pd.Series(["a1", "a2", "a3", "a4"], dtype=object),
            "status": pd.Series(["applied", "unknown", "promoted", "hired"], dtype=object),
            "payload": pd.Series([{}, {}, {}, {}], dtype=object),
        }
    )
    result = q.check(frame, entity("application").clean)
    assert [(f.record_id, f.rule) for f in result.failed_rows] == [("a3", "bad_status")]
    assert [(w.record_id, w.rule) for w in result.warnings] == [("a2", "unknown_status")]
    assert list(result.passed["application_id"]) == ["a1", "a2", "a4"]
    unknown = next(o for o in result.expectations if o.rule == "unknown_status")
    assert (unknown.success, unknown.severity, unknown.unexpected_count) == (False, "warning", 1)


def test_references_resolve_in_the_batch_or_through_the_lookup():
    asked = []

    def lookup(keys):
        asked.append(sorted(keys))
        return {"c9"}

    values = pd.Series(["c1", "c9", None, "c404", "c1"], dtype=object)
    resolved = ck.resolve_references(values, ["c1", "c2"], lookup)
    assert list(resolved) == [True, True, False, False, True]
    assert asked == [["c404", "c9"]]  # only the keys the batch lacks, once each
    assert list(ck.resolve_references(values, ["c1"], lookup, nullable=True)) == [True, True, True, False, True]
    assert list(ck.resolve_references(values, ["c1"], None)) == [True, False, False, False, True]


def test_check_references_quarantines_unresolved_children_for_any_entity():
    messages = pd.DataFrame(
        {"message_id": ["m1", "m2", "m3"], "chat_id": ["u2i-a", "u2i-b", "u2i-db"], "payload": [{}, {}, {}]}
    ).astype(object)
    lookup_calls = []

    def lookup(ref, keys):
        lookup_calls.append((ref.parent.name, sorted(keys)))
        return {"u2i-db"} & set(keys)

    result = ck.check_references(messages, entity("message").preload, {"chat_id": ["u2i-a"]}, lookup)
    assert [(f.record_id, f.rule, f.reason) for f in result.failed_rows] == [
        ("m2", "unresolved_chat", "chat_id 'u2i-b' is neither in this batch's avito_chats nor in the database")
    ]
    assert lookup_calls == [("avito_chats", ["u2i-b", "u2i-db"])]
    assert list(result.passed.columns) == list(messages.columns)  # the flag column does not leak
    assert result.suite.stage == "preload"


def test_rejected_share_above_the_threshold_refuses_the_batch():
    t = ex.Thresholds()
    ck.enforce_rejected_share("b", 100, 20, t)  # 20% is allowed
    with pytest.raises(ck.BatchRejected, match="21 of 100 records"):
        ck.enforce_rejected_share("b", 100, 21, t)
    ck.enforce_rejected_share("b", 5, 5, t)  # too few to judge
    with pytest.raises(ck.BatchRejected):
        ck.enforce_rejected_share("b", 100, 60, ex.Thresholds(max_rejected_share=0.5))
    ck.enforce_rejected_share("b", 100, 60, ex.Thresholds(max_rejected_share=0.6))


def test_zero_records_where_the_previous_run_predicts_many_refuses_the_stream():
    month = timedelta(days=30)
    previous = ck.PreviousCount("r0", 4500, NOW - month, NOW)  # 150 a day
    t = ex.Thresholds()
    with pytest.raises(ck.BatchRejected, match="predicts about 150"):
        ck.enforce_volume("s", 0, NOW, NOW + timedelta(days=1), previous, t)
    ck.enforce_volume("s", 0, NOW, NOW + timedelta(minutes=10), previous, t)  # a quiet ten minutes
    ck.enforce_volume("s", 3, NOW, NOW + timedelta(days=1), previous, t)  # few, not none
    ck.enforce_volume("s", 0, NOW, NOW + timedelta(days=1), None, t)  # nothing to compare with


def test_outcomes_merge_and_render_as_a_table():
    frame = vacancies(4)
    frame.loc[0, "salary_to"] = 1.0
    first = q.check(frame, ex.hh_vacancy_clean(), params=params()).expectations
    second = q.check(frame, ex.hh_vacancy_clean(), params=params()).expectations
    merged = {o["rule"]: o for o in q.merge_outcomes(first, second)}
    assert merged["salary_from_above_to"]["unexpected_count"] == 2
    assert merged["salary_from_above_to"]["element_count"] == 8
    assert merged["missing_name"]["success"]
    table = render_expectations([*first, *second])
    lines = table.splitlines()
    assert lines[0] == "| stage | entity | rule | expectation | severity | success | unexpected | checked |"
    assert (
        "| clean | vacancy | salary_from_above_to | expect_column_pair_values_a_to_be_greater_than_b: "
        "salary_from <= salary_to | error | **NO** | 2 | 8 |" in lines
    )
    assert lines[2].startswith("| clean | vacancy | salary_from_above_to |")  # failures first
    (result,) = ck.check_raw([RawRecord("hh", "vacancy", "1", NOW, {"id": "1"}) for _ in range(2)]).results
    assert (
        "| duplicate_id | expect_column_values_to_be_unique: record_id is unique in the batch | warning | "
        "warning | 2 | 2 |" in render_expectations(result.expectations)
    )
    assert render_expectations([]) == "No expectations were checked.\n"
