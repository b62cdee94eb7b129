"""Tenant-first access to one collection.

Every method takes the tenant first and adds it to every filter, so no query built here can
read or change another tenant's documents. Documents go in and come out as typed models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from bson import ObjectId
from pymongo import ReturnDocument

from persistence.errors import Forbidden
from persistence.ids import utcnow
from persistence.models.base import Document

D = TypeVar("D", bound=Document)

Filter = Mapping[str, Any]
Sort = Sequence[tuple[str, int]]

TENANT_FIELD = "organizationId"


class TenantViolation(Forbidden, ValueError):
    """A filter or document tried to name a tenant other than the one the call is for."""

    default_code = "tenant_violation"


def tenant_filter(org_id: ObjectId, extra: Filter | None = None) -> dict[str, Any]:
    """``extra`` restricted to one tenant; a filter naming another tenant is refused."""
    query: dict[str, Any] = dict(extra or {})
    # Other top-level keys ($or, $and ...) are ANDed with this one, so they cannot widen it.
    if query.pop(TENANT_FIELD, org_id) != org_id:
        raise TenantViolation("a filter may not choose the organization")
    query[TENANT_FIELD] = org_id
    return query


class TenantRepository(Generic[D]):
    """CRUD for one document type, always within one organization."""

    def __init__(self, db: Any, model: type[D]) -> None:
        self.model = model
        self.collection = db[model.collection]

    async def insert(self, doc: D) -> D:
        await self.collection.insert_one(doc.to_mongo())
        return doc

    async def insert_once(self, org_id: ObjectId, key: Filter, doc: D) -> D:
        """Insert ``doc`` unless a document matching ``key`` exists; either way return the one
        stored. Atomic, so a retried step never stores twice."""
        if doc.organization_id != org_id:
            raise TenantViolation("the document must belong to the organization of the call")
        raw = await self.collection.find_one_and_update(
            tenant_filter(org_id, key),
            {"$setOnInsert": doc.to_mongo()},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return self.model.from_mongo(raw)

    async def insert_many(self, org_id: ObjectId, docs: Sequence[D]) -> int:
        if not docs:
            return 0
        if any(doc.organization_id != org_id for doc in docs):
            raise TenantViolation("every document must belong to the organization of the call")
        result = await self.collection.insert_many([doc.to_mongo() for doc in docs], ordered=False)
        return len(result.inserted_ids)

    async def get(self, org_id: ObjectId, doc_id: ObjectId) -> D | None:
        raw = await self.collection.find_one(tenant_filter(org_id, {"_id": doc_id}))
        return self.model.from_mongo(raw) if raw else None

    async def find_one(self, org_id: ObjectId, query: Filter | None = None) -> D | None:
        raw = await self.collection.find_one(tenant_filter(org_id, query))
        return self.model.from_mongo(raw) if raw else None

    async def find(
        self,
        org_id: ObjectId,
        query: Filter | None = None,
        *,
        sort: Sort | None = None,
        skip: int = 0,
        limit: int = 0,
    ) -> list[D]:
        cursor = self.collection.find(tenant_filter(org_id, query))
        if sort:
            cursor = cursor.sort(list(sort))
        if skip:
            cursor = cursor.skip(skip)
        if limit:
            cursor = cursor.limit(limit)
        return [self.model.from_mongo(raw) for raw in await cursor.to_list(None)]

    async def count(self, org_id: ObjectId, query: Filter | None = None) -> int:
        return await self.collection.count_documents(tenant_filter(org_id, query))

    async def update(
        self, org_id: ObjectId, doc_id: ObjectId, changes: Mapping[str, Any]
    ) -> D | None:
        """Apply ``$set`` changes (dotted camelCase paths); the updated document, or None."""
        if TENANT_FIELD in changes or "_id" in changes:
            raise TenantViolation("organizationId and _id cannot be changed")
        raw = await self.collection.find_one_and_update(
            tenant_filter(org_id, {"_id": doc_id}),
            {"$set": {**changes, "updatedAt": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )
        return self.model.from_mongo(raw) if raw else None

    async def update_many(self, org_id: ObjectId, query: Filter, changes: Mapping[str, Any]) -> int:
        if TENANT_FIELD in changes or "_id" in changes:
            raise TenantViolation("organizationId and _id cannot be changed")
        result = await self.collection.update_many(
            tenant_filter(org_id, query), {"$set": {**changes, "updatedAt": utcnow()}}
        )
        return result.modified_count

    async def delete(self, org_id: ObjectId, doc_id: ObjectId) -> bool:
        result = await self.collection.delete_one(tenant_filter(org_id, {"_id": doc_id}))
        return result.deleted_count == 1

    async def delete_all(self, org_id: ObjectId) -> int:
        """Every document of the tenant in this collection (GDPR erasure)."""
        result = await self.collection.delete_many(tenant_filter(org_id))
        return result.deleted_count

    async def aggregate(self, org_id: ObjectId, pipeline: Sequence[Mapping[str, Any]]) -> list:
        """Run a pipeline that starts with the tenant's ``$match``, whatever the caller wrote."""
        stages = [{"$match": tenant_filter(org_id)}, *pipeline]
        cursor = await self.collection.aggregate(stages)
        return await cursor.to_list(None)
