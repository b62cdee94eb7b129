"""Processing each provider event once, however often and however concurrently it arrives.

Providers deliver at least once: a timeout on their side, a retry after our 5xx, or two
deliveries racing each other all bring the same event id again. ``claim`` stores the event
under the unique ``(source, eventId)`` index before any work is done, so exactly one delivery
works on it; the others learn that it is done (a duplicate to acknowledge) or under way
elsewhere (to be retried later). A failed attempt, or one whose process died mid-way (its
claim older than ``stale_after``), can be claimed again: the provider's retry does the work
then.

Like ``persistence.admin``, the lookup is across tenants: an event id is unique per provider,
whichever organization it concerns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pymongo.errors import DuplicateKeyError

from persistence.ids import utcnow
from persistence.models import WebhookEvent
from persistence.models.integrations import WebhookProcessing

STALE_AFTER = timedelta(minutes=5)
MAX_ERROR = 500

Claim = Literal["claimed", "done", "busy"]


@dataclass(frozen=True)
class Claimed:
    outcome: Claim
    event: WebhookEvent


def _collection(db: Any) -> Any:
    return db[WebhookEvent.collection]


async def claim(
    db: Any,
    event: WebhookEvent,
    *,
    now: datetime | None = None,
    stale_after: timedelta = STALE_AFTER,
) -> Claimed:
    """Take ``event`` for processing: ``claimed`` (this caller does the work), ``done``
    (processed before: a duplicate delivery) or ``busy`` (another attempt is at it)."""
    now = now or utcnow()
    event.processing = WebhookProcessing(status="processing", claimed_at=now)
    col = _collection(db)
    try:
        await col.insert_one(event.to_mongo())
        return Claimed("claimed", event)
    except DuplicateKeyError:
        pass
    raw = await col.find_one({"source": event.source, "eventId": event.event_id})
    if raw is None:  # removed in between: a retry will insert it
        return Claimed("busy", event)
    stored = WebhookEvent.from_mongo(raw)
    state = stored.processing
    if state.status == "completed":
        return Claimed("done", stored)
    fresh = state.claimed_at is not None and now - state.claimed_at < stale_after
    if state.status == "processing" and fresh:
        return Claimed("busy", stored)
    # Failed before, or abandoned: take it over, unless another delivery just did.
    taken = await col.update_one(
        {
            "_id": stored.id,
            "processing.status": state.status,
            "processing.claimedAt": state.claimed_at,
        },
        {
            "$set": {
                "processing.status": "processing",
                "processing.claimedAt": now,
                "processing.retryCount": state.retry_count + 1,
                "updatedAt": now,
            }
        },
    )
    if taken.modified_count != 1:
        return Claimed("busy", stored)
    return Claimed("claimed", stored)


async def finish(db: Any, event: WebhookEvent, *, error: str | None = None) -> None:
    """Record how the claimed attempt ended: ``completed``, or ``failed`` with ``error`` (a
    later delivery may claim it again)."""
    now = utcnow()
    changes: dict[str, Any] = {
        "processing.status": "failed" if error else "completed",
        "processing.processedAt": now,
        "processing.errorMessage": error[:MAX_ERROR] if error else None,
        "updatedAt": now,
    }
    await _collection(db).update_one(
        {"source": event.source, "eventId": event.event_id}, {"$set": changes}
    )
