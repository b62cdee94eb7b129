"""Runs ``chorus.jobs.CRONS`` in this process, for the embedded profile where no arq worker does.

The schedule is arq's own (``arq.cron.next_cron`` on the same keyword fields, in UTC), so a
cron fires at the same moments whichever form runs it. Each fire is queued on the in-process
job queue with an id per fire time, so one slot is never queued twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from persistence.queue import JobQueue

log = logging.getLogger(__name__)

# The arq.cron keywords that say when; the others (timeout, unique ...) concern arq's worker.
_WHEN = ("month", "day", "weekday", "hour", "minute", "second", "microsecond")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CronTicker:
    """Queues each cron of ``crons`` (name -> arq.cron fields) on ``queue`` when it is due."""

    def __init__(
        self,
        queue: JobQueue,
        crons: Mapping[str, Mapping[str, Any]],
        clock: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._queue = queue
        self._when = {name: {k: v for k, v in f.items() if k in _WHEN} for name, f in crons.items()}
        # Injected so tests drive time instead of waiting for it.
        self._clock = clock
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None

    def next_fire(self, name: str, after: datetime) -> datetime:
        from arq.cron import next_cron

        return next_cron(after, **self._when[name])

    def start(self) -> None:
        if self._task is None and self._when:
            self._task = asyncio.create_task(self._run(), name="cron-ticker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        upcoming = {name: self.next_fire(name, self._clock()) for name in self._when}
        while True:
            when = min(upcoming.values())
            await self._sleep(max(0.0, (when - self._clock()).total_seconds()))
            for name, at in upcoming.items():
                if at > when:
                    continue
                try:
                    await self._queue.enqueue(name, job_id=f"cron:{name}:{int(at.timestamp())}")
                except Exception:  # one cron failing to queue must not stop the others
                    log.exception("could not queue cron job %s", name)
                # From now, not from the slot: after a suspended process, fire once, not per slot.
                upcoming[name] = self.next_fire(name, max(at, self._clock()))
