"""analytics, audience_insights, competitor_analysis."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import Field

from persistence.ids import PyObjectId, UTCDateTime
from persistence.models.base import Document, Model
from persistence.models.content import Performance, Platform


class SentimentBreakdown(Model):
    positive: float = 0.0
    neutral: float = 0.0
    negative: float = 0.0


class Metrics(Model):
    likes: int = 0
    comments: int = 0
    shares: int = 0
    saves: int = 0
    clicks: int = 0
    impressions: int = 0
    reach: int = 0
    unique_views: int = 0
    engagement_rate: float = 0.0
    click_through_rate: float = 0.0
    conversion_rate: float | None = None
    cost_per_click: float | None = None
    sentiment_score: float | None = Field(default=None, ge=-1, le=1)
    sentiment_breakdown: SentimentBreakdown | None = None


class TimeData(Model):
    """Buckets precomputed in UTC, so daily and hourly aggregations need no date arithmetic."""

    recorded_at: UTCDateTime
    date_bucket: UTCDateTime
    hour_bucket: int = Field(ge=0, le=23)
    day_of_week: int = Field(ge=0, le=6, description="0 = Monday")
    month: int = Field(ge=1, le=12)
    quarter: int = Field(ge=1, le=4)


class Analytics(Document):
    collection = "analytics"

    post_id: PyObjectId
    social_account_id: PyObjectId | None = None
    platform: Platform
    metrics: Metrics = Field(default_factory=Metrics)
    demographics: dict[str, Any] = Field(default_factory=dict)
    time_data: TimeData
    comparison: dict[str, Any] = Field(default_factory=dict)


def performance_of(docs: Iterable[Analytics]) -> Performance:
    """A post's totals over its networks; the score is their combined engagement rate."""
    docs = list(docs)
    total = {name: sum(getattr(d.metrics, name) for d in docs) for name in _COUNTED}
    engaged = total["likes"] + total["comments"] + total["shares"] + total["saves"]
    return Performance(
        engagement_score=round(engaged / total["reach"], 5) if total["reach"] else 0.0,
        reach_count=total["reach"],
        impression_count=total["impressions"],
        click_count=total["clicks"],
        share_count=total["shares"],
        comment_count=total["comments"],
        like_count=total["likes"],
        save_count=total["saves"],
    )


_COUNTED = ("likes", "comments", "shares", "saves", "clicks", "impressions", "reach")


class AudienceInsights(Document):
    collection = "audience_insights"

    social_account_id: PyObjectId
    platform: Platform
    insights: dict[str, Any] = Field(default_factory=dict)
    analysis_date: UTCDateTime
    data_source: Literal["platform_api", "ai_analysis", "import"] = "platform_api"


class Competitor(Model):
    name: str
    platform: Platform
    handle: str
    profile_url: str | None = None


class CompetitorMetrics(Model):
    follower_count: int = 0
    following_count: int = 0
    post_count: int = 0
    avg_engagement: float = 0.0
    post_frequency: float = 0.0


class CompetitorContent(Model):
    top_performing_posts: list[dict[str, Any]] = Field(default_factory=list)
    content_types: dict[str, Any] = Field(default_factory=dict)
    hashtag_usage: list[str] = Field(default_factory=list)
    posting_times: list[dict[str, Any]] = Field(default_factory=list)


class Swot(Model):
    strengths: list[str] = Field(default_factory=list)
    weaknesses: list[str] = Field(default_factory=list)
    opportunities: list[str] = Field(default_factory=list)
    threats: list[str] = Field(default_factory=list)


class CompetitorSync(Model):
    """How the tracked competitor's public numbers were last read through its network."""

    status: Literal["pending", "ok", "error", "unsupported"] = "pending"
    message: str | None = None
    synced_at: UTCDateTime | None = None
    # The post count and time of the reading before, for the posting frequency.
    previous_posts: int | None = None
    previous_at: UTCDateTime | None = None


class CompetitorAnalysis(Document):
    collection = "competitor_analysis"

    competitor: Competitor
    metrics: CompetitorMetrics = Field(default_factory=CompetitorMetrics)
    content: CompetitorContent = Field(default_factory=CompetitorContent)
    analysis: Swot = Field(default_factory=Swot)
    last_analyzed: UTCDateTime | None = None
    # Set on competitors tracked through the API (synced from their network); None on
    # analyses written by other means (imports, the agents' fixtures).
    sync: CompetitorSync | None = None


class AnalyticsVersion(Document):
    """One per organization: bumped by every write of metrics, so cached analytics answers
    (keyed by it) go stale the moment new numbers arrive, in every process."""

    collection = "analytics_versions"

    version: int = 0


class ReportRun(Model):
    """One analysis graph run in the background for a report."""

    graph: str
    thread_id: str
    run_id: str
    status: str = "pending"
    error: str | None = None


class AnalyticsReport(Document):
    """A generated analytics report: the graphs' Markdown, the period's figures, and an HTML
    rendering with charts."""

    collection = "analytics_reports"

    title: str
    status: Literal["running", "completed", "failed"] = "running"
    created_by: PyObjectId | None = None
    date_from: str = Field(description="first local day, ISO")
    date_to: str = Field(description="last local day, ISO")
    timezone: str = "UTC"
    platforms: list[str] | None = None
    runs: list[ReportRun] = Field(default_factory=list)
    markdown: str | None = None
    html: str | None = None
    figures: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    completed_at: UTCDateTime | None = None
