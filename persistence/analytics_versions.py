"""The organization's analytics version: a counter every metrics write bumps.

Cached analytics answers carry the version in their key, so a write makes every cached answer
of that organization unreachable at once, in every process, with no list of keys to delete.
The counter lives with the documents rather than in the cache: a cache may evict it, and a
counter that restarted at 0 would bring back answers cached before the eviction.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from persistence.ids import utcnow
from persistence.models import AnalyticsVersion


def _collection(db: Any) -> Any:
    return db[AnalyticsVersion.collection]


async def analytics_version(db: Any, org_id: ObjectId) -> int:
    """The current version (0 before the first write)."""
    doc = await _collection(db).find_one({"organizationId": org_id}, {"version": 1})
    return int(doc["version"]) if doc else 0


async def bump_analytics_version(db: Any, org_id: ObjectId) -> int:
    """Mark the organization's analytics as changed; the new version."""
    now = utcnow()
    await _collection(db).update_one(
        {"organizationId": org_id},
        {
            "$inc": {"version": 1},
            "$set": {"updatedAt": now},
            "$setOnInsert": {"_id": ObjectId(), "createdAt": now},
        },
        upsert=True,
    )
    return await analytics_version(db, org_id)
