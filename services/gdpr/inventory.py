"""What each store still holds of one organization.

Each store is asked generically (every collection of the database, every Chroma collection
named for the tenant, every checkpoint thread keyed by it, every media object under its
prefix, every Redis key naming it), so a collection or key added later is counted without a
change here. Erasure ends by asking this and reports anything left.
"""

from __future__ import annotations

from bson import ObjectId

from persistence import tenant_data
from services.gdpr.ports import GdprServices


async def inventory(services: GdprServices, org_id: ObjectId) -> dict[str, int]:
    """How much of the tenant each store holds, by store (``documents.<collection>``,
    ``memory``, ``checkpoint_threads``, ``media``, ``keys``); stores holding nothing are
    left out, so an erased tenant's inventory is empty."""
    org = str(org_id)
    held: dict[str, int] = {
        f"documents.{name}": n
        for name, n in (await tenant_data.count_by_collection(services.db, org_id)).items()
    }
    held["memory"] = len(await services.memory.tenant_collections(org))
    held["checkpoint_threads"] = len(await services.checkpointer.atenant_threads(org))
    held["media"] = len(await services.media.list(org))
    held["keys"] = len(await services.keyspace.keys_with(org))
    return {store: n for store, n in held.items() if n}
