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
# A target in these states has been handed to the network: the post takes no more edits.
LOCKED_TARGET_STATES: tuple[str, ...] = ("publishing", "published")
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
    refresh_expires_at: UTCDateTime | None = None
    scopes: list[str] = Field(default_factory=list)
    # What the network needs beside the tokens (the Page a Page token acts for, a Bluesky
    # account's PDS and handle): identifiers, never secrets.
    extra: dict[str, str] = Field(default_factory=dict)
    # A refresh in progress until then (one refresh at a time: networks that rotate refresh
    # tokens refuse the old one, and a second refresh would look like a revocation).
    refreshing_until: UTCDateTime | None = None


class AccountSettings(Model):
    auto_post: bool = False
    default_hashtags: list[str] = Field(default_factory=list)
    posting_schedule: dict[str, Any] = Field(default_factory=dict)
    content_filters: dict[str, Any] = Field(default_factory=dict)
    timezone: str = "UTC"


class AccountStatus(Model):
    is_active: bool = True
    # needs_reconnect: the network refused the tokens for good (``reconnect_reason`` says
    # why, in the network's words); nothing is tried against the account until it is
    # connected again.
    connection: Literal["connected", "needs_reconnect", "disconnected"] = "connected"
    reconnect_reason: str | None = None
    last_sync: UTCDateTime | None = None
    sync_status: Literal["active", "error", "rate_limited"] = "active"
    error_message: str | None = None
    # A rate-limited sync waits until then (the network's Retry-After).
    next_sync_at: UTCDateTime | None = None


class AccountMetrics(Model):
    total_posts: int = 0
    avg_engagement: float = 0.0
    last_post_date: UTCDateTime | None = None


class ListeningState(Model):
    """Where listening left off: the network's cursor (opaque) and when it last read."""

    cursor: str | None = None
    last_run: UTCDateTime | None = None
    next_run: UTCDateTime | None = None
    last_risk_level: str | None = None


class SocialAccount(Document):
    collection = "social_accounts"

    user_id: PyObjectId | None = None
    platform: Platform
    account_info: AccountInfo
    authentication: AccountAuthentication = Field(default_factory=AccountAuthentication)
    settings: AccountSettings = Field(default_factory=AccountSettings)
    status: AccountStatus = Field(default_factory=AccountStatus)
    metrics: AccountMetrics = Field(default_factory=AccountMetrics)
    listening: ListeningState = Field(default_factory=ListeningState)


class OAuthState(Document):
    """A consent in progress: the ``state`` sent to the network (stored hashed), who asked,
    and the PKCE verifier (ciphertext). Used once, before ``expires_at``."""

    collection = "oauth_states"

    user_id: PyObjectId
    platform: Platform
    state_hash: str
    redirect_uri: str
    # The PKCE verifier, encrypted; named as a secret so that exports withhold it.
    verifier_secret: str | None = None
    # Reconnecting one stored account: the consent's account is stored into this one.
    account_id: PyObjectId | None = None
    expires_at: UTCDateTime
    used_at: UTCDateTime | None = None


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


class ThreadPart(Model):
    """A follow-up part of a thread (X, Bluesky): published as a reply to the part before."""

    text: str
    media_files: list[MediaFile] = Field(default_factory=list)


class PostContent(Model):
    title: str | None = None
    text: str = ""
    content_type: ContentType = "text"
    media_files: list[MediaFile] = Field(default_factory=list)
    hashtags: list[str] = Field(default_factory=list)
    mentions: list[str] = Field(default_factory=list)
    links: list[str] = Field(default_factory=list)
    thread: list[ThreadPart] = Field(
        default_factory=list, description="Parts after the main text, each a reply to the last."
    )
    first_comment: str | None = Field(
        default=None, description="A comment the account makes under the post once it is out."
    )


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
    thread: list[ThreadPart] | None = Field(
        default=None,
        description="This network's own thread; the post's content.thread if unset ([] for none).",
    )
    first_comment: str | None = Field(
        default=None,
        description="This network's own first comment; the post's content.firstComment if "
        "unset (an empty string for none).",
    )
    url: str | None = None
    published_at: UTCDateTime | None = None
    error_message: str | None = None
    retryable: bool | None = None
    attempts: int = 0
    next_attempt_at: UTCDateTime | None = None
    first_attempt_at: UTCDateTime | None = Field(
        default=None,
        description="When the first call to the network began: after an unknown outcome the "
        "publishing engine looks for the post from then on before trying again.",
    )
    platform_data: dict[str, Any] = Field(default_factory=dict)


class PublishingClaim(Model):
    """The publishing engine's hold on a post (``services.publishing``).

    ``token`` names the worker pass that holds the post; every write of that pass is guarded
    by it, so a pass whose lease ran out (its worker died or stalled) and was taken over
    can no longer write. ``lease_until`` is when the hold ends; between attempts (a target
    waits for Retry-After or a backoff) ``token`` is None and ``lease_until`` is when the
    post is due again.
    """

    token: str | None = None
    worker: str | None = None
    lease_until: UTCDateTime | None = None
    claimed_at: UTCDateTime | None = None


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
    publishing: PublishingClaim | None = None


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
