"""api_usage: requests per organization, credential, route and hour, for GET /api/api-usage."""

from __future__ import annotations

from persistence.ids import PyObjectId, UTCDateTime
from persistence.models.base import Document


class ApiUsage(Document):
    collection = "api_usage"

    api_key_id: PyObjectId | None = None  # None: people signed in with a token
    method: str
    route: str  # the route's template, e.g. /api/posts/{post_id}
    hour: UTCDateTime
    count: int = 0
    errors: int = 0  # answers of 400 and above
