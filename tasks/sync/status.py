"""Source states to the canonical status vocabulary (:mod:`schemas.status`), one table per source.

Every source vocabulary is a plain dict from the source's state id to a canonical status. A state a
table does not list (a new slug, a typo, None, a number) maps to ``unknown``: the record is kept, never
dropped and never an exception, and the quality checks flag the ``unknown`` rows. Lookups ignore case
and surrounding whitespace (the hh spec itself writes ``PHONE_INTERVIEW`` in its mail templates and
``phone_interview`` elsewhere); runs of inner whitespace count as one space and ``ё`` as ``е`` (people
type ``Выход  на работу`` and ``Отклонён``).

Avito application ``state`` slugs (``GET /job/v1/applications/get_states``), :data:`AVITO_APPLICATION_STATES`
    ``new`` (Новый кандидат) -> applied, or viewed when ``is_viewed`` (below); ``inprocess`` (Может
    подойти) -> viewed; ``interview`` (Собеседование) -> interview; ``selected`` (Приглашение на
    работу) -> offer; ``rejected`` (Отказ) -> rejected; ``archive`` (Архив) -> archived.

    * ``inprocess`` -> viewed: the employer has opened the application and put it aside as "may fit",
      but nobody has been invited yet; the funnel step that says "seen, under consideration" is
      viewed, not interview.
    * ``selected`` -> offer: "invitation to work" is the employer's offer; Avito has no state for the
      candidate actually starting, so nothing maps to hired.
    * ``new`` with ``is_viewed`` true -> viewed (:func:`avito_application_status`): Avito leaves an
      application ``new`` until the employer moves it, while ``is_viewed`` says it was opened. Only
      ``new`` is upgraded; every other slug is already past viewed (or out of the funnel).

hh.ru applicant ``state.id`` (dictionary ``negotiations_state``), :data:`HH_APPLICANT_STATES`
    response -> applied; invitation, interview -> interview; offer -> offer; hired -> hired;
    discard, discard_after_interview -> rejected; hidden -> archived.
    ``text`` is the state of a plain chat message: such a message does not change its negotiation
    (:data:`HH_MESSAGE_STATES_WITHOUT_CHANGE`, for the negotiation transform to skip), and a
    negotiation whose own state is ``text`` gets ``unknown`` like any other unlisted state.

hh.ru ``employer_state`` ids, :data:`HH_EMPLOYER_STATES`
    response -> applied; consider -> viewed; invitation, phone_interview, assessment, interview ->
    interview; offer -> offer; hired -> hired; discard, discard_by_employer, discard_after_interview,
    discard_no_interaction, discard_to_other_vacancy, discard_vacancy_closed -> rejected.
    That is every id the spec (``openapi-2026-02.yml``) shows as an ``employer_state``, a
    ``resulting_employer_state`` or an entry of ``employer_states``, plus the last three discard ids,
    which the spec does not show (kept from the project's list, unverified). The spec says the list
    depends on the vacancy and the employer, so unlisted ids are expected and come out ``unknown``.
    ``discard_after_response`` and ``quick_discard_after_response`` are actions (they lead to
    ``discard_by_employer``), not states.

The status labels of an applicant's own spreadsheet of responses (manual import), :data:`MANUAL_STATES`
    the canonical names themselves (applied, viewed, ...), the hh.ru applicant ``state.id`` values
    above, and the Russian labels people write: Отклик, Откликнулся/Откликнулась, Не просмотрен ->
    applied; Просмотрен(о/а) -> viewed; Приглашение, Собеседование, Интервью, Тестовое (задание) ->
    interview (a test assignment is a step of the selection, like hh's employer state ``assessment``);
    Оффер, Предложение -> offer; Выход на работу, Принят(а) -> hired; Отказ, Отклонен(о/а) -> rejected;
    Архив, В архиве -> archived. Any other label is ``unknown``: the row is loaded and counted as such.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from schemas.status import (
    AVITO_APPLICATION,
    AVITO_NEW,
    UNKNOWN,
    VIEWED,
    VOCABULARIES,
)


def _table(vocabulary: str) -> Mapping[str, str]:
    try:
        return VOCABULARIES[vocabulary]
    except (KeyError, TypeError):
        raise ValueError(f"unknown status vocabulary {vocabulary!r}; expected one of {sorted(VOCABULARIES)}") from None


def _key(state: Any) -> str | None:
    """The lookup form of a state: stripped, lower-cased, inner whitespace runs as one space, ``ё`` as
    ``е``; None for anything but a string."""
    return " ".join(state.split()).lower().replace("ё", "е") if isinstance(state, str) else None


def _lookup(table: Mapping[str, str], state: Any) -> str:
    key = _key(state)
    return UNKNOWN if key is None else table.get(key, UNKNOWN)


def _per_distinct_value(series: pd.Series, function: Callable[[Any], Any], missing: Any) -> np.ndarray:
    """``function`` of every value of ``series``, computed once per distinct value.

    None/NaN get ``missing``; unhashable values (lists, dicts) fall back to one call per row.
    """
    try:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    except TypeError:
        return np.array([missing if v is None else function(v) for v in series], dtype=object)
    # the last entry serves the NA sentinel (-1)
    return np.array([*(function(u) for u in uniques), missing], dtype=object)[codes]


def canonical_status(source_vocabulary: str, state: Any) -> str:
    """The canonical status of one source state.

    Args:
        source_vocabulary: :data:`AVITO_APPLICATION`, :data:`HH_APPLICANT`, :data:`HH_EMPLOYER` or
            :data:`MANUAL`.
        state: the source's state id, as sent (any value: None, numbers and lists give ``unknown``).

    Returns:
        One of :data:`schemas.status.CANONICAL_STATUSES`; ``unknown`` for a state the table lacks.

    Raises:
        ValueError: ``source_vocabulary`` is not a known vocabulary name (a programming error; no
            state value ever raises).
    """
    return _lookup(_table(source_vocabulary), state)


def map_statuses(series: pd.Series, vocabulary: str) -> pd.Series:
    """:func:`canonical_status` over a whole column.

    Each distinct state is looked up once and the results are spread back by position.

    Args:
        series: source states (any dtype; None/NaN and non-strings give ``unknown``).
        vocabulary: as for :func:`canonical_status`.

    Returns:
        An object series of canonical statuses with the index and name of ``series``.

    Raises:
        ValueError: an unknown vocabulary name.
    """
    table = _table(vocabulary)
    statuses = _per_distinct_value(series, lambda state: _lookup(table, state), UNKNOWN)
    return pd.Series(statuses, index=series.index, name=series.name, dtype=object)


def avito_application_status(state: Any, is_viewed: Any) -> str:
    """The canonical status of an Avito application.

    Args:
        state: the application's ``state`` slug.
        is_viewed: the application's ``is_viewed`` flag (only ``True`` counts).

    Returns:
        ``viewed`` for a ``new`` application the employer has opened, else the mapping of ``state``
        (``unknown`` when unmapped).
    """
    if is_viewed is True and _key(state) == AVITO_NEW:
        return VIEWED
    return canonical_status(AVITO_APPLICATION, state)


def map_avito_application_statuses(states: pd.Series, is_viewed: pd.Series) -> pd.Series:
    """:func:`avito_application_status` over whole columns, aligned by position.

    Args:
        states: ``state`` slugs.
        is_viewed: the ``is_viewed`` flags, as long as ``states`` (only ``True`` counts).

    Returns:
        An object series of canonical statuses with the index and name of ``states``.
    """
    if len(states) != len(is_viewed):
        raise ValueError(f"{len(states)} states but {len(is_viewed)} is_viewed flags")
    statuses = map_statuses(states, AVITO_APPLICATION)
    new = _per_distinct_value(states, lambda state: _key(state) == AVITO_NEW, False).astype(bool)
    viewed = np.fromiter((flag is True for flag in is_viewed), dtype=bool, count=len(is_viewed))
    statuses[new & viewed] = VIEWED
    return statuses


HISTORY_COLUMNS: tuple[str, ...] = ("source", "entity", "record_id", "state", "status", "changed_at")
"""The ``status_history`` columns a transform fills (the loader adds the id, observation time and run)."""


def history_frame(
    source: str, entity: str, record_ids: pd.Series, states: pd.Series, statuses: pd.Series, changed_at: pd.Series
) -> pd.DataFrame:
    """One ``status_history`` row per record: its source state, canonical status and the source's
    time of the change, aligned on the index of ``record_ids``."""
    return pd.DataFrame(
        {
            "source": source,
            "entity": entity,
            "record_id": record_ids,
            "state": states,
            "status": statuses,
            "changed_at": changed_at,
        },
        index=record_ids.index,
    ).loc[:, list(HISTORY_COLUMNS)]


def current_states(source: str, entity: str, rows: pd.DataFrame, key: str) -> pd.DataFrame:
    """One typed ``status_history`` row per transformed row: its ``state`` and ``status`` at the
    source's time of its last change (``updated_at``); the loader keeps those that changed."""
    from schemas.tables import status_history
    from tasks.sync.transform import frame_dtypes

    history = history_frame(source, entity, rows[key], rows["state"], rows["status"], rows["updated_at"])
    return history.astype(frame_dtypes(status_history, HISTORY_COLUMNS))
