"""One pub/sub subscription per API process, fanned out to its sockets by organization.

Ten thousand sockets of five hundred organizations share one multiplexed subscription (one
Redis connection, ``PubSub.multiplex``) whose channels are the organizations that have a
socket here; a dispatch dict maps each channel to its sockets' outlets. Each message is
parsed once, and each frame is encoded once per topic it is told as, not once per socket:
a socket costs only its filter (its topics, whether the message is for its person) and the
write of the frame (``api.socket_outlet``). Losing the subscription (Redis went away) ends
every socket with ``SubscriptionLost``: its client resumes from its cursor on reconnecting,
and the next socket to attach subscribes afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

from api.socket_outlet import Outlet
from persistence.pubsub import Multiplex, PubSub, SubscriptionLost
from services import realtime

log = logging.getLogger(__name__)


class _Channel:
    def __init__(self) -> None:
        self.outlets: set[Outlet] = set()
        self.live: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.subscribing: asyncio.Future[None] | None = None


class Hub:
    def __init__(self, pubsub: PubSub, *, max_pending: int = 10_000) -> None:
        self._pubsub = pubsub
        self._max_pending = max_pending  # the in-process multiplex's buffer
        self._channels: dict[str, _Channel] = {}
        self._mux: Multiplex | None = None
        self._reader: asyncio.Task[None] | None = None
        # SUBSCRIBE and UNSUBSCRIBE of one channel must reach the server in the order they
        # were decided (a socket leaving as another of its organization arrives).
        self._commands = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def attach(self, channel: str, outlet: Outlet) -> AsyncIterator[None]:
        """Fan ``channel``'s messages out to ``outlet`` while inside (the subscription is
        live once this yields)."""
        entry = self._channels.get(channel)
        if entry is None:
            entry = self._channels[channel] = _Channel()
            entry.subscribing = asyncio.ensure_future(self._subscribe(channel, entry))
        entry.outlets.add(outlet)
        try:
            await asyncio.shield(entry.live)
            yield
        finally:
            entry.outlets.discard(outlet)
            if not entry.outlets and self._channels.get(channel) is entry:
                del self._channels[channel]
                await self._unsubscribe(channel)

    async def _multiplex(self) -> Multiplex:
        """The process's subscription, opened (and its reader started) on first use."""
        if self._mux is None:
            mux = self._pubsub.multiplex(max_pending=self._max_pending)
            await mux.__aenter__()
            self._mux = mux
            self._reader = asyncio.create_task(self._read(mux), name="realtime-hub")
        return self._mux

    async def _subscribe(self, channel: str, entry: _Channel) -> None:
        try:
            async with self._commands:
                await (await self._multiplex()).add(channel)
            if not entry.live.done():
                entry.live.set_result(None)
        except Exception as exc:
            log.warning("could not subscribe to %s: %s", channel, exc)
            if self._channels.get(channel) is entry:
                del self._channels[channel]
            if not entry.live.done():
                entry.live.set_exception(ConnectionError(f"could not subscribe to {channel}"))
                entry.live.exception()  # retrieved here; attach() raises it to its caller

    async def _unsubscribe(self, channel: str) -> None:
        async with self._commands:
            # Someone of the organization may have arrived meanwhile: then it stays.
            if channel in self._channels or self._mux is None:
                return
            try:
                await self._mux.remove(channel)
            except SubscriptionLost as exc:
                log.warning("could not unsubscribe from %s: %s", channel, exc)

    async def _read(self, mux: Multiplex) -> None:
        try:
            async for channel, raw in mux:
                self._dispatch(channel, raw)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("lost the realtime subscription: %s", exc)
            if self._mux is mux:
                self._lose(exc)
        finally:
            with contextlib.suppress(Exception):
                await mux.close()

    def _dispatch(self, channel: str, raw: bytes) -> None:
        entry = self._channels.get(channel)
        if entry is None or not entry.outlets:
            return
        text = raw.decode()
        try:
            message = json.loads(text)
        except ValueError:
            log.warning("dropped a message on %s that is not JSON", channel)
            return
        if not isinstance(message, dict):
            return
        order = realtime.topic_order(str(message.get("type", "")))
        owner = message.get("userId")
        cursor = str(message.get("id", ""))
        frames: dict[str, str] = {}
        for outlet in entry.outlets:
            if owner is not None and owner != outlet.user:
                continue
            for topic in order:
                if topic in outlet.topics:
                    break
            else:
                continue
            encoded = frames.get(topic)
            if encoded is None:
                encoded = frames[topic] = realtime.frame(topic, cursor, text)
            outlet.push(cursor, encoded)

    def _lose(self, exc: BaseException) -> None:
        """The subscription is gone: every socket is told, and the next attach starts a
        new one."""
        self._mux = None
        channels, self._channels = self._channels, {}
        for entry in channels.values():
            if not entry.live.done():
                entry.live.set_exception(ConnectionError("the subscription was lost"))
                entry.live.exception()
            for outlet in entry.outlets:
                outlet.lose(SubscriptionLost(f"the subscription was lost: {exc}"))

    async def close(self) -> None:
        reader, self._reader = self._reader, None
        mux, self._mux = self._mux, None
        if mux is not None:
            await mux.close()
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        self._channels.clear()

    @property
    def channels(self) -> int:
        return len(self._channels)
