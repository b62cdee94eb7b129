"""The analytics API's answers, computed by the agents' own queries (``tools.analytics``).

One source of truth: every figure here comes from the same query functions the performance
tracker, engagement optimizer and competitor monitor call through their tools, given the
period as explicit local days instead of "the last N days". Each answer is cached per
organization (``services.analytics.cache``) and written in the organization's timezone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Literal, TypeVar

from bson import ObjectId
from pydantic import BaseModel, Field

from persistence.cache import Cache
from services.analytics.cache import TTL_SECONDS, cached
from services.analytics.localize import localize
from services.analytics.scope import RangeOut, Scope, range_out
from tools.analytics import (
    DailySeries,
    MetricSummary,
    PeriodComparison,
    Slot,
    TopPost,
    Totals,
    WeekdayHourProfile,
    daily_series,
    engagement_by_weekday_hour,
    metric_summary,
    top_posts,
)
from tools.analytics._common import Window, as_utc
from tools.analytics.audience import (
    AudienceGrowth,
    AudienceSummary,
    Demographics,
    audience_demographics,
    audience_growth,
    audience_summary,
)
from tools.analytics.content import ContentTypeStat, content_type_stats
from tools.analytics.posts import (
    PostPage,
    PostPerformance,
    PostRow,
    SortBy,
    TrendingPost,
    post_performance,
    post_rows,
    trending_posts,
)

RankBy = Literal["engagement_rate", "engagements", "reach"]
TRENDING_TTL = 60.0  # velocities move with the clock


class Answer(BaseModel):
    range: RangeOut


A = TypeVar("A", bound=BaseModel)


class Overview(Answer):
    overall: PeriodComparison = Field(description="this period against the one before")
    platforms: list[PeriodComparison]
    followers: int
    follower_change: int | None
    top_posts: list[TopPost]


class SummaryAnswer(Answer):
    summary: MetricSummary


class RealtimeAnswer(BaseModel):
    timezone: str
    hours: int
    as_of: str = Field(description="the moment of the answer, in the organization's timezone")
    summary: MetricSummary = Field(description="the last `hours` hours against those before")
    latest: list[PostRow] = Field(description="the latest posts, newest first")


class PostsAnswer(Answer):
    total: int
    limit: int
    offset: int
    items: list[PostRow]


class PostAnswer(BaseModel):
    timezone: str
    post: PostPerformance


class TopPostsAnswer(Answer):
    rank_by: RankBy
    worst: bool
    posts: list[TopPost]


class TrendingAnswer(Answer):
    posts: list[TrendingPost]


class AudienceAnswer(Answer):
    audience: AudienceSummary


class GrowthAnswer(Answer):
    growth: AudienceGrowth


class PlatformDemographics(BaseModel):
    platform: str
    reported: bool = Field(description="the network's API reports audience demographics")
    accounts: int = Field(description="the organization's accounts on it in the answer")
    synced: int = Field(description="of those, accounts with demographics on record")
    note: str


class DemographicsAnswer(Answer):
    accounts: list[Demographics]
    platforms: list[PlatformDemographics] = Field(
        description="per network: whether it reports demographics at all, and how many of "
        "the accounts have them"
    )
    available: bool = Field(description="at least one account has demographics on record")


class BehaviorAnswer(Answer):
    by_hour: list[Slot] = Field(description="local hours 0-23")
    by_weekday: list[Slot] = Field(description="0 = Monday")
    most_engaged_hours: list[Slot] = Field(description="by engagements, most first")
    content_types: list[ContentTypeStat]


class EngagementKind(BaseModel):
    kind: str
    count: int
    share: float | None = Field(description="a fraction of all engagements")


class PlatformEngagement(BaseModel):
    platform: str
    totals: Totals
    breakdown: list[EngagementKind]


class EngagementAnswer(Answer):
    totals: Totals
    breakdown: list[EngagementKind]
    platforms: list[PlatformEngagement]
    content_types: list[ContentTypeStat]


class TrendsAnswer(Answer):
    series: DailySeries


class OptimalAnswer(Answer):
    profile: WeekdayHourProfile


class Analytics:
    """The answers for one organization's questions, cached in ``cache``."""

    def __init__(self, db: object, cache: Cache) -> None:
        self.db = db
        self.cache = cache

    async def _cached(
        self,
        scope: Scope,
        name: str,
        model: type[A],
        compute: Callable[[], Awaitable[A]],
        *,
        ttl: float = TTL_SECONDS,
        **params: object,
    ) -> A:
        async def localized() -> A:
            return localize(await compute(), scope.zone)

        key = scope.key_text(**params)
        return await cached(
            self.cache, self.db, scope.org_id, name, key, model, localized, ttl_seconds=ttl
        )

    # --- totals ------------------------------------------------------------------------

    async def summary(self, scope: Scope) -> SummaryAnswer:
        async def compute() -> SummaryAnswer:
            return SummaryAnswer(range=range_out(scope), summary=await self._summary(scope))

        return await self._cached(scope, "summary", SummaryAnswer, compute)

    async def _summary(self, scope: Scope) -> MetricSummary:
        return await metric_summary(
            self.db,
            scope.org_id,
            period=scope.window,
            platforms=scope.platforms,
            accounts=scope.accounts,
        )

    async def overview(self, scope: Scope) -> Overview:
        async def compute() -> Overview:
            summary = await self._summary(scope)
            audience = await self._audience(scope)
            best = await top_posts(
                self.db,
                scope.org_id,
                n=3,
                period=scope.window,
                platforms=scope.platforms,
                accounts=scope.accounts,
            )
            return Overview(
                range=range_out(scope),
                overall=summary.overall,
                platforms=summary.platforms,
                followers=audience.followers,
                follower_change=audience.change,
                top_posts=best,
            )

        return await self._cached(scope, "overview", Overview, compute)

    async def realtime(self, scope: Scope, hours: int) -> RealtimeAnswer:
        """Never cached: the point is the latest numbers."""
        end = as_utc(scope.now)
        period = Window(end - timedelta(hours=hours), end)
        summary = await metric_summary(
            self.db, scope.org_id, period=period, platforms=scope.platforms, accounts=scope.accounts
        )
        latest = await post_rows(
            self.db,
            scope.org_id,
            period=period,
            platforms=scope.platforms,
            accounts=scope.accounts,
            limit=10,
        )
        answer = RealtimeAnswer(
            timezone=scope.timezone,
            hours=hours,
            as_of=end.astimezone(scope.zone).isoformat(),
            summary=summary,
            latest=latest.items,
        )
        return localize(answer, scope.zone)

    # --- posts -------------------------------------------------------------------------

    async def posts(
        self, scope: Scope, *, sort: SortBy, descending: bool, limit: int, offset: int
    ) -> PostsAnswer:
        async def compute() -> PostsAnswer:
            page: PostPage = await post_rows(
                self.db,
                scope.org_id,
                period=scope.window,
                platforms=scope.platforms,
                accounts=scope.accounts,
                sort=sort,
                descending=descending,
                limit=limit,
                offset=offset,
            )
            return PostsAnswer(
                range=range_out(scope),
                total=page.total,
                limit=limit,
                offset=offset,
                items=page.items,
            )

        return await self._cached(
            scope, "posts", PostsAnswer, compute, sort=sort, desc=descending, l=limit, o=offset
        )

    async def post(self, scope: Scope, post_id: ObjectId) -> PostAnswer:
        performance = await post_performance(self.db, scope.org_id, post_id)
        return localize(PostAnswer(timezone=scope.timezone, post=performance), scope.zone)

    async def top(self, scope: Scope, *, n: int, rank_by: RankBy, worst: bool) -> TopPostsAnswer:
        async def compute() -> TopPostsAnswer:
            posts = await top_posts(
                self.db,
                scope.org_id,
                n=n,
                rank_by=rank_by,
                worst=worst,
                period=scope.window,
                platforms=scope.platforms,
                accounts=scope.accounts,
            )
            return TopPostsAnswer(range=range_out(scope), rank_by=rank_by, worst=worst, posts=posts)

        return await self._cached(
            scope, "top", TopPostsAnswer, compute, n=n, rank_by=rank_by, worst=worst
        )

    async def trending(self, scope: Scope, *, n: int) -> TrendingAnswer:
        async def compute() -> TrendingAnswer:
            posts = await trending_posts(
                self.db,
                scope.org_id,
                period=scope.window,
                now=scope.now,
                platforms=scope.platforms,
                accounts=scope.accounts,
                n=n,
            )
            return TrendingAnswer(range=range_out(scope), posts=posts)

        return await self._cached(scope, "trending", TrendingAnswer, compute, n=n, ttl=TRENDING_TTL)

    # --- audience ----------------------------------------------------------------------

    async def _audience(self, scope: Scope) -> AudienceSummary:
        win = scope.window
        return await audience_summary(
            self.db,
            scope.org_id,
            start=win.start,
            end=win.end,
            platforms=scope.platforms,
            accounts=scope.accounts,
        )

    async def audience(self, scope: Scope) -> AudienceAnswer:
        async def compute() -> AudienceAnswer:
            return AudienceAnswer(range=range_out(scope), audience=await self._audience(scope))

        return await self._cached(scope, "audience", AudienceAnswer, compute)

    async def growth(self, scope: Scope) -> GrowthAnswer:
        async def compute() -> GrowthAnswer:
            growth = await audience_growth(
                self.db,
                scope.org_id,
                dates=scope.dates,
                timezone=scope.timezone,
                platforms=scope.platforms,
                accounts=scope.accounts,
            )
            return GrowthAnswer(range=range_out(scope), growth=growth)

        return await self._cached(scope, "growth", GrowthAnswer, compute)

    async def demographics(self, scope: Scope) -> DemographicsAnswer:
        async def compute() -> DemographicsAnswer:
            accounts = await audience_demographics(
                self.db, scope.org_id, platforms=scope.platforms, accounts=scope.accounts
            )
            return DemographicsAnswer(
                range=range_out(scope),
                accounts=accounts,
                platforms=_per_platform(accounts),
                available=any(a.breakdowns for a in accounts),
            )

        return await self._cached(scope, "demographics", DemographicsAnswer, compute)

    async def behavior(self, scope: Scope) -> BehaviorAnswer:
        async def compute() -> BehaviorAnswer:
            profile = await self._profile(scope)
            kinds = await self._content_types(scope)
            engaged = sorted(
                (s for s in profile.by_hour if s.engagements), key=lambda s: -s.engagements
            )
            return BehaviorAnswer(
                range=range_out(scope),
                by_hour=profile.by_hour,
                by_weekday=profile.by_weekday,
                most_engaged_hours=engaged[:5],
                content_types=kinds,
            )

        return await self._cached(scope, "behavior", BehaviorAnswer, compute)

    # --- engagement --------------------------------------------------------------------

    async def _profile(self, scope: Scope) -> WeekdayHourProfile:
        return await engagement_by_weekday_hour(
            self.db,
            scope.org_id,
            timezone=scope.timezone,
            period=scope.window,
            platforms=scope.platforms,
            accounts=scope.accounts,
        )

    async def _content_types(self, scope: Scope) -> list[ContentTypeStat]:
        return await content_type_stats(
            self.db,
            scope.org_id,
            period=scope.window,
            platforms=scope.platforms,
            accounts=scope.accounts,
        )

    async def engagement(self, scope: Scope) -> EngagementAnswer:
        async def compute() -> EngagementAnswer:
            summary = await self._summary(scope)
            return EngagementAnswer(
                range=range_out(scope),
                totals=summary.overall.current,
                breakdown=_breakdown(summary.overall.current),
                platforms=[
                    PlatformEngagement(
                        platform=p.platform, totals=p.current, breakdown=_breakdown(p.current)
                    )
                    for p in summary.platforms
                ],
                content_types=await self._content_types(scope),
            )

        return await self._cached(scope, "engagement", EngagementAnswer, compute)

    async def trends(self, scope: Scope) -> TrendsAnswer:
        async def compute() -> TrendsAnswer:
            series = await daily_series(
                self.db,
                scope.org_id,
                timezone=scope.timezone,
                now=scope.now,
                dates=scope.dates,
                platforms=scope.platforms,
                accounts=scope.accounts,
            )
            return TrendsAnswer(range=range_out(scope), series=series)

        # "Today" is marked partial: the answer depends on the day it is asked.
        today = as_utc(scope.now).astimezone(scope.zone).date().isoformat()
        return await self._cached(scope, "trends", TrendsAnswer, compute, today=today)

    async def optimal(self, scope: Scope) -> OptimalAnswer:
        async def compute() -> OptimalAnswer:
            return OptimalAnswer(range=range_out(scope), profile=await self._profile(scope))

        return await self._cached(scope, "optimal", OptimalAnswer, compute)


def _per_platform(accounts: list[Demographics]) -> list[PlatformDemographics]:
    by_platform: dict[str, list[Demographics]] = {}
    for account in accounts:
        by_platform.setdefault(account.platform, []).append(account)
    out = []
    for platform, found in sorted(by_platform.items()):
        synced = sum(1 for a in found if a.breakdowns)
        reported = found[0].available
        if not reported:
            note = f"{platform} does not report audience demographics through its API"
        else:
            note = f"from {found[0].source}; {synced} of {len(found)} accounts synced"
        out.append(
            PlatformDemographics(
                platform=platform,
                reported=reported,
                accounts=len(found),
                synced=synced,
                note=note,
            )
        )
    return out


def _breakdown(totals: Totals) -> list[EngagementKind]:
    kinds = ("likes", "comments", "shares", "saves")
    total = sum(getattr(totals, k) for k in kinds)
    return [
        EngagementKind(
            kind=k,
            count=getattr(totals, k),
            share=round(getattr(totals, k) / total, 4) if total else None,
        )
        for k in kinds
    ]
