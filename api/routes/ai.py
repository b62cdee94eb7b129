"""The AI actions: each runs one agent (or one tool) for the caller's organization.

Request bodies are the agents' own request models, so FastAPI validates them and a bad field
is a 422 naming it. Every agent call records one ``ai_tasks`` row (see ``/api/ai/tasks``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from agents.schemas import (
    CompetitorReport,
    CompetitorRequest,
    ContentRequest,
    CrisisReport,
    CrisisRequest,
    Draft,
    Hashtags,
    Optimized,
    OptimizeRequest,
    PerformanceReport,
    PerformanceRequest,
    PlatformMetrics,
    Schedule,
    ScheduleRequest,
    ShortText,
    TrendReport,
    TrendRequest,
)
from api.deps import EngineDep, Reader, Writer
from api.routes.ai_common import AI_RATE, Body, BodyIn, call_agent
from persistence.errors import InvalidInput
from persistence.models.content import ContentType, Platform
from services import organizations
from tools.analytics import Slot, engagement_by_weekday_hour, hashtag_stats
from tools.engagement_model import predict_for
from tools.platform_rules import rules_for
from tools.sentiment import MAX_TEXTS, Sentiment, SentimentSummary, score_batch, summarize
from tools.trends import detect_trends, window_counts

router = APIRouter(prefix="/api/ai", tags=["ai"], dependencies=[AI_RATE])


# --- content ---------------------------------------------------------------------------------


@router.post("/content/generate", response_model=Draft)
async def generate_content(body: ContentRequest, principal: Writer, engine: EngineDep) -> Any:
    """A draft post from a brief (content_creator); platform rules are enforced."""
    return await call_agent("content_creator", body, principal, engine)


@router.post("/content/improve", response_model=Optimized)
async def improve_content(body: OptimizeRequest, principal: Writer, engine: EngineDep) -> Any:
    """The text and hashtags optimized for engagement, with the predicted rate
    (engagement_optimizer)."""
    return await call_agent("engagement_optimizer", body, principal, engine)


class RewriteRequest(ContentRequest):
    """A content request that must carry the draft to revise and what to change."""

    previous_draft: str = Field(min_length=1, max_length=70000)
    feedback: str = Field(min_length=1, max_length=4000)


@router.post("/content/rewrite", response_model=Draft)
async def rewrite_content(body: RewriteRequest, principal: Writer, engine: EngineDep) -> Any:
    """``previousDraft`` revised per ``feedback`` (content_creator)."""
    return await call_agent("content_creator", body, principal, engine)


class CaptionRequest(BodyIn):
    brief: str = Field(min_length=3, max_length=4000, description="What the media shows.")
    platform: Platform
    content_type: ContentType = "image"
    # The content creator's own bounds: what passes here also passes its contract.
    tone: ShortText | None = None
    audience: ShortText | None = None
    call_to_action: str | None = Field(default=None, max_length=500)
    hashtags: Hashtags = Field(default_factory=list)


@router.post("/captions/generate", response_model=Draft)
async def generate_caption(body: CaptionRequest, principal: Writer, engine: EngineDep) -> Any:
    """A caption for an image, video, carousel... (content_creator, with the content type
    folded into the brief, since the creator's contract has no such field)."""
    request = ContentRequest(
        brief=f"Caption for a {body.content_type} post: {body.brief}"[:4000],
        platform=body.platform,
        tone=body.tone,
        audience=body.audience,
        call_to_action=body.call_to_action,
        hashtags=body.hashtags,
    )
    return await call_agent("content_creator", request, principal, engine)


class HashtagRequest(BodyIn):
    text: str = Field(min_length=1, max_length=70000)
    platform: Platform


class TrendingTag(Body):
    tag: str
    score: float
    growth: float
    volume: int
    rising: bool = Field(description="significantly more used lately than before")


class HashtagSuggestions(Body):
    hashtags: list[str] = Field(
        description="the optimizer's tags, then rising trending ones up to the platform's "
        "recommended count"
    )
    from_optimizer: list[str]
    trending: list[TrendingTag] = Field(description="the tenant's rising tags on this platform")


@router.post("/hashtags/suggest", response_model=HashtagSuggestions)
async def suggest_hashtags(
    body: HashtagRequest, principal: Writer, engine: EngineDep
) -> HashtagSuggestions:
    """Hashtags for a text: the engagement optimizer's choice plus the organization's own
    rising tags (a Poisson test of recent against baseline use)."""
    optimized: Optimized = await call_agent(
        "engagement_optimizer",
        OptimizeRequest(text=body.text, platform=body.platform),
        principal,
        engine,
    )
    stats = await hashtag_stats(engine.services.db, principal.org_id, platform=body.platform)
    trends = [t for t in detect_trends(window_counts(stats), top_k=10) if t.score > 0]
    trending = [
        TrendingTag(tag=t.tag, score=t.score, growth=t.growth, volume=t.volume, rising=t.rising)
        for t in trends
    ]
    # Rising tags fill the room the platform's recommended count leaves; the optimizer's
    # choice is kept whole.
    merged = list(optimized.hashtags)
    seen = {"#" + t.lower().lstrip("#") for t in merged}
    room = rules_for(body.platform).recommended_hashtags[1] - len(merged)
    for t in trending:
        if room <= 0:
            break
        if t.rising and t.tag not in seen:
            merged.append(t.tag)
            seen.add(t.tag)
            room -= 1
    return HashtagSuggestions(hashtags=merged, from_optimizer=optimized.hashtags, trending=trending)


# --- analysis --------------------------------------------------------------------------------


@router.post("/trends/analyze", response_model=TrendReport)
async def analyze_trends(body: TrendRequest, principal: Writer, engine: EngineDep) -> Any:
    """Rising hashtags and topics in the recent window (trend_analyzer)."""
    return await call_agent("trend_analyzer", body, principal, engine)


@router.post("/schedule/optimize", response_model=Schedule)
async def optimize_schedule(body: ScheduleRequest, principal: Writer, engine: EngineDep) -> Any:
    """Publishing slots from the organization's own weekday-hour history (scheduler)."""
    return await call_agent("scheduler", body, principal, engine)


@router.post("/engagement/predict")
async def predict(body: OptimizeRequest, principal: Reader, engine: EngineDep) -> dict[str, Any]:
    """The engagement model's prediction for a draft, without a model call: ``rate`` (a
    fraction), an 80% range, whether the tenant's model or platform priors answered, and the
    features that move it most."""
    draft = body.model_dump(exclude_none=True, exclude={"slots"})
    if body.at is None and body.slots:  # the first proposed slot is the planned time
        draft["at"] = body.slots[0]
    try:
        return await predict_for(engine.services, principal.org_id, **draft)
    except ValueError as exc:
        raise InvalidInput(f"invalid input: {exc}") from exc


class BestTimes(Body):
    timezone: str = Field(description="the organization's timezone; slots are local to it")
    posts: int
    best: list[Slot] = Field(description="weekday/hour cells, best first")
    best_hours: list[Slot]
    best_weekdays: list[Slot]


class AudienceReport(Body):
    """What ``/audience/analyze`` answers."""

    platforms: list[PlatformMetrics] = Field(
        description="performance_tracker's reach, impressions, engagements and rate per platform"
    )
    best_times: BestTimes = Field(description="when the audience engages, all platforms")
    best_times_by_platform: dict[str, list[Slot]] = Field(
        description="the three best weekday/hour cells of each platform with posts"
    )
    recommendations: list[str]
    summary: str


@router.post("/audience/analyze", response_model=AudienceReport)
async def analyze_audience(
    body: PerformanceRequest, principal: Writer, engine: EngineDep
) -> AudienceReport:
    """The audience as the numbers show it: per-platform reach and engagement over ``days``
    (performance_tracker) and the local weekday-hour slots when posts do best."""
    report: PerformanceReport = await call_agent("performance_tracker", body, principal, engine)
    timezone = (await organizations.settings(engine.services.db, principal.org_id)).timezone
    profile = await engagement_by_weekday_hour(
        engine.services.db, principal.org_id, timezone=timezone, days=body.days
    )
    by_platform: dict[str, list[Slot]] = {}
    for metrics in report.metrics:
        if metrics.posts:
            per = await engagement_by_weekday_hour(
                engine.services.db,
                principal.org_id,
                timezone=timezone,
                platform=metrics.platform,
                days=body.days,
                top=3,
            )
            by_platform[metrics.platform] = per.best
    return AudienceReport(
        platforms=report.metrics,
        best_times=BestTimes(
            timezone=profile.timezone,
            posts=profile.posts,
            best=profile.best,
            best_hours=profile.best_hours,
            best_weekdays=profile.best_weekdays,
        ),
        best_times_by_platform=by_platform,
        recommendations=report.recommendations,
        summary=report.summary,
    )


@router.post("/competitor/analyze", response_model=CompetitorReport)
async def analyze_competitors(body: CompetitorRequest, principal: Writer, engine: EngineDep) -> Any:
    """Benchmarks against the named competitors, content gaps and a SWOT
    (competitor_monitor)."""
    return await call_agent("competitor_monitor", body, principal, engine)


class SentimentRequest(BodyIn):
    texts: list[str] = Field(min_length=1, max_length=MAX_TEXTS)


class SentimentResult(Body):
    items: list[Sentiment] = Field(description="one score per text, in order")
    summary: SentimentSummary


@router.post("/sentiment/analyze", response_model=SentimentResult)
async def analyze_sentiment(body: SentimentRequest, principal: Reader) -> SentimentResult:
    """VADER scores per text (with the emoji and sarcasm extensions) and their summary."""
    items = score_batch(body.texts)
    return SentimentResult(items=items, summary=summarize(items))


@router.post("/crisis/detect", response_model=CrisisReport)
async def detect_crisis(body: CrisisRequest, principal: Writer, engine: EngineDep) -> Any:
    """A risk assessment of the mentions and a response plan (crisis_manager)."""
    return await call_agent("crisis_manager", body, principal, engine)
