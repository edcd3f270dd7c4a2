"""The report's charts and markdown from plain frames shaped like the analytics views (no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from schemas.analytics import VIEWS, conversion_by_source, funnel_weekly
from tasks.analytics.report import NO_RESPONSES, funnel_figure, percent, rate, render_markdown, salary_figure


def empty_frames() -> dict[str, pd.DataFrame]:
    frames = {v.name: pd.DataFrame(columns=v.columns) for v in VIEWS}
    frames["conversion_by_source"] = pd.DataFrame(
        [(s, 0, 0, 0, None, None) for s in ("hh_employer", "avito")], columns=conversion_by_source.columns
    )
    return frames


def weekly(*rows) -> pd.DataFrame:
    return pd.DataFrame([r + (None, None) for r in rows], columns=funnel_weekly.columns)


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_funnel_figure_sums_the_weeks_per_source_and_labels_the_bars():
    fig = funnel_figure(
        weekly(
            (date(2026, 11, 2), "hh_employer", 5, 4, 3, 1, 0, 1),
            (date(2026, 11, 9), "hh_employer", 3, 1, 1, 1, 1, 1),
            (date(2026, 11, 9), "avito", 3, 2, 1, 1, 0, 1),
        )
    )
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() == "stage reached" and ax.get_ylabel() == "responses"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["applied", "viewed", "interview", "offer", "hired"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["hh_employer", "avito"]
    heights = [int(p.get_height()) for p in ax.patches]
    assert heights == [8, 5, 4, 2, 1, 3, 2, 1, 1, 0]  # hh_employer summed over both weeks, then avito
    assert texts(ax) == [str(h) for h in heights]  # the count on every bar


def test_funnel_figure_without_responses_says_so():
    ax = funnel_figure(weekly()).axes[0]
    assert texts(ax) == [NO_RESPONSES]
    assert not ax.patches


def test_salary_figure_compares_responded_with_the_market():
    market = pd.DataFrame(
        {
            "salary_rub_net": [Decimal(90000), Decimal(120000), Decimal(250000), Decimal(400000), None],
            "responded": [True, True, False, False, False],
        }
    )
    ax = salary_figure(market).axes[0]
    assert "salary" in ax.get_xlabel() and "%" in ax.get_ylabel()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["market: 4 vacancies, median 185k", "responded to: 2 vacancies, median 105k"]
    # each histogram is a share: its bars sum to 100 %
    market_bars, responded_bars = ax.containers
    assert sum(p.get_height() for p in market_bars) == pytest.approx(100)
    assert sum(p.get_height() for p in responded_bars) == pytest.approx(100)


def test_salary_figure_without_salaries_says_so():
    ax = salary_figure(pd.DataFrame({"salary_rub_net": [None], "responded": [False]})).axes[0]
    assert texts(ax) == ["no salaries yet"]


def test_markdown_of_an_empty_database():
    md = render_markdown(empty_frames())
    assert "No responses yet" in md
    assert "Conversion by source" not in md


@pytest.mark.parametrize(
    ("part", "whole", "expected", "shown"),
    [(7, 15, Decimal("0.4667"), "46.7%"), (1, 3, Decimal("0.3333"), "33.3%"), (0, 4, Decimal("0"), "0.0%")],
)
def test_rates_round_like_the_views(part, whole, expected, shown):
    assert rate(part, whole) == expected
    assert percent(rate(part, whole)) == shown


def test_no_rate_without_responses():
    assert rate(3, 0) is None
    assert percent(None) == "—"
