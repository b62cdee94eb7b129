"""Claiming due posts for publishing across tenants, so each is published by one worker pass.

Like ``persistence.schedule_claims``, this module reads across tenants: the publishing tick
acts for no principal, so it looks for due posts of every organization. Each post it wins
is then handled within its own tenant (its ``organizationId``): every write here names it.

A post is due when it is ``scheduled`` and its time has come, or when it is ``publishing``
and its lease has ended: the worker that held it died or stalled, or a target waits for a
retry whose time has come (between attempts a post holds no token). A claim is a
compare-and-set on what was read (status, version, token, lease): of any number of workers
that read the same post, one wins; an edit between the read and the claim makes it lose.
Every later write of the pass is guarded by the claim's token (:func:`guarded_set`), so a
pass whose lease was taken over cannot overwrite its successor's work.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from persistence.ids import utcnow

__all__ = ["claim", "due", "guarded_set", "new_token"]

STATUS = "scheduling.status"
SCHEDULED_AT = "scheduling.scheduledAt"
TOKEN = "publishing.token"
LEASE = "publishing.leaseUntil"


def new_token() -> str:
    return secrets.token_hex(12)


def _value(raw: Mapping[str, Any], path: str) -> Any:
    for key in path.split("."):
        raw = raw.get(key) if isinstance(raw, Mapping) else None  # type: ignore[assignment]
    return raw


async def due(collection: Any, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Posts due at ``now``, at most ``limit``: first the publishing ones whose lease ended
    (work already begun, the longest waiting first), then scheduled ones, the longest
    overdue first. Paused, draft and finished posts never match. Reading is not claiming."""
    taken_over = (
        await collection.find({STATUS: "publishing", LEASE: {"$lte": now}})
        .sort([(LEASE, 1)])
        .limit(limit)
        .to_list(None)
    )
    left = limit - len(taken_over)
    scheduled: list[dict[str, Any]] = []
    if left > 0:
        scheduled = (
            await collection.find({STATUS: "scheduled", SCHEDULED_AT: {"$lte": now}})
            .sort([(SCHEDULED_AT, 1)])
            .limit(left)
            .to_list(None)
        )
    return [*taken_over, *scheduled]


async def claim(
    collection: Any,
    raw: Mapping[str, Any],
    *,
    token: str,
    worker: str,
    lease: timedelta,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """Move ``raw`` to ``publishing`` held by ``token`` until ``now + lease``, if it is still
    as read; the claimed document, or None when another worker (or an edit) came first."""
    now = now or utcnow()
    expected = {
        "_id": raw["_id"],
        "organizationId": raw["organizationId"],
        STATUS: _value(raw, STATUS),
        "version": raw.get("version", 0) if "version" in raw else {"$exists": False},
        TOKEN: _value(raw, TOKEN),
        LEASE: _value(raw, LEASE),
    }
    return await collection.find_one_and_update(
        expected,
        {
            "$set": {
                STATUS: "publishing",
                "publishing": {
                    "token": token,
                    "worker": worker,
                    "leaseUntil": now + lease,
                    "claimedAt": now,
                },
                "updatedAt": now,
            }
        },
        return_document=ReturnDocument.AFTER,
    )


async def guarded_set(
    collection: Any,
    org_id: ObjectId,
    post_id: ObjectId,
    token: str,
    changes: Mapping[str, Any],
    *,
    unset: tuple[str, ...] = (),
) -> bool:
    """Apply ``$set`` ``changes`` (dotted camelCase paths) to the post if ``token`` still
    holds it; False when it does not (the lease was taken over), and nothing is written."""
    update: dict[str, Any] = {"$set": {**changes, "updatedAt": utcnow()}}
    if unset:
        update["$unset"] = dict.fromkeys(unset, "")
    result = await collection.update_one(
        {"_id": post_id, "organizationId": org_id, TOKEN: token}, update
    )
    return result.matched_count == 1
