"""The expectation suites of jobpipe, as code: one per entity and stage, derived from the tables.

A :class:`Suite` is a plain, hashable declaration (no Great Expectations import here): the
quality task (:mod:`tasks.sync.quality`) turns it into a GX ``ExpectationSuite`` once per process and
runs it on a frame. Wherever a rule follows from a column declaration it is derived from it, so
a column added to :mod:`schemas.tables` is checked without being listed twice:

* ``missing_<column>``: not null, for every key and data column declared ``nullable=False``;
* ``duplicate_<key>``: unique, for a single-column primary key;
* references: from the table's foreign keys (:func:`foreign_key_references`), plus the links the
  database does not enforce (declared with the entities, :mod:`schemas.entities`);
* statuses: from :data:`schemas.status.CANONICAL_STATUSES`.

Stages
    ``raw`` (after extract, on :func:`raw vacancy frames <tasks.sync.quality.raw_vacancy_frame>`),
    ``clean`` (after transform, on the table-shaped frames), ``preload`` (references resolvable in
    the batch or the database, just before the load).

Severity
    :data:`ERROR`: each failing row is rejected: its record goes to the quarantine table (one row
    per record, whatever the number of rules it breaks) and counts toward the batch's rejected
    share. :data:`WARNING`: reported (the expectation fails, with its unexpected count) but the
    rows continue; for facts worth seeing that are not defects of the record, e.g. an Avito
    application whose source state has no canonical mapping (status ``unknown``: kept and
    flagged, never dropped), or duplicate ids in a raw batch (the transform keeps the latest
    fetch and rejects the others as ``duplicate_in_batch``). An ERROR expectation that fails
    without naming rows (a column-level one, e.g. a wrong dtype) rejects the whole batch.

Run-time values (the currencies of the run's rates, the latest acceptable publication time) are
:class:`Param` placeholders bound when a suite runs, so a suite is built once per process.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Table

from schemas import status
from schemas.tables import (
    data_columns,
    employers,
    key_columns,
    vacancies,
)

ERROR = "error"
WARNING = "warning"
SEVERITIES = (ERROR, WARNING)

RAW, CLEAN, PRELOAD = "raw", "clean", "preload"
STAGES = (RAW, CLEAN, PRELOAD)

MIN_RUB_MONTHLY_GROSS = 1_000
"""The lowest plausible monthly gross salary in RUB (``salary_*_rub_gross``); below it, the
amount is almost surely per hour or per shift published as per month, or a typo."""
MAX_RUB_MONTHLY_GROSS = 10_000_000
"""The highest plausible monthly gross salary in RUB; above it, a typo (an extra zero or two) or a
yearly amount published as monthly."""

CLOCK_SKEW = timedelta(minutes=15)
"""How far in the future a ``published_at`` may be (our clock against hh.ru's) before it is an error."""

VACANCY_STATUSES: tuple[str, ...] = ("open", status.ARCHIVED)
"""The status vocabulary of vacancies (a subset of nothing else: vacancies are not applications)."""

CURRENCIES = "currencies"
"""Param: the currency codes of the run's rates (the base currency included)."""
LATEST_PUBLISHED_AT = "latest_published_at"
"""Param: the latest acceptable publication time, now plus :data:`CLOCK_SKEW`."""

ROW = "_row"
"""The column the quality task adds to every checked frame: the row's position in it."""


@dataclass(frozen=True)
class Param:
    """A value given when the suite runs (``check(..., params={name: value})``)."""

    name: str


@dataclass(frozen=True)
class AnyNotNull:
    """A row condition: the expectation looks only at rows where one of ``columns`` is set."""

    columns: tuple[str, ...]

    def __str__(self) -> str:
        return " or ".join(self.columns) + " is set"


@dataclass(frozen=True)
class Rule:
    """One expectation and what its failure means.

    Attributes:
        name: the short rule name; for an ERROR rule, what the quarantine row's ``rule`` says.
        expectation: the GX Core expectation class, e.g. ``"ExpectColumnValuesToNotBeNull"``.
        kwargs: the expectation's arguments, as sorted ``(name, value)`` pairs (hashable);
            a :class:`Param` value is bound at run time.
        reason: a ``str.format`` template for a failing row: ``{value}`` is the checked value,
            ``{type}`` its type name, and any column of the checked frame by its name.
        severity: :data:`ERROR` or :data:`WARNING`.
        description: what is expected, for people (the expectations table of the run report).
        needs: further columns of the frame the expectation reads (a ``row_condition``'s).
    """

    name: str
    expectation: str
    kwargs: tuple[tuple[str, Any], ...]
    reason: str
    severity: str = ERROR
    description: str = ""
    needs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"rule {self.name}: severity {self.severity!r} is not one of {SEVERITIES}")

    @property
    def arguments(self) -> dict[str, Any]:
        return dict(self.kwargs)

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns of the frame this rule reads."""
        args = self.arguments
        names = [args[k] for k in ("column", "column_A", "column_B") if k in args]
        return (*names, *self.needs)

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(v.name for _, v in self.kwargs if isinstance(v, Param))


@dataclass(frozen=True)
class Suite:
    """The rules of one entity at one stage, run together on one frame.

    ``id_column`` names the column that identifies a row for people (the record's id);
    ``references`` are what a ``preload`` suite's flag columns are computed from.
    """

    name: str
    entity: str
    stage: str
    rules: tuple[Rule, ...]
    id_column: str | None = None
    source: str = "hh"
    references: tuple[Reference, ...] = ()

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"suite {self.name}: stage {self.stage!r} is not one of {STAGES}")
        names = [r.name for r in self.rules]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"suite {self.name}: rule names used twice: {duplicated}")

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the suite reads, in first-use order."""
        ids = [self.id_column] if self.id_column else []
        return tuple(dict.fromkeys([*(c for r in self.rules for c in r.columns), *ids]))

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for r in self.rules for p in r.params))

    def rule(self, name: str) -> Rule:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)


