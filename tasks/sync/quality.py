"""Great Expectations on frames: run a declared suite, name the failing rows, sum the outcomes.

Plain functions (no Prefect); the engine's check stages (:mod:`tasks.sync.checks`) call them.

* :func:`check` runs a :class:`~schemas.expectations.Suite` on a frame with GX Core's in-memory
  API (ephemeral context, pandas data source, dataframe asset, whole-dataframe batch definition,
  ``ExpectationSuite``, ``ValidationDefinition``, ``result_format="COMPLETE"`` with
  ``unexpected_index_list`` over the row-position column :data:`~schemas.expectations.ROW`).
  GX is imported on first use (its import costs seconds); the context and one validation
  definition per suite are kept for the life of the process, so a batch pays only the
  validation itself.
* Rows breaking ERROR rules become :class:`FailedRow` s (one per row, every broken rule listed)
  and then :class:`~tasks.sync.records.Rejection` s; WARNING rules are only reported.
* :func:`merge_outcomes` sums the outcomes of many batches for the run report.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from schemas import expectations as ex
from tasks.sync.records import RawRecord, Rejection

RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": [ex.ROW],
    # the pandas query string of every failing index is of no use here and costs time on big batches
    "return_unexpected_index_query": False,
    "partial_unexpected_count": 0,
}

Lookup = Callable[[ex.Reference, list[Any]], Iterable[Any]]
"""``lookup(reference, keys)``: the keys among ``keys`` that the parent table holds."""


class QualityError(RuntimeError):
    """A suite could not run (a missing column, a missing parameter): a bug, not bad data."""


@dataclass(frozen=True)
class ExpectationOutcome:
    """How one expectation did on one batch (or, summed, on a run)."""

    suite: str
    stage: str
    entity: str
    rule: str
    expectation: str  # the GX expectation type, e.g. expect_column_values_to_be_between
    description: str
    severity: str
    success: bool
    unexpected_count: int
    element_count: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FailedRow:
    """A row of the checked frame that broke at least one ERROR rule (or, in
    :attr:`CheckResult.warnings`, only WARNING rules)."""

    row: int  # position in the checked frame
    record_id: str | None
    rules: tuple[str, ...]  # in suite order
    reasons: tuple[str, ...]

    @property
    def rule(self) -> str:
        """The first rule broken: what the quarantine row's ``rule`` says."""
        return self.rules[0]

    @property
    def reason(self) -> str:
        if len(self.rules) == 1:
            return self.reasons[0]
        return "; ".join(f"{rule}: {why}" for rule, why in zip(self.rules, self.reasons, strict=True))


@dataclass
class CheckResult:
    """The outcome of one suite on one frame.

    ``passed`` holds the rows without ERROR failures (index reset); ``batch_failures`` lists the
    ERROR expectations that failed without naming rows: the batch as a whole is broken.
    """

    suite: ex.Suite
    passed: pd.DataFrame
    failed_rows: list[FailedRow]
    expectations: list[ExpectationOutcome]
    warnings: list[FailedRow] = field(default_factory=list)
    batch_failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed_positions(self) -> list[int]:
        return [f.row for f in self.failed_rows]

    def rejections(self, record_of: Callable[[int], RawRecord]) -> list[Rejection]:
        """One rejection per failing row; ``record_of(position)`` gives the row's raw record."""
        stage = self.suite.stage
        return [Rejection(record_of(f.row), stage=stage, rule=f.rule, reason=f.reason) for f in self.failed_rows]


# --- GX, once per process -------------------------------------------------------------------------


