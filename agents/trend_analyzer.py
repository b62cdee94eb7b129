"""trend_analyzer: the tenant's rising hashtags, recent window against its own baseline.

``hashtag_stats`` counts each tag's uses in the last ``days`` days and in a longer baseline
before them (per platform when platforms are given, else across all); ``detect_trends`` scores
them with a Poisson test of the recent count against the baseline rate. The baseline never
reaches back past the tenant's first analytics: days before the history began are not days of
silence, and counting them made every steady tag look like it rose. With less than
``MIN_BASELINE_DAYS`` of history before the recent window, nothing is called a trend. The
ranking, volumes, growth and scores are code; the model writes the summary from the top items,
and a template stands in when its words are unusable. No memory is written here: that is the
workflows' job.
"""

from __future__ import annotations

from agents.base import Agent, AgentContext
from agents.prompts import trend_analyzer as prompts
from agents.schemas import TrendItem, TrendReport, TrendRequest
from agents.toolkit import explain
from tools.analytics import hashtag_stats
from tools.analytics._common import first_recorded_at
from tools.schedule_optimizer import PLATFORM_NAMES
from tools.trends import TagWindowCounts, Trend, detect_trends, window_counts

MIN_TOTAL_DAYS = 90  # recent window plus baseline: a baseline of weeks, not days
MIN_BASELINE_DAYS = 7  # less than a week before the window says nothing about "usual"
MAX_ITEMS = 10
SUMMARY_ITEMS = 3
HIDDEN = ("stale", "declining")  # scored 0 or falling: not trends to act on


class TrendAnalyzerAgent(Agent[TrendRequest, TrendReport]):
    """Ranks the tenant's hashtags by how strongly they rise."""

    name = "trend_analyzer"
    task_type = "analyze_trends"
    persona = prompts.PERSONA
    input_model = TrendRequest
    output_model = TrendReport

    async def run(self, request: TrendRequest, ctx: AgentContext) -> TrendReport:
        now = ctx.clock()
        first = await first_recorded_at(ctx.db, ctx.org_id, before=now)
        history_days = int((now - first).total_seconds() // 86400) if first else 0
        total = min(max(MIN_TOTAL_DAYS, 4 * request.days), history_days)
        platforms: list[str | None] = list(dict.fromkeys(request.platforms or [])) or [None]
        if total - request.days < MIN_BASELINE_DAYS:
            return TrendReport(trends=[], summary=short_history(request, history_days))
        rows: list[TagWindowCounts] = []
        for platform in platforms:
            stats = await hashtag_stats(
                ctx.db, ctx.org_id, days=total, recent_days=request.days, platform=platform, now=now
            )
            rows += window_counts(stats)
        trends = [t for t in detect_trends(rows, now=now) if t.status not in HIDDEN and t.score > 0]
        trends = trends[:MAX_ITEMS]

        facts = trend_facts(request, total, trends)
        summary, _ = await explain(
            ctx,
            prompts.system_prompt(ctx.settings.system_prompt),
            prompts.summary_prompt(facts),
            facts=facts,
            fallback=summary_template(request, total, trends),
            echo_labels=prompts.ECHO_LABELS,
            anchors=trend_anchors(trends),
        )
        return TrendReport(
            trends=[
                TrendItem(
                    tag=t.tag,
                    platform=t.platform,
                    volume=t.volume,
                    growth=t.growth,
                    score=t.score,
                )
                for t in trends
            ],
            summary=summary,
        )


def short_history(request: TrendRequest, history_days: int) -> str:
    needed = request.days + MIN_BASELINE_DAYS
    have = f"{history_days} days of analytics" if history_days else "no analytics yet"
    return (
        f"Not enough history to call anything a trend: there are {have}, and comparing the "
        f"last {request.days} days needs at least {needed} (the window plus "
        f"{MIN_BASELINE_DAYS} days before it). Try a shorter window, or import past analytics."
    )


def trend_anchors(trends: list[Trend]) -> list[str]:
    """Words a summary names at least once: a top tag (with or without #), or, when nothing
    trends, the word itself."""
    if not trends:
        return ["trend", "trending", "trends", "rising", "hashtag", "hashtags"]
    return [t.tag.lstrip("#") for t in trends[:SUMMARY_ITEMS]]


def _where(trend: Trend) -> str:
    return f" on {PLATFORM_NAMES.get(trend.platform, trend.platform)}" if trend.platform else ""


def _describe(trend: Trend, baseline_days: int) -> str:
    return (
        f"{trend.tag}{_where(trend)}: {trend.volume} uses recently against "
        f"{trend.baseline_uses} in the {baseline_days} days before, {trend.growth:.1f}x its "
        f"usual rate, trend score {trend.score:.2f}, {trend.status.replace('_', ' ')}"
    )


def trend_facts(request: TrendRequest, total: int, trends: list[Trend]) -> str:
    baseline = total - request.days
    where = (
        ", ".join(PLATFORM_NAMES.get(p, p) for p in request.platforms)
        if request.platforms
        else "all platforms"
    )
    lines = [
        f"- Recent window: the last {request.days} days; baseline: the {baseline} days before",
        f"- Platforms: {where}",
    ]
    if request.industry:
        lines.append(f"- Industry: {request.industry}")
    lines.append(f"- Hashtags ranked: {len(trends)}")
    if trends:
        lines.append("- Top hashtags:")
        lines += [f"  - {_describe(t, baseline)}" for t in trends[:SUMMARY_ITEMS]]
    return "\n".join(lines)


def summary_template(request: TrendRequest, total: int, trends: list[Trend]) -> str:
    baseline = total - request.days
    if not trends:
        return (
            f"No hashtag of yours is trending: nothing rose in the last {request.days} days "
            f"against the {baseline} days before (or there are no posts to compare yet)."
        )
    rising = [t for t in trends if t.rising]
    lead = trends[0]
    if rising:
        text = (
            f"{lead.tag}{_where(lead)} is rising: {lead.volume} uses in the last "
            f"{request.days} days against {lead.baseline_uses} in the {baseline} days before, "
            f"{lead.growth:.1f}x its usual rate (trend score {lead.score:.2f})."
        )
        others = [t.tag + _where(t) for t in rising[1:SUMMARY_ITEMS]]
        if others:
            text += " Also rising: " + ", ".join(others) + "."
        return text + f" Consider posting about {lead.tag.lstrip('#')} while the interest lasts."
    return (
        f"No hashtag is clearly rising in the last {request.days} days; the most active is "
        f"{lead.tag}{_where(lead)} with {lead.volume} uses ({lead.growth:.1f}x its usual rate)."
    )


trend_analyzer = TrendAnalyzerAgent()
