"""The keys a tenant leaves in Redis (or its in-process equivalents), found and erased.

Rate-limit buckets, cached answers and run event streams are keyed by strings that name an
organization, a user or a run. Erasing a tenant (GDPR) must remove them wherever they are,
including keys written by code added later: so this searches the whole key space for a
fragment (an id) instead of listing key patterns by hand.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

# Ids only: a fragment goes into a SCAN MATCH pattern, where * ? [ would widen it.
_FRAGMENT = re.compile(r"[A-Za-z0-9_-]{8,128}")


def _check(fragment: str) -> str:
    if not isinstance(fragment, str) or not _FRAGMENT.fullmatch(fragment):
        raise ValueError(f"a key fragment must be an id ([A-Za-z0-9_-]{{8,128}}), got {fragment!r}")
    return fragment


class Keyspace(Protocol):
    async def keys_with(self, fragment: str) -> list[str]:
        """Every live key that contains ``fragment``."""
        ...

    async def erase_with(self, fragment: str) -> int:
        """Delete every key that contains ``fragment``; how many were deleted."""
        ...


class KeyedStore(Protocol):
    """An in-process component that can list and drop its keys."""

    def stored_keys(self) -> list[str]: ...

    def discard(self, key: str) -> None: ...


class InProcessKeyspace:
    """The in-process cache, rate limiter and event log, searched together."""

    def __init__(self, stores: Sequence[KeyedStore]) -> None:
        self._stores = list(stores)

    async def keys_with(self, fragment: str) -> list[str]:
        _check(fragment)
        return sorted(k for s in self._stores for k in s.stored_keys() if fragment in k)

    async def erase_with(self, fragment: str) -> int:
        _check(fragment)
        erased = 0
        for store in self._stores:
            for key in [k for k in store.stored_keys() if fragment in k]:
                store.discard(key)
                erased += 1
        return erased


class RedisKeyspace:
    """Every key under ``prefix`` (``chorus:``: the cache, rate limits, event streams)."""

    def __init__(self, redis: Any, prefix: str = "chorus:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def keys_with(self, fragment: str) -> list[str]:
        pattern = f"{self._prefix}*{_check(fragment)}*"
        found = [k async for k in self._redis.scan_iter(match=pattern, count=1000)]
        return sorted(k.decode() if isinstance(k, bytes) else k for k in found)

    async def erase_with(self, fragment: str) -> int:
        keys = await self.keys_with(fragment)
        erased = 0
        for start in range(0, len(keys), 500):
            erased += int(await self._redis.unlink(*keys[start : start + 500]))
        return erased
