"""The analytics queries as LangChain tools for the agents.

A model chooses only the question (days, platform, timezone...). The tenant and the database
come from the run's context (``tools.context.RunContext``, injected as ``ToolRuntime``), never
from the arguments, so no argument can reach another tenant's data. Bad arguments come back
to the model as an error message it can act on (``ToolException``), not as a crash of the run.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal, ParamSpec

from bson import ObjectId
from langchain_core.tools import BaseTool, ToolException, tool
from langgraph.prebuilt import ToolRuntime
from pydantic import Field, ValidationError

from persistence.organizations import load_settings
from tools.analytics._common import InvalidQuery
from tools.analytics.competitors import competitor_benchmarks
from tools.analytics.daily import daily_series
from tools.analytics.hashtags import hashtag_stats
from tools.analytics.posts import top_posts
from tools.analytics.summary import metric_summary
from tools.analytics.timing import engagement_by_weekday_hour
from tools.context import RunContext

PlatformName = Literal["instagram", "tiktok", "linkedin", "facebook", "twitter", "youtube"]
Days = Annotated[int, Field(ge=1, le=365)]
P = ParamSpec("P")


def _context(run: RunContext) -> tuple[Any, ObjectId, datetime | None]:
    """The database, the tenant and the pinned clock (None: the real time) of this run."""
    return run.services.db, run.org_id, run.now


async def _org_timezone(db: Any, org_id: ObjectId) -> str:
    """The organization's configured timezone: the default for local-time questions."""
    return (await load_settings(db, org_id)).timezone


