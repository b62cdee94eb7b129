"""Request and response bodies of the self-service routes: getting back in (password reset,
email verification), two-factor sign-in, the profile, preferences and signed-in devices."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import EmailStr, Field

from api.routes.schemas import ApiModel, Password, StrictIn
from persistence.models import User
from services.users import Device


class MessageOut(ApiModel):
    message: str


class ForgotPasswordIn(StrictIn):
    email: EmailStr


class ResetPasswordIn(StrictIn):
    token: str = Field(min_length=1, max_length=512, description="From the reset email.")
    password: str = Password


class TokenIn(StrictIn):
    token: str = Field(min_length=1, max_length=512, description="From the email.")


class PasswordIn(StrictIn):
    password: str = Field(min_length=1, max_length=256)


class TwoFactorSetupOut(ApiModel):
    secret: str = Field(description="Base32 TOTP secret, for typing into an authenticator app.")
    otpauth_uri: str = Field(description="The same secret as an otpauth:// URI (a QR code).")


class CodeIn(StrictIn):
    code: str = Field(min_length=1, max_length=32)


class RecoveryCodesOut(ApiModel):
    enabled: bool = True
    recovery_codes: list[str] = Field(
        description="One-time codes for when the authenticator is lost. Shown this once."
    )


class TwoFactorDisableIn(StrictIn):
    password: str = Field(min_length=1, max_length=256)
    code: str = Field(min_length=1, max_length=32, description="A current code or a recovery code.")


class ProfileIn(StrictIn):
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    avatar_url: str | None = Field(default=None, max_length=4000)
    timezone: str | None = Field(default=None, max_length=100)
    language: str | None = Field(default=None, max_length=35)
    phone_number: str | None = Field(default=None, max_length=40)


class ProfileOut(ApiModel):
    id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    avatar_url: str | None = None
    timezone: str
    language: str
    phone_number: str | None = None
    email_verified: bool
    two_factor_enabled: bool

    @classmethod
    def of(cls, user: User) -> ProfileOut:
        p = user.profile
        return cls(
            id=str(user.id),
            email=user.email,
            first_name=p.first_name,
            last_name=p.last_name,
            avatar_url=p.avatar_url,
            timezone=p.timezone,
            language=p.language,
            phone_number=p.phone_number,
            email_verified=user.authentication.email_verified,
            two_factor_enabled=user.authentication.two_factor_enabled,
        )


class NotificationsIn(StrictIn):
    email: bool | None = None
    push: bool | None = None
    sms: bool | None = None
    frequency: Literal["immediate", "daily", "weekly"] | None = None


class DashboardIn(StrictIn):
    default_view: str | None = Field(default=None, max_length=100)
    widgets: list[dict[str, Any]] | None = Field(default=None, max_length=100)


class PreferencesIn(StrictIn):
    notifications: NotificationsIn | None = None
    dashboard: DashboardIn | None = None


class NotificationsOut(ApiModel):
    email: bool
    push: bool
    sms: bool
    frequency: str


class DashboardOut(ApiModel):
    default_view: str
    widgets: list[dict[str, Any]]


class PreferencesOut(ApiModel):
    notifications: NotificationsOut
    dashboard: DashboardOut

    @classmethod
    def of(cls, user: User) -> PreferencesOut:
        n, d = user.settings.notifications, user.settings.dashboard
        return cls(
            notifications=NotificationsOut(
                email=n.email, push=n.push, sms=n.sms, frequency=n.frequency
            ),
            dashboard=DashboardOut(default_view=d.default_view, widgets=d.widgets),
        )


class SessionOut(ApiModel):
    id: str = Field(description="The sign-in's id: DELETE /api/users/sessions/{id} ends it.")
    organization_id: str
    user_agent: str | None = None
    ip_address: str | None = None
    signed_in_at: datetime
    last_active_at: datetime = Field(description="When its tokens were last issued.")
    expires_at: datetime
    current: bool = Field(description="Whether this is the sign-in making this request.")

    @classmethod
    def of(cls, device: Device, current: str | None) -> SessionOut:
        return cls(
            id=device.id,
            organization_id=str(device.organization_id),
            user_agent=device.user_agent,
            ip_address=device.ip_address,
            signed_in_at=device.signed_in_at,
            last_active_at=device.last_active_at,
            expires_at=device.expires_at,
            current=device.id == current,
        )
