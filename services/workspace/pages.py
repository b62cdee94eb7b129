"""Newest-first pages of a tenant's documents with an ``_id`` keyset cursor."""

from __future__ import annotations

from typing import Any, TypeVar

from bson import ObjectId
from bson.errors import InvalidId

from persistence.errors import InvalidInput
from persistence.models.base import Document
from persistence.repository import tenant_filter

D = TypeVar("D", bound=Document)


async def newest_first(
    db: Any,
    model: type[D],
    org_id: ObjectId,
    query: dict[str, Any],
    cursor: str | None,
    limit: int,
) -> tuple[list[D], str | None]:
    """One page of ``model`` matching ``query``, newest first, and the next page's cursor
    (None on the last); a cursor that is not an id of this list is a 422."""
    if cursor:
        try:
            query = {**query, "_id": {"$lt": ObjectId(cursor)}}
        except (InvalidId, TypeError) as exc:
            raise InvalidInput.field("query.cursor", "not a cursor from this list") from exc
    raw = (
        await db[model.collection]
        .find(tenant_filter(org_id, query))
        .sort([("_id", -1)])
        .limit(limit + 1)
        .to_list(None)
    )
    found = [model.from_mongo(r) for r in raw[:limit]]
    return found, str(found[-1].id) if len(raw) > limit else None
