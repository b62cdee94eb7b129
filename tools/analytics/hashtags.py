"""Hashtag use and engagement, recent window against the baseline before it.

The rows are the raw material of trend scoring (``tools.trends``): counts and windows are
explicit so a consumer can compute its own rates and tests.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pydantic import Field

from persistence.models import Post
from persistence.repository import TenantRepository
from tools.analytics._common import (
    ENGAGEMENTS,
    HAS_REACH,
    REACH,
    InvalidQuery,
    Result,
    aggregate_analytics,
    aware,
    base_match,
    check_days,
    check_platform,
    normalize_tag,
    rate,
    rounded,
    window,
)


class HashtagStat(Result):
    tag: str = Field(description="lower case with a leading '#'")
    platform: str | None = Field(description="the platform counted, or null for all")
    uses: int = Field(description="posts carrying the tag in the whole window")
    recent_uses: int
    baseline_uses: int
    recent_days: int
    baseline_days: int
    recent_per_day: float
    baseline_per_day: float
    growth_ratio: float | None = Field(
        description="recent_per_day / baseline_per_day; null when the baseline has no use"
    )
    engagement_rate: float | None = Field(description="mean engagement rate of its posts")
    recent_engagement_rate: float | None
    baseline_engagement_rate: float | None
    last_used_at: datetime | None
    recent_posts: int = Field(description="all posts in the recent window, with the tag or not")
    baseline_posts: int = Field(description="all posts in the baseline window")


async def hashtag_stats(
    db: Any,
    org_id: ObjectId,
    *,
    days: int = 90,
    recent_days: int = 14,
    platform: str | None = None,
    now: datetime | None = None,
    min_uses: int = 1,
    limit: int | None = None,
) -> list[HashtagStat]:
    """Per hashtag over the last ``days`` days: uses and mean engagement rate in the last
    ``recent_days`` days against the ``days - recent_days`` days before. A post counts once
    however many networks it went to; its rate is over those networks together. Most used
    recently first."""
    platform = check_platform(platform)
    check_days(recent_days, name="recent_days")
    if recent_days >= days:
        raise InvalidQuery(f"recent_days ({recent_days}) must be shorter than days ({days})")
    win = window(days, now)
    recent_start = win.end - timedelta(days=recent_days)
    # One row per post first (a cross-posted post is one use), then the posts' hashtags in
    # one projected read, joined here: two light indexed queries instead of a per-post $lookup.
    per_post = await aggregate_analytics(
        db,
        org_id,
        [
            base_match(win, [platform] if platform else None),
            {
                "$group": {
                    "_id": "$postId",
                    "at": {"$min": "$timeData.recordedAt"},
                    "engagements": {"$sum": {"$cond": [HAS_REACH, ENGAGEMENTS, 0]}},
                    "reach": {"$sum": REACH},
                }
            },
        ],
    )
    hashtags = await post_hashtags(db, org_id, [row["_id"] for row in per_post])

    # Merge spellings (#ColdBrew, coldbrew) into one tag, per window.
    acc: dict[str, dict[bool, list[float]]] = {}
    last: dict[str, datetime] = {}
    volume: dict[bool, int] = {}
    for row in per_post:
        if row["_id"] not in hashtags:
            continue  # a dangling or foreign postId: never counted
        at = aware(row["at"])
        recent = bool(at and at >= recent_start)
        volume[recent] = volume.get(recent, 0) + 1
        has_reach = row["reach"] > 0
        for tag in {normalize_tag(t) for t in hashtags[row["_id"]]} - {None}:
            cell = acc.setdefault(tag, {}).setdefault(recent, [0, 0.0, 0])
            cell[0] += 1
            cell[1] += row["engagements"] / row["reach"] if has_reach else 0.0
            cell[2] += 1 if has_reach else 0
            if at and (tag not in last or at > last[tag]):
                last[tag] = at

    baseline_days = days - recent_days
    stats = []
    for tag, windows in acc.items():
        r_uses, r_sum, r_rated = windows.get(True, [0, 0.0, 0])
        b_uses, b_sum, b_rated = windows.get(False, [0, 0.0, 0])
        if r_uses + b_uses < min_uses:
            continue
        recent_per_day = r_uses / recent_days
        baseline_per_day = b_uses / baseline_days
        stats.append(
            HashtagStat(
                tag=tag,
                platform=platform,
                uses=int(r_uses + b_uses),
                recent_uses=int(r_uses),
                baseline_uses=int(b_uses),
                recent_days=recent_days,
                baseline_days=baseline_days,
                recent_per_day=round(recent_per_day, 4),
                baseline_per_day=round(baseline_per_day, 4),
                growth_ratio=rounded(recent_per_day / baseline_per_day)
                if baseline_per_day
                else None,
                engagement_rate=rate(r_sum + b_sum, r_rated + b_rated),
                recent_engagement_rate=rate(r_sum, r_rated),
                baseline_engagement_rate=rate(b_sum, b_rated),
                last_used_at=last.get(tag),
                recent_posts=volume.get(True, 0),
                baseline_posts=volume.get(False, 0),
            )
        )
    stats.sort(key=lambda s: (-s.recent_uses, -s.uses, s.tag))
    return stats[:limit] if limit else stats


async def post_hashtags(db: Any, org_id: ObjectId, post_ids: list[Any]) -> dict[Any, list[str]]:
    """The hashtags of the tenant's posts among ``post_ids``: only the tenant's posts are read,
    so an analytics row pointing elsewhere finds nothing."""
    if not post_ids:
        return {}
    wanted = set(post_ids)  # the $in on _id is an index lookup on MongoDB
    posts = TenantRepository(db, Post).collection
    cursor = posts.find(
        {"organizationId": org_id, "_id": {"$in": list(wanted)}}, {"content.hashtags": 1}
    )
    return {
        doc["_id"]: list((doc.get("content") or {}).get("hashtags") or [])
        for doc in await cursor.to_list(None)
    }
