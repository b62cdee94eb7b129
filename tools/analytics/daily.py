"""A per-local-day series with robust anomaly flags."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal

import numpy as np
from bson import ObjectId
from pydantic import Field

from tools.analytics._common import (
    ENGAGEMENTS,
    HAS_REACH,
    REACH,
    InvalidQuery,
    Result,
    Window,
    aggregate_analytics,
    as_utc,
    base_match,
    check_accounts,
    check_days,
    check_platform,
    check_platforms,
    check_timezone,
    field,
    rate,
    rounded,
)

Direction = Literal["spike", "dip"]
THRESHOLD = 3.5  # Iglewicz & Hoaglin's cut-off for the modified z-score
MIN_DAYS = 7  # fewer days than this give no stable median
# Counts of a day still in progress are not comparable with whole days; rates are.
RATE_METRICS = ("engagement_rate", "comment_rate", "sentiment")
COUNT_METRICS = ("posts", "reach", "engagements", "comments")
METRICS = COUNT_METRICS + RATE_METRICS


class DayPoint(Result):
    date: dt.date = Field(description="local calendar day")
    partial: bool = Field(description="the day is still in progress (only rates are flagged)")
    posts: int = 0
    reach: int = 0
    engagements: int = 0
    engagement_rate: float | None = Field(default=None, description="engagements / reach")
    comments: int = 0
    comment_rate: float | None = Field(default=None, description="comments / reach")
    sentiment: float | None = Field(
        default=None, description="mean sentimentScore (-1..1) of the posts that have one"
    )
    flags: dict[str, Direction] = Field(default_factory=dict)


class Anomaly(Result):
    date: dt.date
    metric: str
    direction: Direction
    value: float
    median: float
    robust_z: float


class DailySeries(Result):
    timezone: str
    platform: str | None
    days: int
    start: datetime
    end: datetime
    threshold: float
    points: list[DayPoint]
    anomalies: list[Anomaly] = Field(description="strongest first")

    def point(self, day: dt.date) -> DayPoint | None:
        return next((p for p in self.points if p.date == day), None)


async def daily_series(
    db: Any,
    org_id: ObjectId,
    *,
    days: int = 30,
    platform: str | None = None,
    timezone: str = "UTC",
    now: datetime | None = None,
    threshold: float = THRESHOLD,
    dates: tuple[dt.date, dt.date] | None = None,
    platforms: Iterable[str] | None = None,
    accounts: Iterable[ObjectId] | None = None,
) -> DailySeries:
    """One point per local day for the last ``days`` local days (today, in progress, last),
    or for the local days ``dates`` (first, last) inclusive, with spikes and dips flagged
    by a robust z-score (median and MAD) per metric. ``platform`` or ``platforms`` and
    ``accounts`` narrow the posts counted."""
    zone = check_timezone(timezone)
    names = [check_platform(platform)] if platform else check_platforms(platforms)
    platform = names[0] if names and len(names) == 1 else None
    account_ids = check_accounts(accounts)
    clock = as_utc(now)
    today = clock.astimezone(zone).date()
    if dates is None:
        check_days(days)
        first, last, end = today - timedelta(days=days - 1), today, clock
    else:
        first, last = dates
        if last < first:
            raise InvalidQuery("the last day must not be before the first")
        days = check_days((last - first).days + 1)
        end = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    start = datetime.combine(first, time(), tzinfo=zone).astimezone(UTC)
    at = "$timeData.recordedAt"
    local = {"date": at, "timezone": zone.key}
    pipeline = [
        base_match(Window(start, end), names, accounts=account_ids),
        {
            "$group": {
                "_id": {
                    "y": {"$year": local},
                    "m": {"$month": local},
                    "d": {"$dayOfMonth": local},
                },
                "posts": {"$sum": 1},
                "reach": {"$sum": REACH},
                "engagements": {"$sum": ENGAGEMENTS},
                "ratedEngagements": {"$sum": {"$cond": [HAS_REACH, ENGAGEMENTS, 0]}},
                "ratedComments": {"$sum": {"$cond": [HAS_REACH, field("metrics.comments"), 0]}},
                "comments": {"$sum": field("metrics.comments")},
                # $avg skips documents without a score.
                "sentiment": {"$avg": "$metrics.sentimentScore"},
            }
        },
    ]
    rows = await aggregate_analytics(db, org_id, pipeline)
    by_day = {dt.date(r["_id"]["y"], r["_id"]["m"], r["_id"]["d"]): r for r in rows}

    points = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        row = by_day.get(day) or {}
        reach = int(row.get("reach", 0))
        points.append(
            DayPoint(
                date=day,
                partial=day == today,
                posts=int(row.get("posts", 0)),
                reach=reach,
                engagements=int(row.get("engagements", 0)),
                engagement_rate=rate(row.get("ratedEngagements", 0), reach),
                comments=int(row.get("comments", 0)),
                comment_rate=rate(row.get("ratedComments", 0), reach),
                sentiment=rounded(row.get("sentiment")),
            )
        )
    anomalies = _flag(points, threshold)
    return DailySeries(
        timezone=zone.key,
        platform=platform,
        days=days,
        start=start,
        end=end,
        threshold=threshold,
        points=points,
        anomalies=anomalies,
    )


def robust_z(values: np.ndarray) -> tuple[float, np.ndarray] | None:
    """The median and the modified z-scores 0.6745 (x - median) / MAD of ``values``.

    When more than half the values are equal the MAD is 0; then the mean absolute deviation
    scaled by 1.2533 stands in for it (the usual fallback). None when all values are equal.
    """
    median = float(np.median(values))
    deviations = np.abs(values - median)
    mad = float(np.median(deviations))
    if mad > 0:
        return median, 0.6745 * (values - median) / mad
    mean_ad = float(np.mean(deviations))
    if mean_ad > 0:
        return median, (values - median) / (1.2533 * mean_ad)
    return None


def _flag(points: list[DayPoint], threshold: float) -> list[Anomaly]:
    """Flag each metric's outlying days, among the days that had posts."""
    anomalies: list[Anomaly] = []
    active = [p for p in points if p.posts > 0]
    for metric in METRICS:
        # A day in progress joins only the rate metrics, both as a candidate and a baseline.
        pool = [
            p
            for p in active
            if getattr(p, metric) is not None and (metric in RATE_METRICS or not p.partial)
        ]
        if len(pool) < MIN_DAYS:
            continue
        values = np.array([float(getattr(p, metric)) for p in pool])
        scored = robust_z(values)
        if scored is None:
            continue
        median, z = scored
        for point, value, score in zip(pool, values, z, strict=True):
            if abs(score) < threshold:
                continue
            direction: Direction = "spike" if score > 0 else "dip"
            point.flags[metric] = direction
            anomalies.append(
                Anomaly(
                    date=point.date,
                    metric=metric,
                    direction=direction,
                    value=round(float(value), 5),
                    median=round(median, 5),
                    robust_z=round(float(score), 2),
                )
            )
    anomalies.sort(key=lambda a: -abs(a.robust_z))
    return anomalies