@dataclass(frozen=True)
class Reference:
    """A child column that must name a row of a parent table (in the batch or the database).

    ``nullable``: a null child value passes (an optional link); otherwise it fails.
    """

    child: Table
    column: str
    parent: Table
    parent_column: str
    rule: str
    severity: str = ERROR
    nullable: bool = False

    @property
    def flag_column(self) -> str:
        """The column of the checked frame that says whether the row's reference resolves."""
        return f"_ref_{self.column}"


def _rule(name: str, expectation: str, reason: str, *, severity: str = ERROR, description: str = "", **kw) -> Rule:
    needs = tuple(kw.pop("needs", ()))
    return Rule(name, expectation, tuple(sorted(kw.items())), reason, severity, description, needs)


# --- rule builders -----------------------------------------------------------------------------------


def not_null(column: str, name: str | None = None, *, severity: str = ERROR) -> Rule:
    return _rule(
        name or f"missing_{column}",
        "ExpectColumnValuesToNotBeNull",
        f"{column} is missing",
        severity=severity,
        description=f"{column} is not null",
        column=column,
    )


def unique(column: str, name: str | None = None, *, severity: str = ERROR) -> Rule:
    return _rule(
        name or f"duplicate_{column}",
        "ExpectColumnValuesToBeUnique",
        f"{column} {{value}} occurs more than once in the batch",
        severity=severity,
        description=f"{column} is unique in the batch",
        column=column,
    )


def in_set(
    column: str,
    values: Iterable[Any] | Param,
    name: str,
    *,
    severity: str = ERROR,
    what: str | None = None,
    row_condition: AnyNotNull | None = None,
) -> Rule:
    """``column`` (when not null) is one of ``values``; ``what`` names the set for people."""
    value_set = values if isinstance(values, Param) else tuple(values)
    what = what or ("/".join(map(str, value_set)) if not isinstance(value_set, Param) else value_set.name)
    extra: dict[str, Any] = {}
    if row_condition:
        extra = {"row_condition": row_condition}
    return _rule(
        name,
        "ExpectColumnValuesToBeInSet",
        f"{column} {{value}} is not one of {what}",
        severity=severity,
        description=f"{column} in {what}" + (f" where {row_condition}" if row_condition else ""),
        column=column,
        value_set=value_set,
        needs=row_condition.columns if row_condition else (),
        **extra,
    )


def not_in_set(column: str, values: Iterable[Any], name: str, *, severity: str = ERROR) -> Rule:
    value_set = tuple(values)
    return _rule(
        name,
        "ExpectColumnValuesToNotBeInSet",
        f"{column} is {{value}}",
        severity=severity,
        description=f"{column} not in {'/'.join(map(str, value_set))}",
        column=column,
        value_set=value_set,
    )


def between(
    column: str,
    name: str,
    *,
    min_value: Any = None,
    max_value: Any = None,
    unit: str = "",
    severity: str = ERROR,
    reason: str | None = None,
    description: str | None = None,
) -> Rule:
    """``min_value <= column <= max_value`` where not null (either bound may be a :class:`Param`)."""
    given = reason, description
    low = min_value.name if isinstance(min_value, Param) else min_value
    high = max_value.name if isinstance(max_value, Param) else max_value
    if min_value is not None and max_value is not None:
        text = f"{low:,} .. {high:,}{unit}" if isinstance(low, int) and isinstance(high, int) else f"{low} .. {high}"
        reason = f"{column} {{value}} is outside the plausible {text}"
        description = f"{column} within {text}"
    elif max_value is not None:
        reason, description = f"{column} {{value}} is later than {high}", f"{column} <= {high}"
    else:
        reason, description = f"{column} {{value}} is below {low}", f"{column} >= {low}"
    reason, description = given[0] or reason, given[1] or description
    bounds = {k: v for k, v in (("min_value", min_value), ("max_value", max_value)) if v is not None}
    return _rule(
        name,
        "ExpectColumnValuesToBeBetween",
        reason,
        severity=severity,
        description=description,
        column=column,
        **bounds,
    )


