"""The mapping of source states to the canonical statuses."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from schemas.status import (
    AVITO_APPLICATION,
    AVITO_APPLICATION_STATES,
    CANONICAL_STATUSES,
    HH_APPLICANT,
    HH_APPLICANT_STATES,
    HH_EMPLOYER,
    HH_EMPLOYER_STATES,
    HH_MESSAGE_STATES_WITHOUT_CHANGE,
    VOCABULARIES,
)
from tasks.sync.status import avito_application_status, canonical_status, map_avito_application_statuses, map_statuses

AVITO_CASES = [
    ("new", "applied"),
    ("inprocess", "viewed"),
    ("interview", "interview"),
    ("selected", "offer"),
    ("rejected", "rejected"),
    ("archive", "archived"),
]

HH_APPLICANT_CASES = [
    ("response", "applied"),
    ("invitation", "interview"),
    ("interview", "interview"),
    ("offer", "offer"),
    ("hired", "hired"),
    ("discard", "rejected"),
    ("discard_after_interview", "rejected"),
    ("hidden", "archived"),
    ("text", "unknown"),  # a message-only state: a negotiation in it is unknown
]

HH_EMPLOYER_CASES = [
    ("response", "applied"),
    ("consider", "viewed"),
    ("invitation", "interview"),
    ("phone_interview", "interview"),
    ("assessment", "interview"),
    ("interview", "interview"),
    ("offer", "offer"),
    ("hired", "hired"),
    ("discard", "rejected"),
    ("discard_by_employer", "rejected"),
    ("discard_after_interview", "rejected"),
    ("discard_no_interaction", "rejected"),
    ("discard_to_other_vacancy", "rejected"),
    ("discard_vacancy_closed", "rejected"),
]

# Every employer_state id the hh spec (openapi-2026-02.yml) shows, as employer_state,
# resulting_employer_state or an employer_states entry.
SPEC_EMPLOYER_STATE_IDS = {
    "response",
    "consider",
    "phone_interview",
    "assessment",
    "interview",
    "offer",
    "hired",
    "discard_by_employer",
    "invitation",
    "discard",
    "discard_after_interview",
}

ODD_STATES: list[Any] = [None, "", "  ", "brand_new_state", 42, 4.2, True, float("nan"), ["new"], {"id": "new"}]


@pytest.mark.parametrize(("state", "status"), AVITO_CASES)
def test_avito_application_states(state: str, status: str) -> None:
    assert canonical_status(AVITO_APPLICATION, state) == status
    assert avito_application_status(state, False) == status


@pytest.mark.parametrize(("state", "status"), HH_APPLICANT_CASES)
def test_hh_applicant_states(state: str, status: str) -> None:
    assert canonical_status(HH_APPLICANT, state) == status


@pytest.mark.parametrize(("state", "status"), HH_EMPLOYER_CASES)
def test_hh_employer_states(state: str, status: str) -> None:
    assert canonical_status(HH_EMPLOYER, state) == status


def test_the_tables_are_exactly_the_listed_cases() -> None:
    assert AVITO_APPLICATION_STATES == dict(AVITO_CASES)
    assert HH_APPLICANT_STATES == {s: c for s, c in HH_APPLICANT_CASES if s != "text"}
    assert HH_EMPLOYER_STATES == dict(HH_EMPLOYER_CASES)
    assert SPEC_EMPLOYER_STATE_IDS <= set(HH_EMPLOYER_STATES)


def test_every_mapping_targets_the_canonical_vocabulary() -> None:
    for table in VOCABULARIES.values():
        assert set(table.values()) <= set(CANONICAL_STATUSES) - {"unknown"}


def test_text_messages_do_not_change_a_negotiation() -> None:
    assert "text" in HH_MESSAGE_STATES_WITHOUT_CHANGE
    assert "text" not in HH_APPLICANT_STATES


@pytest.mark.parametrize(("is_viewed", "status"), [(True, "viewed"), (False, "applied"), (None, "applied")])
def test_a_new_avito_application_the_employer_opened_is_viewed(is_viewed: Any, status: str) -> None:
    assert avito_application_status("new", is_viewed) == status


@pytest.mark.parametrize(("state", "status"), [(s, c) for s, c in AVITO_CASES if s != "new"])
def test_is_viewed_only_upgrades_new(state: str, status: str) -> None:
    assert avito_application_status(state, True) == status


def test_is_viewed_must_be_true_not_truthy() -> None:
    assert avito_application_status("new", 1) == "applied"
    assert avito_application_status("new", "yes") == "applied"


@pytest.mark.parametrize("vocabulary", sorted(VOCABULARIES))
@pytest.mark.parametrize("state", ODD_STATES, ids=repr)
def test_anything_unmapped_is_unknown_and_never_raises(vocabulary: str, state: Any) -> None:
    assert canonical_status(vocabulary, state) == "unknown"
    assert avito_application_status(state, True) == "unknown"


@pytest.mark.parametrize(
    ("vocabulary", "state", "status"),
    [
        (AVITO_APPLICATION, " New ", "applied"),
        (HH_EMPLOYER, "PHONE_INTERVIEW", "interview"),  # as the spec's mail templates write it
        (HH_APPLICANT, "Discard\n", "rejected"),
    ],
)
def test_lookups_ignore_case_and_surrounding_space(vocabulary: str, state: str, status: str) -> None:
    assert canonical_status(vocabulary, state) == status


def test_an_unknown_vocabulary_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="vocabulary"):
        canonical_status("avito_chat", "new")
    with pytest.raises(ValueError, match="vocabulary"):
        map_statuses(pd.Series(["new"]), "avito_chat")


# --- vectorized ---------------------------------------------------------------------------------


@pytest.mark.parametrize("vocabulary", sorted(VOCABULARIES))
def test_vectorized_equals_scalar(vocabulary: str) -> None:
    states = [s for s, _ in AVITO_CASES + HH_APPLICANT_CASES + HH_EMPLOYER_CASES] + ODD_STATES[:-2]
    series = pd.Series(states * 2, index=range(100, 100 + 2 * len(states)), name="state", dtype=object)
    mapped = map_statuses(series, vocabulary)
    assert mapped.tolist() == [canonical_status(vocabulary, s) for s in series]
    assert mapped.index.equals(series.index) and mapped.name == "state"
    assert mapped.dtype == object


def test_vectorized_handles_unhashable_values() -> None:
    series = pd.Series([["new"], "new", {"a": 1}, None], dtype=object)
    assert map_statuses(series, AVITO_APPLICATION).tolist() == ["unknown", "applied", "unknown", "unknown"]


@pytest.mark.parametrize(
    "series",
    [
        pd.Series([], dtype=object),
        pd.Series(["new", None, "archive"], dtype="str"),  # pandas' string dtype
        pd.Series([np.nan, np.nan]),
        pd.Series([1, 2, 3]),
    ],
    ids=["empty", "str", "all_nan", "ints"],
)
def test_vectorized_on_any_dtype(series: pd.Series) -> None:
    mapped = map_statuses(series, AVITO_APPLICATION)
    assert mapped.tolist() == [canonical_status(AVITO_APPLICATION, s) for s in series.astype(object)]


def test_vectorized_avito_statuses_equal_scalar() -> None:
    states = ["new", "new", "new", "inprocess", "archive", "bogus", None, " NEW "]
    viewed = [True, False, None, True, True, True, True, True]
    mapped = map_avito_application_statuses(pd.Series(states, dtype=object), pd.Series(viewed, dtype=object))
    assert mapped.tolist() == [avito_application_status(s, v) for s, v in zip(states, viewed, strict=True)]
    assert mapped.tolist() == ["viewed", "applied", "applied", "viewed", "archived", "unknown", "unknown", "viewed"]


def test_vectorized_avito_statuses_accept_a_boolean_column() -> None:
    mapped = map_avito_application_statuses(pd.Series(["new", "new"]), pd.Series([True, False], dtype=bool))
    assert mapped.tolist() == ["viewed", "applied"]


def test_vectorized_avito_statuses_need_aligned_columns() -> None:
    with pytest.raises(ValueError, match="is_viewed"):
        map_avito_application_statuses(pd.Series(["new"]), pd.Series([True, False]))
