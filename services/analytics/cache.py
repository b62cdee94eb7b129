"""Analytics answers cached per organization, stale the moment new metrics arrive.

The key holds the organization's analytics version (``persistence.analytics_versions``),
which every metrics write bumps: a write makes all of the organization's cached answers
unreachable at once, and they age out of the cache by their TTL. The TTL also bounds answers
that depend on the clock (trending posts) and readings written without a bump.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bson import ObjectId
from pydantic import BaseModel

from persistence.analytics_versions import analytics_version
from persistence.cache import Cache

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
TTL_SECONDS = 15 * 60


def cache_key(org_id: ObjectId, version: int, name: str, params: str) -> str:
    digest = hashlib.sha256(params.encode()).hexdigest()[:32]
    return f"analytics:{org_id}:v{version}:{name}:{digest}"


async def cached(
    cache: Cache,
    db: object,
    org_id: ObjectId,
    name: str,
    params: str,
    model: type[M],
    compute: Callable[[], Awaitable[M]],
    *,
    ttl_seconds: float = TTL_SECONDS,
) -> M:
    """``compute()``'s answer, from the cache when this organization, ``name`` and
    ``params`` were answered since its last metrics write."""
    key = cache_key(org_id, await analytics_version(db, org_id), name, params)
    try:
        hit = await cache.get(key)
    except Exception:  # a cache that is down slows answers; it must not fail them
        log.warning("analytics cache read failed", exc_info=True)
        hit = None
    if hit is not None:
        return model.model_validate_json(hit)
    value = await compute()
    try:
        await cache.set(key, value.model_dump_json().encode(), ttl_seconds=ttl_seconds)
    except Exception:
        log.warning("analytics cache write failed", exc_info=True)
    return value
