"""Replayable event streams (run streams a client can rejoin), in process or on Redis Streams.

Ids have the Redis Streams form ``<ms>-<seq>`` in both forms and increase strictly within a
stream. A reader passes the last id it saw as ``after`` to get only newer events, or
``None`` to replay from the start. Events are JSON objects: both forms store them as JSON,
so an event that cannot be serialized fails at ``append`` and a reader always gets a copy.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import redis.asyncio as aioredis

__all__ = ["EventLog", "InProcessEventLog", "RedisEventLog"]

Event = dict[str, Any]

_ID = re.compile(r"(\d+)-(\d+)", re.ASCII)


def _parse_id(event_id: str) -> tuple[int, int]:
    match = _ID.fullmatch(event_id)
    if match is None:
        raise ValueError(f"invalid event id {event_id!r}: expected '<ms>-<seq>'")
    return int(match[1]), int(match[2])


def _check_maxlen(maxlen: int) -> int:
    if maxlen < 1:
        raise ValueError(f"maxlen must be at least 1, got {maxlen}")
    return maxlen


def _encode(event: Event) -> str:
    if not isinstance(event, dict):
        raise TypeError(f"an event must be a dict, got {type(event).__name__}")
    return json.dumps(event, separators=(",", ":"), allow_nan=False)


class EventLog(Protocol):
    """Append-only, bounded, expiring event streams."""

    async def append(self, stream: str, event: Event) -> str:
        """Add ``event``; return its id."""
        ...

    async def read(
        self, stream: str, after: str | None = None, block_ms: int = 0, count: int | None = None
    ) -> list[tuple[str, Event]]:
        """Events with ids greater than ``after`` (all when ``None``), oldest first.

        With ``block_ms > 0`` and nothing newer, wait up to that long for an event;
        ``block_ms == 0`` never waits (unlike Redis' ``BLOCK 0``, which waits forever).
        """
        ...

    async def expire(self, stream: str, seconds: float) -> None:
        """Delete the whole stream ``seconds`` from now (no-op if it does not exist)."""
        ...


class _Stream:
    __slots__ = ("entries", "expires_at", "last_id", "waiters")

    def __init__(self, maxlen: int) -> None:
        self.entries: deque[tuple[tuple[int, int], str]] = deque(maxlen=maxlen)
        self.last_id = (0, 0)
        self.expires_at: float | None = None
        self.waiters: set[asyncio.Future[None]] = set()


class InProcessEventLog:
    """Streams as bounded deques, for one event loop.

    Each stream keeps its newest ``maxlen`` events; expired streams are dropped on access
    and by a sweep on append, so memory stays bounded by live streams times ``maxlen``.
    """

    def __init__(
        self,
        *,
        maxlen: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._maxlen = _check_maxlen(maxlen)
        self._clock = clock
        self._wall_ms = wall_ms
        self._streams: dict[str, _Stream] = {}
        self._next_sweep = clock() + 30.0

    def __len__(self) -> int:
        return len(self._streams)

    def stored_keys(self) -> list[str]:
        """The streams held now (``persistence.keyspace`` searches them)."""
        return list(self._streams)

    def discard(self, key: str) -> None:
        stream = self._streams.pop(key, None)
        for waiter in stream.waiters if stream is not None else ():
            if not waiter.done():
                waiter.set_result(None)

    def _live(self, name: str) -> _Stream | None:
        stream = self._streams.get(name)
        expires_at = stream.expires_at if stream is not None else None
        if expires_at is not None and self._clock() >= expires_at:
            del self._streams[name]
            return None
        return stream

    async def append(self, stream: str, event: Event) -> str:
        data = _encode(event)
        now = self._clock()
        if now >= self._next_sweep:
            for name in list(self._streams):
                self._live(name)
            self._next_sweep = now + 30.0
        s = self._live(stream)
        if s is None:
            s = self._streams[stream] = _Stream(self._maxlen)
        # Like Redis: wall-clock ms, but never going back, with a sequence within one ms.
        ms = max(self._wall_ms(), s.last_id[0])
        s.last_id = (ms, s.last_id[1] + 1 if ms == s.last_id[0] else 0)
        s.entries.append((s.last_id, data))
        for waiter in s.waiters:
            if not waiter.done():
                waiter.set_result(None)
        s.waiters.clear()
        return f"{s.last_id[0]}-{s.last_id[1]}"

    async def read(
        self, stream: str, after: str | None = None, block_ms: int = 0, count: int | None = None
    ) -> list[tuple[str, Event]]:
        cursor = _parse_id(after) if after is not None else (0, 0)
        found = self._after(stream, cursor, count)
        if found or block_ms <= 0:
            return found
        s = self._live(stream)
        if s is None:
            s = self._streams[stream] = _Stream(self._maxlen)
        waiter = asyncio.get_running_loop().create_future()
        s.waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, block_ms / 1000)
        except TimeoutError:
            return []
        finally:
            s.waiters.discard(waiter)
            # Don't leave an empty stream behind for every read of a stream that never came.
            if not s.entries and not s.waiters and self._streams.get(stream) is s:
                del self._streams[stream]
        return self._after(stream, cursor, count)

    def _after(
        self, stream: str, cursor: tuple[int, int], count: int | None
    ) -> list[tuple[str, Event]]:
        s = self._live(stream)
        if s is None:
            return []
        out: list[tuple[str, Event]] = []
        # Scan from the newest end: readers usually want only the last few events.
        for eid, data in reversed(s.entries):
            if eid <= cursor:
                break
            out.append((f"{eid[0]}-{eid[1]}", json.loads(data)))
        out.reverse()
        return out[:count] if count is not None else out

    async def expire(self, stream: str, seconds: float) -> None:
        s = self._live(stream)
        if s is not None:
            s.expires_at = self._clock() + seconds


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisEventLog:
    """Redis Streams: ``XADD`` with an exact ``MAXLEN`` cap, ``XREAD``, ``PEXPIRE``.

    A blocking read holds a pooled connection for up to ``block_ms``; the client's
    ``socket_timeout`` (if any) must be longer than that.
    """

    def __init__(
        self, redis: aioredis.Redis, prefix: str = "chorus:ev:", *, maxlen: int = 10_000
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._maxlen = _check_maxlen(maxlen)

    async def append(self, stream: str, event: Event) -> str:
        event_id = await self._redis.xadd(
            self._prefix + stream, {"e": _encode(event)}, maxlen=self._maxlen, approximate=False
        )
        return _text(event_id)

    async def read(
        self, stream: str, after: str | None = None, block_ms: int = 0, count: int | None = None
    ) -> list[tuple[str, Event]]:
        if after is not None:
            _parse_id(after)  # the same error as the in-process form, before Redis sees it
        key = self._prefix + stream
        reply = await self._redis.xread(
            {key: after or "0-0"}, count=count, block=block_ms if block_ms > 0 else None
        )
        if not reply:
            return []
        # RESP2 answers [[key, entries]], RESP3 {key: [entries]}.
        entries = next(iter(reply.values()))[0] if isinstance(reply, dict) else reply[0][1]
        out: list[tuple[str, Event]] = []
        for event_id, fields in entries:
            raw = fields.get(b"e", fields.get("e"))
            out.append((_text(event_id), json.loads(raw)))
        return out

    async def expire(self, stream: str, seconds: float) -> None:
        await self._redis.pexpire(self._prefix + stream, max(math.ceil(seconds * 1000), 1))
