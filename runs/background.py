"""A background run: taken under the worker's lock, executed, its events logged for joiners.

The ``graph_run`` job calls this in whichever worker picked the job up. Its events go to the
event log under ``run:{run_id}`` (Redis Streams in production), so a client can join the run
from any API process and replay what it missed.
"""

from __future__ import annotations

import contextlib
import uuid

from bson import ObjectId

from persistence.run_locks import RunLock, RunLocks
from runs.engine import RunEngine
from runs.recovery import take
from runs.sdk import SdkRuns, runs

EVENT_TTL_SECONDS = 3600.0


def event_stream(run_id: str) -> str:
    return f"run:{run_id}"


async def run_in_background(
    engine: RunEngine,
    org_id: str,
    user_id: str,
    run_id: str,
    thread_id: str,
    *,
    locks: RunLocks,
    worker: str,
) -> str:
    """Take a stored run, execute it, log its events. Returns the run's status, or why this
    job did not run it (``held`` by a live worker, ``lost`` to a sweeper, ``missing``)."""
    services = engine.services
    lock = RunLock(
        run_id=run_id,
        worker=worker,
        token=uuid.uuid4().hex,
        org_id=org_id,
        user_id=user_id,
        thread_id=thread_id,
    )
    run = await take(services, locks, lock)
    if isinstance(run, str):
        return run
    sdk = SdkRuns(engine)
    stream = event_stream(run_id)
    try:
        if run.multitask_strategy == "enqueue":
            await sdk.wait_turn(run)
        events = sdk.execute(run, background=True, attempt=run.attempts, lease=lock.token)
        # Closed here even when this task is cancelled between two events (a shutdown), so
        # the run is handed back (pending) before the lock is released below.
        async with contextlib.aclosing(events):
            async for event, data in events:
                await services.event_log.append(stream, {"event": event, "data": data})
    finally:
        await locks.release(run_id, lock.token)
    await services.event_log.expire(stream, EVENT_TTL_SECONDS)
    done = await runs(services.db).find_one(ObjectId(org_id), {"runId": run_id})
    return done.status if done else "missing"
