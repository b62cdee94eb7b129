"""The best (or worst) posts of a period."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from bson import ObjectId
from pydantic import Field

from tools.analytics._common import (
    ENGAGEMENTS,
    RATE_DIGITS,
    REACH,
    InvalidQuery,
    Result,
    aggregate_analytics,
    aware,
    base_match,
    check_platform,
    window,
)

TEXT_CHARS = 200
RankBy = Literal["engagement_rate", "engagements", "reach"]
_SORT_FIELD = {"engagement_rate": "rate", "engagements": "engagements", "reach": "reach"}


class TopPost(Result):
    """One post on one platform (a post shared to two networks appears once per network)."""

    post_id: str = Field(description="24-hex id of the post")
    platform: str
    text: str = Field(description=f"the post's text, cut to {TEXT_CHARS} characters")
    content_type: str | None = None
    hashtags: list[str] = Field(default_factory=list)
    published_at: datetime | None
    engagement_rate: float
    engagements: int
    reach: int
    impressions: int
    likes: int
    comments: int
    shares: int
    saves: int
    clicks: int


async def top_posts(
    db: Any,
    org_id: ObjectId,
    *,
    days: int = 30,
    platform: str | None = None,
    n: int = 5,
    worst: bool = False,
    rank_by: RankBy = "engagement_rate",
    now: datetime | None = None,
) -> list[TopPost]:
    """The ``n`` posts with the highest (``worst``: lowest) ``rank_by`` published in the last
    ``days`` days. Posts without reach have no engagement rate and are left out."""
    platform = check_platform(platform)
    if rank_by not in _SORT_FIELD:
        raise InvalidQuery(f"rank_by must be one of {', '.join(_SORT_FIELD)}, got {rank_by!r}")
    if not 1 <= n <= 100:
        raise InvalidQuery(f"n must be from 1 to 100, got {n!r}")
    win = window(days, now)
    direction = 1 if worst else -1
    pipeline = [
        base_match(win, [platform] if platform else None, {"metrics.reach": {"$gt": 0}}),
        {
            "$project": {
                "postId": 1,
                "platform": 1,
                "metrics": 1,
                "publishedAt": "$timeData.recordedAt",
                "engagements": ENGAGEMENTS,
                "reach": REACH,
                "rate": {"$divide": [ENGAGEMENTS, REACH]},
            }
        },
        # _id breaks ties, so the same data always gives the same list.
        {"$sort": {_SORT_FIELD[rank_by]: direction, "_id": 1}},
        {"$limit": n},
        # Join only the n survivors to their posts, for the text.
        {"$lookup": {"from": "posts", "localField": "postId", "foreignField": "_id", "as": "post"}},
    ]
    rows = await aggregate_analytics(db, org_id, pipeline)
    return [_top_post(row, org_id) for row in rows]


def _top_post(row: dict, org_id: ObjectId) -> TopPost:
    # A post of another tenant can never be shown, whatever the analytics row points at.
    post = next((p for p in row.get("post") or [] if p.get("organizationId") == org_id), {})
    content = post.get("content") or {}
    text = str(content.get("text") or "")
    if len(text) > TEXT_CHARS:
        text = text[: TEXT_CHARS - 1].rstrip() + "…"
    metrics = row.get("metrics") or {}
    scheduled = (post.get("scheduling") or {}).get("publishedAt")
    return TopPost(
        post_id=str(row["postId"]),
        platform=row["platform"],
        text=text,
        content_type=content.get("contentType"),
        hashtags=list(content.get("hashtags") or []),
        published_at=aware(row.get("publishedAt")) or aware(scheduled),
        engagement_rate=round(float(row["rate"]), RATE_DIGITS),
        engagements=int(row["engagements"]),
        reach=int(row["reach"]),
        impressions=int(metrics.get("impressions") or 0),
        likes=int(metrics.get("likes") or 0),
        comments=int(metrics.get("comments") or 0),
        shares=int(metrics.get("shares") or 0),
        saves=int(metrics.get("saves") or 0),
        clicks=int(metrics.get("clicks") or 0),
    )
