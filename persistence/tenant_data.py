"""Every document of one tenant, in every collection, found without a list of collections.

GDPR erasure and export must reach collections added after they were written, so they ask
the database which collections exist and look in each for ``organizationId``. The queries
stay tenant-first (each filter names the tenant); what is generic is only the collection.
Checkpoints, which carry the tenant in their thread key instead, are the checkpointer's
(``persistence.checkpointer.erase_tenant_checkpoints``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from bson import ObjectId

from persistence.repository import tenant_filter


async def collections(db: Any) -> list[str]:
    """The database's collections, sorted (MongoDB's own ``system.*`` left out)."""
    names = await db.list_collection_names()
    return sorted(n for n in names if not n.startswith("system."))


async def count_by_collection(db: Any, org_id: ObjectId) -> dict[str, int]:
    """How many documents of the tenant each collection holds (only those holding some)."""
    counts: dict[str, int] = {}
    for name in await collections(db):
        n = await db[name].count_documents(tenant_filter(org_id))
        if n:
            counts[name] = n
    return counts


async def documents(
    db: Any, org_id: ObjectId, collection: str, *, batch: int = 500
) -> AsyncIterator[dict[str, Any]]:
    """The tenant's documents in one collection, in ``_id`` order, as stored."""
    cursor = db[collection].find(tenant_filter(org_id)).sort([("_id", 1)]).batch_size(batch)
    async for raw in cursor:
        yield raw


async def delete_everywhere(
    db: Any, org_id: ObjectId, *, skip: frozenset[str] = frozenset()
) -> dict[str, int]:
    """Delete the tenant's documents from every collection except ``skip``; the counts."""
    deleted: dict[str, int] = {}
    for name in await collections(db):
        if name in skip:
            continue
        result = await db[name].delete_many(tenant_filter(org_id))
        if result.deleted_count:
            deleted[name] = result.deleted_count
    return deleted
