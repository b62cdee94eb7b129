"""A report's Markdown and its HTML rendering with charts.

The figures section is written from the period's numbers (``services.analytics.queries``);
the analysis graphs' own Markdown follows. The HTML is the Markdown rendered by markdown-it
(CommonMark with tables, raw HTML off so no text of a post can inject markup) and two charts
drawn by matplotlib as inline SVG, so the file stands alone: no script, no remote asset.
"""

from __future__ import annotations

import html
import io
import threading
from collections.abc import Callable, Sequence
from typing import Any

from markdown_it import MarkdownIt

from services.analytics.queries import SummaryAnswer, TrendsAnswer

_MD = MarkdownIt("commonmark", {"html": False}).enable("table")

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#222;line-height:1.5}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;padding:.3rem .6rem}
th{background:#f4f4f4}figure{margin:1.5rem 0}figcaption{font-size:.9rem;color:#555}
"""


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def _change(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f}%"


def figures_markdown(summary: SummaryAnswer, trends: TrendsAnswer) -> str:
    """The period's figures as Markdown tables."""
    r = summary.range
    overall = summary.summary.overall
    lines = [
        f"## Figures, {r.from_} to {r.to} ({r.timezone})",
        "",
        "| | This period | Period before | Change |",
        "|---|---:|---:|---:|",
    ]
    for name in ("posts", "reach", "impressions", "engagements"):
        lines.append(
            f"| {name.capitalize()} | {getattr(overall.current, name):,} | "
            f"{getattr(overall.previous, name):,} | {_change(overall.percent_change.get(name))} |"
        )
    lines.append(
        f"| Engagement rate | {_pct(overall.current.engagement_rate)} | "
        f"{_pct(overall.previous.engagement_rate)} | "
        f"{_change(overall.percent_change.get('engagement_rate'))} |"
    )
    lines += [
        "",
        "| Network | Posts | Reach | Engagements | Engagement rate |",
        "|---|---:|---:|---:|---:|",
    ]
    for p in summary.summary.platforms:
        c = p.current
        lines.append(
            f"| {p.platform} | {c.posts:,} | {c.reach:,} | {c.engagements:,} | "
            f"{_pct(c.engagement_rate)} |"
        )
    anomalies = trends.series.anomalies[:5]
    if anomalies:
        lines += ["", "Unusual days:", ""]
        lines += [
            f"- {a.date}: {a.metric} {a.direction} ({a.value:g}, median {a.median:g})"
            for a in anomalies
        ]
    return "\n".join(lines)


# matplotlib keeps process-wide state that is not safe to share between threads: pyplot's
# figure registry, the rcParams, and the mathtext parser (pyparsing with a shared packrat
# cache). Reports render in ``asyncio.to_thread``; two rendering at once broke the symlog
# axis's tick labels (``$\\mathdefault{10^{2}}$``) with "ParseException: Expected end of
# text, found '$'". One chart is drawn at a time, on a Figure of its own (no pyplot), with
# plain tick labels and no math parsing of any text, so a "$5 off" stays literal text.
_DRAWING = threading.Lock()
_RC = {
    "text.parse_math": False,  # "$5 off ... $10" in a label is text, never math
    "text.usetex": False,
    "svg.fonttype": "none",  # text stays <text> in the SVG: smaller, searchable, selectable
    "svg.hashsalt": "chorus-report",  # the same data draws the same SVG
}


def _plain_number(value: float, _position: int) -> str:
    return f"{value:,.0f}"


def _svg(draw: Callable[[Any], None]) -> str:
    """One chart as an inline SVG string."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    with _DRAWING, matplotlib.rc_context(_RC):
        fig = Figure(figsize=(8, 3))
        ax = fig.subplots()
        draw(ax)
        # The default formatters of log-like scales write their labels as mathtext.
        ax.yaxis.set_major_formatter(FuncFormatter(_plain_number))
        fig.tight_layout()
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None})  # no timestamp in the file
    text = out.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog: the SVG sits inside HTML


def charts(
    summary: SummaryAnswer, trends: TrendsAnswer, title: str | None = None
) -> list[tuple[str, str]]:
    """(caption, svg) of the daily engagements and of engagements per network; ``title``
    (the report's, as its author wrote it) heads the daily chart."""
    points = trends.series.points
    days = [p.date for p in points]

    def daily(ax: Any) -> None:
        ax.plot(days, [p.engagements for p in points], label="engagements", color="#3b6")
        ax.plot(days, [p.reach for p in points], label="reach", color="#36b", alpha=0.6)
        ax.set_yscale("symlog")
        ax.legend(loc="upper left")
        ax.tick_params(axis="x", labelrotation=30)
        if title:
            ax.set_title(title)

    platforms = summary.summary.platforms

    def per_network(ax: Any) -> None:
        ax.bar([p.platform for p in platforms], [p.current.engagements for p in platforms])
        ax.set_ylabel("engagements")

    return [
        ("Engagements and reach per day", _svg(daily)),
        ("Engagements per network", _svg(per_network)),
    ]


def render_html(title: str, markdown: str, figures: Sequence[tuple[str, str]]) -> str:
    body = _MD.render(markdown)
    charts_html = "".join(
        f"<figure>{svg}<figcaption>{html.escape(caption)}</figcaption></figure>"
        for caption, svg in figures
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}<h2>Charts</h2>{charts_html}</body></html>"
    )
