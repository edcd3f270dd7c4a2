"""Employer normalization for hh.ru vacancies.

* Display name (:func:`normalize_text`): Unicode NFKC (turns NBSP, narrow NBSP, thin and other
  compatibility spaces into plain spaces), zero-width spaces removed, every run of whitespace
  collapsed to one space, stripped.
* Canonical name (:func:`canonical_name`), for matching only: the display name casefolded, the quotes
  in :data:`QUOTES` replaced by spaces, the legal forms in :data:`LEGAL_FORMS` removed when they
  stand as whole words (an optional trailing dot included, so ``Ltd.`` goes too), whitespace
  collapsed and separators left dangling at either end (``,`` ``.`` ``-``) stripped. When nothing
  is left (a name that is only a legal form, say ``ООО``), the casefolded display name is used.
* Key (:func:`employer_key`): ``hh:<id>`` when hh gives the employer an id. Anonymous vacancies have
  no employer id and several share a name ("Крупная российская компания"), so they get the stable
  surrogate ``hh:anon:<first 16 hex digits of sha256(canonical name)>`` and ``is_anonymous`` true:
  equal canonical names share a key, different ones do not (up to a 64-bit hash collision).
* ``trusted`` and ``accredited_it`` (from ``accredited_it_employer``) are booleans or None when hh
  does not say.

The output of :func:`normalize_employer` is one row of the ``employers`` table
(:data:`EMPLOYER_COLUMNS`).
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Any

from schemas.tables import data_columns, employers, key_columns
from tasks.sync.transform import normalize_text

SOURCE = "hh"

EMPLOYER_COLUMNS: tuple[str, ...] = tuple(key_columns(employers) + data_columns(employers))
"""Key + data columns of the ``employers`` table, in declared order."""

QUOTES = "«»\"'“”„‘’‚‹›"
"""Quote characters dropped from canonical names (ASCII, typographic, guillemets)."""

LEGAL_FORMS: tuple[str, ...] = ("ооо", "ао", "пао", "зао", "оао", "ип", "llc", "ltd")
"""Legal forms dropped from canonical names when they stand as whole words (casefolded)."""

ANON_HASH_HEX_DIGITS = 16

_QUOTES = str.maketrans(dict.fromkeys(QUOTES, " "))
_LEGAL_FORMS_RE = re.compile(r"(?<!\w)(?:" + "|".join(LEGAL_FORMS) + r")\.?(?!\w)")
_EDGE_SEPARATORS = " ,.-–—"


class EmployerError(ValueError):
    """An employer object with wrongly typed or missing fields (rule ``bad_employer``)."""


@lru_cache(maxsize=65536)
@lru_cache(maxsize=65536)
def canonical_name(name: str) -> str:
    """The form of an employer name used for matching.

    Args:
        name: the employer name as published or already normalized.

    Returns:
        The casefolded name without quotes and whole-word legal forms, whitespace collapsed; the
        casefolded display name when that would leave nothing.
    """
    folded = normalize_text(name).casefold()
    stripped = _LEGAL_FORMS_RE.sub(" ", folded.translate(_QUOTES))
    canonical = " ".join(stripped.split()).strip(_EDGE_SEPARATORS)
    return canonical or folded


def anonymous_key(canonical: str) -> str:
    """The surrogate key of an employer without an id.

    Args:
        canonical: the canonical name (:func:`canonical_name`).

    Returns:
        ``hh:anon:`` followed by the first 16 hex digits of the SHA-256 of the UTF-8 canonical name.
    """
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{SOURCE}:anon:{digest[:ANON_HASH_HEX_DIGITS]}"


def employer_key(source_id: str | None, canonical: str) -> str:
    """``hh:<id>`` when the employer has an id, else :func:`anonymous_key` of the canonical name.

    Args:
        source_id: hh's employer id, or None for anonymous employers.
        canonical: the canonical name.

    Returns:
        The natural key of the ``employers`` table.
    """
    return f"{SOURCE}:{source_id}" if source_id is not None else anonymous_key(canonical)


def _optional_bool(employer: dict[str, Any], field: str) -> bool | None:
    value = employer.get(field)
    if value is None or isinstance(value, bool):
        return value
    raise EmployerError(f"employer.{field} is {value!r}, not a boolean")


def normalize_employer(employer: dict[str, Any]) -> dict[str, Any]:
    """Turn the ``employer`` object of a vacancy into a row of the ``employers`` table.

    Args:
        employer: hh's employer object ``{id|null, name, alternate_url, trusted,
            accredited_it_employer, ...}``.

    Returns:
        A dict with exactly :data:`EMPLOYER_COLUMNS`: ``employer_key``, ``source`` "hh",
        ``source_id`` (the id as str, None when anonymous), ``name`` (normalized), ``canonical_name``,
        ``is_anonymous``, ``trusted``, ``accredited_it``, ``alternate_url``.

    Raises:
        EmployerError: the object is not a mapping, the name is missing, blank or not a string, the
            id is not a string or integer, a flag is not a boolean or the URL not a string.
    """
    if not isinstance(employer, dict):
        raise EmployerError(f"employer is {employer!r}, not an object")
    raw_name = employer.get("name")
    if not isinstance(raw_name, str):
        raise EmployerError(f"employer.name is {raw_name!r}, not a string")
    name = normalize_text(raw_name)
    if not name:
        raise EmployerError("employer.name is blank")

    raw_id = employer.get("id")
    if raw_id is None or raw_id == "":
        source_id = None
    elif isinstance(raw_id, str) or (isinstance(raw_id, int) and not isinstance(raw_id, bool)):
        source_id = str(raw_id).strip() or None
    else:
        raise EmployerError(f"employer.id is {raw_id!r}, not a string")

    url = employer.get("alternate_url")
    if url is not None and not isinstance(url, str):
        raise EmployerError(f"employer.alternate_url is {url!r}, not a string")

    canonical = canonical_name(name)
    return {
        "employer_key": employer_key(source_id, canonical),
        "source": SOURCE,
        "source_id": source_id,
        "name": name,
        "canonical_name": canonical,
        "is_anonymous": source_id is None,
        "trusted": _optional_bool(employer, "trusted"),
        "accredited_it": _optional_bool(employer, "accredited_it_employer"),
        "alternate_url": url or None,
    }
