"""Fire-and-forget fan-out of messages to live subscribers, in process or on Redis.

A message reaches only the subscribers that are subscribed when it is published; nothing is
kept. For streams that a client must be able to rejoin, use ``persistence.eventlog``.

Usage::

    async with pubsub.subscribe("run:42") as sub:
        async for message in sub:  # bytes
            ...

The subscription is live once ``async with`` has entered, and iteration ends when the
subscription is closed (leaving the block, or ``await sub.close()`` from another task).

Slow subscribers: neither form ever blocks a publisher. A subscriber that falls too far
behind is disconnected: it receives what was buffered, then ``SubscriptionLost`` is raised
so it knows it missed messages (and can resubscribe and replay from an event log). This is
what Redis itself does to a slow subscriber (``client-output-buffer-limit pubsub``), so both
forms fail the same visible way instead of one of them silently dropping messages.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from types import TracebackType
from typing import Protocol, Self

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub as RedisPubSubConnection
from redis.exceptions import RedisError

__all__ = [
    "InProcessPubSub",
    "PubSub",
    "RedisPubSub",
    "Subscription",
    "SubscriptionLost",
]


class SubscriptionLost(ConnectionError):
    """The subscription was cut off (slow consumer or lost connection); messages may be lost."""


class Subscription(Protocol):
    """An async context manager and async iterator of message bytes."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def __aiter__(self) -> Self: ...

    async def __anext__(self) -> bytes: ...

    async def close(self) -> None: ...


class PubSub(Protocol):
    """Publishes to channels; hands out subscriptions."""

    async def publish(self, channel: str, message: bytes | str) -> int:
        """Send ``message``; return how many subscribers it was delivered to."""
        ...

    def subscribe(self, channel: str) -> Subscription: ...


def _as_bytes(message: bytes | str) -> bytes:
    return message.encode() if isinstance(message, str) else bytes(message)


# --- in process --------------------------------------------------------------------------


class _LocalSubscription:
    def __init__(self, hub: InProcessPubSub, channel: str, max_pending: int) -> None:
        self._hub = hub
        self._channel = channel
        self._max_pending = max_pending
        self._buffer: deque[bytes] = deque()
        self._ready = asyncio.Event()
        self._entered = False
        self._closed = False
        self._overflowed = False

    def _deliver(self, message: bytes) -> bool:
        if len(self._buffer) >= self._max_pending:
            self._overflowed = True
            self._hub._remove(self._channel, self)
            self._ready.set()
            return False
        self._buffer.append(message)
        self._ready.set()
        return True

    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError("a subscription can be entered only once")
        self._entered = True
        self._hub._add(self._channel, self)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> bytes:
        if not self._entered:
            raise RuntimeError("use `async with pubsub.subscribe(channel) as sub`")
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._buffer:
                return self._buffer.popleft()
            if self._overflowed:
                raise SubscriptionLost(
                    f"subscriber to {self._channel!r} fell {self._max_pending} messages "
                    "behind and was disconnected"
                )
            self._ready.clear()
            await self._ready.wait()

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._buffer.clear()
            self._hub._remove(self._channel, self)
            self._ready.set()


class InProcessPubSub:
    """Channels as sets of per-subscriber bounded buffers, for one event loop.

    ``max_pending`` bounds each subscriber's buffer; one more message disconnects it.
    """

    def __init__(self, *, max_pending: int = 1000) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self._max_pending = max_pending
        self._channels: dict[str, set[_LocalSubscription]] = {}

    async def publish(self, channel: str, message: bytes | str) -> int:
        data = _as_bytes(message)
        # Copy: an overflowing subscriber removes itself from the set while we iterate.
        subscribers = list(self._channels.get(channel, ()))
        return sum(sub._deliver(data) for sub in subscribers)

    def subscribe(self, channel: str) -> Subscription:
        return _LocalSubscription(self, channel, self._max_pending)

    def _add(self, channel: str, sub: _LocalSubscription) -> None:
        self._channels.setdefault(channel, set()).add(sub)

    def _remove(self, channel: str, sub: _LocalSubscription) -> None:
        subs = self._channels.get(channel)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._channels[channel]


# --- Redis -------------------------------------------------------------------------------


class _RedisSubscription:
    def __init__(self, redis: aioredis.Redis, channel: str, poll_seconds: float) -> None:
        self._redis = redis
        self._channel = channel
        self._poll = poll_seconds
        self._ps: RedisPubSubConnection | None = None
        self._closed = False

    async def __aenter__(self) -> Self:
        if self._ps is not None:
            raise RuntimeError("a subscription can be entered only once")
        self._ps = self._redis.pubsub()
        try:
            await self._ps.subscribe(self._channel)
            await self._confirmed()
        except BaseException:
            await self.close()
            raise
        return self

    async def _confirmed(self) -> None:
        # SUBSCRIBE is only sent, not acknowledged; wait for the server's confirmation so a
        # message published right after `async with` enters is not missed.
        assert self._ps is not None
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            reply = await self._ps.get_message(timeout=self._poll)
            if reply is not None and reply["type"] in ("subscribe", b"subscribe"):
                return
        raise SubscriptionLost(f"Redis did not confirm the subscription to {self._channel!r}")

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> bytes:
        if self._ps is None:
            raise RuntimeError("use `async with pubsub.subscribe(channel) as sub`")
        while not self._closed:
            try:
                # A bounded wait, so a close() from another task is noticed promptly.
                reply = await self._ps.get_message(
                    ignore_subscribe_messages=True, timeout=self._poll
                )
            except Exception as exc:
                if self._closed:
                    break
                if isinstance(exc, RedisError | OSError):
                    raise SubscriptionLost(f"lost the subscription to {self._channel!r}") from exc
                raise
            if reply is not None and reply["type"] in ("message", b"message"):
                return _as_bytes(reply["data"])
        raise StopAsyncIteration

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._ps is not None:
            # Closing the connection ends the subscription on the server too.
            await self._ps.aclose()


class RedisPubSub:
    """Redis PUBLISH/SUBSCRIBE; one connection per live subscription.

    Redis channels are global to the server (not per database), hence the prefix.
    """

    def __init__(
        self, redis: aioredis.Redis, prefix: str = "chorus:ps:", *, poll_seconds: float = 1.0
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._poll = poll_seconds

    async def publish(self, channel: str, message: bytes | str) -> int:
        return int(await self._redis.publish(self._prefix + channel, _as_bytes(message)))

    def subscribe(self, channel: str) -> Subscription:
        return _RedisSubscription(self._redis, self._prefix + channel, self._poll)
