"""One pub/sub subscription per organization channel per API process, fanned out to its
sockets.

Ten thousand sockets of fifty organizations hold fifty Redis subscriptions here, not ten
thousand, and each message is parsed once, not once per socket. Each socket has a bounded
queue: one that falls too far behind is told it lost messages (``LOST``) and is closed, to
resume from its cursor, rather than slowing the others or growing without bound. Losing the
subscription itself (Redis went away) tells every socket of the channel the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from persistence.pubsub import PubSub

log = logging.getLogger(__name__)

LOST = object()  # put on a queue whose socket missed messages
Message = tuple[dict[str, Any], str]  # parsed, and the original JSON text


@dataclass
class _Channel:
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    queues: set[asyncio.Queue[Any]] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    error: BaseException | None = None


class Hub:
    def __init__(self, pubsub: PubSub, *, max_pending: int = 1000) -> None:
        self._pubsub = pubsub
        self._max = max_pending
        self._channels: dict[str, _Channel] = {}

    @contextlib.asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[asyncio.Queue[Any]]:
        """A queue of ``Message`` (or ``LOST``) published on ``channel`` from when this is
        entered (the subscription is live once it yields)."""
        entry = self._channels.get(channel)
        if entry is None:
            entry = self._channels[channel] = _Channel()
            entry.task = asyncio.create_task(self._read(channel, entry), name=f"hub:{channel}")
        queue: asyncio.Queue[Any] = asyncio.Queue(self._max)
        entry.queues.add(queue)
        try:
            await entry.ready.wait()
            if entry.error is not None:
                raise ConnectionError(f"could not subscribe to {channel}") from entry.error
            yield queue
        finally:
            entry.queues.discard(queue)
            if not entry.queues and self._channels.get(channel) is entry:
                del self._channels[channel]
                if entry.task is not None:
                    entry.task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await entry.task

    async def _read(self, channel: str, entry: _Channel) -> None:
        try:
            async with self._pubsub.subscribe(channel) as subscription:
                entry.ready.set()
                async for raw in subscription:
                    text = raw.decode()
                    try:
                        message = json.loads(text)
                    except ValueError:
                        log.warning("dropped a message on %s that is not JSON", channel)
                        continue
                    for queue in list(entry.queues):
                        try:
                            queue.put_nowait((message, text))
                        except asyncio.QueueFull:
                            entry.queues.discard(queue)
                            self._lost(queue)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("lost the subscription to %s: %s", channel, exc)
            entry.error = exc
        finally:
            entry.ready.set()
            if self._channels.get(channel) is entry:
                del self._channels[channel]
            for queue in list(entry.queues):
                self._lost(queue)

    @staticmethod
    def _lost(queue: asyncio.Queue[Any]) -> None:
        # Make room for the marker: what is dropped is lost anyway, the cursor recovers it.
        while True:
            try:
                queue.put_nowait(LOST)
                return
            except asyncio.QueueFull:
                queue.get_nowait()

    async def close(self) -> None:
        for entry in list(self._channels.values()):
            if entry.task is not None:
                entry.task.cancel()
        for entry in list(self._channels.values()):
            if entry.task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await entry.task
        self._channels.clear()

    @property
    def channels(self) -> int:
        return len(self._channels)
