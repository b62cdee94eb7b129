"""Domain events: stored in the outbox, published to the organization's channel, handed to
this process's handlers; a failing handler never fails the emitter."""

from __future__ import annotations

import asyncio
import json

from bson import ObjectId

from chorus.runtime import Runtime
from persistence.models import DomainEvent
from persistence.repository import TenantRepository
from services.events import POST_FAILED, org_channel


async def test_an_event_is_stored_published_and_handled(runtime: Runtime) -> None:
    org, other = ObjectId(), ObjectId()
    seen: list[DomainEvent] = []
    every: list[str] = []

    async def on_failed(event: DomainEvent) -> None:
        seen.append(event)

    async def broken(event: DomainEvent) -> None:
        every.append(event.type)
        raise RuntimeError("a handler fell over")

    runtime.events.subscribe(POST_FAILED, on_failed)
    runtime.events.subscribe("*", broken)
    async with runtime.pubsub.subscribe(org_channel(org)) as subscription:
        event = await runtime.events.emit(
            org, POST_FAILED, {"reason": "token revoked"}, resource=("post", "p1")
        )
        message = json.loads(await asyncio.wait_for(anext(subscription), 5))
    assert message["type"] == POST_FAILED
    assert message["id"] == str(event.id)
    assert message["data"] == {"reason": "token revoked"}
    assert [e.id for e in seen] == [event.id]
    assert every == [POST_FAILED]
    stored = await TenantRepository(runtime.db, DomainEvent).find(org)
    assert [(e.type, e.resource.id if e.resource else None) for e in stored] == [
        (POST_FAILED, "p1")
    ]
    assert await TenantRepository(runtime.db, DomainEvent).count(other) == 0
