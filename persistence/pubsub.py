"""Fire-and-forget fan-out of messages to live subscribers, in process or on Redis.

A message reaches only the subscribers that are subscribed when it is published; nothing is
kept. For streams that a client must be able to rejoin, use ``persistence.eventlog``.

Usage::

    async with pubsub.subscribe("run:42") as sub:
        async for message in sub:  # bytes
            ...

The subscription is live once ``async with`` has entered, and iteration ends when the
subscription is closed (leaving the block, or ``await sub.close()`` from another task).

A process that listens to many channels at once (an API process holding the sockets of
hundreds of organizations) uses one ``multiplex()`` instead: one subscription (one Redis
connection) whose channels are added and removed as they are needed, yielding
``(channel, message)``::

    async with pubsub.multiplex() as mux:
        await mux.add("events:42")  # live once it returns
        async for channel, message in mux:
            ...

Slow subscribers: neither form ever blocks a publisher. A subscriber that falls too far
behind is disconnected: it receives what was buffered, then ``SubscriptionLost`` is raised
so it knows it missed messages (and can resubscribe and replay from an event log). This is
what Redis itself does to a slow subscriber (``client-output-buffer-limit pubsub``), so both
forms fail the same visible way instead of one of them silently dropping messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub as RedisPubSubConnection
from redis.exceptions import RedisError

__all__ = [
    "InProcessPubSub",
    "Multiplex",
    "PubSub",
    "RedisPubSub",
    "Subscription",
    "SubscriptionLost",
]


class SubscriptionLost(ConnectionError):
    """The subscription was cut off (slow consumer or lost connection); messages may be lost."""


class _Listening(Protocol):
    """What every subscription is: an async context manager and an async iterator, closed
    on exit or by ``close``."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def __aiter__(self) -> Self: ...

    async def close(self) -> None: ...


class Subscription(_Listening, Protocol):
    """An async iterator of message bytes from one channel."""

    async def __anext__(self) -> bytes: ...


class Multiplex(_Listening, Protocol):
    """One subscription to a changing set of channels: an async context manager and an async
    iterator of ``(channel, message bytes)``. The owner keeps iterating it (``add`` waits
    for the server's confirmation, which the iteration reads)."""

    async def add(self, channel: str) -> None:
        """Listen to ``channel`` too; messages published after this returns arrive."""
        ...

    async def remove(self, channel: str) -> None: ...

    async def __anext__(self) -> tuple[str, bytes]: ...


class PubSub(Protocol):
    """Publishes to channels; hands out subscriptions."""

    async def publish(self, channel: str, message: bytes | str) -> int:
        """Send ``message``; return how many subscribers it was delivered to."""
        ...

    def subscribe(self, channel: str) -> Subscription: ...

    def multiplex(self, *, max_pending: int | None = None) -> Multiplex:
        """One subscription for many channels (``max_pending``: the in-process buffer's
        bound, as ``max_pending`` of the constructor is for one channel)."""
        ...


T = TypeVar("T")


def _as_bytes(message: bytes | str) -> bytes:
    return message.encode() if isinstance(message, str) else bytes(message)


# --- in process --------------------------------------------------------------------------


class _Inbox(Generic[T]):
    """A subscriber's bounded buffer: ``put`` refuses (and marks the inbox lost) once
    ``max_pending`` items wait; ``take`` waits for the next item, then ends the iteration
    once closed or raises SubscriptionLost once lost and drained."""

    def __init__(self, max_pending: int, lost_message: str) -> None:
        self._max_pending = max_pending
        self._lost_message = lost_message
        self._items: deque[T] = deque()
        self._ready = asyncio.Event()
        self.closed = False
        self.lost = False

    def put(self, item: T) -> bool:
        if len(self._items) >= self._max_pending:
            self.lost = True
            self._ready.set()
            return False
        self._items.append(item)
        self._ready.set()
        return True

    async def take(self) -> T:
        while True:
            if self.closed:
                raise StopAsyncIteration
            if self._items:
                return self._items.popleft()
            if self.lost:
                raise SubscriptionLost(self._lost_message)
            self._ready.clear()
            await self._ready.wait()

    def close(self) -> None:
        self.closed = True
        self._items.clear()
        self._ready.set()


class _LocalSubscription:
    def __init__(self, hub: InProcessPubSub, channel: str, max_pending: int) -> None:
        self._hub = hub
        self._channel = channel
        self._inbox: _Inbox[bytes] = _Inbox(
            max_pending,
            f"subscriber to {channel!r} fell {max_pending} messages behind and was disconnected",
        )
        self._entered = False

    def _deliver(self, channel: str, message: bytes) -> bool:
        delivered = self._inbox.put(message)
        if not delivered:
            self._hub._remove(self._channel, self)
        return delivered

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
        return await self._inbox.take()

    async def close(self) -> None:
        if not self._inbox.closed:
            self._inbox.close()
            self._hub._remove(self._channel, self)


class InProcessPubSub:
    """Channels as sets of per-subscriber bounded buffers, for one event loop.

    ``max_pending`` bounds each subscriber's buffer; one more message disconnects it.
    """

    def __init__(self, *, max_pending: int = 1000) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self._max_pending = max_pending
        self._channels: dict[str, set[_Local]] = {}

    async def publish(self, channel: str, message: bytes | str) -> int:
        data = _as_bytes(message)
        # Copy: an overflowing subscriber removes itself from the set while we iterate.
        subscribers = list(self._channels.get(channel, ()))
        return sum(sub._deliver(channel, data) for sub in subscribers)

    def subscribe(self, channel: str) -> Subscription:
        return _LocalSubscription(self, channel, self._max_pending)

    def multiplex(self, *, max_pending: int | None = None) -> Multiplex:
        return _LocalMultiplex(self, max_pending or self._max_pending)

    def _add(self, channel: str, sub: _Local) -> None:
        self._channels.setdefault(channel, set()).add(sub)

    def _remove(self, channel: str, sub: _Local) -> None:
        subs = self._channels.get(channel)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._channels[channel]


