"""Rate limiting: a sliding-window log, in process or atomically on Redis.

Both forms implement the same rule: at most ``limit`` allowed hits in any interval of
``window_seconds``. A denied hit is not recorded, so a client that keeps knocking while
limited is not locked out for longer. The log costs O(limit) memory per key, which is what
buys exactness over a fixed-window counter.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis

__all__ = ["InProcessRateLimiter", "RateDecision", "RateLimiter", "RedisRateLimiter"]


@dataclass(frozen=True, slots=True)
class RateDecision:
    """Outcome of one hit.

    ``retry_after`` is the number of seconds until a slot frees: 0 while slots remain,
    otherwise the time until the oldest counted hit leaves the window.
    """

    allowed: bool
    remaining: int
    retry_after: float


class RateLimiter(Protocol):
    """Counts hits on a key and decides whether one more is allowed."""

    async def hit(self, key: str, limit: int, window_seconds: float) -> RateDecision: ...


def _check(limit: int, window_seconds: float) -> None:
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if not window_seconds > 0:
        raise ValueError(f"window_seconds must be positive, got {window_seconds}")


class _Log:
    __slots__ = ("hits", "window")

    def __init__(self, window: float) -> None:
        self.hits: deque[float] = deque()
        self.window = window


class InProcessRateLimiter:
    """Sliding-window log per key in a dict, for a single process.

    Memory stays bounded two ways: a key whose newest hit has left its window is dropped by
    a periodic sweep, and at most ``max_keys`` keys are kept (least recently hit go first;
    evicting one only forgets its history, so errs towards allowing).
    """

    def __init__(
        self,
        *,
        max_keys: int = 100_000,
        sweep_interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logs: OrderedDict[str, _Log] = OrderedDict()
        self._max_keys = max_keys
        self._sweep_interval = sweep_interval
        self._clock = clock
        self._next_sweep = clock() + sweep_interval
        # hit() never awaits, so it is atomic on one loop; the lock covers callers on
        # other threads (sync code, a second loop) for the price of an uncontended acquire.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._logs)

    def stored_keys(self) -> list[str]:
        """The buckets held now (``persistence.keyspace`` searches them)."""
        with self._lock:
            return list(self._logs)

    def discard(self, key: str) -> None:
        with self._lock:
            self._logs.pop(key, None)

    async def hit(self, key: str, limit: int, window_seconds: float) -> RateDecision:
        _check(limit, window_seconds)
        with self._lock:
            now = self._clock()
            if now >= self._next_sweep:
                self._sweep(now)
            log = self._logs.get(key)
            if log is None:
                log = self._logs[key] = _Log(window_seconds)
            else:
                self._logs.move_to_end(key)
            log.window = window_seconds
            hits = log.hits
            while hits and hits[0] <= now - window_seconds:
                hits.popleft()
            allowed = len(hits) < limit
            if allowed:
                hits.append(now)
            remaining = max(limit - len(hits), 0)
            retry_after = 0.0 if remaining else max(hits[0] + window_seconds - now, 0.0)
            while len(self._logs) > self._max_keys:
                self._logs.popitem(last=False)
            return RateDecision(allowed, remaining, retry_after)

    def _sweep(self, now: float) -> None:
        expired = [k for k, log in self._logs.items() if log.hits[-1] <= now - log.window]
        for k in expired:
            del self._logs[k]
        self._next_sweep = now + self._sweep_interval


# KEYS[1] sorted set of hits (score = server time in µs); ARGV: limit, window µs, member.
# The server clock is used so every app machine agrees on "now" whatever their own clocks.
_SLIDING_WINDOW_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1)
  count = count + 1
  allowed = 1
end
local remaining = limit - count
local retry = 0
if remaining <= 0 then
  remaining = 0
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  retry = tonumber(oldest[2]) + window - now
  if retry < 0 then retry = 0 end
end
return {allowed, remaining, retry}
"""


class RedisRateLimiter:
    """The same sliding-window log as a Redis sorted set, updated by one Lua script.

    The key expires one window after its last allowed hit, so idle keys cost nothing.
    """

    def __init__(self, redis: aioredis.Redis, prefix: str = "chorus:rl:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_SLIDING_WINDOW_LUA)

    async def hit(self, key: str, limit: int, window_seconds: float) -> RateDecision:
        _check(limit, window_seconds)
        window_us = max(math.ceil(window_seconds * 1_000_000), 1)
        # A random member keeps two hits in the same microsecond distinct.
        member = os.urandom(8).hex()
        allowed, remaining, retry_us = await self._script(
            keys=[self._prefix + key], args=[limit, window_us, member]
        )
        return RateDecision(bool(allowed), int(remaining), int(retry_us) / 1_000_000)
