"""What the Avito transforms share: field readers, the batch pass, timestamps, dtypes and masking.

The transforms themselves live in :mod:`.avito_chats` (chats and messages),
:mod:`.avito_applications` and :mod:`.avito_resumes`. They follow the hh vacancy transform
(:mod:`.vacancy`):

* One Python pass reads every record with type checks (:class:`RecordPass`); a record that breaks a
  rule becomes one :class:`~tasks.sync.records.Rejection` (stage ``transform``) with the rule's short
  name, the first rule broken wins; a record whose payload or meta holds text PostgreSQL cannot
  store (NUL, lone surrogates) is rejected as ``unstorable_text`` (:mod:`.storable`). Nothing raises
  out of a transform because of a record.
* Then vectorized pandas: timestamps are parsed for the whole batch and unparsable ones rejected;
  duplicates are settled (:meth:`RecordPass.reject_duplicates`): among the records that pass every
  other rule, the latest ``fetched_at`` wins (naive = UTC), on a tie the later one in the input; the
  others are rejected as ``duplicate_in_batch``.
* ``len(rows) + len(rejections) == len(records)``; rejections come in input order.
* Output frames have exactly the key + data columns of their table, in declared order, with dtypes
  derived from the column types (:func:`frame_dtypes`): text, booleans and JSON as ``object`` (None
  when missing), integers as nullable ``Int64``, numerics as ``float64`` (NaN), timestamps as
  ``datetime64[us, UTC]`` (NaT). ``payload`` is the raw dict itself (not copied), except for masked
  records (below).

Masking (:data:`MASK`): a person who forbade processing of their profile (``parsing_allowed``
false in a chat's ``users[]``) has their personal data replaced by ``"***"`` before it reaches the
database, in the columns and in the stored payload, which is then a masked deep copy (the input is
never changed): the chat's candidate name (:mod:`.avito_chats`), and the name and phones of the
applications in such chats, named by the caller in ``masked_chat_ids`` (:mod:`.avito_applications`).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import DateTime, Integer, Numeric, Table

from schemas.tables import data_columns, key_columns
from tasks.sync.records import RawRecord, Rejection
from tasks.sync.storable import MAX_KEY_LENGTH, unstorable_text
from tasks.sync.storable import RULE as UNSTORABLE

SOURCE = "avito"
STAGE = "transform"
MASK = "***"
"""What replaces the personal data of a person who forbade processing of their profile."""

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
UNIX_SECONDS_RANGE = (0, 4_102_444_800)
"""Unix seconds accepted as a time: from 1970-01-01 up to (not including) 2100-01-01 UTC."""

MALE, FEMALE = "male", "female"
GENDERS: dict[str, str] = {"male": MALE, "мужской": MALE, "female": FEMALE, "женский": FEMALE}
"""Gender as Avito writes it (the API's enum ``male|female``, the display strings of resumes and
of the official application example) -> ``male`` / ``female``. Anything else becomes None: the
column feeds aggregates, and the raw value stays in ``payload``."""

_FULL_NAME_ORDER = ("last_name", "first_name", "patronymic")
_OFFSET_RE = r"(?:[zZ]|[+-]\d{2}:?\d{2})$"


def table_columns(table: Table) -> tuple[str, ...]:
    """Key + data columns of ``table``, in declared order: the columns of its transformed frame."""
    return tuple(key_columns(table) + data_columns(table))


def frame_dtypes(table: Table, columns: Iterable[str]) -> dict[str, Any]:
    """The dtype of each of ``columns`` in a transformed frame, from the column types of ``table``."""
    dtypes: dict[str, Any] = {}
    for name in columns:
        kind = table.c[name].type
        if isinstance(kind, DateTime):
            dtypes[name] = "datetime64[us, UTC]"
        elif isinstance(kind, Integer):  # BigInteger too
            dtypes[name] = "Int64"
        elif isinstance(kind, Numeric):
            dtypes[name] = "float64"
        else:
            dtypes[name] = object
    return dtypes


class RecordError(ValueError):
    """A record that cannot become a row; ``rule`` is the short machine name of the broken rule."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.rule = rule
        self.reason = reason


_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u2060\ufeff"))


def normalize_text(value: str) -> str:
    """Whitespace-normalize a display text (employer or vacancy name).

    Args:
        value: the text as published.

    Returns:
        The NFKC form with zero-width spaces removed, every run of Unicode whitespace (NBSP included)
        turned into one plain space, stripped at both ends.
    """
    return " ".join(unicodedata.normalize("NFKC", value).translate(_ZERO_WIDTH).split())


# --- field readers: a value or a RecordError with the rule ------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def text_of(value: Any) -> str | None:
    """A display text whitespace-normalized (:func:`normalize_text`); None when blank."""
    return (normalize_text(value) or None) if value else None


