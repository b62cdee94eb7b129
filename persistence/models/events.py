"""domain_events: what happened in an organization, as the product's services report it.

Kept as an outbox: notifications, real-time sockets and outgoing webhooks read from it, and a
reconnecting client resumes after the last id it saw (ids grow with time).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from persistence.ids import PyObjectId
from persistence.models.base import Document, Model


class EventResource(Model):
    type: str
    id: str | None = None


class EventActor(Model):
    """Who caused it: a user, an API key, or the system (a job, a network's webhook)."""

    kind: str = "system"  # "user" | "api_key" | "system"
    id: str | None = None


class DomainEvent(Document):
    collection = "domain_events"

    type: str = Field(description="e.g. post.published, account.needs_reconnect")
    # The person it concerns when it is personal (an approval request to one reviewer...);
    # None: the whole organization.
    user_id: PyObjectId | None = None
    resource: EventResource | None = None
    actor: EventActor = Field(default_factory=EventActor)
    data: dict[str, Any] = Field(default_factory=dict)
