"""Background runs that outlive their worker: taking a run, heartbeats, and the sweeper.

A worker takes a run before executing it: the run's lock (``persistence.run_locks``) names
the worker, and the run document records the attempt's ``lease`` token. Everything the
attempt writes to the run document is conditioned on that token, so once the sweeper has
taken a run away from a dead worker, nothing the dead worker might still do lands there.

The sweeper (the ``recover_runs`` cron) looks at held locks: a lock whose worker's heartbeat
has expired belongs to a run nobody is running. It hands the run back (``pending``, no lease)
and queues it again under a job id derived from the dead attempt, so sweepers on several
workers queue it once. The next attempt continues from the thread's checkpoint. Without Redis
the locks die with the process, so the first sweep of a process also looks in the run
documents for runs an earlier process left (``chorus serve`` stopped or killed mid-run).
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from bson import ObjectId

from persistence.admin import OrganizationAdmin
from persistence.models.runs import TERMINAL, LgRun
from persistence.run_locks import RunLock, RunLocks
from runs.ports import RunServices
from runs.sdk import ACTIVE, runs
from runs.signals import RunSignals

log = logging.getLogger(__name__)


async def take(services: RunServices, locks: RunLocks, lock: RunLock) -> LgRun | str:
    """Make ``lock`` the run's current attempt: the run, updated, or why it is not to run
    (``missing``, a terminal status, ``held`` by a live worker, ``lost`` to a sweeper)."""
    repo = runs(services.db)
    org = ObjectId(lock.org_id)
    run = await repo.find_one(org, {"runId": lock.run_id})
    if run is None or run.status in TERMINAL:
        # A job queued twice (arq's own retry and a sweeper's) finds the run already done.
        return run.status if run is not None else "missing"
    if not await locks.acquire(lock):
        return "held"
    # Read again under the lock: the attempt that held it may have finished meanwhile.
    run = await repo.find_one(org, {"runId": lock.run_id})
    if run is not None and run.status not in TERMINAL:
        changes = {
            "lease": lock.token,
            "workerId": lock.worker,
            "userId": lock.user_id,
            "attempts": run.attempts + 1,
        }
        # Conditioned on the lease read: a sweeper that handed the run back in between wins.
        if await repo.update_many(org, {"runId": lock.run_id, "lease": run.lease}, changes):
            return run.model_copy(
                update={
                    "lease": lock.token,
                    "worker_id": lock.worker,
                    "user_id": lock.user_id,
                    "attempts": run.attempts + 1,
                }
            )
    await locks.release(lock.run_id, lock.token)
    if run is None:
        return "missing"
    return run.status if run.status in TERMINAL else "lost"


# The in-process lock registries whose process has looked for orphans already.
_adopted: weakref.WeakSet[Any] = weakref.WeakSet()


async def _adopt_orphans(services: RunServices, locks: RunLocks) -> list[str]:
    """Runs an earlier process took and did not finish (handed back on shutdown, or cut off
    by a crash), found in the run documents: without Redis, no lock remembers them.

    A scan of every tenant's active runs: done once per process, by the embedded runner."""
    held = {lock.run_id for lock in await locks.held()}
    adopted: list[str] = []
    for org in await OrganizationAdmin(services.db).list(include_deleted=True):
        for run in await runs(services.db).find(org.id, {"status": {"$in": list(ACTIVE)}}):
            if run.worker_id is None or run.user_id is None or run.run_id in held:
                continue  # never taken by a worker (a stream), or taken by this process
            if await locks.alive(run.worker_id):
                continue
            orphan = RunLock(
                run_id=run.run_id,
                worker=run.worker_id,
                token=run.lease or f"attempt-{run.attempts}",
                org_id=str(org.id),
                user_id=run.user_id,
                thread_id=run.thread_id,
            )
            try:
                if await _hand_back(services, locks, orphan):
                    adopted.append(run.run_id)
            except Exception:
                log.exception("recovering run %s failed", run.run_id)
    return adopted


def recovery_job_id(lock: RunLock) -> str:
    """The same for every sweeper that finds the same dead attempt: the run is queued once."""
    return f"graph_run:{lock.run_id}:after:{lock.token}"


async def sweep(services: RunServices, locks: RunLocks) -> list[str]:
    """Queue again every run whose holder's heartbeat is gone; the ids of those queued."""
    requeued: list[str] = []
    if not locks.durable and locks not in _adopted:
        _adopted.add(locks)
        requeued += await _adopt_orphans(services, locks)
    for lock in await locks.held():
        if await locks.alive(lock.worker):
            continue
        try:
            if await _hand_back(services, locks, lock):
                requeued.append(lock.run_id)
        except Exception:  # one bad run must not stop the sweep of the others
            log.exception("recovering run %s failed", lock.run_id)
    return requeued


async def _hand_back(services: RunServices, locks: RunLocks, lock: RunLock) -> bool:
    repo = runs(services.db)
    org = ObjectId(lock.org_id)
    run = await repo.find_one(org, {"runId": lock.run_id})
    if run is None or run.status in TERMINAL:
        # Finished (or deleted) and its worker died before releasing: just forget the lock.
        await locks.release(lock.run_id, lock.token)
        return False
    # Conditioned on the lease read, so an attempt that takes the run meanwhile keeps it.
    handed_back = await repo.update_many(
        org,
        {"runId": lock.run_id, "lease": run.lease, "status": {"$in": list(ACTIVE)}},
        {"status": "pending", "lease": None, "workerId": None},
    )
    if not handed_back:
        return False
    log.warning("run %s lost its worker %s: queued again", lock.run_id, lock.worker)
    # Should the worker be alive after all (its heartbeat lost, not its process), it stops.
    await RunSignals(services.pubsub).send(lock.run_id, "lease_lost")
    await services.jobs.enqueue(
        "graph_run",
        job_id=recovery_job_id(lock),
        org_id=lock.org_id,
        user_id=lock.user_id,
        run_id=lock.run_id,
        thread_id=lock.thread_id,
    )
    # Last: until the job is queued, a sweep that follows a crash here finds the lock again.
    await locks.release(lock.run_id, lock.token)
    return True
