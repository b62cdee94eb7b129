"""Domain events: services say what happened; notifications, sockets and webhooks listen.

A service calls ``events.emit(...)`` after its change is stored. The event is written to the
``domain_events`` outbox, published on the organization's pub/sub channel (so sockets held by
any API process hear it), and handed to the handlers registered in this process (the
notification service, outgoing webhooks). A failing handler is logged and never undoes or
fails the change that was reported.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bson import ObjectId

from persistence.models.events import DomainEvent, EventActor, EventResource
from persistence.pubsub import PubSub
from persistence.repository import TenantRepository

log = logging.getLogger(__name__)

# The event types services emit (a handler may listen to one, or to "*").
POST_PUBLISHED = "post.published"
POST_FAILED = "post.failed"
POST_APPROVAL_REQUESTED = "post.approval_requested"
POST_APPROVED = "post.approved"
POST_REJECTED = "post.rejected"
ACCOUNT_CONNECTED = "account.connected"
ACCOUNT_NEEDS_RECONNECT = "account.needs_reconnect"
CRISIS_DETECTED = "crisis.detected"
REPORT_READY = "report.ready"
PAYMENT_FAILED = "billing.payment_failed"

Handler = Callable[[DomainEvent], Awaitable[None]]


def org_channel(org_id: ObjectId) -> str:
    return f"events:{org_id}"


class EventBus:
    """Emits domain events of one process."""

    def __init__(self, db: Any, pubsub: PubSub) -> None:
        self._events = TenantRepository(db, DomainEvent)
        self._pubsub = pubsub
        self._handlers: dict[str, list[Handler]] = {}

    def subscribe(self, event_type: str, handler: Handler) -> None:
        """Call ``handler`` for each event of ``event_type`` ("*": every event)."""
        self._handlers.setdefault(event_type, []).append(handler)

    async def emit(
        self,
        org_id: ObjectId,
        event_type: str,
        data: dict[str, Any] | None = None,
        *,
        user_id: ObjectId | None = None,
        resource: tuple[str, str | None] | None = None,
        actor: tuple[str, str | None] | None = None,
    ) -> DomainEvent:
        event = DomainEvent(
            organization_id=org_id,
            type=event_type,
            user_id=user_id,
            resource=EventResource(type=resource[0], id=resource[1]) if resource else None,
            actor=EventActor(kind=actor[0], id=actor[1]) if actor else EventActor(),
            data=dict(data or {}),
        )
        await self._events.insert(event)
        try:
            await self._pubsub.publish(org_channel(org_id), json.dumps(_wire(event)))
        except Exception:  # live delivery is best effort; the outbox has it
            log.exception("could not publish event %s", event.type)
        handlers = [*self._handlers.get(event_type, []), *self._handlers.get("*", [])]
        results = await asyncio.gather(*(h(event) for h in handlers), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                log.error("a handler of %s failed", event.type, exc_info=result)
        return event


def _wire(event: DomainEvent) -> dict[str, Any]:
    out = event.model_dump(mode="json", by_alias=True, exclude_none=True)
    out["id"] = out.pop("_id")
    return out
