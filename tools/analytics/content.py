"""Engagement by the kind of content (text, image, video, carousel...)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bson import ObjectId
from pydantic import Field

from tools.analytics._common import (
    ENGAGEMENTS,
    HAS_REACH,
    REACH,
    Result,
    Window,
    aggregate_analytics,
    base_match,
    check_accounts,
    check_platforms,
    field,
    post_join,
    rate,
    window_or,
)


class ContentTypeStat(Result):
    content_type: str
    posts: int = Field(description="posts on one network each (a cross-post counts per network)")
    share_of_posts: float = Field(description="a fraction of the period's posts")
    reach: int
    engagements: int
    likes: int
    comments: int
    shares: int
    saves: int
    engagement_rate: float | None = Field(description="engagements / reach of its posts")


async def content_type_stats(
    db: Any,
    org_id: ObjectId,
    *,
    period: Window,
    platforms: Iterable[str] | None = None,
    accounts: Iterable[ObjectId] | None = None,
) -> list[ContentTypeStat]:
    """Posts, reach and engagement per content type in ``period``, best rate first."""
    win = window_or(period, 1, None)
    rows = await aggregate_analytics(
        db,
        org_id,
        [
            base_match(win, check_platforms(platforms), accounts=check_accounts(accounts)),
            *post_join(org_id),
            {
                "$group": {
                    "_id": "$post.content.contentType",
                    "posts": {"$sum": 1},
                    "reach": {"$sum": REACH},
                    "engagements": {"$sum": ENGAGEMENTS},
                    "likes": {"$sum": field("metrics.likes")},
                    "comments": {"$sum": field("metrics.comments")},
                    "shares": {"$sum": field("metrics.shares")},
                    "saves": {"$sum": field("metrics.saves")},
                    "ratedEngagements": {"$sum": {"$cond": [HAS_REACH, ENGAGEMENTS, 0]}},
                }
            },
        ],
    )
    merged: dict[str, dict[str, float]] = {}
    for row in rows:  # a missing type is the data model's default, text
        bucket = merged.setdefault(row["_id"] or "text", {})
        for key, value in row.items():
            if key != "_id":
                bucket[key] = bucket.get(key, 0) + value
    total = sum(int(b["posts"]) for b in merged.values())
    stats = [
        ContentTypeStat(
            content_type=kind,
            posts=int(b["posts"]),
            share_of_posts=round(b["posts"] / total, 3) if total else 0.0,
            reach=int(b["reach"]),
            engagements=int(b["engagements"]),
            likes=int(b["likes"]),
            comments=int(b["comments"]),
            shares=int(b["shares"]),
            saves=int(b["saves"]),
            engagement_rate=rate(b["ratedEngagements"], b["reach"]),
        )
        for kind, b in merged.items()
    ]
    return sorted(stats, key=lambda s: (-(s.engagement_rate or 0.0), s.content_type))
