"""social_accounts, posts, content_templates."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from persistence.ids import PyObjectId, UTCDateTime
from persistence.models.base import Document, Model

Platform = Literal[
    "facebook", "twitter", "linkedin", "instagram", "tiktok", "youtube", "sandbox", "bluesky"
]
PLATFORMS: tuple[str, ...] = Platform.__args__  # type: ignore[attr-defined]
# pending_approval: submitted, waiting for a manager; publishing: claimed by the publishing
# engine (edits are refused with a 409 from then on); partially_published: some targets
# published, at least one failed for good.
PostStatus = Literal[
    "draft",
    "pending_approval",
    "scheduled",
    "paused",
    "publishing",
    "published",
    "partially_published",
    "failed",
    "cancelled",
]
TargetStatus = Literal["pending", "publishing", "published", "failed"]
ContentType = Literal["text", "image", "video", "carousel", "story", "link"]


class AccountInfo(Model):
    platform_id: str
    username: str
    display_name: str | None = None
    profile_picture: str | None = None
    follower_count: int = 0
    is_verified: bool = False


class AccountAuthentication(Model):
    """Tokens are stored encrypted (``persistence.crypto``); these fields hold ciphertext."""

    access_token: str | None = None
    refresh_token: str | None = None
    token_expires_at: UTCDateTime | None = None
    scopes: list[str] = Field(default_factory=list)


class AccountSettings(Model):
    auto_post: bool = False
    default_hashtags: list[str] = Field(default_factory=list)
    posting_schedule: dict[str, Any] = Field(default_factory=dict)
    content_filters: dict[str, Any] = Field(default_factory=dict)
    timezone: str = "UTC"


class AccountStatus(Model):
    is_active: bool = True
    last_sync: UTCDateTime | None = None
    sync_status: Literal["active", "error", "rate_limited"] = "active"
    error_message: str | None = None


class AccountMetrics(Model):
    total_posts: int = 0
    avg_engagement: float = 0.0
    last_post_date: UTCDateTime | None = None


class SocialAccount(Document):
    collection = "social_accounts"

    user_id: PyObjectId | None = None
    platform: Platform
    account_info: AccountInfo
    authentication: AccountAuthentication = Field(default_factory=AccountAuthentication)
    settings: AccountSettings = Field(default_factory=AccountSettings)
    status: AccountStatus = Field(default_factory=AccountStatus)
    metrics: AccountMetrics = Field(default_factory=AccountMetrics)


class Dimensions(Model):
    width: int
    height: int


class MediaFile(Model):
    media_id: PyObjectId | None = Field(
        default=None, description="The media library item (media_assets) this file is."
    )
    url: str
    type: Literal["image", "video", "gif"]
    size: int | None = None
    dimensions: Dimensions | None = None
    alt_text: str | None = None


class PostContent(Model):
    title: str | None = None
    text: str = ""
    content_type: ContentType = "text"
    media_files: list[MediaFile] = Field(default_factory=list)
    hashtags: list[str] = Field(default_factory=list)
    mentions: list[str] = Field(default_factory=list)
    links: list[str] = Field(default_factory=list)


class Targeting(Model):
    audience: Literal["all", "custom", "lookalike"] = "all"
    demographics: dict[str, Any] = Field(default_factory=dict)
    interests: list[str] = Field(default_factory=list)
    locations: list[str] = Field(default_factory=list)


class Scheduling(Model):
    status: PostStatus = "draft"
    scheduled_at: UTCDateTime | None = None
    published_at: UTCDateTime | None = None
    timezone: str = "UTC"
    recurring_schedule: dict[str, Any] | None = None


class AiGeneration(Model):
    is_ai_generated: bool = False
    agent_id: str | None = None
    prompt: str | None = None
    model: str | None = None
    confidence: float | None = Field(default=None, ge=0, le=1)
    iterations: int = 0
    feedback: str | None = None
    thread_id: str | None = Field(default=None, description="The graph thread that made it.")


class PlatformTarget(Model):
    social_account_id: PyObjectId
    platform: Platform
    platform_post_id: str | None = None
    status: TargetStatus = "pending"
    text: str | None = Field(
        default=None, description="This network's own text; the post's content.text if unset."
    )
    url: str | None = None
    published_at: UTCDateTime | None = None
    error_message: str | None = None
    retryable: bool | None = None
    attempts: int = 0
    next_attempt_at: UTCDateTime | None = None
    platform_data: dict[str, Any] = Field(default_factory=dict)


class Performance(Model):
    engagement_score: float = 0.0
    reach_count: int = 0
    impression_count: int = 0
    click_count: int = 0
    share_count: int = 0
    comment_count: int = 0
    like_count: int = 0
    save_count: int = 0


class Moderation(Model):
    status: Literal["approved", "pending", "rejected"] = "pending"
    moderated_by: PyObjectId | None = None
    moderated_at: UTCDateTime | None = None
    rejection_reason: str | None = None


class Post(Document):
    collection = "posts"

    user_id: PyObjectId | None = None
    content: PostContent = Field(default_factory=PostContent)
    targeting: Targeting = Field(default_factory=Targeting)
    scheduling: Scheduling = Field(default_factory=Scheduling)
    ai_generation: AiGeneration = Field(default_factory=AiGeneration)
    platforms: list[PlatformTarget] = Field(default_factory=list)
    performance: Performance = Field(default_factory=Performance)
    moderation: Moderation = Field(default_factory=Moderation)
    tags: list[str] = Field(default_factory=list, description="Campaigns and labels to filter by.")
    version: int = Field(
        default=0, description="Bumped by every edit; If-Match/version guards concurrent edits."
    )


class TemplateBody(Model):
    structure: str
    placeholders: list[dict[str, Any]] = Field(default_factory=list)
    default_values: dict[str, Any] = Field(default_factory=dict)


class TemplateUsage(Model):
    times_used: int = 0
    last_used: UTCDateTime | None = None
    avg_performance: float | None = None


class ContentTemplate(Document):
    collection = "content_templates"

    user_id: PyObjectId | None = None
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    category: Literal["promotional", "educational", "entertainment", "other"] = "other"
    template: TemplateBody
    usage: TemplateUsage = Field(default_factory=TemplateUsage)
    is_public: bool = False
    tags: list[str] = Field(default_factory=list)
