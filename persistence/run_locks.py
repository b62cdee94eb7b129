"""Which worker holds which background run, and whether that worker is still alive.

Each worker keeps a short-lived heartbeat (``beat`` every few seconds with a TTL of a few
more). A worker that starts a run takes the run's lock, naming itself as holder; the lock
lasts as long as its holder's heartbeat, not a fixed time, so one heartbeat per worker keeps
all its runs alive and a worker that dies (killed, lost its machine) loses them all together
as soon as its heartbeat expires. The held locks double as the registry a sweeper reads to
find runs whose holder is gone, without scanning every tenant's runs.

Two forms with the same behaviour: Redis (one hash of locks, one key per heartbeat, Lua for
the compare-and-set steps) for workers on many machines, and in process for the runner inside
``chorus serve`` and for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Protocol

import redis.asyncio as aioredis

__all__ = [
    "HEARTBEAT_TTL_SECONDS",
    "InProcessRunLocks",
    "RedisRunLocks",
    "RunLock",
    "RunLocks",
    "keep_alive",
    "new_worker_id",
    "stop_heartbeat",
]

log = logging.getLogger(__name__)

# A worker whose heartbeat is this old is dead and its runs are queued again. Short, so a
# killed worker's runs resume within seconds; several beats fit in it, so one slow beat (a
# busy loop, a Redis hiccup) does not lose the runs of a live worker.
HEARTBEAT_TTL_SECONDS = 10.0
BEATS_PER_TTL = 4


def new_worker_id() -> str:
    """Unique per worker, readable in logs and run documents: host, pid and a random tail."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class RunLock:
    """One attempt at a run: the worker running it, a token unique to the attempt, and what
    is needed to queue the run again (tenant, user, thread) without a cross-tenant query."""

    run_id: str
    worker: str
    token: str
    org_id: str
    user_id: str
    thread_id: str

    def dumps(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def loads(cls, raw: str | bytes) -> RunLock:
        return cls(**json.loads(raw))


class RunLocks(Protocol):
    # Whether the locks outlive this process. If not, a new process finds the runs an earlier
    # one left behind in the run documents (``runs.recovery.sweep`` does, once).
    durable: bool

    async def beat(self, worker: str, ttl_seconds: float) -> None:
        """Say ``worker`` is alive for ``ttl_seconds`` more."""
        ...

    async def stop(self, worker: str) -> None:
        """``worker`` is gone (a clean shutdown): its remaining locks are free at once."""
        ...

    async def alive(self, worker: str) -> bool: ...

    async def acquire(self, lock: RunLock) -> bool:
        """Take ``lock.run_id`` unless a live worker holds it; a dead holder's lock is taken
        over. Atomic: of two workers racing for a run, one wins."""
        ...

    async def release(self, run_id: str, token: str) -> bool:
        """Drop the lock if it is still the attempt ``token``'s (a newer attempt's stays)."""
        ...

    async def held(self) -> list[RunLock]:
        """Every lock, live holder or not."""
        ...


_LOCKS = "chorus:run-locks"
_HEARTBEAT = "chorus:worker:"

# Take the run unless its holder's heartbeat key still exists.
_ACQUIRE = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local holder = cjson.decode(current)['worker']
  if redis.call('EXISTS', ARGV[3] .. holder) == 1 then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""

# Drop the run's lock only if it still belongs to the attempt with this token.
_RELEASE = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and cjson.decode(current)['token'] == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


class RedisRunLocks:
    """Locks in one Redis hash (run id -> lock JSON), heartbeats as ``chorus:worker:{id}``.

    The Lua scripts read a heartbeat key they are not given in ``KEYS``: fine on one Redis
    server (what arq needs anyway), not on a Redis Cluster.
    """

    durable = True

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def beat(self, worker: str, ttl_seconds: float) -> None:
        await self._redis.set(_HEARTBEAT + worker, b"1", px=max(int(ttl_seconds * 1000), 1))

    async def stop(self, worker: str) -> None:
        await self._redis.delete(_HEARTBEAT + worker)

    async def alive(self, worker: str) -> bool:
        return bool(await self._redis.exists(_HEARTBEAT + worker))

    async def acquire(self, lock: RunLock) -> bool:
        taken = await self._redis.eval(  # type: ignore[misc]
            _ACQUIRE, 1, _LOCKS, lock.run_id, lock.dumps(), _HEARTBEAT
        )
        return bool(taken)

    async def release(self, run_id: str, token: str) -> bool:
        dropped = await self._redis.eval(_RELEASE, 1, _LOCKS, run_id, token)  # type: ignore[misc]
        return bool(dropped)

    async def held(self) -> list[RunLock]:
        raw = await self._redis.hgetall(_LOCKS)  # type: ignore[misc]
        return [RunLock.loads(value) for value in raw.values()]


class InProcessRunLocks:
    """The same contract in one process: heartbeats expire on ``clock`` like Redis keys.

    ``resident`` workers are alive for as long as this object: the runner inside this
    process, which cannot die without taking the locks with it.
    """

    durable = False

    def __init__(
        self, *, resident: Iterable[str] = (), clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._beats: dict[str, float] = dict.fromkeys(resident, math.inf)
        self._locks: dict[str, RunLock] = {}

    async def beat(self, worker: str, ttl_seconds: float) -> None:
        self._beats[worker] = self._clock() + ttl_seconds

    async def stop(self, worker: str) -> None:
        self._beats.pop(worker, None)

    async def alive(self, worker: str) -> bool:
        return self._beats.get(worker, float("-inf")) > self._clock()

    # No await between the check and the change: atomic on one event loop.
    async def acquire(self, lock: RunLock) -> bool:
        current = self._locks.get(lock.run_id)
        if current is not None and self._beats.get(current.worker, float("-inf")) > self._clock():
            return False
        self._locks[lock.run_id] = lock
        return True

    async def release(self, run_id: str, token: str) -> bool:
        current = self._locks.get(run_id)
        if current is None or current.token != token:
            return False
        del self._locks[run_id]
        return True

    async def held(self) -> list[RunLock]:
        return list(self._locks.values())


async def keep_alive(
    locks: RunLocks, worker: str, ttl_seconds: float = HEARTBEAT_TTL_SECONDS
) -> None:
    """Beat for ``worker`` until cancelled. A failed beat is logged and retried: the worker's
    runs survive as long as one beat in each TTL gets through."""
    while True:
        try:
            await locks.beat(worker, ttl_seconds)
        except Exception as exc:
            log.warning("heartbeat of worker %s failed: %r", worker, exc)
        await asyncio.sleep(ttl_seconds / BEATS_PER_TTL)


async def stop_heartbeat(locks: RunLocks, worker: str, beating: asyncio.Task[None]) -> None:
    """A clean stop: no more beats, and the heartbeat removed so nothing waits for its TTL."""
    beating.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await beating
    await locks.stop(worker)
