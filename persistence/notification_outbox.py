"""Claiming due notification emails across tenants, a person's whole burst at once.

Like ``persistence.schedule_claims``, the sender acts for no principal, so it reads due items
of every organization; each claimed group is one person's in one organization. A group is
every pending item of that (organization, person, category), due or not yet: the burst that
started it goes out as one message, and what arrives after the claim starts the next one.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from persistence.ids import utcnow
from persistence.models.notifications import NotificationEmail

# A claim older than this belonged to a sender that died mid-way; its items are taken over.
STALE_CLAIM = timedelta(minutes=10)


def _col(db: Any) -> Any:
    return db[NotificationEmail.collection]


async def claim_due(
    db: Any, now: datetime | None = None, *, groups: int = 100
) -> list[list[NotificationEmail]]:
    """Up to ``groups`` bursts whose first item is due, each claimed by this caller alone."""
    now = now or utcnow()
    col = _col(db)
    await col.update_many(
        {"status": "sending", "updatedAt": {"$lt": now - STALE_CLAIM}},
        {"$set": {"status": "pending", "claim": None, "updatedAt": now}},
    )
    cursor = col.find({"status": "pending", "dueAt": {"$lte": now}}).sort([("dueAt", 1)])
    keys: list[tuple[Any, Any, str]] = []
    for raw in await cursor.limit(groups * 10).to_list(None):
        key = (raw["organizationId"], raw["userId"], raw["category"])
        if key not in keys:
            keys.append(key)
        if len(keys) == groups:
            break
    claimed = []
    for org_id, user_id, category in keys:
        token = uuid.uuid4().hex
        scope = {"organizationId": org_id, "userId": user_id, "category": category}
        # Atomic per item: two senders may split a burst, but never send an item twice.
        await col.update_many(
            {**scope, "status": "pending"},
            {"$set": {"status": "sending", "claim": token, "updatedAt": now}},
        )
        raws = await col.find({**scope, "claim": token}).sort([("_id", 1)]).to_list(None)
        if raws:
            claimed.append([NotificationEmail.from_mongo(r) for r in raws])
    return claimed


async def finish(
    db: Any,
    items: list[NotificationEmail],
    *,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    """Sent; or failed with ``error``: pending again at ``retry_at``, or given up without."""
    now = utcnow()
    ids = [i.id for i in items]
    if error is None:
        changes: dict[str, Any] = {"status": "sent", "sentAt": now, "claim": None}
    elif retry_at is not None:
        changes = {"status": "pending", "dueAt": retry_at, "claim": None, "error": error[:500]}
    else:
        changes = {"status": "failed", "claim": None, "error": error[:500]}
    await _col(db).update_many(
        {"_id": {"$in": ids}},
        {"$set": {**changes, "updatedAt": now}, "$inc": {"attempts": 1}},
    )
