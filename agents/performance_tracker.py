"""performance_tracker: how the tenant's posts did, from its analytics.

Numbers come from the analytics tools: per-platform totals against the previous period
(``metric_summary``), the best and worst posts (``top_posts``), days that stand out
(``daily_series``, in the tenant's timezone) and the local hours that beat the rest
(``engagement_by_weekday_hour``). Recommendations are rules over those numbers, each stating
the figures it rests on. The model adds two or three plain sentences of context to the
summary; a sentence that brings a number not among the facts is dropped.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from agents.base import Agent, AgentContext
from agents.grounding import grounded_sentences, reply_budget
from agents.prompts.performance_tracker import PERSONA, context_prompt
from agents.schemas import (
    Anomaly,
    PerformanceReport,
    PerformanceRequest,
    PlatformMetrics,
    PostRef,
)
from agents.toolkit import pct
from tools.analytics import Anomaly as SeriesAnomaly
from tools.analytics import (
    DailySeries,
    InvalidQuery,
    MetricSummary,
    PeriodComparison,
    TopPost,
    daily_series,
    engagement_by_weekday_hour,
    metric_summary,
    top_posts,
)

log = logging.getLogger(__name__)

TOP_N = 5
MAX_ANOMALIES = 50
MIN_POSTS = 3  # a platform with fewer posts is not ranked
CHANGE_PCT = 10.0  # a rate change of this many percent either way is worth a recommendation
# Posting hours are judged over a longer history than the report's period: a month spreads
# too few posts over the hours of the day for a best hour to mean anything.
TIMING_DAYS = 90
HOUR_MIN_POSTS = 5
HOUR_LIFT = 1.3  # the best hour must beat the typical (median) hour by this factor
HOUR_PLATFORMS = 2  # best-hour recommendations at most
MAX_RECOMMENDATIONS = 7
METRIC_NAMES = {
    "posts": "posts",
    "reach": "reach",
    "engagements": "engagements",
    "comments": "comments",
    "engagement_rate": "engagement rate",
    "comment_rate": "comment rate",
    "sentiment": "comment sentiment",
}


class PerformanceTrackerAgent(Agent[PerformanceRequest, PerformanceReport]):
    """Per-platform metrics with the change against the previous period, top and bottom
    posts, anomalies, rule-based recommendations and a summary."""

    name = "performance_tracker"
    task_type = "performance_report"
    persona = PERSONA
    input_model = PerformanceRequest
    output_model = PerformanceReport

    async def run(self, request: PerformanceRequest, ctx: AgentContext) -> PerformanceReport:
        now = ctx.clock()
        settings = await ctx.org_settings()
        timezone = _valid_timezone(settings.timezone)
        platforms = list(request.platforms) if request.platforms else None
        days = request.days

        summary = await metric_summary(ctx.db, ctx.org_id, days=days, platforms=platforms, now=now)
        best = await _posts(ctx, days, platforms, now, worst=False)
        seen = {(p.post_id, p.platform) for p in best}
        worst = [
            p
            for p in await _posts(ctx, days, platforms, now, worst=True)
            if (p.post_id, p.platform) not in seen
        ]
        series = await _series(ctx, days, platforms, timezone, now)
        anomalies = _anomalies(series)
        metrics = [_metrics(row) for row in summary.platforms if row.current.posts]

        if not summary.overall.current.posts:
            return PerformanceReport(
                metrics=metrics,
                top_posts=[],
                bottom_posts=[],
                anomalies=anomalies,
                recommendations=[
                    "Connect your social accounts or import analytics: there are no posts with "
                    f"analytics in the last {days} days to report on."
                ],
                summary=f"No posts with analytics in the last {days} days.",
            )

        hours = await _best_hours(ctx, summary, days, timezone, now)
        recommendations = _recommend(summary, best, series, hours, days)
        facts = _facts(summary, best, worst, series, hours, days, timezone)
        text = _summary(summary, series, days)

        prompt = context_prompt(facts, recommendations)
        try:
            reply = await ctx.chat(
                self.persona.system_prompt(ctx.settings.system_prompt),
                prompt,
                temperature=min(ctx.settings.temperature, 0.3),  # explaining, not inventing
                max_tokens=reply_budget(ctx, 200, 120),
            )
        except Exception as exc:  # the words are extra: a model outage keeps the numbers
            log.warning("performance summary without model words (%s)", type(exc).__name__)
            reply = ""
        context = grounded_sentences(reply, facts, prompt=prompt, limit=3)
        if context:
            text = f"{text} {' '.join(context)}"
        return PerformanceReport(
            metrics=metrics,
            top_posts=[_ref(p) for p in best],
            bottom_posts=[_ref(p) for p in worst],
            anomalies=anomalies,
            recommendations=recommendations,
            summary=text,
        )


performance_tracker = PerformanceTrackerAgent()


# --- reading the tools -----------------------------------------------------------------------


def _valid_timezone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("organization timezone %r is not an IANA zone; using UTC", name)
        return "UTC"
    return name


async def _posts(
    ctx: AgentContext, days: int, platforms: list[str] | None, now: datetime, *, worst: bool
) -> list[TopPost]:
    """The best (or worst) posts of the period; per requested platform, merged."""
    if not platforms:
        return await top_posts(ctx.db, ctx.org_id, days=days, n=TOP_N, worst=worst, now=now)
    found: list[TopPost] = []
    for platform in platforms:
        found += await top_posts(
            ctx.db, ctx.org_id, days=days, platform=platform, n=TOP_N, worst=worst, now=now
        )
    found.sort(key=lambda p: (p.engagement_rate if worst else -p.engagement_rate, p.post_id))
    return found[:TOP_N]


async def _series(
    ctx: AgentContext, days: int, platforms: list[str] | None, timezone: str, now: datetime
) -> list[DailySeries]:
    """One series for all platforms together, or one per requested platform."""
    targets: Sequence[str | None] = platforms or [None]
    return [
        await daily_series(ctx.db, ctx.org_id, days=days, platform=p, timezone=timezone, now=now)
        for p in targets
    ]


def _anomalies(series: list[DailySeries]) -> list[Anomaly]:
    found = [(s.platform, a) for s in series for a in s.anomalies]
    found.sort(key=lambda pa: -abs(pa[1].robust_z))
    return [
        Anomaly(
            day=a.date.isoformat(),
            metric=a.metric,
            direction=a.direction,
            value=a.value,
            z=a.robust_z,
            median=a.median,
            platform=platform,
        )
        for platform, a in found[:MAX_ANOMALIES]
    ]


@dataclass(frozen=True)
class _Hour:
    """A platform's best local posting hour against its typical (median) hour."""

    platform: str
    hour: int
    rate: float
    posts: int
    typical: float
    days: int

    @property
    def lift(self) -> float:
        return self.rate / self.typical if self.typical else 0.0


