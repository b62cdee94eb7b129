"""Signals between the processes that run, steer and wait for runs, over pub/sub.

A cancel request, a sweeper taking a run away from a presumed-dead worker, and the end of a
run are published on the run's channel (and the end also on its thread's channel), so the
process executing a run stops at once and a process waiting for one wakes at once, wherever
each of them is (the Redis form fans out across machines). Pub/sub keeps nothing: a waiter
subscribes first and then reads the state it waits on, so a signal sent in between is not
lost; a long timeout re-reads the state as a safety net for a process that died before it
could signal.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Literal

from bson import ObjectId

from persistence.pubsub import PubSub, Subscription, SubscriptionLost

Signal = Literal["cancel", "lease_lost", "ended"]
SAFETY_RECHECK_SECONDS = 30.0


def run_channel(run_id: str) -> str:
    return f"runs:run:{run_id}"


def thread_channel(org_id: ObjectId, thread_id: str) -> str:
    return f"runs:thread:{org_id}:{thread_id}"


class Listener:
    """The signals arriving on one channel since it was subscribed."""

    def __init__(self, subscription: Subscription) -> None:
        self._subscription = subscription
        self.received: list[str] = []
        self._arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read(), name="run-signal-reader")

    async def _read(self) -> None:
        try:
            async for message in self._subscription:
                self.received.append(message.decode())
                self._arrived.set()
        except SubscriptionLost:
            # Cut off: whatever was missed may have been the signal; wake the waiter so it
            # re-reads the state.
            self.received.append("lost")
            self._arrived.set()

    def got(self, *signals: str) -> str | None:
        return next((s for s in self.received if s in signals), None)

    async def wait(self, *signals: str, within: float | None = None) -> str | None:
        """The first of ``signals`` received (``"lost"`` among them stands for a subscription
        that was cut off), or None after ``within`` seconds."""
        while True:
            found = self.got(*signals)
            if found is not None:
                return found
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), within)
            except TimeoutError:
                return None

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


class RunSignals:
    def __init__(self, pubsub: PubSub) -> None:
        self._pubsub = pubsub

    async def send(self, run_id: str, signal: Signal) -> None:
        await self._pubsub.publish(run_channel(run_id), signal)

    async def ended(self, org_id: ObjectId, thread_id: str, run_id: str) -> None:
        """A run reached its end (any status): joiners and runs queued behind it wake."""
        await self.send(run_id, "ended")
        await self._pubsub.publish(thread_channel(org_id, thread_id), "ended")

    @contextlib.asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[Listener]:
        async with self._pubsub.subscribe(channel) as subscription:
            listener = Listener(subscription)
            try:
                yield listener
            finally:
                await listener.close()

    async def wait_until(
        self,
        channel: str,
        done: Callable[[], Awaitable[bool]],
        *,
        recheck_seconds: float = SAFETY_RECHECK_SECONDS,
    ) -> None:
        """Return once ``done()`` holds, re-checking it on each signal on ``channel``."""
        async with self.listen(channel) as listener:
            while not await done():
                listener.received.clear()
                await listener.wait("ended", "lost", within=recheck_seconds)


class Stopped(Exception):
    """The stream was stopped by a signal (``reason``: cancel or lease_lost)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_DONE = object()


async def until_signalled(
    stream: AsyncIterator[tuple[str, object]], listener: Listener, *signals: str
) -> AsyncIterator[tuple[str, object]]:
    """``stream``'s items until one of ``signals`` arrives: then the stream is cancelled
    where it is (mid-step, not at its next chunk) and ``Stopped`` is raised."""
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=1)

    async def pump() -> None:
        try:
            async for item in stream:
                await queue.put(item)
        except Exception as exc:  # handed to the consumer, which raises it in its own frame
            await queue.put(exc)
            return
        await queue.put(_DONE)

    producer = asyncio.create_task(pump(), name="run-stream")
    stop = asyncio.create_task(listener.wait(*signals), name="run-stop")
    try:
        while True:
            getter = asyncio.create_task(queue.get())
            await asyncio.wait({getter, stop}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                raise Stopped(stop.result() or "cancel")
            item = getter.result()
            if item is _DONE:
                return
            if isinstance(item, Exception):
                raise item
            yield item  # type: ignore[misc]
    finally:
        for task in (producer, stop):
            task.cancel()
        await asyncio.gather(producer, stop, return_exceptions=True)
