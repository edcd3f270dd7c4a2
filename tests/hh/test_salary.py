"""The salary rule: published fields kept, monthly RUB gross and net derived, vectorized."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tasks.hh.salary import (
    HOURS_PER_MONTH,
    NET_SHARE,
    RAW_SALARY_COLUMNS,
    RUB_SALARY_COLUMNS,
    SALARY_COLUMNS,
    SHIFTS_PER_MONTH,
    SalaryError,
    extract_salary,
    normalize_salaries,
    salary_frame,
    unknown_currency_mask,
    validate_rates,
)

# units of the currency per 1 RUR, as in hh's /dictionaries
RATES = {"RUR": 1.0, "USD": 0.0125, "EUR": 0.01, "KZT": 5.9, "BYR": 0.04}


def salary_range(
    frm: float | None = None,
    to: float | None = None,
    currency: str | None = "RUR",
    gross: bool | None = False,
    mode: str | None = "MONTH",
    frequency: str | None = None,
) -> dict[str, Any]:
    return {
        "salary_range": {
            "from": frm,
            "to": to,
            "currency": currency,
            "gross": gross,
            "mode": None if mode is None else {"id": mode, "name": "x"},
            "frequency": None if frequency is None else {"id": frequency, "name": "y"},
        }
    }


def normalize_one(payload: dict[str, Any], rates: dict[str, float] = RATES) -> dict[str, Any]:
    return normalize_salaries(salary_frame([payload]), rates).iloc[0].to_dict()


def rub(row: dict[str, Any]) -> tuple[float, ...]:
    """(from gross, to gross, from net, to net) with NaN as None, for readable comparisons."""
    return tuple(None if pd.isna(row[c]) else row[c] for c in RUB_SALARY_COLUMNS)


def test_documented_factors() -> None:
    assert HOURS_PER_MONTH == 168  # 8 h x 21 working days
    assert SHIFTS_PER_MONTH == 21  # one shift per working day
    assert NET_SHARE == pytest.approx(0.87)  # 13 % income tax


@pytest.mark.parametrize(
    ("mode", "amount", "monthly"),
    [
        ("MONTH", 87_000, 87_000),
        ("HOUR", 500, 500 * 168),
        ("SHIFT", 3_000, 3_000 * 21),
    ],
)
def test_modes_with_a_monthly_equivalent(mode: str, amount: float, monthly: float) -> None:
    row = normalize_one(salary_range(amount, amount, gross=False, mode=mode))
    assert rub(row) == (
        round(monthly / 0.87, 2),
        round(monthly / 0.87, 2),
        float(monthly),
        float(monthly),
    )
    assert row["salary_mode"] == mode


@pytest.mark.parametrize("mode", ["SERVICE", "FLY_IN_FLY_OUT", "PER_GALAXY", None])
def test_modes_without_a_monthly_equivalent_keep_the_published_fields(mode: str | None) -> None:
    row = normalize_one(salary_range(100_000, 150_000, "USD", True, mode, "PER_PROJECT"))
    assert rub(row) == (None, None, None, None)
    assert (row["salary_from"], row["salary_to"], row["salary_currency"]) == (100_000, 150_000, "USD")
    assert (row["salary_gross"], row["salary_mode"], row["salary_frequency"]) == (True, mode, "PER_PROJECT")


@pytest.mark.parametrize(
    ("gross", "amount", "expected_gross", "expected_net"),
    [
        (True, 100_000, 100_000.0, 87_000.0),  # before tax: net = amount x 0.87
        (False, 87_000, 100_000.0, 87_000.0),  # after tax: gross = amount / 0.87
        (None, 87_000, 100_000.0, 87_000.0),  # unknown (old payloads): treated as net
        (False, 58_500, 67_241.38, 58_500.0),  # rounded to 2 decimals
    ],
)
def test_gross_and_net(gross: bool | None, amount: float, expected_gross: float, expected_net: float) -> None:
    row = normalize_one(salary_range(amount, None, gross=gross))
    assert row["salary_from_rub_gross"] == expected_gross
    assert row["salary_from_rub_net"] == expected_net
    assert row["salary_gross"] is gross  # the published flag is kept, None included


@pytest.mark.parametrize(
    ("currency", "amount", "rub_amount"),
    [
        ("RUR", 100_000, 100_000.0),
        ("USD", 1_250, 100_000.0),  # 1 RUR = 0.0125 USD
        ("EUR", 1_000, 100_000.0),
        ("KZT", 590_000, 100_000.0),  # 1 RUR = 5.9 KZT
        ("BYR", 4_000, 100_000.0),  # hh's legacy code for Belarusian roubles
    ],
)
def test_currency_conversion_divides_by_the_rate(currency: str, amount: float, rub_amount: float) -> None:
    row = normalize_one(salary_range(amount, None, currency, gross=False))
    assert row["salary_from_rub_net"] == pytest.approx(rub_amount)
    assert row["salary_from"] == amount and row["salary_currency"] == currency


def test_rur_needs_no_rate() -> None:
    row = normalize_one(salary_range(50_000, None, "RUR", gross=True), rates={"USD": 0.0125})
    assert row["salary_from_rub_gross"] == 50_000


@pytest.mark.parametrize(
    ("frm", "to", "expected"),
    [
        (50_000, None, (57_471.26, None, 50_000.0, None)),
        (None, 50_000, (None, 57_471.26, None, 50_000.0)),
        (50_000, 87_000, (57_471.26, 100_000.0, 50_000.0, 87_000.0)),
    ],
)
def test_each_side_is_converted_on_its_own(frm: float | None, to: float | None, expected: tuple) -> None:
    assert rub(normalize_one(salary_range(frm, to, gross=False))) == expected


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"salary": None, "salary_range": None},
        {"salary_range": None},
        {"salary": None},
    ],
)
def test_no_salary_gives_nulls(payload: dict[str, Any]) -> None:
    assert extract_salary(payload) == (None, None, None, None, None, None)
    row = normalize_one(payload)
    assert rub(row) == (None, None, None, None)
    assert [row[c] for c in RAW_SALARY_COLUMNS if c not in ("salary_from", "salary_to")] == [None] * 4


def test_deprecated_salary_is_the_fallback_with_mode_month() -> None:
    payload = {"salary_range": None, "salary": {"from": 100_000, "to": None, "currency": "RUR", "gross": True}}
    assert extract_salary(payload) == (100_000.0, None, "RUR", True, "MONTH", None)
    assert rub(normalize_one(payload)) == (100_000.0, None, 87_000.0, None)


def test_salary_range_is_preferred_over_salary() -> None:
    payload = {
        **salary_range(500, None, "RUR", False, "HOUR", "WEEKLY"),
        "salary": {"from": 999, "to": None, "currency": "USD", "gross": True},
    }
    assert extract_salary(payload) == (500.0, None, "RUR", False, "HOUR", "WEEKLY")


@pytest.mark.parametrize(
    ("payload", "unknown"),
    [
        (salary_range(100, None, "XYZ"), True),  # not in the rates
        (salary_range(None, 100, None), True),  # an amount without a currency
        ({"salary": {"from": 100, "to": None, "currency": "GEL", "gross": None}}, True),
        (salary_range(None, None, "XYZ"), False),  # nothing to convert
        (salary_range(100, None, "KZT"), False),
        ({"salary": None}, False),
    ],
)
def test_unknown_currency_is_flagged(payload: dict[str, Any], unknown: bool) -> None:
    assert unknown_currency_mask(salary_frame([payload]), RATES).tolist() == [unknown]


@pytest.mark.parametrize(
    "payload",
    [
        salary_range("abc"),
        salary_range(None, "100000"),
        salary_range(True),
        salary_range(-1),
        salary_range(math.nan),
        salary_range(math.inf),
        salary_range(100, gross="yes"),
        salary_range(100, currency=643),
        {"salary_range": {"from": 1, "currency": "RUR", "mode": "MONTH"}},
        {"salary_range": {"from": 1, "currency": "RUR", "mode": {"id": 1}}},
        {"salary_range": "100000 RUR"},
        {"salary_range": None, "salary": "abc"},
        {"salary_range": None, "salary": {"from": "abc", "currency": "RUR"}},
    ],
)
def test_wrongly_typed_salaries_raise(payload: dict[str, Any]) -> None:
    with pytest.raises(SalaryError):
        extract_salary(payload)


@pytest.mark.parametrize("rates", [{"USD": 0}, {"USD": -1.0}, {"USD": math.nan}, {"USD": "0.01"}, {"USD": True}])
def test_bad_rates_are_a_configuration_error(rates: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="USD"):
        validate_rates(rates)


def expected_row(frm: float | None, currency: str, gross: bool | None, mode: str | None) -> tuple:
    """The rule written out for one side, row by row: the specification the vectorized code must meet."""
    factors = {"MONTH": 1, "HOUR": 8 * 21, "SHIFT": 21}
    if frm is None or mode not in factors:
        return (None, None)
    monthly = frm / RATES[currency] * factors[mode]
    if gross is True:
        return (round(monthly, 2), round(monthly * 0.87, 2))
    return (round(monthly / 0.87, 2), round(monthly, 2))


def test_vectorized_result_equals_the_row_by_row_rule() -> None:
    cases = [
        (frm, currency, gross, mode)
        for frm in (None, 0, 333.33, 58_500, 1_234_567)
        for currency in RATES
        for gross in (True, False, None)
        for mode in ("MONTH", "HOUR", "SHIFT", "SERVICE", "FLY_IN_FLY_OUT", None)
    ]
    payloads = [salary_range(frm, frm, currency, gross, mode) for frm, currency, gross, mode in cases]
    frame = normalize_salaries(salary_frame(payloads), RATES)

    assert list(frame.columns) == list(SALARY_COLUMNS)
    for column in RUB_SALARY_COLUMNS + ("salary_from", "salary_to"):
        assert frame[column].dtype == np.float64
    for i, case in enumerate(cases):
        got = frame.iloc[i]
        expected = expected_row(*case)
        for column, value in zip(("salary_from_rub_gross", "salary_from_rub_net"), expected, strict=True):
            assert pd.isna(got[column]) if value is None else got[column] == pytest.approx(value, abs=0.006), (
                case,
                column,
            )
        assert got["salary_to_rub_net"] == got["salary_from_rub_net"] or pd.isna(got["salary_to_rub_net"])
    # and one row at a time gives the same numbers as the batch
    single = pd.concat([normalize_salaries(salary_frame([p]), RATES) for p in payloads[:60]], ignore_index=True)
    pd.testing.assert_frame_equal(single, frame.iloc[:60].reset_index(drop=True))


def test_frame_keeps_the_index_and_handles_no_rows() -> None:
    raw = salary_frame([salary_range(1, 2), {}]).set_axis([10, 20])
    assert list(normalize_salaries(raw, RATES).index) == [10, 20]
    empty = normalize_salaries(salary_frame([]), RATES)
    assert list(empty.columns) == list(SALARY_COLUMNS) and empty.empty
