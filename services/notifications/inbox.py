"""A person's notifications in one organization: listed newest first after a cursor, read,
deleted. Every query names the organization and the person: nobody reaches another's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from persistence.errors import NotFound
from persistence.ids import utcnow
from persistence.models import Notification
from persistence.repository import TenantRepository


def _repo(db: Any) -> TenantRepository[Notification]:
    return TenantRepository(db, Notification)


@dataclass(frozen=True)
class Page:
    items: list[Notification]
    next_cursor: str | None


async def list_page(
    db: Any,
    org_id: ObjectId,
    user_id: ObjectId,
    *,
    limit: int = 50,
    before: ObjectId | None = None,
    unread: bool | None = None,
    category: str | None = None,
    severity: str | None = None,
) -> Page:
    """Newest first; ``before`` (the previous page's ``next_cursor``) continues after it."""
    query: dict[str, Any] = {"userId": user_id}
    if before is not None:
        query["_id"] = {"$lt": before}
    if unread is not None:
        query["channels.inApp.read"] = {"$ne": True} if unread else True
    if category is not None:
        query["category"] = category
    if severity is not None:
        query["type"] = severity
    items = await _repo(db).find(org_id, query, sort=[("_id", -1)], limit=limit + 1)
    more = len(items) > limit
    items = items[:limit]
    return Page(items, str(items[-1].id) if more and items else None)


async def mark_read(db: Any, org_id: ObjectId, user_id: ObjectId, nid: ObjectId) -> Notification:
    repo = _repo(db)
    found = await repo.find_one(org_id, {"_id": nid, "userId": user_id})
    if found is None:
        raise NotFound("no such notification")
    if found.channels.in_app.read:
        return found
    now = utcnow()
    updated = await repo.update(
        org_id, nid, {"channels.inApp.read": True, "channels.inApp.readAt": now}
    )
    if updated is None:
        raise NotFound("no such notification")
    return updated


async def delete(db: Any, org_id: ObjectId, user_id: ObjectId, nid: ObjectId) -> None:
    result = await _repo(db).collection.delete_one(
        {"organizationId": org_id, "userId": user_id, "_id": nid}
    )
    if result.deleted_count != 1:
        raise NotFound("no such notification")


async def mark_all_read(db: Any, org_id: ObjectId, user_id: ObjectId) -> int:
    """Every unread notification of the person read now; how many were."""
    return await _repo(db).update_many(
        org_id,
        {"userId": user_id, "channels.inApp.read": {"$ne": True}},
        {"channels.inApp.read": True, "channels.inApp.readAt": utcnow()},
    )


async def unread_count(db: Any, org_id: ObjectId, user_id: ObjectId) -> int:
    return await _repo(db).count(org_id, {"userId": user_id, "channels.inApp.read": {"$ne": True}})
