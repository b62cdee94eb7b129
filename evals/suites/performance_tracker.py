"""performance_tracker: the report's words state only figures the data gives, the planted
viral posts and delivery incident are flagged as anomalies (and little else is), and a window
without analytics is reported as such, with no figures made up.

``run`` returns the report and, beside it, the reference the scores are computed against: the
figures and local dates the analytics tools give for the same request (queried here, from the
fixture, independently of the agent), and the figures the report's words state that none of
them give (``untraceable``), so a results file shows what was invented.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from agents.registry import AGENTS
from evals.cases import Case
from evals.env import EvalEnv, FixtureOrg
from evals.evaluators.reports import (
    admits_no_data,
    anomaly_precision,
    anomaly_recall,
    date_range,
    figures_of,
    number_traceability,
)
from evals.suite import JudgeCriterion, Metric
from services.organizations import settings as org_settings
from tools.analytics import (
    InvalidQuery,
    daily_series,
    engagement_by_weekday_hour,
    metric_summary,
    top_posts,
)

# Tolerances are absolute, for means over a split's ~17 cases (11-17 of which a metric applies
# to). A whole case flipping moves a mean by 1/17-1/11 (0.06-0.09): 0.07 fails the gate on one
# flipped case of the deterministic metrics (anomalies, thin history: tool-computed, so any
# flip is a real regression) and on two of numbers_traceable (model words, which may lose one
# case's sentence to a new prompt without being worse), while partial-credit drift (one of
# five events in one case: 0.01-0.02) passes.
METRICS: dict[str, Metric] = {
    "numbers_traceable": Metric(
        "share of figures in the summary and recommendations that the analytics give "
        "(formatting variants allowed); the model's words must not invent numbers",
        tolerance=0.07,
    ),
    "anomaly_recall": Metric(
        "share of planted viral posts and incident days in the window (on the requested "
        "platforms) that the report flags, within a day",
        tolerance=0.07,
    ),
    "anomaly_precision": Metric(
        "share of the report's flagged days within a day of a planted event: the rest is "
        "noise a reader must sift (the detector's, not the model's: a gate on regressions)",
        tolerance=0.1,  # per-case values swing with a single extra flagged day
    ),
    "thin_history_honest": Metric(
        "for windows without analytics: no platform figures, no invented numbers, and the "
        "report says there is no data (1), else 0",
        tolerance=0.07,
    ),
}

JUDGED = [
    JudgeCriterion(
        metric="helpfulness",
        rubric=(
            "Would a social media manager know what happened and what to do next from this "
            "summary and these recommendations? 1: clear, specific, actionable; 0: vague, "
            "repetitive or off-topic."
        ),
        answer=lambda out: "\n".join([out["report"]["summary"], *out["report"]["recommendations"]]),
    )
]

# The posting-hour window the agent reads beyond a short period (its TIMING_DAYS), and the
# fewest posts an hour needs to be ranked; the reference reads the same stretch of data.
TIMING_DAYS = 90
HOUR_MIN_POSTS = 5
TOP_N = 5


async def run(case: Case, env: EvalEnv) -> dict[str, Any]:
    ctx = await env.context(case)
    report = await AGENTS["performance_tracker"].call(case.inputs, ctx)
    out = report.model_dump(mode="json", by_alias=True)
    fixture = await env.org(case)
    reference = await _reference(env, fixture, case.inputs)
    _, untraceable = _traceability(out, reference)
    return {"report": out, "reference": reference, "untraceable": untraceable}


def score(case: Case, output: dict[str, Any]) -> dict[str, float | None]:
    report, reference = output["report"], output["reference"]
    traced, untraceable = _traceability(report, reference)
    expected = case.expect.get("anomalies", [])
    thin = bool(case.expect.get("thin"))
    return {
        "numbers_traceable": traced,
        "anomaly_recall": anomaly_recall(report["anomalies"], expected),
        "anomaly_precision": anomaly_precision(report["anomalies"], expected),
        "thin_history_honest": (
            float(
                not report["metrics"]
                and not report["topPosts"]
                and not untraceable
                and admits_no_data(_texts(report))
            )
            if thin
            else None
        ),
    }


def _texts(report: dict[str, Any]) -> list[str]:
    """The report's words: where a model or a template could state a figure."""
    return [report["summary"], *report["recommendations"]]


def _traceability(
    report: dict[str, Any], reference: dict[str, Any]
) -> tuple[float | None, list[str]]:
    known = [*figures_of(report), *reference["figures"]]
    dates = [datetime.fromisoformat(d).date() for d in reference["dates"]]
    return number_traceability(_texts(report), known, dates, reference["year"])


async def _reference(env: EvalEnv, fixture: FixtureOrg, inputs: dict[str, Any]) -> dict[str, Any]:
    """What the analytics give for the request: every figure the agent could have read."""
    db, org, now = env.runtime.db, fixture.org_id, fixture.now
    days = int(inputs.get("days", 30))
    platforms = inputs.get("platforms") or None
    timezone = (await org_settings(db, org)).timezone
    summary = await metric_summary(db, org, days=days, platforms=platforms, now=now)
    dumps: list[Any] = [summary.model_dump(mode="json")]
    best: list[Any] = []
    for platform in platforms or [None]:
        for worst in (False, True):
            found = await top_posts(
                db, org, days=days, platform=platform, n=TOP_N, worst=worst, now=now
            )
            dumps.append([p.model_dump(mode="json") for p in found])
            best += [] if worst else found
    # "3 of your top 5 posts are video": counts of a content type among the best posts.
    kinds = Counter(p.content_type for p in best if p.content_type)
    extra = [float(days), *map(float, kinds.values())]
    for platform in platforms or [None]:
        series = await daily_series(
            db, org, days=days, platform=platform, timezone=timezone, now=now
        )
        dumps.append(series.model_dump(mode="json"))
        extra.append(float(len(series.anomalies)))
    for row in summary.platforms:
        if not row.current.posts:
            continue
        try:
            profile = await engagement_by_weekday_hour(
                db,
                org,
                timezone=timezone,
                platform=row.platform,
                days=max(days, TIMING_DAYS),
                now=now,
                min_posts=HOUR_MIN_POSTS,
            )
        except InvalidQuery:
            continue
        dumps.append(profile.model_dump(mode="json", include={"days", "by_hour", "best_hours"}))
    zone = ZoneInfo(timezone)
    first = summary.previous_start.astimezone(zone).date()
    dates = date_range(first, now.astimezone(zone).date())
    figures = sorted({round(v, 6) for v in [*figures_of(dumps), *extra]})
    return {
        "figures": figures,
        "dates": [d.isoformat() for d in dates],
        "year": now.astimezone(zone).year,
    }
