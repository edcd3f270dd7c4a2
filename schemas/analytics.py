"""The analytics views for BI tools, declared once as SQLAlchemy Core selects.

They live in the PostgreSQL schema ``analytics`` and are (re)created after every migration by
``tasks.analytics.views.create_views``; the report (``tasks.analytics.report``) reads nothing but them.

Definitions every view shares:

* A *response* (отклик) is an hh.ru negotiation (source ``hh_<origin>``: employer, applicant, manual)
  or an Avito application (source ``avito``).
* Its ``applied_at`` is its own ``created_at``, else the earliest time in its status history, else its
  ``updated_at``, else when jobpipe first saw it; so every response has a week.
* An *observation* of a status is a ``status_history`` row, at ``coalesce(changed_at, observed_at)``,
  or the response's current status, at its ``updated_at`` (at ``applied_at`` when the source gives no
  ``updated_at`` and there is no history). A response *reached* a stage of the funnel
  (applied < viewed < interview < offer < hired) at the first observation of a status at or past it:
  an offer counts as an interview reached. ``rejected_at`` is the first observation of ``rejected``.
* Weeks start on Monday in Moscow time (``REPORT_TIMEZONE``), whatever the client's time zone.
* Rates are numeric with 4 decimals, null when there are no responses; day counts have 2 decimals.
* A vacancy's monthly net salary in RUB is the midpoint of its net bounds, or the one bound given.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    Date,
    Integer,
    Numeric,
    Select,
    Text,
    and_,
    case,
    cast,
    column,
    exists,
    extract,
    func,
    literal,
    null,
    or_,
    select,
    table,
    union,
    union_all,
    values,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import ColumnElement, TableClause

from schemas.status import APPLIED, HIRED, INTERVIEW, OFFER, REJECTED, VIEWED
from schemas.tables import avito_applications, avito_chats, employers, hh_negotiations, status_history, vacancies

SCHEMA = "analytics"
REPORT_TIMEZONE = "Europe/Moscow"

# The funnel's ladder: a status's rank; statuses outside it (rejected, archived, unknown) have none.
STAGE_RANKS: dict[str, int] = {APPLIED: 1, VIEWED: 2, INTERVIEW: 3, OFFER: 4, HIRED: 5}

# The sources a response can come from, in the order the report shows them.
SOURCES: tuple[str, ...] = ("hh_employer", "hh_applicant", "hh_manual", "avito")

NOT_GIVEN = "not given"
# (label, lower bound inclusive, upper bound exclusive) of the monthly net salary in RUB
SALARY_BANDS: tuple[tuple[str, int | None, int | None], ...] = (
    ("<100k", None, 100_000),
    ("100-150k", 100_000, 150_000),
    ("150-200k", 150_000, 200_000),
    ("200-300k", 200_000, 300_000),
    ("300k+", 300_000, None),
)
BAND_ORDER: tuple[str, ...] = (*(b[0] for b in SALARY_BANDS), NOT_GIVEN)

# (name, from stage column, to stage column) of the times between stages
TRANSITIONS: tuple[tuple[str, str, str], ...] = (
    ("applied->viewed", "applied_at", "viewed_at"),
    ("applied->interview", "applied_at", "interview_at"),
    ("interview->offer", "interview_at", "offer_at"),
    ("applied->offer", "applied_at", "offer_at"),
)
OVERALL = "all"

n, a, v, e, ch, h = hh_negotiations, avito_applications, vacancies, employers, avito_chats, status_history


@dataclass(frozen=True)
class View:
    """One view: its name in ``analytics``, its select, and what a row means (the view's comment)."""

    name: str
    select: Select
    comment: str

    @property
    def qualified_name(self) -> str:
        return f"{SCHEMA}.{self.name}"

    @property
    def table(self) -> TableClause:
        """The view as a selectable, with the columns (and types) of its select."""
        return table(self.name, *(column(c.name, c.type) for c in self.select.selected_columns), schema=SCHEMA)

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.select.selected_columns]

    def sql(self) -> str:
        """The select as PostgreSQL text; the few literals (status names, bands) rendered inline."""
        return str(self.select.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


def salary_rub_net(lo: ColumnElement, hi: ColumnElement) -> ColumnElement:
    """The monthly net salary: the midpoint of both bounds, or whichever bound exists."""
    midpoint = func.round((lo + hi) / 2, 2, type_=Numeric(14, 2))
    return case((and_(lo.is_not(None), hi.is_not(None)), midpoint), else_=func.coalesce(lo, hi))


def salary_band(salary: ColumnElement) -> ColumnElement:
    whens = [(salary.is_(None), literal(NOT_GIVEN, Text))]
    for label, _, upper in SALARY_BANDS:
        if upper is not None:
            whens.append((salary < upper, literal(label, Text)))
    return case(*whens, else_=literal(SALARY_BANDS[-1][0], Text))


def rate(part: ColumnElement, whole: ColumnElement) -> ColumnElement:
    """``part / whole`` as numeric with 4 decimals; null when ``whole`` is 0."""
    return func.round(cast(part, Numeric) / func.nullif(whole, 0), 4, type_=Numeric)


def _text(value: str) -> ColumnElement:
    return literal(value, Text)


def _responses() -> Select:
    vacancy_salary = salary_rub_net(v.c.salary_from_rub_net, v.c.salary_to_rub_net)
    hh = select(
        (_text("hh_") + n.c.origin).label("source"),
        n.c.negotiation_id.label("response_id"),
        n.c.vacancy_id,
        v.c.name.label("vacancy_name"),
        v.c.employer_key,
        e.c.name.label("employer_name"),
        vacancy_salary.label("salary_rub_net"),
        n.c.status,
        n.c.state.label("source_state"),
        n.c.created_at,
        n.c.updated_at,
        n.c.first_seen_at,
        _text("hh").label("history_source"),
        _text("negotiation").label("history_entity"),
    ).select_from(n.outerjoin(v, v.c.vacancy_id == n.c.vacancy_id).outerjoin(e, e.c.employer_key == v.c.employer_key))
    # Avito sends no vacancy in the application but its item id; its title comes with the chats
    items = (
        select(ch.c.item_id, func.max(ch.c.item_title).label("item_title"))
        .where(ch.c.item_id.is_not(None))
        .group_by(ch.c.item_id)
        .subquery("items")
    )
    avito = select(
        _text("avito"),
        a.c.application_id,
        cast(a.c.vacancy_id, Text),
        items.c.item_title,
        cast(null(), Text),
        cast(null(), Text),
        cast(null(), Numeric(14, 2)),
        a.c.status,
        a.c.state,
        a.c.created_at,
        a.c.updated_at,
        a.c.first_seen_at,
        _text("avito"),
        _text("application"),
    ).select_from(a.outerjoin(items, items.c.item_id == a.c.vacancy_id))
    u = union_all(hh, avito).subquery("u")
    first_observed = (
        select(func.min(func.coalesce(h.c.changed_at, h.c.observed_at)))
        .where(
            h.c.source == u.c.history_source,
            h.c.entity == u.c.history_entity,
            h.c.record_id == u.c.response_id,
        )
        .scalar_subquery()
    )
    return select(
        u.c.source,
        u.c.response_id,
        u.c.vacancy_id,
        u.c.vacancy_name,
        u.c.employer_key,
        u.c.employer_name,
        u.c.salary_rub_net,
        salary_band(u.c.salary_rub_net).label("salary_band"),
        func.coalesce(u.c.created_at, first_observed, u.c.updated_at, u.c.first_seen_at).label("applied_at"),
        u.c.status,
        u.c.source_state,
        u.c.updated_at,
        u.c.history_source,
        u.c.history_entity,
    )


def _response_stages(r: TableClause) -> Select:
    from_history = select(
        r.c.source,
        r.c.response_id,
        h.c.status,
        func.coalesce(h.c.changed_at, h.c.observed_at).label("at"),
    ).select_from(
        r.join(
            h,
            and_(
                h.c.source == r.c.history_source,
                h.c.entity == r.c.history_entity,
                h.c.record_id == r.c.response_id,
            ),
        )
    )
    has_history = exists().where(
        h.c.source == r.c.history_source, h.c.entity == r.c.history_entity, h.c.record_id == r.c.response_id
    )
    # the current status at the source's updated_at (at the application time when the source gives
    # none and there is no history to tell: the only time known)
    current = select(r.c.source, r.c.response_id, r.c.status, func.coalesce(r.c.updated_at, r.c.applied_at)).where(
        or_(r.c.updated_at.is_not(None), ~has_history)
    )
    obs = union_all(from_history, current).subquery("obs")
    rank = case(STAGE_RANKS, value=obs.c.status)

    def reached(stage: str) -> ColumnElement:
        return func.min(obs.c.at).filter(rank >= STAGE_RANKS[stage])

    firsts = (
        select(
            obs.c.source,
            obs.c.response_id,
            reached(VIEWED).label("viewed_at"),
            reached(INTERVIEW).label("interview_at"),
            reached(OFFER).label("offer_at"),
            reached(HIRED).label("hired_at"),
            func.min(obs.c.at).filter(obs.c.status == REJECTED).label("rejected_at"),
        )
        .group_by(obs.c.source, obs.c.response_id)
        .subquery("firsts")
    )
    return select(
        r.c.source,
        r.c.response_id,
        r.c.vacancy_id,
        r.c.employer_key,
        r.c.employer_name,
        r.c.salary_band,
        r.c.status,
        r.c.applied_at,
        firsts.c.viewed_at,
        firsts.c.interview_at,
        firsts.c.offer_at,
        firsts.c.hired_at,
        firsts.c.rejected_at,
    ).select_from(r.join(firsts, and_(firsts.c.source == r.c.source, firsts.c.response_id == r.c.response_id)))


def _counts(s: TableClause) -> list[ColumnElement]:
    responses = func.count(s.c.response_id)
    interviews = func.count(s.c.interview_at)
    offers = func.count(s.c.offer_at)
    return [
        responses.label("responses"),
        interviews.label("interviews"),
        offers.label("offers"),
        rate(interviews, responses).label("applied_to_interview"),
        rate(offers, responses).label("applied_to_offer"),
    ]


def _funnel_weekly(s: TableClause) -> Select:
    week = cast(func.date_trunc("week", func.timezone(REPORT_TIMEZONE, s.c.applied_at)), Date).label("week")
    responses = func.count(s.c.response_id)
    return (
        select(
            week,
            s.c.source,
            responses.label("responses"),
            func.count(s.c.viewed_at).label("viewed"),
            func.count(s.c.interview_at).label("interviews"),
            func.count(s.c.offer_at).label("offers"),
            func.count(s.c.hired_at).label("hired"),
            func.count(s.c.rejected_at).label("rejected"),
            rate(func.count(s.c.interview_at), responses).label("applied_to_interview"),
            rate(func.count(s.c.offer_at), responses).label("applied_to_offer"),
        )
        .group_by(week, s.c.source)
        .order_by(week, s.c.source)
    )


def _conversion_by_source(s: TableClause) -> Select:
    known = values(column("source", Text), name="known").data([(x,) for x in SOURCES])
    sources = union(select(known.c.source), select(s.c.source)).subquery("sources")
    order = case({x: i for i, x in enumerate(SOURCES, 1)}, value=sources.c.source, else_=len(SOURCES) + 1)
    return (
        select(sources.c.source, *_counts(s))
        .select_from(sources.outerjoin(s, s.c.source == sources.c.source))
        .group_by(sources.c.source)
        .order_by(order, sources.c.source)
    )


def _conversion_by_employer(s: TableClause) -> Select:
    name = func.coalesce(s.c.employer_name, _text("not known")).label("employer_name")
    return (
        select(s.c.employer_key, name, *_counts(s))
        .group_by(s.c.employer_key, name)
        .order_by(func.count(s.c.response_id).desc(), name)
    )


def _conversion_by_salary_band(s: TableClause) -> Select:
    bands = values(column("salary_band", Text), column("band_order", Integer), name="bands").data(
        [(label, i) for i, label in enumerate(BAND_ORDER, 1)]
    )
    return (
        select(bands.c.salary_band, bands.c.band_order, *_counts(s))
        .select_from(bands.outerjoin(s, s.c.salary_band == bands.c.salary_band))
        .group_by(bands.c.salary_band, bands.c.band_order)
        .order_by(bands.c.band_order)
    )


def _days(later: ColumnElement, earlier: ColumnElement) -> ColumnElement:
    return cast(extract("epoch", later - earlier), Numeric) / 86400


def _stage_times(s: TableClause) -> Select:
    durations = union_all(
        *(
            select(
                s.c.source,
                _text(name).label("transition"),
                literal(i, Integer).label("transition_order"),
                _days(s.c[to], s.c[frm]).label("days"),
            )
            for i, (name, frm, to) in enumerate(TRANSITIONS, 1)
        )
    ).cte("durations")
    d = durations.c
    median = func.percentile_cont(0.5).within_group(d.days)

    def figures() -> list[ColumnElement]:
        return [
            func.count(d.days).label("responses"),
            func.round(func.avg(d.days), 2, type_=Numeric).label("avg_days"),
            func.round(cast(median, Numeric), 2, type_=Numeric).label("median_days"),
        ]

    per_source = select(d.source, d.transition, d.transition_order, *figures()).group_by(
        d.source, d.transition, d.transition_order
    )
    overall = select(_text(OVERALL), d.transition, d.transition_order, *figures()).group_by(
        d.transition, d.transition_order
    )
    both = union_all(per_source, overall).subquery("both_")
    source_order = case(
        {x: i for i, x in enumerate((*SOURCES, OVERALL), 1)}, value=both.c.source, else_=len(SOURCES) + 2
    )
    return select(
        both.c.source,
        both.c.transition,
        both.c.transition_order,
        both.c.responses,
        both.c.avg_days,
        both.c.median_days,
    ).order_by(source_order, both.c.source, both.c.transition_order)


def _market_salaries() -> Select:
    m = (
        select(
            v.c.vacancy_id,
            v.c.name.label("vacancy_name"),
            v.c.employer_key,
            e.c.name.label("employer_name"),
            v.c.published_at,
            salary_rub_net(v.c.salary_from_rub_net, v.c.salary_to_rub_net).label("salary_rub_net"),
            exists().where(n.c.vacancy_id == v.c.vacancy_id).label("responded"),
        )
        .select_from(v.outerjoin(e, e.c.employer_key == v.c.employer_key))
        .subquery("m")
    )
    return select(
        m.c.vacancy_id,
        m.c.vacancy_name,
        m.c.employer_key,
        m.c.employer_name,
        m.c.published_at,
        m.c.salary_rub_net,
        salary_band(m.c.salary_rub_net).label("salary_band"),
        m.c.responded,
    )


responses = View(
    "responses",
    _responses(),
    "One row per response (hh.ru negotiation or Avito application): vacancy, employer, monthly net salary, "
    "when it was made and its current canonical status.",
)
response_stages = View(
    "response_stages",
    _response_stages(responses.table),
    "Per response, the first time it reached each stage of the funnel (a later stage implies the earlier ones).",
)
funnel_weekly = View(
    "funnel_weekly",
    _funnel_weekly(response_stages.table),
    "Per week of the response (Monday, Moscow time) and source: how many reached each stage, and the rates.",
)
conversion_by_source = View(
    "conversion_by_source",
    _conversion_by_source(response_stages.table),
    "Per source: responses, interviews, offers and the rates applied->interview, applied->offer.",
)
conversion_by_employer = View(
    "conversion_by_employer",
    _conversion_by_employer(response_stages.table),
    "Per employer: responses, interviews, offers and the rates applied->interview, applied->offer.",
)
conversion_by_salary_band = View(
    "conversion_by_salary_band",
    _conversion_by_salary_band(response_stages.table),
    "Per band of the vacancy's monthly net salary: responses, interviews, offers and the rates.",
)
stage_times = View(
    "stage_times",
    _stage_times(response_stages.table),
    "Per source and overall ('all'): how many responses made each transition, average and median days.",
)
market_salaries = View(
    "market_salaries",
    _market_salaries(),
    "Every vacancy with its monthly net salary in RUB and whether a response points at it.",
)

# In dependency order: a view only reads the tables and the views before it.
VIEWS: tuple[View, ...] = (
    responses,
    response_stages,
    funnel_weekly,
    conversion_by_source,
    conversion_by_employer,
    conversion_by_salary_band,
    stage_times,
    market_salaries,
)
