"""A report's charts: drawn from worker threads at once without matplotlib's shared state
breaking them, and dollar signs in text kept as text, never parsed as mathtext."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from services.analytics.queries import SummaryAnswer, TrendsAnswer
from services.analytics.report_render import _svg, charts, render_html
from services.analytics.scope import RangeOut
from tools.analytics import DailySeries, MetricSummary, PeriodComparison, Totals
from tools.analytics.daily import DayPoint

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
RANGE = RangeOut(
    from_=START.date(),
    to=dt.date(2026, 1, 31),
    timezone="UTC",
    start=START,
    end=END,
    platforms=None,
    accounts=None,
)


def compared(platform: str, engagements: int) -> PeriodComparison:
    return PeriodComparison(
        platform=platform,
        current=Totals(engagements=engagements, reach=engagements * 10),
        previous=Totals(),
        change={},
        percent_change={},
    )


def answers() -> tuple[SummaryAnswer, TrendsAnswer]:
    summary = MetricSummary(
        days=31,
        start=START,
        end=END,
        previous_start=START - (END - START),
        previous_end=START,
        platforms=[compared("instagram", 500), compared("twitter", 70)],
        overall=compared("all", 570),
    )
    points = [
        # Reach spans powers of ten: the symlog axis labels 10, 100, 1,000...
        DayPoint(
            date=(START + dt.timedelta(days=i)).date(),
            partial=False,
            engagements=i * 37,
            reach=10 ** (i % 5),
        )
        for i in range(31)
    ]
    series = DailySeries(
        timezone="UTC",
        platform=None,
        days=31,
        start=START,
        end=END,
        threshold=3.5,
        points=points,
        anomalies=[],
    )
    return SummaryAnswer(range=RANGE, summary=summary), TrendsAnswer(range=RANGE, series=series)


def test_charts_drawn_from_many_threads_at_once_all_succeed() -> None:
    # Before the charts were drawn one at a time on figures of their own, nearly all of
    # these failed with mathtext's "ParseException: Expected end of text, found '$'" (47 of
    # 48 in a run of 48).
    summary, trends = answers()
    with ThreadPoolExecutor(8) as pool:
        drawn = list(pool.map(lambda _: charts(summary, trends, "January"), range(16)))
    assert all(len(pair) == 2 and pair[0][1].startswith("<svg") for pair in drawn)
    assert len({pair[0][1] for pair in drawn}) == 1  # the same data draws the same SVG


def test_dollar_signs_in_a_title_and_labels_stay_literal_text() -> None:
    summary, trends = answers()
    title = "$5 off cold brew, $10 bundles"
    [(_, daily), (_, per_network)] = charts(summary, trends, title)
    assert title in daily
    assert "instagram" in per_network

    def labelled(ax: Any) -> None:
        ax.bar(["$5 off", "$10 off"], [3, 4])
        ax.set_xlabel("price $ and $ sign")
        ax.set_title("$x^2$ is not math here")

    svg = _svg(labelled)
    for text in ("$5 off", "$10 off", "price $ and $ sign", "$x^2$ is not math here"):
        assert text in svg
    page = render_html(title, f"# {title}", [("caption", svg)])
    assert "<title>$5 off cold brew, $10 bundles</title>" in page


def test_the_log_axis_is_labelled_with_plain_numbers() -> None:
    summary, trends = answers()
    [(_, daily), _] = charts(summary, trends)
    assert "mathdefault" not in daily
    assert ">1,000<" in daily
    assert ">10,000<" in daily
