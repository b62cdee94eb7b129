"""The publishing tick: claim due posts and publish them, several at once, within a bound.

Run every second (the ``publish_due`` job: arq's cron with Redis, the in-process ticker in
``chorus serve`` without), by any number of workers at once: each post is claimed by one
of them (``persistence.publish_claims``). One pass reads a batch of due posts, claims each
just before a slot frees for it (so its lease starts when its work does), and keeps going
until nothing is due or its time is up; what becomes due meanwhile waits for the next tick.

A process runs one pass at a time (:class:`Ticker`): ticks that come while one runs
return at once, since the running pass already drains what is due; that is what bounds the
concurrency of a process whatever the scheduler does.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass

from persistence.models import Post
from services.publishing.engine import Publisher

log = logging.getLogger(__name__)

__all__ = ["Ticker", "run_due"]


async def run_due(
    publisher: Publisher, *, concurrency: int = 16, max_seconds: float = 50.0
) -> Counter[str]:
    """Publish what is due, at most ``concurrency`` posts at once, for at most about
    ``max_seconds`` (posts already claimed are finished). How each claimed post settled
    (``published``, ``waiting``...), and ``claimed``."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    outcomes: Counter[str] = Counter()
    slots = asyncio.Semaphore(concurrency)
    running: set[asyncio.Task[None]] = set()
    deadline = time.monotonic() + max_seconds

    async def work(post: Post) -> None:
        try:
            outcomes[await publisher.publish(post)] += 1
        except Exception:  # one post's failure must not stop the pass
            log.exception("publishing a post failed")
            outcomes["error"] += 1
        finally:
            slots.release()

    try:
        while time.monotonic() < deadline:
            batch = await publisher.due(concurrency * 4)
            if not batch:
                break
            claimed_any = False
            for raw in batch:
                await slots.acquire()
                post = await publisher.claim(raw)
                if post is None:  # another worker, or an edit, came first
                    slots.release()
                    continue
                claimed_any = True
                outcomes["claimed"] += 1
                task = asyncio.create_task(work(post), name=f"publish:{post.id}")
                running.add(task)
                task.add_done_callback(running.discard)
                if time.monotonic() >= deadline:
                    break
            if not claimed_any:
                # Everything read was taken by others: let them work, look again next tick.
                break
    finally:
        if running:
            await asyncio.gather(*running, return_exceptions=True)
    return outcomes


@dataclass
class Ticker:
    """One pass of :func:`run_due` at a time in this process."""

    publisher: Publisher
    concurrency: int = 16
    max_seconds: float = 50.0

    def __post_init__(self) -> None:
        self._lock = asyncio.Lock()

    async def tick(self) -> dict[str, int]:
        if self._lock.locked():
            return {"skipped": 1}
        async with self._lock:
            return dict(
                await run_due(
                    self.publisher, concurrency=self.concurrency, max_seconds=self.max_seconds
                )
            )
