"""The analytics report: markdown figures, PNG charts and an Excel workbook, read from the views only.

``build_report(engine, out_dir)`` writes into ``out_dir``:

    funnel.png      responses reaching each stage of the funnel, per source
    salaries.png    monthly net salary of the vacancies responded to vs the whole market
    analytics.xlsx  one sheet per view of the ``analytics`` schema

and returns the markdown (responses, interviews, offers, rates per source, stage times, the weekly
funnel) with the paths. An empty database gives a report and charts that say "no responses yet".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sqlalchemy import Engine, select

from schemas.analytics import REPORT_TIMEZONE, SOURCES, VIEWS

FUNNEL_PNG = "funnel.png"
SALARIES_PNG = "salaries.png"
WORKBOOK = "analytics.xlsx"
CHART_SIZE = (10, 6)  # inches, at CHART_DPI: 1000 x 600 pixels
CHART_DPI = 100
# funnel_weekly columns in funnel order, with their labels on the chart
FUNNEL_STAGES = (
    ("responses", "applied"),
    ("viewed", "viewed"),
    ("interviews", "interview"),
    ("offers", "offer"),
    ("hired", "hired"),
)
NO_RESPONSES = "no responses yet"
WEEKS_SHOWN = 12
EMPLOYERS_SHOWN = 10


@dataclass(frozen=True)
class AnalyticsReport:
    markdown: str
    funnel_png: Path
    salaries_png: Path
    workbook: Path
    responses: int
    interviews: int
    offers: int

    @property
    def files(self) -> list[Path]:
        return [self.funnel_png, self.salaries_png, self.workbook]


def default_report_dir(home: Path, day: date | None = None) -> Path:
    """Where a day's report goes by default: ``<JOBPIPE_HOME>/reports/<YYYY-MM-DD>``."""
    return home / "reports" / (day or date.today()).isoformat()


def read_views(engine: Engine) -> dict[str, pd.DataFrame]:
    """Every analytics view as a frame, in the views' own order."""
    frames = {}
    # one snapshot for every view: a load committing meanwhile cannot make the figures disagree
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        for view in VIEWS:
            # coerce_float=False: numeric columns stay Decimals, as the views round them
            frames[view.name] = pd.read_sql(select(view.table), conn, coerce_float=False)
    return frames


