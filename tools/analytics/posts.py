"""Posts and their numbers: the best (or worst) of a period, a page of them, one post across
its networks, and the ones gaining engagement fastest."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

import numpy as np
from bson import ObjectId
from pydantic import Field

from persistence.errors import NotFound
from persistence.models import Analytics, Post
from persistence.models.analytics import performance_of
from persistence.models.content import Performance
from persistence.repository import TenantRepository
from tools.analytics._common import (
    ENGAGEMENTS,
    RATE,
    RATE_DIGITS,
    REACH,
    InvalidQuery,
    Result,
    Window,
    aggregate_analytics,
    as_utc,
    aware,
    base_match,
    check_accounts,
    check_platforms,
    rounded,
    window_or,
)

TEXT_CHARS = 200
RankBy = Literal["engagement_rate", "engagements", "reach"]
SortBy = Literal["published_at", "engagement_rate", "engagements", "reach"]
_SORT_FIELD = {
    "engagement_rate": "rate",
    "engagements": "engagements",
    "reach": "reach",
    "published_at": "publishedAt",
}


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


class PostRow(Result):
    """One post on one network in a listing; the rate is null when the network gave no reach."""

    post_id: str = Field(description="24-hex id of the post")
    platform: str
    social_account_id: str | None = None
    text: str = Field(description=f"the post's text, cut to {TEXT_CHARS} characters")
    content_type: str | None = None
    hashtags: list[str] = Field(default_factory=list)
    published_at: datetime | None
    engagement_rate: float | None
    engagements: int
    reach: int
    impressions: int
    likes: int
    comments: int
    shares: int
    saves: int
    clicks: int


class PostPage(Result):
    total: int = Field(description="rows in the period, over every page")
    items: list[PostRow]


class PlatformNumbers(Result):
    platform: str
    social_account_id: str | None
    published_at: datetime | None
    engagement_rate: float | None
    engagements: int
    reach: int
    impressions: int
    likes: int
    comments: int
    shares: int
    saves: int
    clicks: int
    sentiment: float | None = None


class PostTotals(Result):
    engagement_rate: float | None = Field(description="engagements / reach over its networks")
    reach: int
    impressions: int
    likes: int
    comments: int
    shares: int
    saves: int
    clicks: int


class PostPerformance(Result):
    post_id: str
    text: str
    content_type: str | None
    hashtags: list[str]
    status: str
    published_at: datetime | None
    platforms: list[PlatformNumbers]
    totals: PostTotals = Field(description="over its networks")


class TrendingPost(Result):
    post: PostRow
    hours_live: float = Field(description="hours from publication to now")
    velocity: float = Field(description="engagements per hour since publication")
    lift: float | None = Field(
        description="velocity / the median velocity of the period's posts (null if that is 0)"
    )


_PROJECT = {
    "postId": 1,
    "platform": 1,
    "socialAccountId": 1,
    "metrics": 1,
    "publishedAt": "$timeData.recordedAt",
    "engagements": ENGAGEMENTS,
    "reach": REACH,
    "rate": RATE,
}


def _join_posts() -> dict[str, Any]:
    return {
        "$lookup": {"from": "posts", "localField": "postId", "foreignField": "_id", "as": "post"}
    }


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
    period: Window | None = None,
    platforms: Iterable[str] | None = None,
    accounts: Iterable[ObjectId] | None = None,
) -> list[TopPost]:
    """The ``n`` posts with the highest (``worst``: lowest) ``rank_by`` published in the last
    ``days`` days (or ``period``). Posts without reach have no engagement rate and are left
    out. ``platform`` or ``platforms`` and ``accounts`` narrow the posts considered."""
    names = check_platforms([platform]) if platform else check_platforms(platforms)
    account_ids = check_accounts(accounts)
    if rank_by not in ("engagement_rate", "engagements", "reach"):
        raise InvalidQuery(
            f"rank_by must be one of engagement_rate, engagements, reach, got {rank_by!r}"
        )
    if not 1 <= n <= 100:
        raise InvalidQuery(f"n must be from 1 to 100, got {n!r}")
    win = window_or(period, days, now)
    direction = 1 if worst else -1
    pipeline = [
        base_match(win, names, {"metrics.reach": {"$gt": 0}}, accounts=account_ids),
        {"$project": _PROJECT},
        # _id breaks ties, so the same data always gives the same list.
        {"$sort": {_SORT_FIELD[rank_by]: direction, "_id": 1}},
        {"$limit": n},
        # Join only the n survivors to their posts, for the text.
        _join_posts(),
    ]
    rows = await aggregate_analytics(db, org_id, pipeline)
    return [TopPost(**_fields(row, org_id)) for row in rows]


async def post_rows(
    db: Any,
    org_id: ObjectId,
    *,
    period: Window,
    platforms: Iterable[str] | None = None,
    accounts: Iterable[ObjectId] | None = None,
    sort: SortBy = "published_at",
    descending: bool = True,
    limit: int = 50,
    offset: int = 0,
) -> PostPage:
    """A page of the posts published in ``period``, one row per post and network."""
    names = check_platforms(platforms)
    account_ids = check_accounts(accounts)
    if sort not in _SORT_FIELD:
        raise InvalidQuery(f"sort must be one of {', '.join(_SORT_FIELD)}, got {sort!r}")
    if not 1 <= limit <= 500 or offset < 0:
        raise InvalidQuery("limit must be from 1 to 500 and offset at least 0")
    win = window_or(period, 1, None)
    pipeline = [
        base_match(win, names, accounts=account_ids),
        {
            "$facet": {
                "total": [{"$group": {"_id": None, "n": {"$sum": 1}}}],
                "items": [
                    {"$project": _PROJECT},
                    {"$sort": {_SORT_FIELD[sort]: -1 if descending else 1, "_id": 1}},
                    {"$skip": offset},
                    {"$limit": limit},
                    _join_posts(),
                ],
            }
        },
    ]
    [result] = await aggregate_analytics(db, org_id, pipeline)
    total = int(result["total"][0]["n"]) if result["total"] else 0
    return PostPage(total=total, items=[PostRow(**_fields(r, org_id)) for r in result["items"]])


async def post_performance(db: Any, org_id: ObjectId, post_id: ObjectId) -> PostPerformance:
    """One post of the tenant with its numbers on each network; NotFound for any other id."""
    post = await TenantRepository(db, Post).find_one(org_id, {"_id": post_id})
    if post is None:
        raise NotFound(f"post {post_id} not found")
    docs = await TenantRepository(db, Analytics).find(
        org_id, {"postId": post_id}, sort=[("platform", 1), ("_id", 1)]
    )
    platforms = []
    for doc in docs:
        m = doc.metrics
        engaged = m.likes + m.comments + m.shares + m.saves
        platforms.append(
            PlatformNumbers(
                platform=doc.platform,
                social_account_id=str(doc.social_account_id) if doc.social_account_id else None,
                published_at=aware(doc.time_data.recorded_at),
                engagement_rate=round(engaged / m.reach, RATE_DIGITS) if m.reach else None,
                engagements=engaged,
                reach=m.reach,
                impressions=m.impressions,
                likes=m.likes,
                comments=m.comments,
                shares=m.shares,
                saves=m.saves,
                clicks=m.clicks,
                sentiment=rounded(m.sentiment_score),
            )
        )
    return PostPerformance(
        post_id=str(post.id),
        text=post.content.text,
        content_type=post.content.content_type,
        hashtags=list(post.content.hashtags),
        status=post.scheduling.status,
        published_at=aware(post.scheduling.published_at),
        platforms=platforms,
        totals=_totals(performance_of(docs)),
    )


async def trending_posts(
    db: Any,
    org_id: ObjectId,
    *,
    period: Window,
    now: datetime | None = None,
    platforms: Iterable[str] | None = None,
    accounts: Iterable[ObjectId] | None = None,
    n: int = 10,
) -> list[TrendingPost]:
    """The posts of ``period`` gaining engagement fastest: engagements per hour live (at
    least one hour, so a post minutes old is not ranked on a handful of likes), with the
    lift over the period's median."""
    names = check_platforms(platforms)
    account_ids = check_accounts(accounts)
    if not 1 <= n <= 100:
        raise InvalidQuery(f"n must be from 1 to 100, got {n!r}")
    win = window_or(period, 1, None)
    clock = as_utc(now)
    rows = await aggregate_analytics(
        db,
        org_id,
        [
            base_match(win, names, accounts=account_ids),
            {"$project": {"publishedAt": "$timeData.recordedAt", "engagements": ENGAGEMENTS}},
        ],
    )
    scored = []
    for row in rows:
        at = aware(row.get("publishedAt"))
        if at is None or at > clock:
            continue
        hours = max((clock - at).total_seconds() / 3600, 1.0)
        scored.append((int(row["engagements"]) / hours, hours, row["_id"]))
    if not scored:
        return []
    median = float(np.median([v for v, _, _ in scored]))
    scored.sort(key=lambda item: (-item[0], str(item[2])))
    best = scored[:n]
    details = await aggregate_analytics(
        db,
        org_id,
        [
            {"$match": {"_id": {"$in": [i for _, _, i in best]}}},
            {"$project": _PROJECT},
            _join_posts(),
        ],
    )
    by_id = {row["_id"]: row for row in details}
    return [
        TrendingPost(
            post=PostRow(**_fields(by_id[i], org_id)),
            hours_live=round(hours, 2),
            velocity=round(velocity, 5),
            lift=round(velocity / median, 3) if median else None,
        )
        for velocity, hours, i in best
        if i in by_id
    ]


