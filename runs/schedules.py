"""The schedule tick: fire every due scheduled workflow and SDK cron, of every tenant, once.

Run each minute (the ``schedule_tick`` job: by arq's cron in production, by the in-process
ticker in the embedded profile), by any number of workers at once. Each due item
is claimed with a compare-and-set of its next fire time (``persistence.schedule_claims``), so
exactly one tick fires it. The next fire is computed from ``now``, not from the missed one:
after downtime an item fires once, not once per missed slot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from persistence.cron import ScheduleError, check_cron, next_fire
from persistence.ids import utcnow
from persistence.models import Workflow
from persistence.models.crons import LgCron
from persistence.schedule_claims import claim, due
from runs.crons import Crons
from runs.engine import RunEngine
from runs.workflows import Workflows

log = logging.getLogger(__name__)

WORKFLOW_NEXT = "execution.nextRun"
CRON_NEXT = "nextRunDate"


def _next(schedule: object, timezone: str | None, now: datetime, what: str) -> datetime | None:
    try:
        return next_fire(check_cron(schedule), timezone, now)
    except ScheduleError:
        # Stored before it was checked (or edited in the database): stop, don't fail the tick.
        log.warning("%s has an unusable schedule %r; it will not fire again", what, schedule)
        return None


async def _claim_workflows(db: Any, now: datetime, limit: int) -> list[Workflow]:
    collection = db[Workflow.collection]
    active = {"trigger.type": "schedule", "trigger.isActive": True}
    won = []
    for raw in await due(collection, active, WORKFLOW_NEXT, now, limit):
        workflow = Workflow.from_mongo(raw)
        config = workflow.trigger.configuration
        later = _next(config.get("cron"), config.get("timezone"), now, f"workflow {workflow.id}")
        if await claim(collection, raw, WORKFLOW_NEXT, later):
            won.append(workflow)
    return won


async def _claim_crons(db: Any, now: datetime, limit: int) -> list[LgCron]:
    collection = db[LgCron.collection]
    won = []
    for raw in await due(collection, {"enabled": True}, CRON_NEXT, now, limit):
        cron = LgCron.from_mongo(raw)
        if cron.end_time is not None and cron.end_time <= now:
            await claim(collection, raw, CRON_NEXT, None)  # ended: it never fires again
            continue
        later = _next(cron.schedule, cron.timezone, now, f"cron {cron.cron_id}")
        if later is not None and cron.end_time is not None and later > cron.end_time:
            later = None  # this is its last fire
        if await claim(collection, raw, CRON_NEXT, later):
            won.append(cron)
    return won


async def _all(jobs: list[Callable[[], Awaitable[Any]]]) -> int:
    """Run the fires concurrently; one that raises is logged and does not stop the others."""
    results = await asyncio.gather(*(job() for job in jobs), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            log.error("a scheduled fire failed", exc_info=result)
    return sum(1 for r in results if not isinstance(r, BaseException) and r is not None)


async def tick(engine: RunEngine, now: datetime | None = None, limit: int = 100) -> dict[str, int]:
    """Fire what is due at ``now`` (default: the current time); how many of each started.
    At most ``limit`` of each per tick, the longest overdue first; the rest wait a minute.

    Crons only start background runs, so they are started first; scheduled workflows run to
    their end (or interrupt) inside the tick, like ``POST .../execute``."""
    now = now or utcnow()
    db = engine.services.db
    crons, workflows = Crons(engine), Workflows(engine)
    started_crons = await _all(
        [lambda c=c: crons.fire(c) for c in await _claim_crons(db, now, limit)]
    )
    due_workflows = await _claim_workflows(db, now, limit)
    ran = await _all([lambda w=w: workflows.execute(w, trigger="schedule") for w in due_workflows])
    return {"workflows": ran, "crons": started_crons}