def optional_text(obj: dict[str, Any], key: str, rule: str | None = None, *, where: str = "") -> str | None:
    """``obj[key]`` when it is a string (None when missing or empty); RecordError ``bad_<key>`` otherwise."""
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value or None
    raise RecordError(rule or f"bad_{key}", f"{where}{key} is {value!r}, not a string")


def optional_int(obj: dict[str, Any], key: str, rule: str | None = None, *, where: str = "") -> int | None:
    """``obj[key]`` when it is an integer in the int64 range (None when missing)."""
    value = obj.get(key)
    if value is None or (_is_int(value) and INT64_MIN <= value <= INT64_MAX):
        return value
    raise RecordError(rule or f"bad_{key}", f"{where}{key} is {value!r}, not a 64-bit integer")


def optional_bool(obj: dict[str, Any], key: str, rule: str | None = None, *, where: str = "") -> bool | None:
    """``obj[key]`` when it is a boolean (None when missing)."""
    value = obj.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise RecordError(rule or f"bad_{key}", f"{where}{key} is {value!r}, not a boolean")


def optional_dict(obj: dict[str, Any], key: str, rule: str | None = None, *, where: str = "") -> dict[str, Any] | None:
    """``obj[key]`` when it is an object (None when missing)."""
    value = obj.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise RecordError(rule or f"bad_{key}", f"{where}{key} is {value!r}, not an object")


def optional_list(obj: dict[str, Any], key: str, rule: str | None = None, *, where: str = "") -> list[Any] | None:
    """``obj[key]`` when it is a list (None when missing)."""
    value = obj.get(key)
    if value is None or isinstance(value, list):
        return value
    raise RecordError(rule or f"bad_{key}", f"{where}{key} is {value!r}, not a list")


def id_text(value: Any, what: str = "id") -> str:
    """A record id (a non-blank string, or an integer) as stripped text.

    Raises:
        RecordError: ``missing_<what>`` when it is None or blank, ``bad_<what>`` for other types.
    """
    if isinstance(value, str):
        if len(value) > MAX_KEY_LENGTH:
            raise RecordError(f"bad_{what}", f"{what} is {len(value)} characters long, longer than any id")
        if value.strip():
            return value.strip()
    elif _is_int(value):
        return str(value)
    elif value is not None:
        raise RecordError(f"bad_{what}", f"{what} is {value!r}, not a string or an integer")
    raise RecordError(f"missing_{what}", f"the payload has no {what}")


def unix_seconds(obj: dict[str, Any], key: str, rule: str | None = None, *, where: str = "") -> float | None:
    """``obj[key]`` as unix seconds (a finite number; None when missing).

    The range is checked for the whole batch by :func:`unix_timestamps`.
    """
    value = obj.get(key)
    if value is None:
        return None
    if (_is_int(value) or isinstance(value, float)) and math.isfinite(value):
        return float(value)
    raise RecordError(rule or f"bad_{key}", f"{where}{key} is {value!r}, not unix seconds")


def gender(value: Any) -> str | None:
    """``male`` / ``female`` from Avito's spellings (:data:`GENDERS`); None for anything else."""
    return GENDERS.get(value.strip().casefold()) if isinstance(value, str) else None


def person_name(name: Any, full_name: Any, *, rule: str, where: str) -> str | None:
    """A person's display name: ``name`` normalized, else built from ``full_name``.

    ``full_name`` ``{first_name, last_name, patronymic}`` is joined in the Russian order of the
    official examples ("Иванов Иван Иванович"): last name, first name, patronymic, missing parts
    skipped.

    Raises:
        RecordError: ``rule`` when ``name`` is not a string or ``full_name`` not an object of strings.
    """
    if name is not None and not isinstance(name, str):
        raise RecordError(rule, f"{where}name is {name!r}, not a string")
    if text := text_of(name):
        return text
    if full_name is None:
        return None
    parts = [full_name.get(k) for k in _FULL_NAME_ORDER] if isinstance(full_name, dict) else None
    if parts is None or not all(p is None or isinstance(p, str) for p in parts):
        raise RecordError(rule, f"{where}full_name is {full_name!r}, not an object of strings")
    return text_of(" ".join(p for p in parts if p))


def as_utc(moment: datetime) -> datetime:
    """A datetime with a time zone (naive = UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def parse_date(value: Any) -> date | None:
    """A ``YYYY-MM-DD`` string as a date; None when it is not one."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


# --- vectorized timestamps -----------------------------------------------------------------------


def unix_timestamps(values: pd.Series) -> pd.Series:
    """Unix seconds (floats, NaN when missing) to UTC timestamps; NaT when missing or out of range.

    The range is 1970 to 2100 (:data:`UNIX_SECONDS_RANGE`): milliseconds sent by mistake fall
    outside it instead of becoming a date in the year 55 000.
    """
    seconds = pd.Series(values, dtype="float64")
    low, high = UNIX_SECONDS_RANGE
    seconds = seconds.where((seconds >= low) & (seconds < high))
    parsed = pd.to_datetime(seconds, unit="s", utc=True, errors="coerce")
    return parsed.astype("datetime64[us, UTC]")


