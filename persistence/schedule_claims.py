"""Claiming due schedules across tenants, so each fire happens once however many workers tick.

Like ``persistence.admin``, this module reads across tenants: the tick acts for no principal,
so it looks for due documents of every organization. Each document it wins is then handled
within its own tenant (its ``organizationId``), like any other tenant's work.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from persistence.ids import utcnow


def _value(raw: Mapping[str, Any], path: str) -> Any:
    for key in path.split("."):
        raw = raw.get(key) if isinstance(raw, Mapping) else None  # type: ignore[assignment]
    return raw


async def due(
    collection: Any, query: Mapping[str, Any], field: str, now: datetime, limit: int = 100
) -> list[dict[str, Any]]:
    """Documents matching ``query`` whose fire time ``field`` is at or before ``now``, the
    longest overdue first. Reading is not claiming: see ``claim``."""
    cursor = collection.find({**query, field: {"$lte": now}}).sort([(field, 1)]).limit(limit)
    return await cursor.to_list(None)


async def claim(
    collection: Any, raw: Mapping[str, Any], field: str, next_at: datetime | None
) -> bool:
    """Move ``raw``'s fire time from the value read to ``next_at``; True for the one caller
    that did. A compare-and-set on the value read: any other worker that read the same
    document finds it changed and loses, and so does a read made stale by an edit."""
    result = await collection.update_one(
        {"_id": raw["_id"], "organizationId": raw["organizationId"], field: _value(raw, field)},
        {"$set": {field: next_at, "updatedAt": utcnow()}},
    )
    return result.modified_count == 1
