"""The expectation suites derive from the table declarations (no GX, no database)."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, MetaData, Table, Text

from schemas import expectations as ex
from schemas.entities import ENTITIES, entity
from schemas.status import CANONICAL_STATUSES, UNKNOWN
from schemas.tables import (
    avito_applications,
    avito_chats,
    avito_messages,
    avito_resumes,
    data_columns,
    employers,
    key_columns,
    vacancies,
)


def required(table: Table) -> set[str]:
    return {c for c in key_columns(table) + data_columns(table) if not table.c[c].nullable}


def not_null_columns(suite: ex.Suite) -> set[str]:
    return {r.arguments["column"] for r in suite.rules if r.expectation == "ExpectColumnValuesToNotBeNull"}


@pytest.mark.parametrize(
    ("suite", "table"),
    [
        (ex.hh_vacancy_clean(), vacancies),
        (ex.hh_employer_clean(), employers),
        *[(e.clean, e.table) for e in ENTITIES if e.source == "avito"],
        *[(e.clean, e.table) for e in ENTITIES if e.name.startswith("negotiation")],
    ],
    ids=lambda v: getattr(v, "name", None),
)
def test_not_null_and_unique_rules_come_from_the_table(suite, table):
    assert not_null_columns(suite) == required(table)
    assert {r.name for r in suite.rules if r.expectation == "ExpectColumnValuesToNotBeNull"} == {
        f"missing_{c}" for c in required(table)
    }
    (key,) = key_columns(table)
    assert suite.rule(f"duplicate_{key}").arguments == {"column": key}
    assert suite.id_column == key
    assert all(r.severity == ex.ERROR for r in suite.rules if r.name.startswith(("missing_", "duplicate_")))


def test_a_column_declared_not_null_is_checked_without_being_listed_again():
    metadata = MetaData()
    table = Table(
        "things",
        metadata,
        Column("thing_id", Text, primary_key=True, info={"role": "key"}),
        Column("colour", Text, nullable=False, info={"role": "data"}),
        Column("note", Text, nullable=True, info={"role": "data"}),
        Column("content_hash", Text, nullable=False, info={"role": "bookkeeping"}),
    )
    assert [r.name for r in ex.table_rules(table)] == ["missing_thing_id", "missing_colour", "duplicate_thing_id"]


def test_vacancy_clean_suite_has_the_business_rules():
    suite = ex.hh_vacancy_clean()
    assert suite.stage == ex.CLEAN and suite.entity == "vacancy"
    assert set(suite.rule("unknown_status").arguments["value_set"]) == {"open", "archived"}
    assert suite.rule("salary_from_above_to").arguments == {
        "column_A": "salary_to",
        "column_B": "salary_from",
        "or_equal": True,
        "ignore_row_if": "either_value_is_missing",
    }
    assert suite.rule("salary_rub_from_above_to").arguments["column_B"] == "salary_from_rub_gross"
    for name in ("implausible_salary_from_rub", "implausible_salary_to_rub"):
        args = suite.rule(name).arguments
        assert (args["min_value"], args["max_value"]) == (ex.MIN_RUB_MONTHLY_GROSS, ex.MAX_RUB_MONTHLY_GROSS)
    currency = suite.rule("unknown_currency")
    assert currency.arguments["value_set"] == ex.Param(ex.CURRENCIES)
    assert {"salary_from", "salary_to"} <= set(currency.columns)  # its row condition reads them
    assert suite.rule("published_in_future").arguments["max_value"] == ex.Param(ex.LATEST_PUBLISHED_AT)
    assert set(suite.params) == {ex.CURRENCIES, ex.LATEST_PUBLISHED_AT}
    assert set(suite.columns) <= set(key_columns(vacancies) + data_columns(vacancies))


def test_suites_are_values_a_changed_bound_is_a_new_suite(monkeypatch):
    assert ex.hh_vacancy_clean() == ex.hh_vacancy_clean()
    assert hash(ex.hh_vacancy_clean()) == hash(ex.hh_vacancy_clean())
    before = ex.hh_vacancy_clean()
    monkeypatch.setattr(ex, "MAX_RUB_MONTHLY_GROSS", 50_000_000)
    after = ex.hh_vacancy_clean()
    assert after != before
    assert after.rule("implausible_salary_to_rub").arguments["max_value"] == 50_000_000


def test_raw_suite_requires_the_keys_and_only_reports_duplicates():
    suite = ex.hh_vacancy_raw()
    assert suite.stage == ex.RAW
    assert {f"missing_{k}" for k in ex.RAW_VACANCY_KEYS} <= {r.name for r in suite.rules}
    assert suite.rule("bad_id").arguments["type_list"] == ("str", "int")
    assert suite.rule("bad_employer").arguments["type_list"] == ("dict",)
    assert suite.rule("duplicate_id").severity == ex.WARNING


def test_references_come_from_foreign_keys_and_declared_links():
    (ref,) = ex.VACANCY_REFERENCES
    assert (ref.child, ref.column, ref.parent, ref.parent_column) == (
        vacancies,
        "employer_key",
        employers,
        "employer_key",
    )
    assert ref.rule == "unresolved_employer" and not ref.nullable
    preload = ex.hh_vacancy_preload()
    assert preload.stage == ex.PRELOAD and preload.references == (ref,)
    assert preload.rule("unresolved_employer").arguments == {"column": "_ref_employer_key", "value_set": (True,)}
    assert "employer_key" in preload.columns  # for the reason

    (message_ref,) = entity("message").preload.references
    assert (message_ref.column, message_ref.parent) == ("chat_id", avito_chats)
    assert entity("message").preload.rule("unresolved_chat").severity == ex.ERROR
    application = entity("application").preload
    # an application loads even when its chat was not listed or its resume answered 404: reported only
    assert {(r.column, r.parent.name, r.nullable, r.severity) for r in application.references} == {
        ("chat_id", avito_chats.name, True, ex.WARNING),
        ("resume_id", avito_resumes.name, True, ex.WARNING),
    }
    assert entity("chat").preload is None and entity("resume").preload is None


def test_application_status_unknown_is_a_warning_anything_else_off_vocabulary_an_error():
    suite = entity("application").clean
    bad = suite.rule("bad_status")
    assert bad.severity == ex.ERROR and set(bad.arguments["value_set"]) == set(CANONICAL_STATUSES)
    unknown = suite.rule("unknown_status")
    assert unknown.severity == ex.WARNING and unknown.arguments["value_set"] == (UNKNOWN,)
    assert suite.source == "avito" and suite.entity == "application"
    assert not_null_columns(entity("message").clean) == required(avito_messages)
    assert "status" in required(avito_applications)


def test_suites_refuse_duplicate_rule_names_and_unknown_severities():
    with pytest.raises(ValueError, match="used twice"):
        ex.Suite("s", "e", ex.CLEAN, (ex.not_null("a"), ex.not_null("a")))
    with pytest.raises(ValueError, match="severity"):
        ex.not_null("a", severity="fatal")
    with pytest.raises(ValueError, match="stage"):
        ex.Suite("s", "e", "load", ())
    with pytest.raises(ValueError, match="share"):
        ex.Thresholds(max_rejected_share=1.5)
