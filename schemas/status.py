"""The one status vocabulary of applications and negotiations, whatever their source.

Order matters: it is the funnel, from the first response to the end of the process.
"""

from __future__ import annotations

from collections.abc import Mapping

APPLIED = "applied"
VIEWED = "viewed"
INTERVIEW = "interview"
OFFER = "offer"
HIRED = "hired"
REJECTED = "rejected"
ARCHIVED = "archived"
UNKNOWN = "unknown"  # a source state we have no mapping for: kept, flagged by the quality checks

CANONICAL_STATUSES: tuple[str, ...] = (APPLIED, VIEWED, INTERVIEW, OFFER, HIRED, REJECTED, ARCHIVED, UNKNOWN)


# --- what each source's states mean ---------------------------------------------------------------
# (lookup form: stripped, lower case, single spaces, е for ё; see tasks/sync/status.py)

AVITO_APPLICATION = "avito_application"
HH_APPLICANT = "hh_applicant"
HH_EMPLOYER = "hh_employer"
MANUAL = "manual"

AVITO_APPLICATION_STATES: dict[str, str] = {
    "new": APPLIED,
    "inprocess": VIEWED,
    "interview": INTERVIEW,
    "selected": OFFER,
    "rejected": REJECTED,
    "archive": ARCHIVED,
}
"""Avito application ``state`` slug -> canonical status (``new`` + ``is_viewed``: see the module doc)."""

AVITO_NEW = "new"
"""The one Avito slug that ``is_viewed`` upgrades to viewed."""

HH_APPLICANT_STATES: dict[str, str] = {
    "response": APPLIED,
    "invitation": INTERVIEW,
    "interview": INTERVIEW,
    "offer": OFFER,
    "hired": HIRED,
    "discard": REJECTED,
    "discard_after_interview": REJECTED,
    "hidden": ARCHIVED,
}
"""hh.ru negotiation ``state.id`` as the applicant sees it -> canonical status."""

HH_MESSAGE_STATES_WITHOUT_CHANGE: frozenset[str] = frozenset({"text"})
"""hh.ru message ``state.id`` values that leave the negotiation's status as it was."""

HH_EMPLOYER_STATES: dict[str, str] = {
    "response": APPLIED,
    "consider": VIEWED,
    "invitation": INTERVIEW,
    "phone_interview": INTERVIEW,
    "assessment": INTERVIEW,
    "interview": INTERVIEW,
    "offer": OFFER,
    "hired": HIRED,
    "discard": REJECTED,
    "discard_by_employer": REJECTED,
    "discard_after_interview": REJECTED,
    "discard_no_interaction": REJECTED,
    "discard_to_other_vacancy": REJECTED,
    "discard_vacancy_closed": REJECTED,
}
"""hh.ru ``employer_state.id`` -> canonical status."""

MANUAL_STATES: dict[str, str] = {
    **{status: status for status in (APPLIED, VIEWED, INTERVIEW, OFFER, HIRED, REJECTED, ARCHIVED)},
    **HH_APPLICANT_STATES,
    "отклик": APPLIED,
    "откликнулся": APPLIED,
    "откликнулась": APPLIED,
    "не просмотрен": APPLIED,
    "просмотрен": VIEWED,
    "просмотрено": VIEWED,
    "просмотрена": VIEWED,
    "приглашение": INTERVIEW,
    "собеседование": INTERVIEW,
    "интервью": INTERVIEW,
    "тестовое": INTERVIEW,
    "тестовое задание": INTERVIEW,
    "оффер": OFFER,
    "предложение": OFFER,
    "выход на работу": HIRED,
    "принят": HIRED,
    "принята": HIRED,
    "отказ": REJECTED,
    "отклонен": REJECTED,
    "отклонено": REJECTED,
    "отклонена": REJECTED,
    "архив": ARCHIVED,
    "в архиве": ARCHIVED,
}
"""Status label of a manual responses file (lookup form: lower case, single spaces, ``е`` for ``ё``)
-> canonical status."""

VOCABULARIES: Mapping[str, Mapping[str, str]] = {
    AVITO_APPLICATION: AVITO_APPLICATION_STATES,
    HH_APPLICANT: HH_APPLICANT_STATES,
    HH_EMPLOYER: HH_EMPLOYER_STATES,
    MANUAL: MANUAL_STATES,
}
"""Source vocabulary name -> its mapping table."""
