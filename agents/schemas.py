"""The contracts of the seven agents: what each takes and what each answers.

Callers (graphs, the API, evals) rely on these shapes; field names are camelCase on the wire,
as everywhere in the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator
from pydantic.alias_generators import to_camel

from persistence.ids import IsoDateTime
from persistence.models.content import ContentType, Platform

RiskLevel = Literal["none", "low", "medium", "high", "critical"]
RISK_LEVELS: tuple[str, ...] = RiskLevel.__args__  # type: ignore[attr-defined]


class Schema(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Request(Schema):
    """What a client asks an agent for (over /api/ai, LangServe, /lg, workflows): validated
    as its published JSON Schema reads, so ``false`` is not a number and ``0`` not a string.
    Dates are ``IsoDateTime``, which still parses ISO text. The agents' outputs stay lax
    (a model's ``"0.5"`` is still a score)."""

    model_config = ConfigDict(strict=True)


# Bounded text and lists for what clients send: a request is refused before any work, never
# a model prompt the size of whatever a client uploaded.
ShortText = Annotated[str, Field(max_length=200)]
Hashtag = Annotated[str, Field(min_length=1, max_length=100)]
Hashtags = Annotated[list[Hashtag], Field(max_length=60)]


# --- content_creator -------------------------------------------------------------------------


class ContentRequest(Request):
    brief: str = Field(min_length=3, max_length=4000, description="What the post should say.")
    platform: Platform
    industry: ShortText | None = None
    audience: ShortText | None = None
    tone: ShortText | None = None
    call_to_action: str | None = Field(
        default=None, max_length=500, description="A CTA the post must carry."
    )
    hashtags: Hashtags = Field(default_factory=list, description="Hashtags to consider.")
    feedback: str | None = Field(
        default=None, max_length=4000, description="A reviewer's revision request."
    )
    previous_draft: str | None = Field(default=None, max_length=70000)


class PostWords(Schema):
    """What the model is asked for when it answers in a contract (OpenAI, Anthropic): the
    post's words and the hashtags it suggests. Code composes the post from them."""

    text: str = Field(description="The post text only: no hashtags, no labels, no notes.")
    hashtags: list[str] = Field(
        default_factory=list, description="Hashtags to suggest, each starting with #."
    )


#: Who wrote a draft's words: the model at the first try, the model asked again with the
#: quality gate's reasons, or code (composed from the brief, the brand's voice and past posts).
DraftSource = Literal["model", "regenerated", "composed"]


class Draft(Schema):
    text: str
    hashtags: list[str]
    call_to_action: str | None
    platform: Platform
    title: str | None = None
    repaired: bool = Field(default=False, description="True when the deterministic fallback ran.")
    attempts: int = Field(default=1, description="Model attempts before the draft was valid.")
    source: DraftSource = Field(
        default="model",
        description="model: the model's first draft; regenerated: its second, after the "
        "quality gate rejected the first; composed: written by code after the gate rejected "
        "the model's drafts.",
    )
    quality_notes: list[str] = Field(
        default_factory=list,
        description="Why the quality gate rejected the model's draft, one note per check.",
    )


# --- trend_analyzer ---------------------------------------------------------------------------


class TrendRequest(Request):
    industry: ShortText | None = None
    platforms: list[Platform] | None = None
    days: StrictInt = Field(default=7, ge=1, le=90, description="The recent window.")


class TrendItem(Schema):
    tag: str
    platform: str | None
    volume: int
    growth: float
    score: float = Field(ge=0, le=1)


class TrendReport(Schema):
    trends: list[TrendItem]
    summary: str


# --- engagement_optimizer ---------------------------------------------------------------------


class OptimizeRequest(Request):
    text: str = Field(min_length=1, max_length=70000)
    platform: Platform
    hashtags: Hashtags = Field(default_factory=list)
    content_type: ContentType = "text"
    at: IsoDateTime | None = Field(default=None, description="Planned publish time, if known.")
    slots: list[IsoDateTime] = Field(
        default_factory=list,
        max_length=50,
        description="Proposed publish times: the post is predicted at each, the first is the "
        "planned time (unless ``at`` is given).",
    )


class Prediction(Schema):
    rate: float
    low: float
    high: float
    source: Literal["model", "prior"]


class SlotPrediction(Schema):
    """The chosen post's predicted engagement if published at one proposed slot: the draft's
    features and the slot's weekday and hour, in one model call."""

    at: datetime
    rate: float
    low: float
    high: float


class Optimized(Schema):
    text: str
    hashtags: list[str]
    predicted_engagement: Prediction
    rationale: str
    slot_predictions: list[SlotPrediction] = Field(
        default_factory=list, description="One prediction per proposed slot, in their order."
    )


# --- scheduler --------------------------------------------------------------------------------


class ScheduleRequest(Request):
    platform: Platform
    count: StrictInt = Field(default=3, ge=1, le=50)
    timezone: str = Field(default="UTC", max_length=64)
    start: IsoDateTime | None = None
    days: StrictInt = Field(default=7, ge=1, le=60)
    min_gap_hours: float = Field(default=3, ge=0, le=72)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {value!r}, e.g. America/New_York") from exc
        return value


class Slot(Schema):
    at: datetime = Field(description="ISO-8601 with the account's offset.")
    expected_engagement: float
    reason: str


class Schedule(Schema):
    slots: list[Slot]
    summary: str = ""


# --- performance_tracker ----------------------------------------------------------------------


class PerformanceRequest(Request):
    days: StrictInt = Field(default=30, ge=1, le=365)
    platforms: list[Platform] | None = None


class PlatformMetrics(Schema):
    platform: str
    posts: int
    reach: int
    impressions: int
    engagements: int
    engagement_rate: float
    previous_engagement_rate: float | None
    change_pct: float | None


class PostRef(Schema):
    post_id: str
    platform: str
    text: str
    engagement_rate: float
    reach: int


class Anomaly(Schema):
    day: str
    metric: str
    direction: Literal["spike", "dip"]
    value: float
    z: float
    median: float | None = Field(default=None, description="the metric's median day")
    platform: str | None = Field(default=None, description="null: all platforms together")


class PerformanceReport(Schema):
    metrics: list[PlatformMetrics]
    top_posts: list[PostRef]
    bottom_posts: list[PostRef]
    anomalies: list[Anomaly]
    recommendations: list[str]
    summary: str


# --- competitor_monitor -----------------------------------------------------------------------


class CompetitorRequest(Request):
    competitors: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=20
    )
    days: StrictInt = Field(default=30, ge=1, le=365)


