"""Request and response bodies of ``/api/social-accounts``. No token ever appears in one."""

from __future__ import annotations

from datetime import datetime, time
from typing import Literal

from pydantic import Field, field_validator

from api.routes.schemas import ApiModel, StrictIn
from persistence.ids import IsoTime
from persistence.models import SocialAccount
from persistence.models.content import PLATFORMS, Platform
from services.social_accounts.connect import ConnectStart
from services.social_accounts.insights import AccountInsights, AccountPostMetrics
from services.social_accounts.manage import DAYS, MAX_DEFAULT_HASHTAGS, PostingWindow
from services.social_accounts.sync import SyncResult
from tools.platform_rules import comment_max_length
from tools.platforms.base import SocialProvider
from tools.platforms.limits import Limits

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
assert set(DAYS) == set(Day.__args__)  # type: ignore[attr-defined]
# Networks one can connect (the data model also knows "sandbox", a test platform).
Connectable = Literal[
    "twitter", "instagram", "facebook", "linkedin", "tiktok", "youtube", "bluesky"
]
assert set(Connectable.__args__) <= set(PLATFORMS)  # type: ignore[attr-defined]


# --- accounts ----------------------------------------------------------------------------------


class AccountInfoOut(ApiModel):
    platform_id: str = Field(description="The account's id on the network.")
    username: str
    display_name: str | None
    profile_picture: str | None
    follower_count: int
    is_verified: bool


class PostingWindowOut(ApiModel):
    days: list[Day]
    start: str = Field(description="HH:MM in the account's timezone.")
    end: str


class AccountSettingsOut(ApiModel):
    auto_post: bool
    default_hashtags: list[str]
    posting_windows: list[PostingWindowOut]
    timezone: str


class AccountStatusOut(ApiModel):
    is_active: bool
    connection: Literal["connected", "needs_reconnect", "disconnected"] = Field(
        description="needs_reconnect: the network refused the tokens (reconnectReason says "
        "why); nothing is published or synced until the account is connected again."
    )
    reconnect_reason: str | None
    last_sync: datetime | None
    sync_status: Literal["active", "error", "rate_limited"]
    error_message: str | None
    next_sync_at: datetime | None


class AccountMetricsOut(ApiModel):
    total_posts: int
    avg_engagement: float
    last_post_date: datetime | None


class SocialAccountOut(ApiModel):
    id: str
    platform: Platform
    account_info: AccountInfoOut
    settings: AccountSettingsOut
    status: AccountStatusOut
    metrics: AccountMetricsOut
    token_expires_at: datetime | None = Field(description="When the access token expires.")
    scopes: list[str]
    created_at: datetime

    @classmethod
    def of(cls, account: SocialAccount) -> SocialAccountOut:
        windows = account.settings.posting_schedule.get("windows") or []
        return cls(
            id=str(account.id),
            platform=account.platform,
            account_info=AccountInfoOut(**account.account_info.model_dump()),
            settings=AccountSettingsOut(
                auto_post=account.settings.auto_post,
                default_hashtags=account.settings.default_hashtags,
                posting_windows=[PostingWindowOut(**w) for w in windows],
                timezone=account.settings.timezone,
            ),
            status=AccountStatusOut(**account.status.model_dump()),
            metrics=AccountMetricsOut(**account.metrics.model_dump()),
            token_expires_at=account.authentication.token_expires_at,
            scopes=account.authentication.scopes,
            created_at=account.created_at,
        )


class SocialAccountsOut(ApiModel):
    items: list[SocialAccountOut]


# --- connecting ----------------------------------------------------------------------------------


class ConnectIn(StrictIn):
    platform: Connectable
    identifier: str | None = Field(
        default=None,
        min_length=1,
        max_length=253,
        description="Bluesky only: the handle (or email) to sign in with.",
    )
    app_password: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Bluesky only: an app password (Settings > App passwords), never the "
        "account's own password.",
    )
    account_id: str | None = Field(
        default=None,
        pattern="^[0-9a-fA-F]{24}$",
        description="Reconnect this stored account (it must get the same identity back, "
        "unless it was never connected).",
    )


