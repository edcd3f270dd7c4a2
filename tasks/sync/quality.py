"""Quality checks between stages: Great Expectations suites on frames, quarantine of failing rows.

Plain functions (no Prefect): the Prefect tasks in :mod:`tasks.hh_vacancy_tasks` wrap them.

* :func:`check` runs a :class:`~schemas.expectations.Suite` on a frame with GX Core's in-memory
  API (ephemeral context, pandas data source, dataframe asset, whole-dataframe batch definition,
  ``ExpectationSuite``, ``ValidationDefinition``, ``result_format="COMPLETE"`` with
  ``unexpected_index_list`` over the row-position column :data:`~schemas.expectations.ROW`).
  GX is imported on first use (its import costs seconds); the context and one validation
  definition per suite are kept for the life of the process, so a batch pays only the
  validation itself.
* Rows breaking ERROR rules become :class:`FailedRow` s (one per row, every broken rule listed)
  and then :class:`~tasks.sync.records.Rejection` s; WARNING rules are only reported.
* :func:`resolve_references` / :func:`check_references`: the pre-load check that each child key
  names a parent row of the batch or of the database, for any entity.
* Batch-level rules (:func:`enforce_rejected_share`, :func:`enforce_volume`) raise
  :class:`BatchRejected` before anything of a clearly broken batch is written.
* :func:`check_vacancies`: the whole hh.ru vacancy sequence raw checks -> transform -> clean and
  pre-load checks, used by the flow, the quarantine re-processing and the benchmark.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ARRAY, Engine, any_, bindparam, select, text

from schemas import expectations as ex
from tasks.hh.salary import validate_rates
from tasks.hh.transform_vacancies import VacancyBatch, transform_vacancies
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


class BatchRejected(RuntimeError):
    """A batch is clearly broken: nothing of it may be written and its stream's cursor stays."""


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


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def show(value: Any) -> str:
    """A value as a reason shows it: strings quoted, whole numbers without ``.0``, dates in ISO."""
    value = _plain(value)
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
        kind = type(_plain(value))
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
            record_id = _plain(ids.iat[row]) if ids is not None else None
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


# --- references -----------------------------------------------------------------------------------


def resolve_references(
    values: pd.Series,
    batch_keys: Iterable[Any],
    lookup: Callable[[list[Any]], Iterable[Any]] | None,
    *,
    nullable: bool = False,
) -> pd.Series:
    """Whether each child key names a parent: in ``batch_keys`` or, for the others, found by
    ``lookup`` (one query for the distinct missing keys). A null key resolves when ``nullable``."""
    present = values.notna()
    in_batch = values.isin(pd.Index(batch_keys)) & present
    missing = pd.unique(values[present & ~in_batch])
    found: set[Any] = set()
    if len(missing) and lookup is not None:
        found = set(lookup([_plain(v) for v in missing]))
    resolved = in_batch | (values.isin(pd.Index(list(found))) & present) if found else in_batch
    if nullable:
        resolved = resolved | ~present
    return resolved.astype(bool)


def db_lookup(engine: Engine) -> Lookup:
    """A :data:`Lookup` reading the parent tables of ``engine`` (one query per reference and batch)."""

    def lookup(ref: ex.Reference, keys: list[Any]) -> set[Any]:
        column = ref.parent.c[ref.parent_column]
        query = select(column).where(column == any_(bindparam("keys", keys, type_=ARRAY(column.type))))
        with engine.connect() as conn:
            return set(conn.execute(query).scalars())

    return lookup


def check_references(
    frame: pd.DataFrame,
    suite: ex.Suite,
    batch_keys: Mapping[str, Iterable[Any]],
    lookup: Lookup | None,
) -> CheckResult:
    """Run a pre-load suite: each reference of ``suite`` must resolve in the batch or the database.

    Args:
        frame: the child rows (e.g. the vacancies that passed the clean checks).
        suite: a ``preload`` suite (:func:`schemas.expectations.preload_suite`).
        batch_keys: per child column, the parent keys this batch will load
            (``{"employer_key": employers_frame["employer_key"]}``).
        lookup: asked for the keys not in the batch (:func:`db_lookup`); None: the batch only.
    """
    flagged = frame.copy(deep=False)
    for ref in suite.references:
        one = (lambda keys, ref=ref: lookup(ref, keys)) if lookup is not None else None
        flagged[ref.flag_column] = resolve_references(
            frame[ref.column], batch_keys.get(ref.column, ()), one, nullable=ref.nullable
        )
    result = check(flagged, suite)
    result.passed = result.passed.drop(columns=[r.flag_column for r in suite.references])
    return result