def rfc3339_timestamps(values: pd.Series) -> pd.Series:
    """RFC 3339 strings with an offset to UTC timestamps (fractions of a second kept to the µs).

    ``2026-07-17T12:57:12.38374+03:00`` and ``2026-07-17T10:31:10Z`` both parse; a string without
    an offset (ambiguous: Moscow time or UTC?), an unparsable one or a missing one gives NaT.
    """
    text = pd.Series(values, dtype=object)
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce").astype("datetime64[us, UTC]")
    has_offset = text.str.contains(_OFFSET_RE, regex=True).fillna(False).astype(bool)
    return parsed.where(has_offset.to_numpy(), pd.NaT)


# --- the batch pass -----------------------------------------------------------------------------


def _order_key(fetched_at: Any) -> float:
    """Seconds since the epoch of ``fetched_at`` (naive = UTC); -inf when it is not a datetime."""
    return as_utc(fetched_at).timestamp() if isinstance(fetched_at, datetime) else -math.inf


class RecordPass:
    """The rows of a batch read by ``read`` and the rejections so far.

    Args:
        records: the raw records.
        read: one record -> a dict with every column of ``columns``; raises :class:`RecordError`.
        columns: the columns ``read`` returns (its flat, pre-vectorized view).

    ``frame`` holds one row per record that ``read`` accepted, object columns, labels ``0..n-1``,
    plus ``_pos`` (input position) and ``_order`` (fetch time, for duplicates).
    """

    def __init__(
        self,
        records: Sequence[RawRecord],
        read: Callable[[RawRecord], dict[str, Any]],
        columns: Sequence[str],
    ) -> None:
        self.records = records
        self.rejected: dict[int, Rejection] = {}
        rows: list[dict[str, Any]] = []
        positions: list[int] = []
        for pos, record in enumerate(records):
            try:
                row = read(record)
                if unstorable := unstorable_text(record.payload, record.meta):
                    raise RecordError(UNSTORABLE, f"{unstorable}, which PostgreSQL cannot store")
                rows.append(row)
            except RecordError as exc:
                self.rejected[pos] = Rejection(record, stage=STAGE, rule=exc.rule, reason=exc.reason)
                continue
            positions.append(pos)
        self.frame = pd.DataFrame({c: pd.Series([row[c] for row in rows], dtype=object) for c in columns})
        self.frame["_pos"] = pd.Series(positions, dtype="int64")
        self.frame["_order"] = pd.Series([_order_key(records[p].fetched_at) for p in positions], dtype="float64")

    def reject(self, labels: Iterable[int], rule: str, reason: Callable[[int], str]) -> None:
        """Reject the rows (labels of ``frame``) not rejected yet; ``reason`` gets the label."""
        positions = self.frame["_pos"]
        for label in labels:
            pos = int(positions[label])
            if pos not in self.rejected:
                self.rejected[pos] = Rejection(self.records[pos], stage=STAGE, rule=rule, reason=reason(label))

    def parse(self, column: str, parse: Callable[[pd.Series], pd.Series], rule: str, what: str) -> None:
        """Replace ``column`` by ``parse`` of it; reject the rows whose value is present but unparsable."""
        raw = self.frame[column]
        parsed = parse(raw)
        bad = np.flatnonzero((parsed.isna() & raw.notna()).to_numpy())
        self.reject(bad, rule, lambda i: f"{column} {raw[i]!r} is not {what}")
        self.frame[column] = parsed

    def valid(self) -> np.ndarray:
        """A boolean mask of the rows of ``frame`` that are not rejected."""
        return ~self.frame["_pos"].isin(list(self.rejected)).to_numpy()

    def reject_duplicates(self, key: str, entity: str) -> np.ndarray:
        """Reject all but the winner of each ``key`` among the valid rows; return the kept mask.

        The winner is the latest fetched (then the later in the input); see the module doc.
        """
        ranked = self.frame.loc[self.valid(), [key, "_order", "_pos"]].sort_values(["_order", "_pos"], kind="stable")
        superseded = ranked.duplicated(key, keep="last")
        winner = ranked.drop_duplicates(key, keep="last").set_index(key)["_pos"]
        keys = ranked[key]
        self.reject(
            superseded.index[superseded.to_numpy()],
            "duplicate_in_batch",
            lambda i: (
                f"{entity} {keys[i]} is superseded by a later record of it in the batch "
                f"(input position {winner[keys[i]]})"
            ),
        )
        return self.valid()

    def rejections(self) -> list[Rejection]:
        """One rejection per rejected record, in input order."""
        return [self.rejected[pos] for pos in sorted(self.rejected)]


def finish(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """``frame`` cut to the key + data columns of ``table``, with their dtypes, labels ``0..n-1``."""
    columns = list(table_columns(table))
    return frame.loc[:, columns].astype(frame_dtypes(table, columns)).reset_index(drop=True)