def ordered(low: str, high: str, name: str, *, severity: str = ERROR) -> Rule:
    """``low <= high`` where both are set."""
    return _rule(
        name,
        "ExpectColumnPairValuesAToBeGreaterThanB",
        f"{low} {{{low}}} is greater than {high} {{{high}}}",
        severity=severity,
        description=f"{low} <= {high}",
        column_A=high,
        column_B=low,
        or_equal=True,
        ignore_row_if="either_value_is_missing",
    )


def of_types(column: str, types: Sequence[str], name: str | None = None, *, severity: str = ERROR) -> Rule:
    """Every non-null value of an object column is an instance of one of ``types`` (Python names)."""
    return _rule(
        name or f"bad_{column}",
        "ExpectColumnValuesToBeInTypeList",
        f"{column} {{value}} is of type {{type}}, not {' or '.join(types)}",
        severity=severity,
        description=f"{column} is {' or '.join(types)}",
        column=column,
        type_list=tuple(types),
    )


def flag(
    column: str, name: str, reason: str, description: str, *, severity: str = ERROR, needs: Sequence[str] = ()
) -> Rule:
    """A boolean column computed before the check (e.g. "the reference resolves") is true.

    GX cannot look into another table, and an in-set expectation over thousands of parent keys
    costs GX seconds per batch (it copies its arguments many times per run): the lookup is done
    in pandas and SQL (:func:`tasks.sync.quality.resolve_references`), GX checks and reports the flag.
    """
    return _rule(
        name,
        "ExpectColumnValuesToBeInSet",
        reason,
        severity=severity,
        description=description,
        column=column,
        value_set=(True,),
        needs=needs,
    )


# --- derived from the table declarations ----------------------------------------------------------


def table_rules(table: Table, *, skip: Iterable[str] = ()) -> list[Rule]:
    """Not-null for the ``nullable=False`` key and data columns, unique for a one-column key."""
    skipped = set(skip)
    columns = [c for c in key_columns(table) + data_columns(table) if c not in skipped]
    rules = [not_null(c) for c in columns if not table.c[c].nullable]
    keys = key_columns(table)
    if len(keys) == 1 and keys[0] not in skipped:
        rules.append(unique(keys[0]))
    return rules


def foreign_key_references(table: Table) -> list[Reference]:
    """The table's declared foreign keys as references (ERROR: the database would refuse them)."""
    refs = []
    for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
        parent = fk.column.table
        refs.append(
            Reference(
                child=table,
                column=fk.parent.name,
                parent=parent,
                parent_column=fk.column.name,
                rule=f"unresolved_{fk.parent.name.removesuffix('_id').removesuffix('_key')}",
                nullable=fk.parent.nullable,
            )
        )
    return refs


def reference_rule(ref: Reference) -> Rule:
    return flag(
        ref.flag_column,
        ref.rule,
        f"{ref.column} {{{ref.column}}} is neither in this batch's {ref.parent.name} nor in the database",
        f"{ref.child.name}.{ref.column} names a row of {ref.parent.name}",
        severity=ref.severity,
        needs=(ref.column,),
    )


def preload_suite(name: str, entity: str, refs: Sequence[Reference], *, id_column: str, source: str) -> Suite:
    rules = tuple(reference_rule(r) for r in refs)
    return Suite(name, entity, PRELOAD, rules, id_column=id_column, source=source, references=tuple(refs))


# --- hh.ru vacancies ------------------------------------------------------------------------------

RAW_VACANCY_KEYS: tuple[str, ...] = ("id", "name", "published_at", "employer")
"""The top-level payload keys a raw vacancy frame flattens (and requires)."""


def hh_vacancy_raw() -> Suite:
    """Raw search items / details: ids present (duplicates only reported: the transform keeps the
    latest fetch), required keys present, their types as hh.ru sends them."""
    rules = (
        not_null("id", "missing_id"),
        not_null("name", "missing_name"),
        not_null("published_at", "missing_published_at"),
        not_null("employer", "missing_employer"),
        of_types("id", ("str", "int"), "bad_id"),
        of_types("name", ("str",), "bad_name"),
        of_types("published_at", ("str",), "bad_published_at"),
        of_types("employer", ("dict",), "bad_employer"),
        unique("record_id", "duplicate_id", severity=WARNING),
    )
    return Suite("hh.vacancy.raw", "vacancy", RAW, rules, id_column="record_id")


