"""Server-sent events in the form the LangGraph SDK reads (``event:``, ``data:``, ``id:``),
through sse-starlette: keep-alive pings while a step runs long, and the stream stopped when
the client goes away."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette import EventSourceResponse, ServerSentEvent

PING_SECONDS = 15
# One event as OpenAPI describes a text/event-stream response (a keep-alive comment has none).
SSE_EVENT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "event": {"type": "string"},
        "data": {"type": "string", "description": "JSON"},
        "id": {"type": "string"},
        "retry": {"type": "integer"},
    },
}


def sse_event(event: str, data: Any, event_id: str | None = None) -> ServerSentEvent:
    return ServerSentEvent(
        data=json.dumps(data, default=str, separators=(",", ":")), event=event, id=event_id
    )


def sse_response(
    events: AsyncIterator[ServerSentEvent], headers: dict[str, str] | None = None
) -> EventSourceResponse:
    return EventSourceResponse(
        events,
        ping=PING_SECONDS,
        # Proxies must pass each event on as it comes.
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})},
    )