def _model_errors(fn: Callable[P, Awaitable[dict]]) -> Callable[P, Awaitable[dict]]:
    """Turn the queries' argument errors into messages for the model."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> dict:
        try:
            return await fn(*args, **kwargs)
        except InvalidQuery as exc:
            raise ToolException(f"Error: {exc}. Fix the arguments and try again.") from exc

    return wrapper


def _validation_message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()
        )
        return f"Invalid arguments: {problems}. Fix them and try again."
    return f"Invalid arguments: {exc}"


@tool("best_posting_times", parse_docstring=True)
@_model_errors
async def best_posting_times(
    platform: PlatformName | None = None,
    timezone: str | None = None,
    days: Days = 90,
    include_grid: bool = False,
    *,
    runtime: ToolRuntime[RunContext],
) -> dict:
    """When the brand's posts get the most engagement, by local weekday and hour.

    Ranks hours, weekdays and weekday/hour slots by mean engagement rate
    ((likes+comments+shares+saves)/reach, a fraction) of the posts published then. Slots
    with fewer than 2 posts are not ranked. Weekday 0 is Monday.

    Args:
        platform: Only this network; all networks together when omitted.
        timezone: IANA timezone for local hours, e.g. "America/New_York"; defaults to
            the organization's timezone.
        days: How many days back to look.
        include_grid: Also return every non-empty weekday/hour cell.
    """
    db, org_id, now = _context(runtime.context)
    tz = timezone or await _org_timezone(db, org_id)
    profile = await engagement_by_weekday_hour(
        db, org_id, timezone=tz, platform=platform, days=days, now=now
    )
    data = profile.model_dump(mode="json", exclude={"cells"})
    data["by_hour"] = [s for s in data["by_hour"] if s["posts"]]
    if include_grid:
        data["cells"] = [c.model_dump(mode="json") for c in profile.cells if c.posts]
    return data


@tool("top_posts", parse_docstring=True)
@_model_errors
async def top_posts_tool(
    days: Days = 30,
    platform: PlatformName | None = None,
    n: Annotated[int, Field(ge=1, le=25)] = 5,
    worst: bool = False,
    rank_by: Literal["engagement_rate", "engagements", "reach"] = "engagement_rate",
    *,
    runtime: ToolRuntime[RunContext],
) -> dict:
    """The brand's best (or worst) performing posts of a recent period, with their metrics.

    Each item is one post on one network: text (shortened), publish time, engagement rate
    ((likes+comments+shares+saves)/reach, a fraction), reach and the counts.

    Args:
        days: How many days back to look.
        platform: Only this network; all networks when omitted.
        n: How many posts to return.
        worst: Return the lowest performers instead of the highest.
        rank_by: What to rank by.
    """
    db, org_id, now = _context(runtime.context)
    posts = await top_posts(
        db, org_id, days=days, platform=platform, n=n, worst=worst, rank_by=rank_by, now=now
    )
    return {"days": days, "platform": platform, "posts": [p.model_dump(mode="json") for p in posts]}


@tool("performance_summary", parse_docstring=True)
@_model_errors
async def performance_summary(
    days: Days = 30,
    platforms: list[PlatformName] | None = None,
    *,
    runtime: ToolRuntime[RunContext],
) -> dict:
    """Totals of the last N days per network and overall, compared with the N days before.

    Posts, impressions, reach, likes, comments, shares, saves, clicks, engagements and the
    engagement rate (total engagements / total reach, a fraction), each with the absolute
    change and the percent change (null when the previous period had none).

    Args:
        days: Length of the period, in days.
        platforms: Only these networks; all when omitted.
    """
    db, org_id, now = _context(runtime.context)
    summary = await metric_summary(db, org_id, days=days, platforms=platforms, now=now)
    return summary.model_dump(mode="json")


@tool("daily_metrics", parse_docstring=True)
@_model_errors
async def daily_metrics(
    days: Days = 30,
    platform: PlatformName | None = None,
    timezone: str | None = None,
    *,
    runtime: ToolRuntime[RunContext],
) -> dict:
    """Day-by-day posts, reach, engagements, engagement rate, comments, comment rate and
    sentiment, with unusual days flagged.

    A day is flagged as a spike or dip for a metric when its robust z-score (median and
    median absolute deviation over the period) exceeds 3.5. Use it to spot crises (comment
    spikes, sentiment dips) and breakouts. Today is included and marked partial.

    Args:
        days: How many local days, ending today.
        platform: Only this network; all networks when omitted.
        timezone: IANA timezone for local days; defaults to the organization's timezone.
    """
    db, org_id, now = _context(runtime.context)
    tz = timezone or await _org_timezone(db, org_id)
    series = await daily_series(db, org_id, days=days, platform=platform, timezone=tz, now=now)
    return series.model_dump(mode="json")


@tool("hashtag_stats", parse_docstring=True)
@_model_errors
async def hashtag_stats_tool(
    days: Days = 90,
    recent_days: Annotated[int, Field(ge=1, le=180)] = 14,
    platform: PlatformName | None = None,
    limit: Annotated[int, Field(ge=1, le=100)] = 20,
    *,
    runtime: ToolRuntime[RunContext],
) -> dict:
    """How the brand's hashtags are used and perform, recent days against the baseline before.

    Per hashtag: posts using it recently and in the baseline, uses per day in each window,
    the growth ratio (recent per day / baseline per day; null for tags new in the recent
    window) and the mean engagement rate in each window. Most used recently first.

    Args:
        days: The whole window, in days (recent plus baseline).
        recent_days: The recent part of the window, in days; must be shorter than days.
        platform: Only this network; all networks when omitted.
        limit: At most this many hashtags.
    """
    db, org_id, now = _context(runtime.context)
    stats = await hashtag_stats(
        db, org_id, days=days, recent_days=recent_days, platform=platform, now=now, limit=limit
    )
    return {"hashtags": [s.model_dump(mode="json") for s in stats]}


@tool("competitor_benchmarks", parse_docstring=True)
@_model_errors
async def competitor_benchmarks_tool(
    competitors: list[str] | None = None,
    days: Days = 30,
    *,
    runtime: ToolRuntime[RunContext],
) -> dict:
    """The brand's tracked competitors against its own numbers on the same networks.

    Compares followers, posting frequency (posts per week), engagement rate, top hashtags
    and content mix, with plain-language gaps. Competitors without an analysis on file are
    listed under "missing".

    Args:
        competitors: Competitor names or handles; all tracked competitors when omitted.
        days: How many days of the brand's own posts to compare with.
    """
    db, org_id, now = _context(runtime.context)
    result = await competitor_benchmarks(db, org_id, competitors=competitors, days=days, now=now)
    return result.model_dump(mode="json")


ANALYTICS_TOOLS: list[BaseTool] = [
    best_posting_times,
    top_posts_tool,
    performance_summary,
    daily_metrics,
    hashtag_stats_tool,
    competitor_benchmarks_tool,
]
for _tool in ANALYTICS_TOOLS:
    _tool.handle_tool_error = True
    _tool.handle_validation_error = _validation_message
