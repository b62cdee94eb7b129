"""What a platform operator reads across tenants, and the platform's own switches.

Like ``persistence.admin``, these queries are not scoped to one tenant: they answer
questions asked above every organization (how many, which, what happened where). Only the
operator routes (``api.routes.admin``) and the CLI use them. The platform's switches
(maintenance mode) live in ``platform_settings``, a collection that belongs to no tenant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId

from persistence.ids import utcnow
from persistence.models import AuditLog, Membership, Organization, User

SETTINGS = "platform_settings"
MAINTENANCE = "maintenance"


class Platform:
    def __init__(self, db: Any) -> None:
        self.db = db

    async def counts(self) -> dict[str, int]:
        """How many of each kind of document the platform holds, by collection."""
        names = sorted(
            n for n in await self.db.list_collection_names() if not n.startswith("system.")
        )
        return {name: await self.db[name].estimated_document_count() for name in names}

    async def organizations_by(self, field: str) -> dict[str, int]:
        """Live organizations grouped by a field of theirs (``subscription.plan``)."""
        pipeline = [
            {"$match": {"deletedAt": None}},
            {"$group": {"_id": f"${field}", "n": {"$sum": 1}}},
        ]
        cursor = await self.db[Organization.collection].aggregate(pipeline)
        return {str(row["_id"]): row["n"] for row in await cursor.to_list(None)}

    async def count_since(self, collection: str, field: str, since: datetime) -> int:
        return await self.db[collection].count_documents({field: {"$gte": since}})

    async def grouped_since(
        self, collection: str, by: dict[str, str], field: str, since: datetime
    ) -> list[dict[str, Any]]:
        """Documents of ``collection`` since a moment, counted by the fields ``by`` names
        (label -> dotted path): ``[{label: value, ..., "count": n}]``."""
        pipeline = [
            {"$match": {field: {"$gte": since}}},
            {"$group": {"_id": {k: f"${v}" for k, v in by.items()}, "count": {"$sum": 1}}},
        ]
        cursor = await self.db[collection].aggregate(pipeline)
        rows = [{**row["_id"], "count": row["count"]} for row in await cursor.to_list(None)]
        return sorted(rows, key=lambda r: [str(r.get(k)) for k in by])

    async def organizations(self, *, skip: int, limit: int) -> list[Organization]:
        cursor = (
            self.db[Organization.collection].find({}).sort([("_id", 1)]).skip(skip).limit(limit)
        )
        return [Organization.from_mongo(raw) for raw in await cursor.to_list(None)]

    async def member_counts(self, org_ids: list[ObjectId]) -> dict[ObjectId, int]:
        pipeline = [
            {"$match": {"organizationId": {"$in": org_ids}, "status": "active"}},
            {"$group": {"_id": "$organizationId", "n": {"$sum": 1}}},
        ]
        cursor = await self.db[Membership.collection].aggregate(pipeline)
        return {row["_id"]: row["n"] for row in await cursor.to_list(None)}

    async def users(self, *, skip: int, limit: int) -> list[User]:
        cursor = self.db[User.collection].find({}).sort([("_id", 1)]).skip(skip).limit(limit)
        return [User.from_mongo(raw) for raw in await cursor.to_list(None)]

    async def audit(
        self, *, limit: int, before: ObjectId | None, org_id: ObjectId | None
    ) -> list[AuditLog]:
        """Audit entries of every organization (or one), newest first."""
        query: dict[str, Any] = {}
        if before is not None:
            query["_id"] = {"$lt": before}
        if org_id is not None:
            query["organizationId"] = org_id
        cursor = self.db[AuditLog.collection].find(query).sort([("_id", -1)]).limit(limit)
        return [AuditLog.from_mongo(raw) for raw in await cursor.to_list(None)]

    async def set_operator(self, email: str, operator: bool) -> User | None:
        """Grant or withdraw the operator role of the account with ``email``."""
        users = self.db[User.collection]
        change = (
            {"$set": {"platformRole": "operator"}} if operator else {"$unset": {"platformRole": ""}}
        )
        await users.update_one({"email": email.strip().lower()}, change)
        raw = await users.find_one({"email": email.strip().lower()})
        return User.from_mongo(raw) if raw else None

    async def maintenance(self) -> dict[str, Any] | None:
        return await self.db[SETTINGS].find_one({"_id": MAINTENANCE})

    async def set_maintenance(
        self, enabled: bool, message: str, by: ObjectId | None
    ) -> dict[str, Any]:
        doc = {"enabled": enabled, "message": message, "changedAt": utcnow(), "changedBy": by}
        await self.db[SETTINGS].update_one({"_id": MAINTENANCE}, {"$set": doc}, upsert=True)
        return {"_id": MAINTENANCE, **doc}
