"""Request and response models of /api/notifications."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from api.routes.schemas import ApiModel, StrictIn
from persistence.models import Notification
from persistence.models.notifications import Channel, QuietHours
from services.notifications.preferences import Settings

CategoryName = Literal[
    "approval_waiting",
    "post_published",
    "post_failed",
    "account_reconnect",
    "crisis_detected",
    "report_ready",
    "payment_failed",
]
Severity = Literal["info", "warning", "error", "success"]
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class NotificationOut(ApiModel):
    id: str
    category: str
    type: Severity
    priority: Literal["low", "normal", "high", "urgent"]
    title: str
    message: str
    data: dict[str, Any]
    read: bool
    read_at: str | None = None
    emailed: bool = Field(description="Whether an email about it was sent.")
    created_at: str

    @classmethod
    def of(cls, n: Notification) -> NotificationOut:
        return cls(
            id=str(n.id),
            category=n.category,
            type=n.type,
            priority=n.priority,
            title=n.title,
            message=n.message,
            data=n.data,
            read=n.channels.in_app.read,
            read_at=n.channels.in_app.read_at.isoformat() if n.channels.in_app.read_at else None,
            emailed=n.channels.email.sent,
            created_at=n.created_at.isoformat(),
        )


class NotificationPageOut(ApiModel):
    items: list[NotificationOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next (older) page.")


class CountOut(ApiModel):
    count: int


class MarkedOut(ApiModel):
    updated: int = Field(description="How many notifications were marked read.")


class _Channels(ApiModel):
    approval_waiting: Channel
    post_published: Channel
    post_failed: Channel
    account_reconnect: Channel
    crisis_detected: Channel
    report_ready: Channel
    payment_failed: Channel


class ChannelsOut(_Channels):
    pass


class ChannelsIn(StrictIn):
    """Only the categories sent change."""

    model_config = ConfigDict(extra="forbid")

    approval_waiting: Channel | None = None
    post_published: Channel | None = None
    post_failed: Channel | None = None
    account_reconnect: Channel | None = None
    crisis_detected: Channel | None = None
    report_ready: Channel | None = None
    payment_failed: Channel | None = None


class QuietHoursModel(StrictIn):
    model_config = ConfigDict(extra="forbid")

    enabled: bool
    start: str = Field(pattern=HHMM, description="HH:MM in your profile's timezone")
    end: str = Field(pattern=HHMM, description="HH:MM; before start spans midnight")


class SettingsIn(StrictIn):
    model_config = ConfigDict(extra="forbid")

    channels: ChannelsIn | None = Field(
        default=None,
        description="Per category: in_app (the inbox), email (the inbox and an email), off.",
    )
    quiet_hours: QuietHoursModel | None = None

    def channel_changes(self) -> dict[str, Channel]:
        if self.channels is None:
            return {}
        return {k: v for k, v in self.channels.model_dump().items() if v is not None}

    def quiet(self) -> QuietHours | None:
        q = self.quiet_hours
        return QuietHours(enabled=q.enabled, start=q.start, end=q.end) if q else None


class SettingsOut(ApiModel):
    channels: ChannelsOut
    quiet_hours: QuietHoursModel
    timezone: str = Field(description="Quiet hours are in this timezone (your profile's).")

    @classmethod
    def of(cls, settings: Settings, timezone: str) -> SettingsOut:
        q = settings.quiet_hours
        return cls(
            channels=ChannelsOut(**settings.channels),
            quiet_hours=QuietHoursModel(enabled=q.enabled, start=q.start, end=q.end),
            timezone=timezone,
        )
