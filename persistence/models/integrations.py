"""integrations, webhook_events, notifications."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from persistence.ids import PyObjectId, UTCDateTime
from persistence.models.base import Document, Model


class IntegrationConfiguration(Model):
    """``api_key`` and ``api_secret`` hold ciphertext (``persistence.crypto``), never plain keys."""

    api_key: str | None = None
    api_secret: str | None = None
    webhook_url: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)


class IntegrationStatus(Model):
    is_active: bool = True
    is_connected: bool = False
    last_sync: UTCDateTime | None = None
    sync_status: str | None = None
    error_message: str | None = None


class IntegrationUsage(Model):
    request_count: int = 0
    last_request: UTCDateTime | None = None
    quota_used: int = 0
    quota_limit: int | None = None


class Integration(Document):
    collection = "integrations"

    integration_type: str
    name: str
    configuration: IntegrationConfiguration = Field(default_factory=IntegrationConfiguration)
    status: IntegrationStatus = Field(default_factory=IntegrationStatus)
    usage: IntegrationUsage = Field(default_factory=IntegrationUsage)


class WebhookProcessing(Model):
    status: Literal["pending", "processing", "completed", "failed"] = "pending"
    # When the attempt now under way began: an attempt that died mid-way (its process was
    # killed) is taken over once this is old enough (``persistence.webhook_inbox``).
    claimed_at: UTCDateTime | None = None
    processed_at: UTCDateTime | None = None
    retry_count: int = 0
    error_message: str | None = None


class WebhookMetadata(Model):
    signature: str | None = None
    timestamp: UTCDateTime | None = None
    version: str | None = None


class WebhookEvent(Document):
    """One event a provider sent us, kept so that it is processed once: ``(source, eventId)``
    is unique across tenants. Stored under the organization it concerns."""

    collection = "webhook_events"

    source: str
    event_type: str
    event_id: str
    payload: dict[str, Any] = Field(default_factory=dict)
    processing: WebhookProcessing = Field(default_factory=WebhookProcessing)
    metadata: WebhookMetadata = Field(default_factory=WebhookMetadata)


class InAppChannel(Model):
    sent: bool = False
    read: bool = False
    read_at: UTCDateTime | None = None


class DeliveryChannel(Model):
    sent: bool = False
    delivered: bool = False
    opened: bool = False
    clicked: bool = False


class NotificationChannels(Model):
    in_app: InAppChannel = Field(default_factory=InAppChannel)
    email: DeliveryChannel = Field(default_factory=DeliveryChannel)
    push: DeliveryChannel = Field(default_factory=DeliveryChannel)


class Notification(Document):
    collection = "notifications"

    user_id: PyObjectId | None = None
    type: Literal["info", "warning", "error", "success"] = "info"
    category: str
    title: str
    message: str
    data: dict[str, Any] = Field(default_factory=dict)
    channels: NotificationChannels = Field(default_factory=NotificationChannels)
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    expires_at: UTCDateTime | None = None
