"""The salary rule for hh.ru vacancies, in one place.

A vacancy's salary is read per record (:func:`extract_salary`, pure Python, type-checked) and
normalized for a whole batch at once (:func:`normalize_salaries`, vectorized pandas).

Source fields
    ``salary_range`` ``{from, to, currency, gross, mode {id}, frequency {id} | null}`` is preferred.
    When it is null or missing, the deprecated ``salary`` ``{from, to, currency, gross}`` is used and
    its mode is ``MONTH`` (the only mode hh had before ``salary_range``); ``salary_mode`` then says
    ``"MONTH"``. Both null or missing: no salary, every salary column is null.
    A ``salary_range`` without a mode (the spec says it is required) gets ``salary_mode`` null and
    so no monthly equivalent: nothing is invented.

Currency (:data:`BASE_CURRENCY`)
    hh writes ``RUR`` (not ISO ``RUB``) and legacy ``BYR`` for Belarusian roubles. The dictionary
    rate of a currency is the number of its units per 1 RUR, so ``amount_rub = amount / rate``.
    ``RUR`` has rate 1 even when the rates mapping omits it. A salary with at least one amount
    whose currency is null or absent from the rates cannot be converted: the caller rejects the
    record with rule ``unknown_currency`` (see :func:`unknown_currency_mask`) instead of loading a
    silently null salary. A currency with no amounts at all is harmless and kept as published.

Per month (:data:`MONTHLY_FACTORS`)
    * ``MONTH`` x 1
    * ``HOUR`` x :data:`HOURS_PER_MONTH` = 168 = :data:`HOURS_PER_SHIFT` (8) x
      :data:`WORKING_DAYS_PER_MONTH` (21). The Russian production calendar has about 247 working
      days a year (20.6 a month) and a 40-hour week gives about 165 h a month; 21 x 8 is the usual
      round figure.
    * ``SHIFT`` x :data:`SHIFTS_PER_MONTH` = 21: one shift per working day.
    * ``SERVICE`` (per piece of work), ``FLY_IN_FLY_OUT`` (per rotation of varying length) and any
      unknown or missing mode have no monthly equivalent: the monthly RUB columns are null while the
      published fields (from, to, currency, gross, mode, frequency) are kept.
    ``frequency`` (DAILY, WEEKLY, TWICE_PER_MONTH, ...) is how often the money is paid, not the unit
    of the amount, so it does not change the conversion; it is kept as published.

Gross and net (:data:`INCOME_TAX_RATE` 13 %, :data:`NET_SHARE` 0.87)
    * ``gross`` true: gross = amount, net = amount x 0.87.
    * ``gross`` false: net = amount, gross = amount / 0.87.
    * ``gross`` null or missing (old payloads): treated as **net**, the amount hh shows job seekers
      ("на руки") by default; ``salary_gross`` stays null so the assumption is visible.
    The flat 13 % ignores the progressive brackets (15 % and up above 2.4 M RUB a year since 2025):
    the columns are for comparing vacancies, not for payroll.

Each side (from, to) is converted independently, so from-only and to-only forks keep the other side
null. The four normalized columns are rounded to 2 decimals (``Numeric(14, 2)`` in the table).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

BASE_CURRENCY = "RUR"
"""hh's code for the Russian rouble; its rate is 1 by definition."""

HOURS_PER_SHIFT = 8
WORKING_DAYS_PER_MONTH = 21
HOURS_PER_MONTH = HOURS_PER_SHIFT * WORKING_DAYS_PER_MONTH  # 168
SHIFTS_PER_MONTH = WORKING_DAYS_PER_MONTH  # 21: one shift per working day

MONTHLY_FACTORS: Mapping[str, float] = {
    "MONTH": 1.0,
    "HOUR": float(HOURS_PER_MONTH),
    "SHIFT": float(SHIFTS_PER_MONTH),
}
"""Multiplier from a ``salary_range.mode`` to one month; modes not listed have no monthly equivalent."""

INCOME_TAX_RATE = 0.13
NET_SHARE = 1.0 - INCOME_TAX_RATE  # 0.87

