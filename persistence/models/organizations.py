"""organizations, users, user_sessions, api_keys."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from persistence.ids import PyObjectId, UTCDateTime
from persistence.models.base import Document, Model

Plan = Literal["free", "starter", "pro", "business", "enterprise"]
PLANS: tuple[str, ...] = Plan.__args__  # type: ignore[attr-defined]
Role = Literal["admin", "manager", "user", "viewer"]
# Stripe's subscription states (``services.billing.access`` says what each allows).
SubscriptionStatus = Literal[
    "trialing", "active", "past_due", "canceled", "unpaid", "paused", "incomplete"
]
SUBSCRIPTION_STATUSES: tuple[str, ...] = SubscriptionStatus.__args__  # type: ignore[attr-defined]
# Spellings stored before billing existed, read as Stripe's.
_OLD_STATUSES = {"cancelled": "canceled", "expired": "canceled"}


class Subscription(Model):
    """The organization's plan and the state of what pays for it.

    The limits are the plan's (``services.billing.plans``), never stored here. With Stripe,
    every field below the plan is a copy of the Stripe subscription as last read from Stripe
    (``services.billing.subscriptions.sync``); ``revision`` grows with each change, so a sync
    writes only over the state it read (compare-and-set). Without Stripe, an operator sets
    plan and status (``chorus orgs set-plan``).
    """

    plan: Plan = "free"
    status: SubscriptionStatus = "active"
    billing_cycle: Literal["monthly", "yearly"] = "monthly"
    next_billing_date: UTCDateTime | None = None
    # The running billing period, and the moment monthly allowances count from (None: the
    # first of each calendar month, UTC).
    current_period_start: UTCDateTime | None = None
    current_period_end: UTCDateTime | None = None
    period_anchor: UTCDateTime | None = None
    trial_end: UTCDateTime | None = None
    trial_used: bool = False
    cancel_at_period_end: bool = False
    # When the subscription first became past_due in this episode: the grace period counts
    # from here.
    past_due_since: UTCDateTime | None = None
    # Chosen but not yet in force: "free" after a paid subscription ends at its period's end.
    pending_plan: Plan | None = None
    stripe_customer_id: str | None = None
    stripe_subscription_id: str | None = None
    stripe_price_id: str | None = None
    revision: int = 0

    @field_validator("status", mode="before")
    @classmethod
    def _stripe_spelling(cls, value: Any) -> Any:
        return _OLD_STATUSES.get(value, value) if isinstance(value, str) else value


class OrganizationSettings(Model):
    """What the agents and the product read of an organization. Checked where it is changed
    (``services.organizations.update``), not here: a stored document always loads."""

    data_retention_days: int = 365
    # Invitations may only go to addresses in these domains (none: any address).
    allowed_domains: list[str] = Field(default_factory=list)
    sso_enabled: bool = False
    timezone: str = "UTC"
    banned_terms: list[str] = Field(default_factory=list)
    industry: str | None = None
    # Short guidelines the content agents write by ("warm, never smug"), before memories.
    brand_voice: list[str] = Field(default_factory=list)
    # The brand's colours as #RRGGBB, main first (generated graphics use the first as their
    # background and the second as their accent), and its logo: an item of the media library.
    brand_colors: list[str] = Field(default_factory=list)
    brand_logo_media_id: PyObjectId | None = None


class OrganizationGdpr(Model):
    consent_required: bool = True
    consent_date: UTCDateTime | None = None
    # The version of the terms accepted when the organization was registered.
    terms_version: str | None = None
    data_processing_agreement: str | None = None


class Organization(Document):
    """A tenant. Its ``organizationId`` is its own ``_id``, so tenant-first access is uniform."""

    collection = "organizations"

    name: str = Field(min_length=1, max_length=200)
    slug: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=100)
    subscription: Subscription = Field(default_factory=Subscription)
    settings: OrganizationSettings = Field(default_factory=OrganizationSettings)
    gdpr: OrganizationGdpr = Field(default_factory=OrganizationGdpr)
    deleted_at: UTCDateTime | None = None


class Profile(Model):
    first_name: str | None = None
    last_name: str | None = None
    avatar_url: str | None = None
    timezone: str = "UTC"
    language: str = "en"
    phone_number: str | None = None


class NotificationSettings(Model):
    email: bool = True
    push: bool = False
    sms: bool = False
    frequency: Literal["immediate", "daily", "weekly"] = "immediate"


class DashboardSettings(Model):
    default_view: str = "overview"
    widgets: list[dict[str, Any]] = Field(default_factory=list)


class UserSettings(Model):
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)


class Authentication(Model):
    is_active: bool = True
    email_verified: bool = False
    email_verified_at: UTCDateTime | None = None
    two_factor_enabled: bool = False
    # The TOTP secret, as ciphertext (``runtime.cipher``); a pending one waits for its first
    # correct code (``/2fa/verify``) before two-factor sign-in turns on.
    two_factor_secret: str | None = None
    two_factor_pending_secret: str | None = None
    # The time step of the last accepted code: a code is accepted once, so a replayed
    # (or older) code is refused.
    two_factor_last_counter: int | None = None
    # Salted SHA-256 of the unused one-time recovery codes.
    recovery_code_hashes: list[str] = Field(default_factory=list)
    last_login: UTCDateTime | None = None
    login_attempts: int = 0
    locked_until: UTCDateTime | None = None
    password_changed_at: UTCDateTime | None = None


class UserGdpr(Model):
    consent_granted: bool = False
    consent_date: UTCDateTime | None = None
    # The version of the terms the person accepted (services.gdpr.consent).
    terms_version: str | None = None
    data_export_requested: bool = False
    data_deletion_requested: bool = False
    processing_purposes: list[str] = Field(default_factory=list)


class User(Document):
    """A person: one email, one password, in as many organizations as their memberships say.

    ``organizationId`` is the organization the account was created in (the tenant this
    document is stored under) and ``role`` the role it had there: the role a person holds in
    each organization lives in ``memberships``. A user stored before memberships existed is
    adopted on first read: its ``organizationId`` and ``role`` become its first membership
    (``services.members``).
    """

    collection = "users"

    # Checked as an address where it enters (the API's request models); stored documents are
    # trusted, so loading one does not run the email validator again.
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    password_hash: str
    profile: Profile = Field(default_factory=Profile)
    role: Role = "user"
    permissions: list[str] = Field(default_factory=list)
    settings: UserSettings = Field(default_factory=UserSettings)
    authentication: Authentication = Field(default_factory=Authentication)
    gdpr: UserGdpr = Field(default_factory=UserGdpr)
    # A platform operator runs the service (``/api/admin``), above every organization: not
    # a role in any one of them. Granted only from the command line (``chorus operators``).
    platform_role: Literal["operator"] | None = None

    @field_validator("email")
    @classmethod
    def _lowercase(cls, value: str) -> str:
        # Sign-in compares emails case-insensitively; storing them lowercased makes that exact.
        return value.lower()


class DeviceInfo(Model):
    user_agent: str | None = None
    browser: str | None = None
    os: str | None = None
    device: str | None = None


class SessionLocation(Model):
    ip_address: str | None = None
    country: str | None = None
    city: str | None = None


class UserSession(Document):
    collection = "user_sessions"

    user_id: PyObjectId
    token_hash: str
    family_id: str
    # When the device signed in; each refresh stores a new document of the family and
    # carries this along, so a device's age survives token rotation.
    signed_in_at: UTCDateTime | None = None
    device_info: DeviceInfo = Field(default_factory=DeviceInfo)
    location: SessionLocation = Field(default_factory=SessionLocation)
    is_active: bool = True
    expires_at: UTCDateTime


class ApiKey(Document):
    collection = "api_keys"

    user_id: PyObjectId
    name: str = Field(min_length=1, max_length=100)
    prefix: str
    key_hash: str
    last_used_at: UTCDateTime | None = None
    revoked_at: UTCDateTime | None = None