class Swot(Schema):
    strengths: list[str]
    weaknesses: list[str]
    opportunities: list[str]
    threats: list[str]


class CompetitorReport(Schema):
    benchmarks: list[dict[str, object]]
    missing: list[str] = Field(description="Competitors with no data on file.")
    content_gaps: list[str]
    swot: Swot
    recommendations: list[str]
    summary: str


# --- crisis_manager ---------------------------------------------------------------------------


class Mention(Request):
    text: str = Field(min_length=1, max_length=5000)
    platform: ShortText | None = None
    author: ShortText | None = None
    created_at: IsoDateTime | None = None
    reach: StrictInt | None = Field(default=None, ge=0, le=10**12)


class CrisisRequest(Request):
    brand: str = Field(min_length=1, max_length=200)
    mentions: list[Mention] = Field(min_length=1, max_length=5000)


class SentimentShares(Schema):
    positive: float
    neutral: float
    negative: float
    compound: float


class Assessment(Schema):
    risk_level: RiskLevel
    score: float = Field(ge=0, le=1)
    sentiment: SentimentShares
    drivers: list[str]
    volume_anomaly: bool


class ResponsePlan(Schema):
    summary: str
    actions: list[str]
    holding_statement: str | None = None
    escalate: bool


class CrisisReport(Schema):
    assessment: Assessment
    response_plan: ResponsePlan
