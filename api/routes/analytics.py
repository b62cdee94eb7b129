"""The analytics API: overview, posts, audience and engagement of the organization.

Every route takes a period of local days in the organization's timezone (``from``, ``to``;
the last 30 days by default), the networks (``platforms``, repeated) and the social accounts
(``accounts``, repeated ids); the figures come from the agents' own queries
(``services.analytics.queries``) and are cached per organization until new metrics arrive.
Figures are snake_case, exactly as the agents' tools return them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from bson import ObjectId
from fastapi import APIRouter, Depends, Query
from pydantic import StringConstraints

from api.deps import IdPath, Reader, RuntimeDep
from api.responses import errors
from persistence.ids import IsoDate
from services.analytics.queries import (
    Analytics,
    AudienceAnswer,
    BehaviorAnswer,
    DemographicsAnswer,
    EngagementAnswer,
    GrowthAnswer,
    OptimalAnswer,
    Overview,
    PostAnswer,
    PostsAnswer,
    RankBy,
    RealtimeAnswer,
    SummaryAnswer,
    TopPostsAnswer,
    TrendingAnswer,
    TrendsAnswer,
)
from services.analytics.scope import Scope, resolve_scope
from tools.analytics.posts import SortBy

router = APIRouter(prefix="/api/analytics", tags=["analytics"])

PlatformName = Literal[
    "instagram", "tiktok", "linkedin", "facebook", "twitter", "youtube", "bluesky", "sandbox"
]
AccountId = Annotated[str, StringConstraints(pattern="^[0-9a-fA-F]{24}$")]
SCOPE_ERRORS = errors(404, 422)


def analytics_of(runtime: RuntimeDep) -> Analytics:
    return Analytics(runtime.db, runtime.cache)


AnalyticsDep = Annotated[Analytics, Depends(analytics_of)]


def _scope_dependency(default_days: int):  # type: ignore[no-untyped-def]
    async def scope(
        principal: Reader,
        runtime: RuntimeDep,
        from_: Annotated[
            IsoDate | None,
            Query(alias="from", description="first local day (default: `to` minus the period)"),
        ] = None,
        to: Annotated[
            IsoDate | None, Query(description="last local day, inclusive (default: today)")
        ] = None,
        platforms: Annotated[
            list[PlatformName] | None, Query(description="only these networks (repeat it)")
        ] = None,
        accounts: Annotated[
            list[AccountId] | None,
            Query(description="only these social accounts' ids (repeat it)"),
        ] = None,
    ) -> Scope:
        return await resolve_scope(
            runtime.db,
            principal.org_id,
            first=from_,
            last=to,
            platforms=platforms,
            accounts=[ObjectId(a) for a in accounts] if accounts else None,
            default_days=default_days,
        )

    return scope


ScopeDep = Annotated[Scope, Depends(_scope_dependency(30))]
RecentScopeDep = Annotated[Scope, Depends(_scope_dependency(7))]
LongScopeDep = Annotated[Scope, Depends(_scope_dependency(90))]


@router.get("/overview", response_model=Overview, responses=SCOPE_ERRORS)
async def overview(scope: ScopeDep, analytics: AnalyticsDep) -> Overview:
    """Headline totals of the period against the one before, followers and the top posts."""
    return await analytics.overview(scope)


@router.get("/summary", response_model=SummaryAnswer, responses=SCOPE_ERRORS)
async def summary(scope: ScopeDep, analytics: AnalyticsDep) -> SummaryAnswer:
    """Totals per network and overall, each against the previous period of the same length
    (what the performance tracker's ``performance_summary`` tool returns)."""
    return await analytics.summary(scope)


@router.get("/realtime", response_model=RealtimeAnswer, responses=SCOPE_ERRORS)
async def realtime(
    scope: ScopeDep,
    analytics: AnalyticsDep,
    hours: Annotated[int, Query(ge=1, le=72, description="how many hours back from now")] = 24,
) -> RealtimeAnswer:
    """The last ``hours`` hours up to now (not the dates), never cached: totals against the
    hours before, and the latest posts."""
    return await analytics.realtime(scope, hours)


@router.get("/posts", response_model=PostsAnswer, responses=SCOPE_ERRORS)
async def posts(
    scope: ScopeDep,
    analytics: AnalyticsDep,
    sort: Annotated[SortBy, Query()] = "published_at",
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> PostsAnswer:
    """The period's posts, one row per post and network, with their numbers."""
    return await analytics.posts(
        scope, sort=sort, descending=order == "desc", limit=limit, offset=offset
    )


@router.get("/posts/top", response_model=TopPostsAnswer, responses=SCOPE_ERRORS)
async def top(
    scope: ScopeDep,
    analytics: AnalyticsDep,
    n: Annotated[int, Query(ge=1, le=100)] = 10,
    rank_by: Annotated[RankBy, Query()] = "engagement_rate",
    worst: bool = False,
) -> TopPostsAnswer:
    """The best (``worst``: lowest) posts of the period (the ``top_posts`` tool's query)."""
    return await analytics.top(scope, n=n, rank_by=rank_by, worst=worst)


@router.get("/posts/trending", response_model=TrendingAnswer, responses=SCOPE_ERRORS)
async def trending(
    scope: RecentScopeDep,
    analytics: AnalyticsDep,
    n: Annotated[int, Query(ge=1, le=100)] = 10,
) -> TrendingAnswer:
    """The period's posts gaining engagement fastest (engagements per hour live); the last
    7 days by default."""
    return await analytics.trending(scope, n=n)


@router.get("/posts/{post_id}", response_model=PostAnswer, responses=SCOPE_ERRORS)
async def post(post_id: IdPath, scope: ScopeDep, analytics: AnalyticsDep) -> PostAnswer:
    """One post's numbers on each of its networks, and over them all."""
    return await analytics.post(scope, post_id)  # type: ignore[arg-type]


@router.get("/audience", response_model=AudienceAnswer, responses=SCOPE_ERRORS)
async def audience(scope: ScopeDep, analytics: AnalyticsDep) -> AudienceAnswer:
    """Followers per account, network and in all, with the change over the period."""
    return await analytics.audience(scope)


@router.get("/audience/growth", response_model=GrowthAnswer, responses=SCOPE_ERRORS)
async def growth(scope: LongScopeDep, analytics: AnalyticsDep) -> GrowthAnswer:
    """Followers at the end of each local day (the last 90 by default)."""
    return await analytics.growth(scope)


@router.get("/audience/demographics", response_model=DemographicsAnswer, responses=SCOPE_ERRORS)
async def demographics(scope: ScopeDep, analytics: AnalyticsDep) -> DemographicsAnswer:
    """Age, gender and country shares per account where its network reports them; for the
    networks that report none (X, TikTok, Bluesky) the answer says so in ``note``."""
    return await analytics.demographics(scope)


@router.get("/audience/behavior", response_model=BehaviorAnswer, responses=SCOPE_ERRORS)
async def behavior(scope: ScopeDep, analytics: AnalyticsDep) -> BehaviorAnswer:
    """When the audience engages (local hours and weekdays) and with which kinds of content."""
    return await analytics.behavior(scope)


@router.get("/engagement", response_model=EngagementAnswer, responses=SCOPE_ERRORS)
async def engagement(scope: ScopeDep, analytics: AnalyticsDep) -> EngagementAnswer:
    """Engagements by kind (likes, comments, shares, saves), per network and content type."""
    return await analytics.engagement(scope)


@router.get("/engagement/trends", response_model=TrendsAnswer, responses=SCOPE_ERRORS)
async def trends(scope: ScopeDep, analytics: AnalyticsDep) -> TrendsAnswer:
    """One point per local day with unusual days flagged (the ``daily_metrics`` tool's query)."""
    return await analytics.trends(scope)


@router.get("/engagement/optimal", response_model=OptimalAnswer, responses=SCOPE_ERRORS)
async def optimal(scope: LongScopeDep, analytics: AnalyticsDep) -> OptimalAnswer:
    """The best local weekdays and hours to post (the ``best_posting_times`` tool's query);
    the last 90 days by default."""
    return await analytics.optimal(scope)
