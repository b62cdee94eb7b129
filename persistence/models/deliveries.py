"""webhook_deliveries and integration_logs: each event owed to an outgoing integration, and
each attempt to deliver it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from persistence.ids import PyObjectId, UTCDateTime
from persistence.models.base import Document


class WebhookDelivery(Document):
    """One event to deliver to one integration, retried with backoff until ``give_up_at``."""

    collection = "webhook_deliveries"

    integration_id: PyObjectId
    event_id: str
    event_type: str
    payload: dict[str, Any] = Field(default_factory=dict)
    status: Literal["pending", "sending", "delivered", "failed"] = "pending"
    attempts: int = 0
    next_attempt_at: UTCDateTime
    give_up_at: UTCDateTime
    delivered_at: UTCDateTime | None = None
    last_error: str | None = None


class IntegrationLog(Document):
    """One delivery attempt: what was sent where, and what came back."""

    collection = "integration_logs"

    integration_id: PyObjectId
    delivery_id: PyObjectId | None = None
    event_type: str
    attempt: int
    ok: bool
    status_code: int | None = None
    error: str | None = None
    duration_ms: int
    next_attempt_at: UTCDateTime | None = None