def hh_vacancy_clean(
    *, min_rub: float | None = None, max_rub: float | None = None, statuses: Sequence[str] = VACANCY_STATUSES
) -> Suite:
    """The transformed ``vacancies`` frame: the table's not-null and key rules, salaries ordered and
    plausible, currency of the run's rates, status vocabulary, not published in the future.

    The bounds default to :data:`MIN_RUB_MONTHLY_GROSS` / :data:`MAX_RUB_MONTHLY_GROSS` as they
    are when the suite is built (a changed constant means a new suite).
    """
    low = MIN_RUB_MONTHLY_GROSS if min_rub is None else min_rub
    high = MAX_RUB_MONTHLY_GROSS if max_rub is None else max_rub
    rules = (
        *table_rules(vacancies),
        in_set("status", statuses, "unknown_status"),
        ordered("salary_from", "salary_to", "salary_from_above_to"),
        ordered("salary_from_rub_gross", "salary_to_rub_gross", "salary_rub_from_above_to"),
        between("salary_from_rub_gross", "implausible_salary_from_rub", min_value=low, max_value=high, unit=" RUB"),
        between("salary_to_rub_gross", "implausible_salary_to_rub", min_value=low, max_value=high, unit=" RUB"),
        # a currency without amounts is harmless and kept as published (see tasks.hh.salary)
        in_set(
            "salary_currency",
            Param(CURRENCIES),
            "unknown_currency",
            what="the currencies of the run's rates",
            row_condition=AnyNotNull(("salary_from", "salary_to")),
        ),
        between(
            "published_at",
            "published_in_future",
            max_value=Param(LATEST_PUBLISHED_AT),
            reason=f"published_at {{value}} is in the future (more than {_minutes(CLOCK_SKEW)} min ahead of our clock)",
            description=f"published_at <= now + {_minutes(CLOCK_SKEW)} min",
        ),
    )
    return Suite("hh.vacancy.clean", "vacancy", CLEAN, rules, id_column="vacancy_id")


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def hh_employer_clean() -> Suite:
    return Suite("hh.employer.clean", "employer", CLEAN, tuple(table_rules(employers)), id_column="employer_key")


VACANCY_REFERENCES: tuple[Reference, ...] = tuple(foreign_key_references(vacancies))
"""vacancies.employer_key -> employers.employer_key (rule ``unresolved_employer``)."""


def hh_vacancy_preload() -> Suite:
    return preload_suite("hh.vacancy.preload", "vacancy", VACANCY_REFERENCES, id_column="vacancy_id", source="hh")


# --- applications and negotiations ---------------------------------------------------------------


def status_rules() -> list[Rule]:
    """The status vocabulary of applications and negotiations: a status outside the canonical ones is
    an error (``bad_status``); ``unknown`` (a source state without a mapping) is a WARNING."""
    return [
        in_set("status", status.CANONICAL_STATUSES, "bad_status", what="the canonical statuses"),
        not_in_set("status", (status.UNKNOWN,), "unknown_status", severity=WARNING),
    ]


def clean_suite(source: str, entity: str, table: Table, *, statuses: bool = False) -> Suite:
    """The clean suite of an entity whose rules all follow from its table: not-null and key rules;
    with ``statuses`` also the status vocabulary (:func:`status_rules`: a status outside
    :data:`~schemas.status.CANONICAL_STATUSES` is an error, ``unknown`` a WARNING: kept, flagged)."""
    rules = table_rules(table)
    if statuses:
        rules += status_rules()
    (key,) = key_columns(table)
    return Suite(f"{source}.{entity}.clean", entity, CLEAN, tuple(rules), id_column=key, source=source)


def references_suite(source: str, entity: str, table: Table, refs: Sequence[Reference]) -> Suite | None:
    """The pre-load suite of an entity: each of its references resolves in the batch or the database."""
    if not refs:
        return None
    (key,) = key_columns(table)
    return preload_suite(f"{source}.{entity}.preload", entity, refs, id_column=key, source=source)


@dataclass(frozen=True)
class Thresholds:
    """Batch-level rules: when a batch is clearly broken, nothing of it is written.

    Attributes:
        max_rejected_share: a batch whose rejected records (every stage, ERROR rules) exceed this
            share of its records is refused...
        min_rejected: ...provided at least this many were rejected (3 of 5 is not a broken batch).
        min_expected: a stream that yields zero records where its previous run's rate predicts at
            least this many for the same span is refused (the API or the query broke, not the market).
    """

    max_rejected_share: float = 0.20
    min_rejected: int = 10
    min_expected: float = 50.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_rejected_share <= 1.0:
            raise ValueError(f"max_rejected_share {self.max_rejected_share!r} is not a share between 0 and 1")