class _Gx:
    """The ephemeral GX context, its one dataframe batch definition, a validation definition per suite."""

    def __init__(self) -> None:
        import great_expectations as gx
        import great_expectations.expectations as gxe
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.expectations.row_conditions import Column

        self.gx, self.gxe = gx, gxe
        self.Column = Column
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = self.context.data_sources.add_pandas("jobpipe").add_dataframe_asset("frame")
        self.batch_definition = asset.add_batch_definition_whole_dataframe("whole")
        self.definitions: dict[ex.Suite, Any] = {}
        self.lock = threading.Lock()

    def definition(self, suite: ex.Suite) -> Any:
        found = self.definitions.get(suite)
        if found is not None:
            return found
        name = f"{suite.name}#{len(self.definitions)}"  # a changed suite (new bounds) is a new one
        gx_suite = self.context.suites.add(self.gx.ExpectationSuite(name=name))
        for rule in suite.rules:
            gx_suite.add_expectation(self._expectation(rule))
        definition = self.context.validation_definitions.add(
            self.gx.ValidationDefinition(name=name, data=self.batch_definition, suite=gx_suite)
        )
        self.definitions[suite] = definition
        return definition

    def _expectation(self, rule: ex.Rule) -> Any:
        kwargs: dict[str, Any] = {}
        for key, value in rule.kwargs:
            if isinstance(value, ex.Param):
                value = {"$PARAMETER": value.name}
            elif isinstance(value, ex.AnyNotNull):
                conditions = [self.Column(name).is_not_null() for name in value.columns]
                value = conditions[0]
                for condition in conditions[1:]:
                    value = value | condition
            elif isinstance(value, tuple):
                value = list(value)
            kwargs[key] = value
        return getattr(self.gxe, rule.expectation)(**kwargs, meta={"rule": rule.name})

    def validate(self, suite: ex.Suite, frame: pd.DataFrame, params: Mapping[str, Any]) -> Any:
        with self.lock:
            definition = self.definition(suite)
            result = definition.run(
                batch_parameters={"dataframe": frame}, expectation_parameters=dict(params), result_format=RESULT_FORMAT
            )
            # the ephemeral context keeps every result in memory: a long-lived worker would grow
            store = self.context.validation_results_store
            for key in store.list_keys():
                store.remove_key(key)
            return result


_gx: _Gx | None = None
_gx_lock = threading.Lock()


def gx_engine() -> _Gx:
    """The process's GX context (imports GX on first call: seconds; free afterwards)."""
    global _gx
    with _gx_lock:
        if _gx is None:
            _gx = _Gx()
        return _gx


# --- running a suite ------------------------------------------------------------------------------


class _Object(dict):
    """The stand-in of every JSON object in a checked frame (see :func:`_opaque`)."""

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return "{...}"


class _Array(list):
    """The stand-in of every JSON array in a checked frame."""

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return "[...]"


_OBJECT, _ARRAY = _Object(), _Array()


def _opaque(frame: pd.DataFrame) -> None:
    """Replace, in place, dicts and lists in object columns by one shared, hashable stand-in each.

    The suites look at such values only for their presence and their type (a payload is not
    null, an employer is an object), and GX fingerprints every batch: with dicts in it,
    ``hash_pandas_object`` fails and GX pickles the whole frame, 2.7 s for 100k vacancy payloads.
    """
    for name in frame.columns:
        column = frame[name]
        if column.dtype != object or pd.api.types.infer_dtype(column, skipna=True) != "mixed":
            continue
        values = [_OBJECT if type(v) is dict else _ARRAY if type(v) is list else v for v in column]
        frame[name] = pd.Series(values, dtype=object, index=column.index)


def plain_value(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def show(value: Any) -> str:
    """A value as a reason shows it: strings quoted, whole numbers without ``.0``, dates in ISO."""
    value = plain_value(value)
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.2f}"
    if isinstance(value, datetime):
        return value.isoformat()
    text_ = repr(value)
    return text_ if len(text_) <= 80 else text_[:77] + "..."


class _Fields(dict):
    """Template fields of one failing row: the GX entry first, the checked frame's row otherwise."""

    def __init__(self, entry: Mapping[str, Any], frame: pd.DataFrame, row: int, column: str | None) -> None:
        super().__init__()
        self.entry, self.frame, self.row = entry, frame, row
        value = entry.get(column) if column in entry else (frame.at[row, column] if column in frame else None)
        self["value"] = show(value)
        kind = type(plain_value(value))
        self["type"] = "dict" if kind is _Object else "list" if kind is _Array else kind.__name__

    def __missing__(self, key: str) -> str:
        if key in self.entry:
            return show(self.entry[key])
        if key in self.frame.columns:
            return show(self.frame.at[self.row, key])
        return "{" + key + "}"


def _exception(result: Any) -> str | None:
    info = getattr(result, "exception_info", None) or {}
    found = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for item in found:
        if item.get("raised_exception"):
            return str(item.get("exception_message"))
    return None


