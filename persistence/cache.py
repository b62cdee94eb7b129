"""A byte cache with TTLs and counters, in process (bounded LRU) or on Redis.

Counters are stored as decimal bytes in both forms (``get`` after ``incr`` gives ``b"3"``),
and ``incr`` sets the TTL only when it creates the key, which makes it a fixed-window
counter: the window starts at the first increment.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

__all__ = ["Cache", "InProcessCache", "RedisCache"]


class Cache(Protocol):
    """Bytes by key, each optionally expiring."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def incr(self, key: str, ttl_seconds: float | None = None) -> int:
        """Add one to the counter at ``key`` (0 if absent) and return the new value."""
        ...


def _check_ttl(ttl_seconds: float | None) -> None:
    if ttl_seconds is not None and not ttl_seconds > 0:
        raise ValueError(f"ttl_seconds must be positive or None, got {ttl_seconds}")


def _ms(ttl_seconds: float) -> int:
    return max(math.ceil(ttl_seconds * 1000), 1)


class InProcessCache:
    """An LRU dict bounded by entry count and by total value bytes.

    Expired entries are dropped when touched, and otherwise age out through the LRU bound.
    A value larger than ``max_bytes`` on its own is not cached.
    """

    def __init__(
        self,
        *,
        max_entries: int = 10_000,
        max_bytes: int = 64 * 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._data: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self._clock = clock
        # Methods never await; the lock only guards callers on other threads.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def stored_keys(self) -> list[str]:
        """The keys held now (``persistence.keyspace`` searches them)."""
        with self._lock:
            return list(self._data)

    def discard(self, key: str) -> None:
        with self._lock:
            self._drop(key)

    def _live(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires_at = item
        if expires_at is not None and self._clock() >= expires_at:
            self._drop(key)
            return None
        self._data.move_to_end(key)
        return value

    def _drop(self, key: str) -> None:
        item = self._data.pop(key, None)
        if item is not None:
            self._bytes -= len(item[0])

    def _store(self, key: str, value: bytes, expires_at: float | None) -> None:
        self._drop(key)
        if len(value) > self._max_bytes:
            return
        self._data[key] = (value, expires_at)
        self._bytes += len(value)
        while len(self._data) > self._max_entries or self._bytes > self._max_bytes:
            _, (old, _) = self._data.popitem(last=False)
            self._bytes -= len(old)

    async def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._live(key)

    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        _check_ttl(ttl_seconds)
        value = bytes(value)
        with self._lock:
            expires_at = None if ttl_seconds is None else self._clock() + ttl_seconds
            self._store(key, value, expires_at)

    async def delete(self, key: str) -> None:
        with self._lock:
            self._drop(key)

    async def incr(self, key: str, ttl_seconds: float | None = None) -> int:
        _check_ttl(ttl_seconds)
        with self._lock:
            current = self._live(key)
            if current is None:
                count = 1
                expires_at = None if ttl_seconds is None else self._clock() + ttl_seconds
            else:
                try:
                    count = int(current) + 1
                except ValueError:
                    raise ValueError(f"cache value at {key!r} is not an integer") from None
                expires_at = self._data[key][1]
            self._store(key, str(count).encode(), expires_at)
            return count


# INCR and the first PEXPIRE in one step, so a crash between them cannot leave a counter
# that never expires.
_INCR_LUA = """
local n = redis.call('INCR', KEYS[1])
if n == 1 and tonumber(ARGV[1]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
"""


class RedisCache:
    """GET/SET PX/DEL and a Lua INCR; the client must not decode responses (values are bytes)."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "chorus:cache:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._incr = redis.register_script(_INCR_LUA)

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(self._prefix + key)
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        _check_ttl(ttl_seconds)
        px = None if ttl_seconds is None else _ms(ttl_seconds)
        await self._redis.set(self._prefix + key, bytes(value), px=px)

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def incr(self, key: str, ttl_seconds: float | None = None) -> int:
        _check_ttl(ttl_seconds)
        ttl_ms = 0 if ttl_seconds is None else _ms(ttl_seconds)
        try:
            return int(await self._incr(keys=[self._prefix + key], args=[ttl_ms]))
        except ResponseError as exc:
            if "not an integer" in str(exc):
                raise ValueError(f"cache value at {key!r} is not an integer") from None
            raise