DEFAULT_MODE = "MONTH"
"""The mode implied by the deprecated ``salary`` object."""

RAW_SALARY_COLUMNS: tuple[str, ...] = (
    "salary_from",
    "salary_to",
    "salary_currency",
    "salary_gross",
    "salary_mode",
    "salary_frequency",
)
RUB_SALARY_COLUMNS: tuple[str, ...] = (
    "salary_from_rub_gross",
    "salary_to_rub_gross",
    "salary_from_rub_net",
    "salary_to_rub_net",
)
SALARY_COLUMNS: tuple[str, ...] = RAW_SALARY_COLUMNS + RUB_SALARY_COLUMNS

SalaryFields = tuple[float | None, float | None, str | None, bool | None, str | None, str | None]
"""(from, to, currency, gross, mode, frequency) as published, in :data:`RAW_SALARY_COLUMNS` order."""

NO_SALARY: SalaryFields = (None, None, None, None, None, None)


class SalaryError(ValueError):
    """A salary object whose fields have the wrong type (the record is rejected as ``bad_salary``)."""


def _amount(value: Any, source: str, key: str) -> float | None:
    """A finite, non-negative number or None; anything else raises :class:`SalaryError`."""
    if value is None:
        return None
    if type(value) is not int and type(value) is not float:  # bool is not accepted
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SalaryError(f"{source}.{key} is {value!r}, not a number")
    amount = float(value)
    if not math.isfinite(amount) or amount < 0:
        raise SalaryError(f"{source}.{key} is {value!r}, not a finite non-negative number")
    return amount


def _optional_str(value: Any, source: str, key: str) -> str | None:
    if value is None or type(value) is str:
        return value or None
    raise SalaryError(f"{source}.{key} is {value!r}, not a string")


def _dict_id(value: Any, source: str, key: str) -> str | None:
    """The ``id`` of a ``{id, name}`` dictionary entry, or None when the entry is null."""
    if value is None:
        return None
    if type(value) is not dict:
        raise SalaryError(f"{source}.{key} is {value!r}, not an object")
    return _optional_str(value.get("id"), source, f"{key}.id")


def extract_salary(payload: dict[str, Any]) -> SalaryFields:
    """Read the published salary of one vacancy payload.

    Args:
        payload: a vacancy detail or search item.

    Returns:
        ``(from, to, currency, gross, mode, frequency)``: the values as published, amounts as
        float; all None when the vacancy has no salary.

    Raises:
        SalaryError: ``salary_range``/``salary`` is not an object, an amount is not a finite
            non-negative number, ``gross`` is not a boolean, or a code is not a string.
    """
    source = payload.get("salary_range")
    if source is not None:
        name = "salary_range"
    else:
        source, name = payload.get("salary"), "salary"
        if source is None:
            return NO_SALARY
    if type(source) is not dict:
        raise SalaryError(f"{name} is {source!r}, not an object")

    gross = source.get("gross")
    if gross is not None and type(gross) is not bool:
        raise SalaryError(f"{name}.gross is {gross!r}, not a boolean")
    if name == "salary_range":
        mode = _dict_id(source.get("mode"), name, "mode")
        frequency = _dict_id(source.get("frequency"), name, "frequency")
    else:
        mode, frequency = DEFAULT_MODE, None
    return (
        _amount(source.get("from"), name, "from"),
        _amount(source.get("to"), name, "to"),
        _optional_str(source.get("currency"), name, "currency"),
        gross,
        mode,
        frequency,
    )


def raw_salary_frame(rows: Iterable[SalaryFields], index: pd.Index | None = None) -> pd.DataFrame:
    """Put published salaries into a frame with deliberate dtypes.

    Args:
        rows: tuples from :func:`extract_salary`.
        index: optional index for the frame.

    Returns:
        A frame with :data:`RAW_SALARY_COLUMNS`: amounts float64 (NaN when missing), the other
        columns object with None when missing.
    """
    rows = list(rows)
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(RAW_SALARY_COLUMNS)
    data = {
        name: pd.Series(values, dtype="float64" if name in ("salary_from", "salary_to") else object, index=index)
        for name, values in zip(RAW_SALARY_COLUMNS, columns, strict=True)
    }
    return pd.DataFrame(data, index=index)