def check(frame: pd.DataFrame, suite: ex.Suite, *, params: Mapping[str, Any] | None = None) -> CheckResult:
    """Run ``suite`` on ``frame``.

    Args:
        frame: the rows to check; must have every column of ``suite.columns``.
        suite: the declaration of the rules.
        params: values of the suite's :class:`~schemas.expectations.Param` s.

    Returns:
        A :class:`CheckResult`: passing rows, failing rows (ERROR rules), warnings, one
        :class:`ExpectationOutcome` per rule, and the batch-level failures.

    Raises:
        QualityError: a column or a parameter is missing, or GX raised inside an expectation.
    """
    import time

    started = time.perf_counter()
    params = dict(params or {})
    missing = [c for c in suite.columns if c not in frame.columns]
    if missing:
        raise QualityError(f"suite {suite.name}: the frame lacks columns {missing}")
    unbound = [p for p in suite.params if p not in params]
    if unbound:
        raise QualityError(f"suite {suite.name}: no value for parameters {unbound}")
    n = len(frame)
    if n == 0:  # nothing to look at: no GX call at all
        outcomes = [_outcome(suite, rule, True, 0, 0) for rule in suite.rules]
        return CheckResult(suite, frame.reset_index(drop=True), [], outcomes)

    checked = frame.loc[:, list(suite.columns)].reset_index(drop=True)
    checked[ex.ROW] = np.arange(n)
    _opaque(checked)
    validation = gx_engine().validate(suite, checked, params)

    by_name = {r.name: r for r in suite.rules}
    failing: dict[int, list[tuple[int, str, str]]] = {}  # row -> [(rule order, rule, reason)]
    warned: dict[int, list[tuple[int, str, str]]] = {}
    outcomes: dict[str, ExpectationOutcome] = {}
    batch_failures: list[str] = []
    order = {r.name: i for i, r in enumerate(suite.rules)}
    for result in validation.results:
        rule = by_name[result.expectation_config.meta["rule"]]
        error = _exception(result)
        if error:
            raise QualityError(f"suite {suite.name}, rule {rule.name}: {error}")
        details = result.result or {}
        entries = details.get("unexpected_index_list")
        count = int(details.get("unexpected_count") or (len(entries) if entries else 0))
        outcomes[rule.name] = _outcome(suite, rule, bool(result.success), count, int(details.get("element_count") or n))
        if result.success:
            continue
        if not entries:
            if rule.severity == ex.ERROR:
                observed = details.get("observed_value")
                batch_failures.append(f"{suite.name}: {rule.description} failed for the batch (observed {observed!r})")
            continue
        target = failing if rule.severity == ex.ERROR else warned
        column = rule.columns[0] if rule.columns else None
        for entry in entries:
            row = int(entry[ex.ROW])
            reason = rule.reason.format_map(_Fields(entry, checked, row, column))
            target.setdefault(row, []).append((order[rule.name], rule.name, reason))

    ids = checked[suite.id_column] if suite.id_column else None

    def rows(found: dict[int, list[tuple[int, str, str]]]) -> list[FailedRow]:
        out = []
        for row in sorted(found):
            broken = sorted(found[row])
            record_id = plain_value(ids.iat[row]) if ids is not None else None
            record_id = None if record_id is None or pd.isna(record_id) else str(record_id)
            out.append(FailedRow(row, record_id, tuple(b[1] for b in broken), tuple(b[2] for b in broken)))
        return out

    failed_rows = rows(failing)
    keep = np.ones(n, dtype=bool)
    keep[[f.row for f in failed_rows]] = False
    passed = (
        frame.reset_index(drop=True).loc[keep].reset_index(drop=True) if failed_rows else frame.reset_index(drop=True)
    )
    return CheckResult(
        suite,
        passed,
        failed_rows,
        [outcomes.get(r.name) or _outcome(suite, r, True, 0, n) for r in suite.rules],
        warnings=[w for w in rows(warned) if w.row not in failing],
        batch_failures=batch_failures,
        seconds=time.perf_counter() - started,
    )


def _outcome(suite: ex.Suite, rule: ex.Rule, success: bool, unexpected: int, elements: int) -> ExpectationOutcome:
    expectation = "".join("_" + c.lower() if c.isupper() else c for c in rule.expectation).lstrip("_")
    return ExpectationOutcome(
        suite=suite.name,
        stage=suite.stage,
        entity=suite.entity,
        rule=rule.name,
        expectation=expectation,
        description=rule.description,
        severity=rule.severity,
        success=success,
        unexpected_count=unexpected,
        element_count=elements,
    )


def merge_outcomes(*groups: Iterable[ExpectationOutcome | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Sum outcomes of several batches (or searches) per suite and rule: success only when every
    batch succeeded; as dicts, in first-seen order."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for group in groups:
        for outcome in group:
            item = outcome.as_dict() if isinstance(outcome, ExpectationOutcome) else dict(outcome)
            key = (item["suite"], item["rule"])
            if key not in merged:
                merged[key] = item
                continue
            into = merged[key]
            into["success"] = bool(into["success"] and item["success"])
            into["unexpected_count"] += item["unexpected_count"]
            into["element_count"] += item["element_count"]
    return list(merged.values())