# --- batch-level rules ----------------------------------------------------------------------------


def enforce_rejected_share(what: str, total: int, rejected: int, thresholds: ex.Thresholds) -> None:
    """Raise :class:`BatchRejected` when more than the allowed share of a batch was rejected."""
    if total <= 0 or rejected < thresholds.min_rejected:
        return
    share = rejected / total
    if share > thresholds.max_rejected_share:
        raise BatchRejected(
            f"{what}: {rejected} of {total} records ({share:.0%}) failed the checks, more than the allowed "
            f"{thresholds.max_rejected_share:.0%}: the batch is refused, nothing of it is written and its "
            "cursor stays where it was. Look at the rules below, fix the source or the rules, and run again."
        )


def enforce_batch_failures(results: Iterable[CheckResult]) -> None:
    failures = [f for r in results for f in r.batch_failures]
    if failures:
        raise BatchRejected("the batch is refused, nothing of it is written: " + "; ".join(failures))


@dataclass(frozen=True)
class PreviousCount:
    """What the previous completed run extracted for a stream, over which span."""

    run_id: str
    extracted: int
    since: datetime
    until: datetime

    @property
    def per_second(self) -> float:
        seconds = (self.until - self.since).total_seconds()
        return self.extracted / seconds if seconds > 0 else 0.0


def previous_count(engine: Engine, stream: str) -> PreviousCount | None:
    """The newest completed run's counts of ``stream``, read from ``run_log.counts``.

    Any list in ``counts`` whose items carry ``stream``, ``extracted``, ``since`` and ``until``
    counts (the hh.ru search summaries do); None when no completed run mentions the stream.
    """
    query = text(
        "SELECT run_id, item FROM ("
        "  SELECT run_id, started_at, jsonb_path_query_first("
        "    counts, '$.*[*] ? (@.stream == $s)', jsonb_build_object('s', CAST(:s AS text))) AS item"
        "  FROM run_log WHERE status = 'completed'"
        ") AS runs WHERE item IS NOT NULL ORDER BY started_at DESC LIMIT 1"
    ).bindparams(s=stream)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    run_id, found = row
    try:
        since, until = datetime.fromisoformat(found["since"]), datetime.fromisoformat(found["until"])
        return PreviousCount(run_id, int(found["extracted"]), since, until)
    except (KeyError, TypeError, ValueError):
        return None


def enforce_volume(
    stream: str,
    extracted: int,
    since: datetime,
    until: datetime,
    previous: PreviousCount | None,
    thresholds: ex.Thresholds,
) -> None:
    """Raise :class:`BatchRejected` when a stream yields nothing where its previous run's rate
    predicts at least ``thresholds.min_expected`` records over the same span."""
    if extracted > 0 or previous is None:
        return
    expected = previous.per_second * (until - since).total_seconds()
    if expected >= thresholds.min_expected:
        raise BatchRejected(
            f"{stream}: 0 records from {since.isoformat()} to {until.isoformat()}, where the previous run "
            f"({previous.run_id}: {previous.extracted} from {previous.since.isoformat()} to "
            f"{previous.until.isoformat()}) predicts about {expected:.0f}: the source or the query looks broken. "
            "Nothing is written and the cursor stays where it was."
        )


# --- hh.ru vacancies ------------------------------------------------------------------------------


def raw_vacancy_frame(records: Sequence[RawRecord]) -> pd.DataFrame:
    """The raw checks' frame: ``record_id`` and the payload keys of
    :data:`~schemas.expectations.RAW_VACANCY_KEYS`, as sent (object columns, None when absent)."""
    keys = ex.RAW_VACANCY_KEYS
    columns: dict[str, list[Any]] = {"record_id": [], **{k: [] for k in keys}}
    for record in records:
        payload = record.payload if isinstance(record.payload, dict) else {}
        columns["record_id"].append(record.record_id)
        for key in keys:
            columns[key].append(payload.get(key))
    return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()})