def salary_frame(payloads: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Published salaries of several payloads (:func:`extract_salary` + :func:`raw_salary_frame`).

    Args:
        payloads: vacancy payloads.

    Returns:
        The :data:`RAW_SALARY_COLUMNS` frame, one row per payload.

    Raises:
        SalaryError: as :func:`extract_salary`, for the first bad payload.
    """
    return raw_salary_frame(extract_salary(p) for p in payloads)


def validate_rates(rates: Mapping[str, float]) -> dict[str, float]:
    """Check the currency rates and add the base currency.

    Args:
        rates: hh dictionary rates, units of the currency per 1 RUR (``{"USD": 0.0125, ...}``).

    Returns:
        A copy with ``RUR`` set to 1.0 when it was missing.

    Raises:
        ValueError: a rate is not a finite positive number (a configuration error, not a record one).
    """
    checked: dict[str, float] = {}
    for code, rate in rates.items():
        valid = isinstance(rate, numbers.Real) and not isinstance(rate, bool)
        if not valid or not math.isfinite(rate) or rate <= 0:
            raise ValueError(f"currency rate for {code!r} is {rate!r}, not a finite positive number")
        checked[code] = float(rate)
    checked.setdefault(BASE_CURRENCY, 1.0)
    return checked


def _rates_of(raw: pd.DataFrame, rates: Mapping[str, float]) -> pd.Series:
    """Rate per row (NaN when the currency is null or unknown)."""
    return raw["salary_currency"].map(validate_rates(rates)).astype("float64")


def unknown_currency_mask(raw: pd.DataFrame, rates: Mapping[str, float]) -> pd.Series:
    """Rows whose salary has an amount that cannot be converted to RUR.

    Args:
        raw: a :data:`RAW_SALARY_COLUMNS` frame.
        rates: hh dictionary rates (units per 1 RUR).

    Returns:
        A boolean Series on ``raw.index``: true when ``salary_from`` or ``salary_to`` is set and the
        currency is null or missing from ``rates`` (rule ``unknown_currency``).
    """
    has_amount = raw["salary_from"].notna() | raw["salary_to"].notna()
    return (has_amount & _rates_of(raw, rates).isna()).astype(bool)


def normalize_salaries(raw: pd.DataFrame, rates: Mapping[str, float]) -> pd.DataFrame:
    """Add monthly RUB gross and net amounts to published salaries, vectorized.

    Args:
        raw: a :data:`RAW_SALARY_COLUMNS` frame (e.g. from :func:`raw_salary_frame`).
        rates: hh dictionary rates, units of the currency per 1 RUR.

    Returns:
        A frame on ``raw.index`` with :data:`SALARY_COLUMNS`: the published columns unchanged and
        the four ``*_rub_*`` columns as float64 rounded to 2 decimals, NaN when the side is missing,
        the mode has no monthly equivalent or the currency is unknown (such rows are found with
        :func:`unknown_currency_mask` and must be rejected by the caller).
    """
    rate = _rates_of(raw, rates)
    factor = raw["salary_mode"].map(MONTHLY_FACTORS).astype("float64")
    is_gross = raw["salary_gross"].eq(True).to_numpy(dtype=bool)
    per_rub_month = (factor / rate).to_numpy(dtype="float64")

    out = raw.loc[:, list(RAW_SALARY_COLUMNS)].copy()
    for side in ("from", "to"):
        monthly = raw[f"salary_{side}"].to_numpy(dtype="float64") * per_rub_month
        gross = np.where(is_gross, monthly, monthly / NET_SHARE)
        net = np.where(is_gross, monthly * NET_SHARE, monthly)
        out[f"salary_{side}_rub_gross"] = np.round(gross, 2)
        out[f"salary_{side}_rub_net"] = np.round(net, 2)
    return out.loc[:, list(SALARY_COLUMNS)]
