"""Reading back what the sync stored: an account's daily numbers and its posts' metrics.

Both read what is stored (synced or imported), never the network: a page that shows them
costs no API budget, and the numbers are the same ones the agents reason over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId

from persistence.ids import utcnow
from persistence.models import Analytics, AudienceInsights, Post
from persistence.models.analytics import Metrics
from persistence.repository import TenantRepository
from services.social_accounts import manage
from services.social_accounts.ports import AccountsRuntime

COUNTED = ("likes", "comments", "shares", "saves", "clicks", "impressions", "reach")
NUMBERS = ("followers", "following", "posts", "impressions", "reach")


@dataclass(frozen=True, slots=True)
class DayNumbers:
    date: datetime  # when the numbers were read
    values: dict[str, int]


@dataclass(frozen=True, slots=True)
class AccountInsights:
    days: list[DayNumbers]
    latest: dict[str, int]
    change: dict[str, int]  # latest minus the first day of the period, per number


@dataclass(frozen=True, slots=True)
class PostNumbers:
    post_id: ObjectId
    platform_post_id: str | None
    url: str | None
    published_at: datetime
    text: str
    metrics: Metrics


@dataclass(frozen=True, slots=True)
class AccountPostMetrics:
    posts: list[PostNumbers]
    totals: dict[str, int]
    engagement_rate: float


async def account_insights(
    rt: AccountsRuntime, org_id: ObjectId, account_id: ObjectId, days: int
) -> AccountInsights:
    await manage.get(rt, org_id, account_id)
    since = utcnow() - timedelta(days=days)
    first_day = datetime(since.year, since.month, since.day, tzinfo=UTC)
    docs = await TenantRepository(rt.db, AudienceInsights).find(
        org_id,
        {"socialAccountId": account_id, "analysisDate": {"$gte": first_day}},
        sort=[("analysisDate", 1)],
    )
    series = [
        DayNumbers(
            d.analysis_date,
            {k: int(d.insights[k]) for k in NUMBERS if isinstance(d.insights.get(k), int)},
        )
        for d in docs
    ]
    latest = series[-1].values if series else {}
    first = series[0].values if series else {}
    change = {k: latest[k] - first[k] for k in latest if k in first}
    return AccountInsights(series, latest, change)


async def post_metrics(
    rt: AccountsRuntime, org_id: ObjectId, account_id: ObjectId, days: int, limit: int
) -> AccountPostMetrics:
    await manage.get(rt, org_id, account_id)
    since = utcnow() - timedelta(days=days)
    docs = await TenantRepository(rt.db, Analytics).find(
        org_id,
        {"socialAccountId": account_id, "timeData.recordedAt": {"$gte": since}},
        sort=[("timeData.recordedAt", -1)],
        limit=limit,
    )
    posts = {
        p.id: p
        for p in await TenantRepository(rt.db, Post).find(
            org_id, {"_id": {"$in": [d.post_id for d in docs]}}
        )
    }
    out = []
    for doc in docs:
        post = posts.get(doc.post_id)
        target: Any = next(
            (t for t in (post.platforms if post else []) if t.social_account_id == account_id),
            None,
        )
        out.append(
            PostNumbers(
                post_id=doc.post_id,
                platform_post_id=target.platform_post_id if target else None,
                url=target.url if target else None,
                published_at=doc.time_data.recorded_at,
                text=(post.content.text if post else "")[:280],
                metrics=doc.metrics,
            )
        )
    totals = {k: sum(getattr(p.metrics, k) for p in out) for k in COUNTED}
    engaged = totals["likes"] + totals["comments"] + totals["shares"] + totals["saves"]
    base = totals["reach"] or totals["impressions"]
    return AccountPostMetrics(out, totals, round(engaged / base, 5) if base else 0.0)