def vacancy_params(rates: Mapping[str, float], now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    return {ex.CURRENCIES: sorted(validate_rates(rates)), ex.LATEST_PUBLISHED_AT: now + ex.CLOCK_SKEW}


@dataclass
class RawChecked:
    records: list[RawRecord]  # the records that continue
    rejections: list[Rejection]
    result: CheckResult


def check_raw_vacancies(records: Sequence[RawRecord]) -> RawChecked:
    result = check(raw_vacancy_frame(records), ex.hh_vacancy_raw())
    dropped = set(result.failed_positions)
    kept = [r for i, r in enumerate(records) if i not in dropped]
    return RawChecked(kept, result.rejections(lambda i: records[i]), result)


@dataclass
class VacancyChecks:
    """A vacancy batch after every check: what to load, every rejection (transform and checks)."""

    batch: VacancyBatch  # frames to load; rejections of every stage, one per record
    checked: int  # records that entered the checks
    results: list[CheckResult]

    @property
    def outcomes(self) -> list[ExpectationOutcome]:
        return [o for r in self.results for o in r.expectations]

    @property
    def rejected(self) -> int:
        return len(self.batch.rejections)

    def seconds(self) -> float:
        return sum(r.seconds for r in self.results)


def _record_of_rows(frame: pd.DataFrame, records: Sequence[RawRecord]) -> Callable[[int], RawRecord]:
    """The raw record of each vacancy row: the transform keeps the payload object itself."""
    by_payload = {id(r.payload): r for r in records}
    by_id = {r.record_id: r for r in records}
    payloads, ids = frame["payload"], frame["vacancy_id"]

    def record_of(row: int) -> RawRecord:
        found = by_payload.get(id(payloads.iat[row])) or by_id.get(ids.iat[row])
        if found is None:  # not from these records: describe the row itself
            return RawRecord("hh", "vacancy", ids.iat[row], datetime.now(UTC), payloads.iat[row])
        return found

    return record_of


def check_clean_vacancies(
    batch: VacancyBatch,
    records: Sequence[RawRecord],
    rates: Mapping[str, float],
    lookup: Lookup | None,
    *,
    now: datetime | None = None,
) -> tuple[VacancyBatch, list[CheckResult]]:
    """Clean checks of the transformed frames, then the pre-load references; returns the batch to
    load (only the employers its vacancies name) with the new rejections appended."""
    vac = check(batch.vacancies, ex.hh_vacancy_clean(), params=vacancy_params(rates, now))
    emp = check(batch.employers, ex.hh_employer_clean())
    keys = {"employer_key": emp.passed["employer_key"]}
    pre = check_references(vac.passed, ex.hh_vacancy_preload(), keys, lookup)
    rejections = vac.rejections(_record_of_rows(batch.vacancies.reset_index(drop=True), records))
    rejections += pre.rejections(_record_of_rows(vac.passed, records))
    vacancies_ = pre.passed
    employers_ = emp.passed.loc[emp.passed["employer_key"].isin(vacancies_["employer_key"])].reset_index(drop=True)
    checked = VacancyBatch(vacancies_, employers_, [*batch.rejections, *rejections])
    return checked, [vac, emp, pre]


def complete_vacancy_checks(
    raw: RawChecked,
    transformed: VacancyBatch,
    rates: Mapping[str, float],
    lookup: Lookup | None,
    *,
    now: datetime | None = None,
) -> VacancyChecks:
    """The clean and pre-load checks of a transformed batch whose records passed ``raw``; the
    result's rejections are those of every stage (raw, transform, clean, preload)."""
    batch, results = check_clean_vacancies(transformed, raw.records, rates, lookup, now=now)
    batch.rejections = [*raw.rejections, *batch.rejections]
    return VacancyChecks(batch, len(raw.records) + len(raw.rejections), [raw.result, *results])


def check_vacancies(
    records: Sequence[RawRecord],
    rates: Mapping[str, float],
    lookup: Lookup | None,
    *,
    now: datetime | None = None,
    transform: Callable[[Sequence[RawRecord], Mapping[str, float]], VacancyBatch] = transform_vacancies,
) -> VacancyChecks:
    """Raw checks -> transform -> clean and pre-load checks, for one batch of vacancy records.

    No batch-level rule is applied here (see :func:`enforce_vacancy_batch`). Every record ends
    either as a row of ``batch.vacancies`` or as exactly one rejection.
    """
    raw = check_raw_vacancies(records)
    return complete_vacancy_checks(raw, transform(raw.records, rates), rates, lookup, now=now)


def enforce_vacancy_batch(what: str, checks: VacancyChecks, thresholds: ex.Thresholds) -> None:
    """The batch-level rules of a vacancy batch: column-level failures, then the rejected share."""
    enforce_batch_failures(checks.results)
    enforce_rejected_share(what, checks.checked, checks.rejected, thresholds)