def _totals(perf: Performance) -> PostTotals:
    return PostTotals(
        engagement_rate=perf.engagement_score if perf.reach_count else None,
        reach=perf.reach_count,
        impressions=perf.impression_count,
        likes=perf.like_count,
        comments=perf.comment_count,
        shares=perf.share_count,
        saves=perf.save_count,
        clicks=perf.click_count,
    )


def _fields(row: dict, org_id: ObjectId) -> dict[str, Any]:
    """The listing fields of an analytics row joined to its post."""
    # A post of another tenant can never be shown, whatever the analytics row points at.
    post = next((p for p in row.get("post") or [] if p.get("organizationId") == org_id), {})
    content = post.get("content") or {}
    text = str(content.get("text") or "")
    if len(text) > TEXT_CHARS:
        text = text[: TEXT_CHARS - 1].rstrip() + "…"
    metrics = row.get("metrics") or {}
    scheduled = (post.get("scheduling") or {}).get("publishedAt")
    account = row.get("socialAccountId")
    rate = row.get("rate")
    return dict(
        post_id=str(row["postId"]),
        platform=row["platform"],
        social_account_id=str(account) if account else None,
        text=text,
        content_type=content.get("contentType"),
        hashtags=list(content.get("hashtags") or []),
        published_at=aware(row.get("publishedAt")) or aware(scheduled),
        engagement_rate=None if rate is None else round(float(rate), RATE_DIGITS),
        engagements=int(row["engagements"]),
        reach=int(row["reach"]),
        impressions=int(metrics.get("impressions") or 0),
        likes=int(metrics.get("likes") or 0),
        comments=int(metrics.get("comments") or 0),
        shares=int(metrics.get("shares") or 0),
        saves=int(metrics.get("saves") or 0),
        clicks=int(metrics.get("clicks") or 0),
    )