async def _best_hours(
    ctx: AgentContext, summary: MetricSummary, days: int, timezone: str, now: datetime
) -> list[_Hour]:
    """Per active platform, its best local hour if it clearly beats the median hour."""
    found = []
    for row in summary.platforms:
        if not row.current.posts:
            continue
        try:
            profile = await engagement_by_weekday_hour(
                ctx.db,
                ctx.org_id,
                timezone=timezone,
                platform=row.platform,
                days=max(days, TIMING_DAYS),
                now=now,
                min_posts=HOUR_MIN_POSTS,
            )
        except InvalidQuery:
            continue
        rated = sorted(
            s.engagement_rate
            for s in profile.by_hour
            if s.engagement_rate is not None and s.posts >= HOUR_MIN_POSTS
        )
        if len(rated) < 3 or not profile.best_hours:
            continue
        top = profile.best_hours[0]
        typical = rated[len(rated) // 2]
        if top.hour is None or top.engagement_rate is None or not typical:
            continue
        hour = _Hour(row.platform, top.hour, top.engagement_rate, top.posts, typical, profile.days)
        if hour.lift >= HOUR_LIFT:
            found.append(hour)
    found.sort(key=lambda h: -h.lift)
    return found[:HOUR_PLATFORMS]


# --- building the report ---------------------------------------------------------------------


def _metrics(row: PeriodComparison) -> PlatformMetrics:
    return PlatformMetrics(
        platform=row.platform,
        posts=row.current.posts,
        reach=row.current.reach,
        impressions=row.current.impressions,
        engagements=row.current.engagements,
        # A platform whose posts have no reach has no rate; 0 says "nothing to rate".
        engagement_rate=row.current.engagement_rate or 0.0,
        previous_engagement_rate=row.previous.engagement_rate,
        change_pct=row.percent_change.get("engagement_rate"),
    )


def _ref(post: TopPost) -> PostRef:
    return PostRef(
        post_id=post.post_id,
        platform=post.platform,
        text=post.text,
        engagement_rate=post.engagement_rate,
        reach=post.reach,
    )


def _value(metric: str, value: float) -> str:
    """A metric's value as people read it."""
    if metric in ("engagement_rate", "comment_rate"):
        return pct(value)
    if metric == "sentiment":
        return f"{value:.2f}"
    return f"{value:,.0f}"


def _anomaly_text(a: SeriesAnomaly, platform: str | None) -> str:
    where = f" on {platform}" if platform else ""
    return (
        f"{METRIC_NAMES.get(a.metric, a.metric)} {a.direction}{where} on {a.date.isoformat()} "
        f"({_value(a.metric, a.value)} vs a median of {_value(a.metric, a.median)})"
    )


def _ranked(summary: MetricSummary) -> list[PeriodComparison]:
    """Platforms with enough posts and a rate, best engagement rate first."""
    rows = [
        r
        for r in summary.platforms
        if r.current.posts >= MIN_POSTS and r.current.engagement_rate is not None
    ]
    return sorted(rows, key=lambda r: -(r.current.engagement_rate or 0.0))


def _recommend(
    summary: MetricSummary,
    best: list[TopPost],
    series: list[DailySeries],
    hours: list[_Hour],
    days: int,
) -> list[str]:
    """Recommendations by rule, most important first; each names the numbers behind it."""
    out: list[str] = []
    out += _incident_recommendations(series)

    ranked = _ranked(summary)
    if len(ranked) >= 2:
        top, low = ranked[0], ranked[-1]
        out.append(
            f"Lean into {top.platform}: its engagement rate of "
            f"{pct(top.current.engagement_rate)} is your highest (lowest: {low.platform} at "
            f"{pct(low.current.engagement_rate)})."
        )

    changes = [
        r
        for r in ranked
        if r.percent_change.get("engagement_rate") is not None
        and r.previous.engagement_rate is not None
    ]
    falls = sorted(
        (r for r in changes if (r.percent_change["engagement_rate"] or 0) <= -CHANGE_PCT),
        key=lambda r: r.percent_change["engagement_rate"] or 0,
    )
    for r in falls[:2]:
        out.append(
            f"Investigate {r.platform}: its engagement rate fell "
            f"{abs(r.percent_change['engagement_rate'] or 0):.2f}% against the previous "
            f"{days} days ({pct(r.previous.engagement_rate)} to "
            f"{pct(r.current.engagement_rate)}); check what changed in its content or timing."
        )
    rises = sorted(
        (r for r in changes if (r.percent_change["engagement_rate"] or 0) >= CHANGE_PCT),
        key=lambda r: -(r.percent_change["engagement_rate"] or 0),
    )
    for r in rises[:1]:
        out.append(
            f"Keep doing what works on {r.platform}: its engagement rate rose "
            f"{r.percent_change['engagement_rate']:.2f}% ({pct(r.previous.engagement_rate)} to "
            f"{pct(r.current.engagement_rate)})."
        )

    kinds = Counter(p.content_type for p in best if p.content_type)
    if kinds:
        kind, count = kinds.most_common(1)[0]
        if count >= 3:
            out.append(f"Make more {kind}: {count} of your top {len(best)} posts are {kind}.")

    for h in hours:
        out.append(
            f"Schedule key {h.platform} posts at {h.hour:02d}:00 local time: over the last "
            f"{h.days} days, posts published then averaged {pct(h.rate)} engagement "
            f"({h.posts} posts), against {pct(h.typical)} for a typical hour."
        )

    out += _other_anomaly_recommendations(series)
    return out[:MAX_RECOMMENDATIONS]


def _incident_recommendations(series: list[DailySeries]) -> list[str]:
    """A comment spike with a sentiment dip on the same day looks like an incident: the day
    with the strongest comment spike among those."""
    out = []
    for s in series:
        dips = {a.date: a for a in s.anomalies if a.metric == "sentiment" and a.direction == "dip"}
        spikes = [
            a
            for a in s.anomalies
            if a.metric in ("comments", "comment_rate")
            and a.direction == "spike"
            and a.date in dips
        ]
        if not spikes:
            continue
        spike = max(spikes, key=lambda a: a.robust_z)
        dip = dips[spike.date]
        where = f" on {s.platform}" if s.platform else ""
        out.append(
            f"Review the conversations of {spike.date.isoformat()}{where}: "
            f"{METRIC_NAMES[spike.metric]} spiked ({_value(spike.metric, spike.value)} vs a "
            f"median of {_value(spike.metric, spike.median)}) while comment sentiment dipped "
            f"({_value('sentiment', dip.value)} vs {_value('sentiment', dip.median)}); make "
            "sure every open complaint has an answer."
        )
    return out[:1]


def _other_anomaly_recommendations(series: list[DailySeries]) -> list[str]:
    out = []
    for s in series:
        where = f" on {s.platform}" if s.platform else ""
        for a in s.anomalies:
            if a.metric != "engagement_rate":
                continue
            if a.direction == "spike":
                out.append(
                    f"Find the post behind the engagement-rate spike{where} on "
                    f"{a.date.isoformat()} ({pct(a.value)} vs a median of {pct(a.median)}) "
                    "and reuse its format."
                )
            else:
                out.append(
                    f"Check what was posted{where} on {a.date.isoformat()}: the engagement "
                    f"rate dipped to {pct(a.value)} (median {pct(a.median)})."
                )
            break
    return out[:2]


def _facts(
    summary: MetricSummary,
    best: list[TopPost],
    worst: list[TopPost],
    series: list[DailySeries],
    hours: list[_Hour],
    days: int,
    timezone: str,
) -> str:
    """The computed facts, as the model reads them and as its words are checked against."""
    o = summary.overall
    lines = [
        f"Period: the last {days} days, {summary.start.date().isoformat()} to "
        f"{summary.end.date().isoformat()}; local timezone {timezone}.",
        f"All platforms: {o.current.posts} posts, reach {o.current.reach:,}, "
        f"{o.current.engagements:,} engagements, engagement rate "
        f"{pct(o.current.engagement_rate)} (previous {days} days: "
        f"{pct(o.previous.engagement_rate)}).",
    ]
    for r in summary.platforms:
        if not r.current.posts:
            continue
        change = r.percent_change.get("engagement_rate")
        lines.append(
            f"{r.platform}: {r.current.posts} posts, reach {r.current.reach:,}, engagement rate "
            f"{pct(r.current.engagement_rate)} (previous {pct(r.previous.engagement_rate)}"
            + (f", change {change:+.2f}%" if change is not None else "")
            + ")."
        )
    for label, posts in (("Best post", best[:2]), ("Weakest post", worst[:1])):
        for p in posts:
            lines.append(
                f"{label}: {p.platform} {p.content_type or 'post'}, engagement rate "
                f'{pct(p.engagement_rate)}, reach {p.reach:,}: "{p.text[:100]}"'
            )
    for s in series:
        for a in s.anomalies[:4]:
            lines.append(f"Unusual day: {_anomaly_text(a, s.platform)}.")
    for h in hours:
        lines.append(
            f"Best hour on {h.platform} over the last {h.days} days: {h.hour:02d}:00 "
            f"({pct(h.rate)} vs {pct(h.typical)} for a typical hour)."
        )
    return "\n".join(lines)


def _summary(summary: MetricSummary, series: list[DailySeries], days: int) -> str:
    """The figures of the report in two or three sentences (the model's words follow)."""
    o = summary.overall
    change = o.percent_change.get("engagement_rate")
    versus = f" ({change:+.2f}% against the previous {days} days)" if change is not None else ""
    parts = [
        f"Last {days} days: {o.current.posts} posts reached {o.current.reach:,} people with "
        f"{o.current.engagements:,} engagements, an engagement rate of "
        f"{pct(o.current.engagement_rate)}{versus}."
    ]
    ranked = _ranked(summary)
    if ranked:
        parts.append(
            f"Best platform: {ranked[0].platform} at {pct(ranked[0].current.engagement_rate)}."
        )
    flagged = [(s.platform, a) for s in series for a in s.anomalies]
    if flagged:
        platform, strongest = max(flagged, key=lambda pa: abs(pa[1].robust_z))
        parts.append(
            f"Anomalies flagged: {len(flagged)}; the strongest: "
            f"{_anomaly_text(strongest, platform)}."
        )
    return " ".join(parts)
