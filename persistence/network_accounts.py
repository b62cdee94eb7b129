"""Which organizations' connected accounts a network's webhook concerns.

Like ``persistence.admin``, across tenants: a network's webhook names its own account id,
not one of our organizations. Each match is then handled within its own tenant.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId


async def owners(
    db: Any, platform: str, account_ids: list[str]
) -> dict[str, list[tuple[ObjectId, ObjectId]]]:
    """Network account id -> [(organization id, social account id)] of active accounts."""
    if not account_ids:
        return {}
    cursor = db["social_accounts"].find(
        {
            "platform": platform,
            "accountInfo.platformId": {"$in": sorted(set(account_ids))},
            "status.isActive": True,
        },
        {"organizationId": 1, "accountInfo.platformId": 1},
    )
    found: dict[str, list[tuple[ObjectId, ObjectId]]] = {}
    for raw in await cursor.to_list(None):
        key = raw["accountInfo"]["platformId"]
        found.setdefault(key, []).append((raw["organizationId"], raw["_id"]))
    return found
