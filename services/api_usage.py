"""How much each API key (and signed-in people) called each route, per hour.

Counting must cost next to nothing on the request path: ``UsageCounter.hit`` adds to a dict
in memory; ``flush`` (every few seconds, and at shutdown) writes the sums with one ``$inc``
upsert per (organization, key, route, hour), so a process's counts survive in the shared
store whatever the number of processes. A crash loses at most the last few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Literal

from bson import ObjectId

from persistence.ids import utcnow
from persistence.models.usage import ApiUsage
from persistence.repository import TenantRepository

log = logging.getLogger(__name__)

Key = tuple[ObjectId, ObjectId | None, str, str, datetime]


class UsageCounter:
    def __init__(self, db: Any, *, flush_seconds: float = 5.0) -> None:
        self._db = db
        self._flush_seconds = flush_seconds
        self._counts: Counter[Key] = Counter()
        self._errors: Counter[Key] = Counter()
        self._task: asyncio.Task[None] | None = None

    def hit(
        self,
        org_id: ObjectId,
        api_key_id: ObjectId | None,
        method: str,
        route: str,
        status: int,
        now: datetime | None = None,
    ) -> None:
        hour = (now or utcnow()).replace(minute=0, second=0, microsecond=0)
        key = (org_id, api_key_id, method, route, hour)
        self._counts[key] += 1
        if status >= 400:
            self._errors[key] += 1

    def forget(self, org_id: ObjectId) -> None:
        """Drop the counts not yet written for an organization (it was just erased: writing
        them would bring a trace of it back)."""
        for counter in (self._counts, self._errors):
            for key in [k for k in counter if k[0] == org_id]:
                del counter[key]

    async def flush(self) -> int:
        """Write the sums counted since the last flush; how many rows were touched."""
        counts, errors = self._counts, self._errors
        self._counts, self._errors = Counter(), Counter()
        col = self._db[ApiUsage.collection]
        for (org_id, key_id, method, route, hour), n in counts.items():
            try:
                await col.update_one(
                    {
                        "organizationId": org_id,
                        "apiKeyId": key_id,
                        "method": method,
                        "route": route,
                        "hour": hour,
                    },
                    {
                        "$inc": {
                            "count": n,
                            "errors": errors[(org_id, key_id, method, route, hour)],
                        },
                        "$setOnInsert": {"_id": ObjectId(), "createdAt": utcnow()},
                    },
                    upsert=True,
                )
            except Exception:  # counts are best effort; the request they describe happened
                log.exception("could not record API usage")
        return len(counts)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="api-usage-flush")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._flush_seconds)
            await self.flush()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()


async def report(
    db: Any,
    org_id: ObjectId,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    api_key_id: ObjectId | None = None,
    granularity: Literal["hour", "day"] = "hour",
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Rows of (period, API key, method, route, count, errors), newest period first."""
    until = until or utcnow()
    since = since or until - timedelta(days=7)
    match: dict[str, Any] = {"hour": {"$gte": since, "$lte": until}}
    if api_key_id is not None:
        match["apiKeyId"] = api_key_id
    rows = await TenantRepository(db, ApiUsage).find(org_id, match, sort=[("hour", -1)])
    grouped: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        period = row.hour if granularity == "hour" else row.hour.replace(hour=0)
        key = (period, row.api_key_id, row.method, row.route)
        entry = grouped.setdefault(
            key,
            {
                "period": period,
                "api_key_id": row.api_key_id,
                "method": row.method,
                "route": row.route,
                "count": 0,
                "errors": 0,
            },
        )
        entry["count"] += row.count
        entry["errors"] += row.errors
    ordered = sorted(grouped.values(), key=lambda e: (e["period"], e["count"]), reverse=True)
    return ordered[:limit]
