"""Totals of a period per platform and overall, against the period before it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bson import ObjectId
from pydantic import Field

from tools.analytics._common import (
    ENGAGEMENTS,
    HAS_REACH,
    Result,
    Window,
    aggregate_analytics,
    base_match,
    check_accounts,
    check_platforms,
    field,
    period_days,
    rate,
    window_or,
)

COUNTS = ("impressions", "reach", "likes", "comments", "shares", "saves", "clicks")
COMPARED = ("posts", *COUNTS, "engagements", "engagement_rate")


class Totals(Result):
    posts: int = 0
    impressions: int = 0
    reach: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    saves: int = 0
    clicks: int = 0
    engagements: int = 0
    engagement_rate: float | None = Field(
        default=None, description="total engagements / total reach (a fraction)"
    )


class PeriodComparison(Result):
    platform: str = Field(description="a platform, or 'all'")
    current: Totals
    previous: Totals
    change: dict[str, int | float | None] = Field(description="current - previous, per metric")
    percent_change: dict[str, float | None] = Field(
        description="(current - previous) / previous * 100; null when previous is 0"
    )


class MetricSummary(Result):
    days: int
    start: datetime
    end: datetime
    previous_start: datetime
    previous_end: datetime
    platforms: list[PeriodComparison]
    overall: PeriodComparison

    def platform(self, name: str) -> PeriodComparison | None:
        return next((p for p in self.platforms if p.platform == name), None)


async def metric_summary(
    db: Any,
    org_id: ObjectId,
    *,
    days: int = 30,
    platforms: Iterable[str] | None = None,
    now: datetime | None = None,
    period: Window | None = None,
    accounts: Iterable[ObjectId] | None = None,
) -> MetricSummary:
    """Posts, reach, engagements and the rest over the last ``days`` days (or ``period``),
    per platform and overall, each with the previous period of the same length and the
    change; only the given social ``accounts`` when some are given."""
    names = check_platforms(platforms)
    account_ids = check_accounts(accounts)
    current = window_or(period, days, now)
    if period is not None:
        days = period_days(current)
    previous = Window(current.start - (current.end - current.start), current.start)
    is_current = {"$gte": ["$timeData.recordedAt", current.start]}
    sums = {name: {"$sum": field(f"metrics.{name}")} for name in COUNTS}
    pipeline: list[dict[str, Any]] = [
        base_match(Window(previous.start, current.end), names, accounts=account_ids),
        {
            "$facet": {
                "byPlatform": [
                    {
                        "$group": {
                            "_id": {"platform": "$platform", "current": is_current},
                            "posts": {"$sum": 1},
                            **sums,
                            "engagements": {"$sum": ENGAGEMENTS},
                            # The rate's numerator and denominator skip posts without reach.
                            "ratedEngagements": {"$sum": {"$cond": [HAS_REACH, ENGAGEMENTS, 0]}},
                            "ratedReach": {
                                "$sum": {"$cond": [HAS_REACH, field("metrics.reach"), 0]}
                            },
                        }
                    }
                ],
                # A post shared to two networks is one post overall.
                "distinctPosts": [
                    {"$group": {"_id": {"post": "$postId", "current": is_current}}},
                    {"$group": {"_id": "$_id.current", "posts": {"$sum": 1}}},
                ],
            }
        },
    ]
    [result] = await aggregate_analytics(db, org_id, pipeline)

    acc: dict[tuple[str, bool], dict[str, float]] = {}
    for row in result["byPlatform"]:
        key = (row["_id"]["platform"], bool(row["_id"]["current"]))
        acc[key] = {k: v for k, v in row.items() if k != "_id"}
    seen = sorted({platform for platform, _ in acc} | set(names or ()))
    rows = [_compare(p, acc.get((p, True)), acc.get((p, False))) for p in seen]

    overall_posts = {bool(r["_id"]): int(r["posts"]) for r in result["distinctPosts"]}
    overall = _compare(
        "all",
        _sum(v for (_, cur), v in acc.items() if cur),
        _sum(v for (_, cur), v in acc.items() if not cur),
        posts=(overall_posts.get(True, 0), overall_posts.get(False, 0)),
    )
    return MetricSummary(
        days=days,
        start=current.start,
        end=current.end,
        previous_start=previous.start,
        previous_end=previous.end,
        platforms=rows,
        overall=overall,
    )


def _sum(rows: Iterable[dict[str, float]]) -> dict[str, float]:
    total: dict[str, float] = {}
    for row in rows:
        for key, value in row.items():
            total[key] = total.get(key, 0) + value
    return total


def _totals(row: dict[str, float] | None, posts: int | None = None) -> Totals:
    row = row or {}
    values = {name: int(row.get(name, 0)) for name in COUNTS}
    return Totals(
        posts=int(row.get("posts", 0)) if posts is None else posts,
        **values,
        engagements=int(row.get("engagements", 0)),
        engagement_rate=rate(row.get("ratedEngagements", 0), row.get("ratedReach", 0)),
    )


def _compare(
    platform: str,
    current: dict[str, float] | None,
    previous: dict[str, float] | None,
    *,
    posts: tuple[int, int] | None = None,
) -> PeriodComparison:
    now_totals = _totals(current, posts[0] if posts else None)
    then_totals = _totals(previous, posts[1] if posts else None)
    change: dict[str, int | float | None] = {}
    percent: dict[str, float | None] = {}
    for name in COMPARED:
        a, b = getattr(now_totals, name), getattr(then_totals, name)
        if a is None or b is None:
            change[name] = percent[name] = None
            continue
        diff = a - b
        change[name] = round(diff, 5) if isinstance(diff, float) else diff
        percent[name] = round(diff / b * 100, 2) if b else None
    return PeriodComparison(
        platform=platform,
        current=now_totals,
        previous=then_totals,
        change=change,
        percent_change=percent,
    )
