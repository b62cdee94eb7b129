"""When posts do best: engagement by local weekday and hour."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bson import ObjectId
from pydantic import Field, computed_field

from tools.analytics._common import (
    ENGAGEMENTS,
    HAS_REACH,
    RATE,
    RATE_DIGITS,
    REACH,
    Result,
    Window,
    aggregate_analytics,
    base_match,
    check_accounts,
    check_platform,
    check_platforms,
    check_timezone,
    period_days,
    rate,
    window_or,
)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Slot(Result):
    """Posts published in one local weekday/hour (or a whole hour or weekday)."""

    weekday: int | None = Field(default=None, description="0 = Monday .. 6 = Sunday")
    hour: int | None = Field(default=None, description="local hour 0-23")
    posts: int = 0
    engagement_rate: float | None = Field(
        default=None, description="mean of the posts' engagement rates (a fraction)"
    )
    reach: int = 0
    engagements: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def label(self) -> str:
        """E.g. 'Saturday 18:00', '18:00' or 'Saturday': weekday numbers are easy to misread."""
        parts = [WEEKDAYS[self.weekday]] if self.weekday is not None else []
        if self.hour is not None:
            parts.append(f"{self.hour:02d}:00")
        return " ".join(parts)


class WeekdayHourProfile(Result):
    timezone: str
    platform: str | None
    days: int
    start: datetime
    end: datetime
    posts: int
    min_posts: int = Field(description="fewest posts a slot needs to be ranked")
    cells: list[Slot] = Field(description="the 7x24 grid, weekday-major: index = weekday*24+hour")
    by_hour: list[Slot]
    by_weekday: list[Slot]
    best: list[Slot] = Field(description="weekday/hour cells, best first")
    best_hours: list[Slot]
    best_weekdays: list[Slot]

    def cell(self, weekday: int, hour: int) -> Slot:
        return self.cells[weekday * 24 + hour]


async def engagement_by_weekday_hour(
    db: Any,
    org_id: ObjectId,
    *,
    timezone: str,
    platform: str | None = None,
    days: int = 90,
    now: datetime | None = None,
    min_posts: int = 2,
    top: int = 10,
    period: Window | None = None,
    platforms: Iterable[str] | None = None,
    accounts: Iterable[ObjectId] | None = None,
) -> WeekdayHourProfile:
    """A 7x24 grid of posts, mean engagement rate and reach by local publishing weekday and
    hour, with the hour and weekday marginals and the best slots ranked. The last ``days``
    days, or ``period``; ``platform`` or ``platforms`` and ``accounts`` narrow the posts."""
    timezone = check_timezone(timezone).key
    names = [check_platform(platform)] if platform else check_platforms(platforms)
    platform = names[0] if names and len(names) == 1 else None
    account_ids = check_accounts(accounts)
    win = window_or(period, days, now)
    if period is not None:
        days = period_days(win)
    at = "$timeData.recordedAt"
    pipeline = [
        base_match(win, names, accounts=account_ids),
        {
            "$group": {
                "_id": {
                    # $dayOfWeek is 1 = Sunday .. 7 = Saturday; converted below.
                    "dow": {"$dayOfWeek": {"date": at, "timezone": timezone}},
                    "hour": {"$hour": {"date": at, "timezone": timezone}},
                },
                "posts": {"$sum": 1},
                "reach": {"$sum": REACH},
                "engagements": {"$sum": ENGAGEMENTS},
                # Sum and count of per-post rates, so cells can be merged into marginals.
                "rateSum": {"$sum": {"$ifNull": [RATE, 0]}},
                "rated": {"$sum": {"$cond": [HAS_REACH, 1, 0]}},
            }
        },
    ]
    rows = await aggregate_analytics(db, org_id, pipeline)

    grid = [[_Acc() for _ in range(24)] for _ in range(7)]
    for row in rows:
        weekday = (int(row["_id"]["dow"]) + 5) % 7  # 1 = Sunday -> 6, 2 = Monday -> 0
        grid[weekday][int(row["_id"]["hour"])].add(row)

    cells = [grid[d][h].slot(weekday=d, hour=h) for d in range(7) for h in range(24)]
    by_hour = [_merge(grid[d][h] for d in range(7)).slot(hour=h) for h in range(24)]
    by_weekday = [_merge(grid[d]).slot(weekday=d) for d in range(7)]
    return WeekdayHourProfile(
        timezone=timezone,
        platform=platform,
        days=days,
        start=win.start,
        end=win.end,
        posts=sum(c.posts for c in cells),
        min_posts=min_posts,
        cells=cells,
        by_hour=by_hour,
        by_weekday=by_weekday,
        best=_ranked(cells, min_posts)[:top],
        best_hours=_ranked(by_hour, min_posts)[:5],
        best_weekdays=_ranked(by_weekday, min_posts),
    )


class _Acc:
    __slots__ = ("engagements", "posts", "rate_sum", "rated", "reach")

    def __init__(self) -> None:
        self.posts = self.reach = self.engagements = self.rated = 0
        self.rate_sum = 0.0

    def add(self, row: dict) -> None:
        self.posts += int(row["posts"])
        self.reach += int(row["reach"])
        self.engagements += int(row["engagements"])
        self.rate_sum += float(row["rateSum"])
        self.rated += int(row["rated"])

    def slot(self, **key: int) -> Slot:
        mean = rate(self.rate_sum, self.rated)
        return Slot(
            **key,
            posts=self.posts,
            engagement_rate=None if mean is None else round(mean, RATE_DIGITS),
            reach=self.reach,
            engagements=self.engagements,
        )


def _merge(accs: Iterable[_Acc]) -> _Acc:
    total = _Acc()
    for acc in accs:
        total.posts += acc.posts
        total.reach += acc.reach
        total.engagements += acc.engagements
        total.rate_sum += acc.rate_sum
        total.rated += acc.rated
    return total


def _ranked(slots: list[Slot], min_posts: int) -> list[Slot]:
    """Slots with enough posts, best mean engagement rate first (more posts break ties)."""
    eligible = [s for s in slots if s.engagement_rate is not None and s.posts >= min_posts]
    return sorted(eligible, key=lambda s: (-(s.engagement_rate or 0.0), -s.posts))
