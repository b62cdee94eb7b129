"""notification_settings and notification_emails: how each person wants to be told, and the
emails waiting to be sent (grouped per person and kind, so a burst becomes one message)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from persistence.ids import PyObjectId, UTCDateTime
from persistence.models.base import Document, Model

# in_app: in the notification inbox only; email: in the inbox and by email; off: neither.
Channel = Literal["in_app", "email", "off"]


class QuietHours(Model):
    """A daily window, in the person's own timezone (their profile's), in which no email is
    sent: what falls in it waits for the window's end. ``start`` after ``end`` spans
    midnight (22:00-07:00)."""

    enabled: bool = False
    start: str = "22:00"
    end: str = "07:00"


class NotificationPreferences(Document):
    """One person's choices in one organization; absent categories take the defaults."""

    collection = "notification_settings"

    user_id: PyObjectId
    channels: dict[str, Channel] = Field(default_factory=dict)
    quiet_hours: QuietHours = Field(default_factory=QuietHours)


class NotificationEmail(Document):
    """One notification waiting to go out by email. Items of the same person and category
    due together are sent as one message (``services.notifications.emails``)."""

    collection = "notification_emails"

    user_id: PyObjectId
    notification_id: PyObjectId
    category: str
    to: str
    title: str
    message: str
    link: str | None = None
    due_at: UTCDateTime
    status: Literal["pending", "sending", "sent", "failed"] = "pending"
    claim: str | None = None
    attempts: int = 0
    sent_at: UTCDateTime | None = None
    error: str | None = None