class ConnectOut(ApiModel):
    platform: Platform
    authorization_url: str | None = Field(
        description="OAuth networks: send the user here; the network redirects back to "
        "/api/social-accounts/callback, which stores the accounts."
    )
    scopes: list[str]
    uses_pkce: bool
    expires_at: datetime | None = Field(description="The consent must finish before this.")
    accounts: list[SocialAccountOut] = Field(
        description="Networks that connect directly (Bluesky): the accounts connected."
    )

    @classmethod
    def started(cls, found: ConnectStart) -> ConnectOut:
        return cls(
            platform=found.platform,  # type: ignore[arg-type]
            authorization_url=found.authorization_url,
            scopes=list(found.scopes),
            uses_pkce=found.uses_pkce,
            expires_at=found.expires_at,
            accounts=[],
        )

    @classmethod
    def connected(cls, platform: str, accounts: list[SocialAccount]) -> ConnectOut:
        return cls(
            platform=platform,  # type: ignore[arg-type]
            authorization_url=None,
            scopes=[],
            uses_pkce=False,
            expires_at=None,
            accounts=[SocialAccountOut.of(a) for a in accounts],
        )


class PostingWindowIn(StrictIn):
    days: list[Day] = Field(min_length=1, max_length=7)
    start: IsoTime = Field(description="HH:MM, in the account's timezone.")
    end: IsoTime = Field(description="HH:MM, after start.")

    @field_validator("start", "end")
    @classmethod
    def _local(cls, value: time) -> time:
        # Windows are in the account's timezone; an offset here would say two things.
        if value.tzinfo is not None:
            raise ValueError("a local time without an offset (the account's timezone applies)")
        return value

    def window(self) -> PostingWindow:
        return PostingWindow(tuple(dict.fromkeys(self.days)), self.start, self.end)


class SettingsIn(StrictIn):
    """Only the fields sent change."""

    default_hashtags: list[str] | None = Field(
        default=None, max_length=MAX_DEFAULT_HASHTAGS, description="Each #tag, no spaces."
    )
    posting_windows: list[PostingWindowIn] | None = Field(default=None, max_length=50)
    timezone: str | None = Field(
        default=None, min_length=1, max_length=64, description="IANA, e.g. Europe/Paris."
    )
    auto_post: bool | None = None


# --- platforms -----------------------------------------------------------------------------------


class TextLimitsOut(ApiModel):
    max_length: int
    counting: str = Field(description="How length is counted (utf16, x_weighted, graphemes...).")
    max_bytes: int | None
    max_hashtags: int | None
    title_max_length: int | None
    comment_max_length: int = Field(
        description="The longest first comment, counted as posts are (where the network has "
        "the first_comment capability)."
    )


class MediaLimitOut(ApiModel):
    kind: str
    mime_types: list[str]
    max_bytes: int
    max_duration_seconds: float | None
    min_duration_seconds: float | None


class RateBudgetOut(ApiModel):
    what: str
    limit: int
    window_seconds: int
    scope: str


class LimitsOut(ApiModel):
    text: TextLimitsOut
    media: list[MediaLimitOut]
    max_media: int
    max_videos: int
    mixed_media: bool
    requires_media: bool
    rate_budgets: list[RateBudgetOut]
    notes: list[str]

    @classmethod
    def of(cls, limits: Limits) -> LimitsOut:
        t = limits.text
        return cls(
            text=TextLimitsOut(
                max_length=t.max_length,
                counting=t.counting,
                max_bytes=t.max_bytes,
                max_hashtags=t.max_hashtags,
                title_max_length=t.title_max_length,
                comment_max_length=comment_max_length(limits.network),
            ),
            media=[
                MediaLimitOut(
                    kind=m.kind,
                    mime_types=sorted(m.mime_types),
                    max_bytes=m.max_bytes,
                    max_duration_seconds=m.max_duration_seconds,
                    min_duration_seconds=m.min_duration_seconds,
                )
                for m in limits.media
            ],
            max_media=limits.max_media,
            max_videos=limits.max_videos,
            mixed_media=limits.mixed_media,
            requires_media=limits.requires_media,
            rate_budgets=[
                RateBudgetOut(
                    what=b.what, limit=b.limit, window_seconds=b.window_seconds, scope=b.scope
                )
                for b in limits.budgets
            ],
            notes=list(limits.notes),
        )