class _LocalMultiplex:
    """The in-process multiplex: one bounded buffer of ``(channel, message)`` for all its
    channels; overflowing it disconnects the whole multiplex, as for one subscription."""

    def __init__(self, hub: InProcessPubSub, max_pending: int) -> None:
        self._hub = hub
        self._channels: set[str] = set()
        self._inbox: _Inbox[tuple[str, bytes]] = _Inbox(
            max_pending, f"a multiplex fell {max_pending} messages behind and was disconnected"
        )

    def _deliver(self, channel: str, message: bytes) -> bool:
        delivered = self._inbox.put((channel, message))
        if not delivered:
            self._leave_all()
        return delivered

    def _leave_all(self) -> None:
        for channel in self._channels:
            self._hub._remove(channel, self)
        self._channels.clear()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def add(self, channel: str) -> None:
        if self._inbox.closed or self._inbox.lost:
            raise SubscriptionLost("the multiplex is closed")
        self._channels.add(channel)
        self._hub._add(channel, self)

    async def remove(self, channel: str) -> None:
        self._channels.discard(channel)
        self._hub._remove(channel, self)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> tuple[str, bytes]:
        return await self._inbox.take()

    async def close(self) -> None:
        if not self._inbox.closed:
            self._inbox.close()
            self._leave_all()


_Local = _LocalSubscription | _LocalMultiplex


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


class _RedisMultiplex:
    """One Redis connection subscribed to a changing set of channels. SUBSCRIBE is only
    sent; its confirmation arrives in order with the messages, so the iterating task
    resolves the waiting ``add`` when it reads it (one waiter per SUBSCRIBE sent: Redis
    confirms each, even for a channel already subscribed)."""

    def __init__(
        self, redis: aioredis.Redis, prefix: str, poll_seconds: float, confirm_seconds: float
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._poll = poll_seconds
        self._confirm_seconds = confirm_seconds
        self._ps: RedisPubSubConnection | None = None
        self._started = asyncio.Event()  # a first SUBSCRIBE was sent: there is a connection
        self._waiting: dict[bytes, deque[asyncio.Future[None]]] = {}
        self._closed = False

    async def __aenter__(self) -> Self:
        if self._ps is not None:
            raise RuntimeError("a multiplex can be entered only once")
        self._ps = self._redis.pubsub()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def add(self, channel: str) -> None:
        if self._ps is None or self._closed:
            raise SubscriptionLost("the multiplex is closed")
        name = self._prefix + channel
        confirmed = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(name.encode(), deque()).append(confirmed)
        try:
            await self._ps.subscribe(name)
        except (RedisError, OSError) as exc:
            raise SubscriptionLost(f"could not subscribe to {name!r}") from exc
        self._started.set()
        try:
            await asyncio.wait_for(confirmed, self._confirm_seconds)
        except TimeoutError as exc:
            raise SubscriptionLost(f"Redis did not confirm the subscription to {name!r}") from exc

    async def remove(self, channel: str) -> None:
        if self._ps is None or self._closed:
            return
        try:
            await self._ps.unsubscribe(self._prefix + channel)
        except (RedisError, OSError) as exc:
            raise SubscriptionLost(f"lost the subscription to {channel!r}") from exc

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> tuple[str, bytes]:
        if self._ps is None:
            raise RuntimeError("use `async with pubsub.multiplex() as mux`")
        cut = len(self._prefix)
        while not self._closed:
            if not self._started.is_set():
                # No connection before the first channel; wait, noticing close() promptly.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._started.wait(), self._poll)
                continue
            try:
                reply = await self._ps.get_message(timeout=self._poll)
            except Exception as exc:
                if self._closed:
                    break
                if isinstance(exc, RedisError | OSError):
                    self._fail_waiting()
                    raise SubscriptionLost("lost the multiplexed subscription") from exc
                raise
            if reply is None:
                continue
            kind = reply["type"]
            if kind in ("message", b"message"):
                channel = reply["channel"]
                name = channel.decode() if isinstance(channel, bytes) else str(channel)
                return name[cut:], _as_bytes(reply["data"])
            if kind in ("subscribe", b"subscribe"):
                channel = reply["channel"]
                key = channel if isinstance(channel, bytes) else str(channel).encode()
                waiters = self._waiting.get(key)
                if waiters:
                    waiter = waiters.popleft()
                    if not waiters:
                        del self._waiting[key]
                    if not waiter.done():
                        waiter.set_result(None)
        raise StopAsyncIteration

    def _fail_waiting(self) -> None:
        for waiters in self._waiting.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(SubscriptionLost("the multiplex was closed"))
        self._waiting.clear()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._started.set()
        self._fail_waiting()
        if self._ps is not None:
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

    def multiplex(self, *, max_pending: int | None = None) -> Multiplex:
        # max_pending: Redis bounds a slow subscriber itself (client-output-buffer-limit).
        return _RedisMultiplex(self._redis, self._prefix, self._poll, 10.0)