def build_report(engine: Engine, out_dir: Path) -> AnalyticsReport:
    """Read the views, write the charts and the workbook into ``out_dir``, return the markdown and paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = read_views(engine)
    funnel_png = funnel_chart(frames["funnel_weekly"], out_dir / FUNNEL_PNG)
    salaries_png = salary_chart(frames["market_salaries"], out_dir / SALARIES_PNG)
    workbook = write_workbook(frames, out_dir / WORKBOOK)
    by_source = frames["conversion_by_source"]
    return AnalyticsReport(
        markdown=render_markdown(frames, [funnel_png, salaries_png, workbook]),
        funnel_png=funnel_png,
        salaries_png=salaries_png,
        workbook=workbook,
        responses=int(by_source["responses"].sum()),
        interviews=int(by_source["interviews"].sum()),
        offers=int(by_source["offers"].sum()),
    )


# --- markdown ------------------------------------------------------------------------------------


def rate(part: int, whole: int) -> Decimal | None:
    """``part / whole`` rounded half up to 4 decimals, as the views compute it; None when ``whole`` is 0."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def percent(value) -> str:
    """A rate (0.4 or Decimal('0.4000')) as '40.0%'; '—' when there is none."""
    if value is None or pd.isna(value):
        return "—"
    shown = (Decimal(str(value)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{shown}%"


def _number(value) -> str:
    if value is None or pd.isna(value):
        return "—"
    return str(value)


def _table(header: list[str], rows: list[list[str]], right_from: int = 1) -> str:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---" if i < right_from else "---:" for i in range(len(header))) + "|")
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _conversion_rows(frame: pd.DataFrame, label: str) -> list[list[str]]:
    return [
        [
            row[label],
            int(row["responses"]),
            int(row["interviews"]),
            int(row["offers"]),
            percent(row["applied_to_interview"]),
            percent(row["applied_to_offer"]),
        ]
        for _, row in frame.iterrows()
    ]


WEEKLY_COUNTS = ("responses", "viewed", "interviews", "offers", "hired", "rejected")
CONVERSION_HEADER = ["responses", "interviews", "offers", "applied→interview", "applied→offer"]


def render_markdown(frames: dict[str, pd.DataFrame], files: list[Path] | None = None) -> str:
    """The report's markdown from the view frames (see ``read_views``)."""
    by_source = frames["conversion_by_source"]
    total = int(by_source["responses"].sum())
    out = ["# jobpipe analytics\n"]
    if total == 0:
        market = frames["market_salaries"]
        out.append(
            f"**{NO_RESPONSES.capitalize()}**: the funnel fills in once hh.ru negotiations or Avito applications "
            "are loaded (`jobpipe run daily`).\n"
        )
        out.append(f"Market: {len(market)} vacancies, {int(market['salary_rub_net'].notna().sum())} with a salary.\n")
        return "\n".join(out + _files(files))
    interviews, offers = int(by_source["interviews"].sum()), int(by_source["offers"].sum())
    out.append(
        f"**{total}** responses, **{interviews}** interviews, **{offers}** offers: "
        f"applied→interview **{percent(rate(interviews, total))}**, applied→offer **{percent(rate(offers, total))}**.\n"
    )
    active = by_source[by_source["responses"] > 0]
    rows = _conversion_rows(active, "source")
    rows.append(["all", total, interviews, offers, percent(rate(interviews, total)), percent(rate(offers, total))])
    out += ["## Conversion by source\n", _table(["source", *CONVERSION_HEADER], rows)]

    times = frames["stage_times"]
    out.append("## Time between stages (days)\n")
    out.append(
        _table(
            ["source", "transition", "responses", "average", "median"],
            [
                [r["source"], r["transition"], int(r["responses"]), _number(r["avg_days"]), _number(r["median_days"])]
                for _, r in times.iterrows()
            ],
            right_from=2,
        )
    )

    weekly = frames["funnel_weekly"]
    weeks = sorted(set(weekly["week"]))[-WEEKS_SHOWN:]
    shown = weekly[weekly["week"].isin(weeks)]
    out.append(f"## Weekly funnel (week starting Monday, {REPORT_TIMEZONE}; last {WEEKS_SHOWN} weeks)\n")
    out.append(
        _table(
            ["week", "source", *WEEKLY_COUNTS, *CONVERSION_HEADER[3:]],
            [
                [
                    r["week"],
                    r["source"],
                    *(int(r[c]) for c in WEEKLY_COUNTS),
                    percent(r["applied_to_interview"]),
                    percent(r["applied_to_offer"]),
                ]
                for _, r in shown.iterrows()
            ],
            right_from=2,
        )
    )

    bands = frames["conversion_by_salary_band"]
    out += [
        "## Conversion by salary band (monthly, net, RUB)\n",
        _table(["salary band", *CONVERSION_HEADER], _conversion_rows(bands, "salary_band")),
    ]
    employers = frames["conversion_by_employer"].head(EMPLOYERS_SHOWN)
    out += [
        f"## Employers with the most responses (top {EMPLOYERS_SHOWN})\n",
        _table(["employer", *CONVERSION_HEADER], _conversion_rows(employers, "employer_name")),
    ]
    return "\n".join(out + _files(files))


def _files(files: list[Path] | None) -> list[str]:
    if not files:
        return []
    return ["## Files\n", "\n".join(f"- `{p}`" for p in files) + "\n"]


# --- charts --------------------------------------------------------------------------------------


def _figure(title: str):
    # the Agg canvas, not pyplot: no display, no global figure state, safe in worker threads
    fig = Figure(figsize=CHART_SIZE, dpi=CHART_DPI)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.set_title(title)
    return fig, ax


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=CHART_DPI, format="png")
    return path


def _say(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=16, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _source_order(source: str) -> tuple[int, str]:
    return (SOURCES.index(source) if source in SOURCES else len(SOURCES), source)


def funnel_chart(funnel_weekly: pd.DataFrame, path: Path) -> Path:
    return _save(funnel_figure(funnel_weekly), path)


def funnel_figure(funnel_weekly: pd.DataFrame) -> Figure:
    """Grouped bars: how many responses reached each stage, one colour per source, counts on the bars."""
    fig, ax = _figure("Responses by stage of the funnel, per source")
    columns = [c for c, _ in FUNNEL_STAGES]
    totals = funnel_weekly.groupby("source")[columns].sum() if not funnel_weekly.empty else pd.DataFrame()
    if not totals.empty:
        totals = totals[totals["responses"] > 0]
        totals = totals.loc[sorted(totals.index, key=_source_order)]
    ax.set_xlabel("stage reached")
    ax.set_ylabel("responses")
    if totals.empty:
        _say(ax, NO_RESPONSES)
        return fig
    x = np.arange(len(columns))
    width = 0.8 / len(totals)
    for i, (source, row) in enumerate(totals.iterrows()):
        bars = ax.bar(x + (i - (len(totals) - 1) / 2) * width, [int(row[c]) for c in columns], width, label=source)
        ax.bar_label(bars, padding=2)
    ax.set_xticks(x, [label for _, label in FUNNEL_STAGES])
    ax.margins(y=0.1)
    ax.legend(title="source")
    fig.tight_layout()
    return fig


def salary_chart(market_salaries: pd.DataFrame, path: Path) -> Path:
    return _save(salary_figure(market_salaries), path)


def salary_figure(market_salaries: pd.DataFrame) -> Figure:
    """Share of vacancies per band of monthly net salary: those responded to vs the whole market."""
    fig, ax = _figure("Monthly net salary: vacancies responded to vs the market")
    ax.set_xlabel("monthly net salary, thousand RUB")
    ax.set_ylabel("share of vacancies, %")
    given = market_salaries[market_salaries["salary_rub_net"].notna()]
    salaries = given["salary_rub_net"].astype(float) / 1000
    if given.empty:
        _say(ax, "no salaries yet")
        return fig
    edges = np.histogram_bin_edges(salaries, bins=min(30, max(5, len(salaries) // 5)))
    responded = salaries[given["responded"].astype(bool)]
    for values, label, alpha in ((salaries, "market", 0.5), (responded, "responded to", 0.6)):
        if values.empty:
            continue
        weights = np.full(len(values), 100.0 / len(values))
        ax.hist(
            values,
            bins=edges,
            weights=weights,
            alpha=alpha,
            label=f"{label}: {len(values)} vacancies, median {values.median():.0f}k",
        )
    if responded.empty:
        ax.text(0.98, 0.95, NO_RESPONSES, ha="right", va="top", transform=ax.transAxes)
    ax.legend()
    fig.tight_layout()
    return fig


# --- workbook ------------------------------------------------------------------------------------


def _for_excel(frame: pd.DataFrame) -> pd.DataFrame:
    """Excel has no time zones and no decimals: times in Moscow without a zone, numbers as floats."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            out[name] = column.dt.tz_convert(REPORT_TIMEZONE).dt.tz_localize(None)
        elif column.dtype == object and column.map(lambda v: isinstance(v, Decimal)).any():
            out[name] = column.map(lambda v: float(v) if isinstance(v, Decimal) else v)
    return out


def write_workbook(frames: dict[str, pd.DataFrame], path: Path) -> Path:
    """One sheet per view (its name), with headers, frozen header row and real dates."""
    with pd.ExcelWriter(path, engine="openpyxl", date_format="YYYY-MM-DD", datetime_format="YYYY-MM-DD HH:MM") as xl:
        for name, frame in frames.items():
            _for_excel(frame).to_excel(xl, sheet_name=name[:31], index=False)
            xl.sheets[name[:31]].freeze_panes = "A2"
    return path