class PlatformOut(ApiModel):
    platform: Platform
    form: Literal["production", "sandbox"] = Field(
        description="production: the network itself; sandbox: the local wire-format server "
        "(the network's app credentials are not configured)."
    )
    auth_kind: Literal["oauth2", "app_password"]
    capabilities: list[str]
    limits: LimitsOut

    @classmethod
    def of(cls, provider: SocialProvider, form: str) -> PlatformOut:
        return cls(
            platform=provider.network,  # type: ignore[arg-type]
            form=form,  # type: ignore[arg-type]
            auth_kind=provider.auth_kind,
            capabilities=sorted(provider.capabilities),
            limits=LimitsOut.of(provider.limits),
        )


class PlatformsOut(ApiModel):
    platforms: list[PlatformOut]


# --- numbers -------------------------------------------------------------------------------------


class SyncOut(ApiModel):
    account: SocialAccountOut
    posts_synced: int = Field(description="Published posts whose metrics were read.")
    followers: int | None
    synced_at: datetime

    @classmethod
    def of(cls, result: SyncResult, account: SocialAccount) -> SyncOut:
        return cls(
            account=SocialAccountOut.of(account),
            posts_synced=result.posts,
            followers=result.followers,
            synced_at=result.synced_at,
        )


class AccountNumbersOut(ApiModel):
    """The account's own numbers; a number the network does not give is absent."""

    followers: int | None = None
    following: int | None = None
    posts: int | None = None
    impressions: int | None = None
    reach: int | None = None


class InsightDayOut(AccountNumbersOut):
    date: datetime = Field(description="When the numbers were read (one entry per sync).")


class InsightsOut(ApiModel):
    days: list[InsightDayOut]
    latest: AccountNumbersOut
    change: AccountNumbersOut = Field(description="Latest minus the period's first day.")

    @classmethod
    def of(cls, found: AccountInsights) -> InsightsOut:
        return cls(
            days=[InsightDayOut(date=d.date, **d.values) for d in found.days],
            latest=AccountNumbersOut(**found.latest),
            change=AccountNumbersOut(**found.change),
        )


class PostMetricsValuesOut(ApiModel):
    likes: int
    comments: int
    shares: int
    saves: int
    clicks: int
    impressions: int
    reach: int
    engagement_rate: float


class PostMetricsOut(ApiModel):
    post_id: str
    platform_post_id: str | None
    url: str | None
    published_at: datetime
    text: str = Field(description="The post's text, cut at 280 characters.")
    metrics: PostMetricsValuesOut


class AccountMetricsListOut(ApiModel):
    posts: list[PostMetricsOut]
    totals: PostMetricsValuesOut

    @classmethod
    def of(cls, found: AccountPostMetrics) -> AccountMetricsListOut:
        return cls(
            posts=[
                PostMetricsOut(
                    post_id=str(p.post_id),
                    platform_post_id=p.platform_post_id,
                    url=p.url,
                    published_at=p.published_at,
                    text=p.text,
                    metrics=PostMetricsValuesOut(
                        **{k: getattr(p.metrics, k) for k in COUNTED},
                        engagement_rate=p.metrics.engagement_rate,
                    ),
                )
                for p in found.posts
            ],
            totals=PostMetricsValuesOut(**found.totals, engagement_rate=found.engagement_rate),
        )


COUNTED = ("likes", "comments", "shares", "saves", "clicks", "impressions", "reach")
