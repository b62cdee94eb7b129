"""network_activity: what the networks told us happened to an organization's accounts
(comments, mentions, reactions, messages, videos), for listening and metrics."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from persistence.ids import PyObjectId, UTCDateTime
from persistence.models.base import Document


class NetworkActivity(Document):
    collection = "network_activity"

    platform: str
    social_account_id: PyObjectId
    kind: str
    external_id: str
    text: str | None = None
    author: str | None = None
    occurred_at: UTCDateTime | None = None
    raw: dict[str, Any] = Field(default_factory=dict)
