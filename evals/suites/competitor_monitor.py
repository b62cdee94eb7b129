"""competitor_monitor: the report's words state only figures the benchmarks give, competitors
without data are reported missing (and only they) and named in its words, and the planted
gaps (a video-first competitor, one out-posting us, one on a platform where we have nothing,
one that engages better, hashtags we do not use) are named.

``run`` returns the report and, beside it, the reference the scores are computed against:
the figures and dates of ``competitor_benchmarks`` for the same request (queried here, from
the fixture), with both ways of every gap's ratio, and the figures the report's words state
that none of them give (``untraceable``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from agents.registry import AGENTS
from evals.cases import Case
from evals.env import EvalEnv
from evals.evaluators.reports import (
    date_range,
    figures_of,
    gap_recall,
    missing_accuracy,
    missing_named,
    number_traceability,
)
from evals.suite import JudgeCriterion, Metric
from tools.analytics import competitor_benchmarks

# Tolerances are absolute, for means over a split's ~17 cases (8-17 of which a metric applies
# to). A whole case flipping moves a mean by 1/17-1/8 (0.06-0.12): 0.07 fails the gate on one
# flipped case of the rule-computed metrics (missing, gaps: any flip is a real regression) and
# tolerates one case's drift in numbers_traceable (the crew's words) only in part, while
# partial-credit drift (one gap of five in one case: about 0.01) passes.
METRICS: dict[str, Metric] = {
    "numbers_traceable": Metric(
        "share of figures in the summary, SWOT, content gaps, recommendations and gap "
        "statements that the benchmarks give (formatting variants allowed)",
        tolerance=0.07,
    ),
    "missing_accuracy": Metric(
        "share of requested names classified right: in `missing` exactly when no analysis "
        "is on file (case, spacing and '@' ignored)",
        tolerance=0.07,
    ),
    "missing_named": Metric(
        "share of competitors without data that the summary or recommendations name",
        tolerance=0.07,
    ),
    "gap_recall": Metric(
        "share of planted gaps (format, frequency, platform absence, engagement, hashtags, our "
        "strengths) named in one item with the competitor and platform",
        tolerance=0.07,
    ),
}

JUDGED = [
    JudgeCriterion(
        metric="helpfulness",
        rubric=(
            "Would a social media manager know what to do next from these recommendations and "
            "SWOT? 1: specific, actionable, tied to the named competitors; 0: generic advice or "
            "restated numbers."
        ),
        answer=lambda out: "\n".join(
            [
                out["report"]["summary"],
                *out["report"]["recommendations"],
                *(f"{k}: {v}" for k, vs in out["report"]["swot"].items() for v in vs),
            ]
        ),
    )
]


async def run(case: Case, env: EvalEnv) -> dict[str, Any]:
    ctx = await env.context(case)
    report = await AGENTS["competitor_monitor"].call(case.inputs, ctx)
    out = report.model_dump(mode="json", by_alias=True)
    fixture = await env.org(case)
    bench = await competitor_benchmarks(
        env.runtime.db,
        fixture.org_id,
        competitors=list(case.inputs["competitors"]),
        days=int(case.inputs.get("days", 30)),
        now=fixture.now,
    )
    ratios: list[float] = []
    for comparison in bench.comparisons:
        for gap in comparison.gaps:
            theirs, ours = gap.competitor_value, gap.own_value
            if theirs and ours:  # "2.5x yours" and "you have 1.4x theirs" both derive
                ratios += [theirs / ours, ours / theirs]
    figures = [*figures_of(bench.model_dump(mode="json")), *ratios, float(bench.days)]
    figures.append(float(len(bench.comparisons)))
    reference = {
        "figures": sorted({round(v, 6) for v in figures}),
        "dates": [d.isoformat() for d in date_range(bench.start.date(), bench.end.date())],
        "year": bench.end.year,
    }
    _, untraceable = _traceability(out, reference)
    return {"report": out, "reference": reference, "untraceable": untraceable}


def score(case: Case, output: dict[str, Any]) -> dict[str, float | None]:
    report, expect = output["report"], case.expect
    traced, _ = _traceability(report, output["reference"])
    gaps = expect.get("gaps", [])
    where = {
        "content_gaps": report["contentGaps"],
        "strengths": report["swot"]["strengths"],
        "report": _texts(report),
    }
    found = [g for g in gaps if gap_recall(where[g["where"]], [g]) == 1.0]
    return {
        "numbers_traceable": traced,
        "missing_accuracy": missing_accuracy(
            case.inputs["competitors"], report["missing"], expect.get("missing", [])
        ),
        "missing_named": missing_named(
            [report["summary"], *report["recommendations"]], expect.get("missing", [])
        ),
        "gap_recall": len(found) / len(gaps) if gaps else None,
    }


def _texts(report: dict[str, Any]) -> list[str]:
    """The report's words: where the crew or a template could state a figure."""
    swot = report["swot"]
    statements = [g["statement"] for b in report["benchmarks"] for g in b.get("gaps", [])]
    return [
        report["summary"],
        *report["recommendations"],
        *report["contentGaps"],
        *(item for quadrant in swot.values() for item in quadrant),
        *statements,
    ]


def _traceability(
    report: dict[str, Any], reference: dict[str, Any]
) -> tuple[float | None, list[str]]:
    known = [*figures_of(report), *reference["figures"]]
    dates = [date.fromisoformat(d) for d in reference["dates"]]
    return number_traceability(_texts(report), known, dates, reference["year"])
