"""Background jobs behind one interface: arq on Redis, or an in-process runner.

A job is ``async def job(ctx: dict, **kwargs)``. ``ctx`` carries what the worker set up (the
runtime); arq adds its own keys (``job_id``, ``job_try``). The in-process runner gives the same
shape so a job never knows where it runs.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from persistence.logs import current_request_id
from persistence.run_locks import InProcessRunLocks, new_worker_id

log = logging.getLogger(__name__)

Job = Callable[..., Awaitable[Any]]


# The job argument that carries the queuing request's id to an arq worker.
REQUEST_ID_ARG = "chorus_request_id"


class UnknownJob(LookupError):
    """A job name that no worker registers."""


class JobQueue(Protocol):
    async def enqueue(self, name: str, /, *, job_id: str | None = None, **kwargs: Any) -> str:
        """Queue ``name(**kwargs)``; returns the job id. A duplicate ``job_id`` is not re-run."""
        ...

    async def depth(self) -> int:
        """Jobs queued or running and not yet finished."""
        ...

    async def cancel_tenant(self, org_id: str) -> int:
        """Drop the jobs queued for one organization (those whose ``org_id`` argument is
        it), and their kept results; how many were dropped. For GDPR erasure: a job queued
        before the erasure must not bring the tenant's data back."""
        ...

    async def close(self) -> None: ...


class InProcessJobQueue:
    """Runs jobs as asyncio tasks in this process, at most ``max_jobs`` at once.

    It is this process's only worker: its ``ctx`` names it (``worker_id``) and holds its run
    locks, in process, where it is alive for as long as the process is. On ``close`` its
    running jobs are cancelled, which hands background runs back (``pending``) for the next
    start to pick up. A finished job's id is remembered for ``keep_seconds`` (like arq's
    kept results), so queuing it again meanwhile does not re-run it.
    """

    def __init__(
        self,
        jobs: Mapping[str, Job],
        ctx: dict[str, Any],
        max_jobs: int = 10,
        keep_seconds: float = 3600.0,
    ) -> None:
        self._jobs = dict(jobs)
        worker = new_worker_id()
        self._ctx = {"worker_id": worker, "run_locks": InProcessRunLocks(resident=[worker]), **ctx}
        self._slots = asyncio.Semaphore(max_jobs)
        self._keep_seconds = keep_seconds
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._tenants: dict[str, str] = {}  # job id -> its org_id argument, if any

    async def enqueue(self, name: str, /, *, job_id: str | None = None, **kwargs: Any) -> str:
        if name not in self._jobs:
            raise UnknownJob(f"no job named {name!r}; known: {', '.join(sorted(self._jobs))}")
        job_id = job_id or uuid.uuid4().hex
        if job_id in self._tasks:
            return job_id
        task = asyncio.create_task(self._run(name, job_id, kwargs), name=f"job:{name}:{job_id}")
        self._tasks[job_id] = task
        if isinstance(kwargs.get("org_id"), str):
            self._tenants[job_id] = kwargs["org_id"]
        task.add_done_callback(lambda _: self._forget_later(job_id, task))
        return job_id

    def _forget_later(self, job_id: str, task: asyncio.Task[Any]) -> None:
        # Crons queue a job every few seconds: without this the ids would pile up forever.
        def forget() -> None:
            if self._tasks.get(job_id) is task:
                del self._tasks[job_id]
                self._tenants.pop(job_id, None)

        asyncio.get_running_loop().call_later(self._keep_seconds, forget)

    async def _run(self, name: str, job_id: str, kwargs: dict[str, Any]) -> Any:
        async with self._slots:
            try:
                return await self._jobs[name](
                    {**self._ctx, "job_id": job_id, "job_try": 1}, **kwargs
                )
            except Exception:
                log.exception("job %s (%s) failed", name, job_id)
                raise

    async def result(self, job_id: str) -> Any:
        """Wait for a job queued here and return what it returned."""
        return await self._tasks[job_id]

    async def depth(self) -> int:
        return sum(1 for task in self._tasks.values() if not task.done())

    async def cancel_tenant(self, org_id: str) -> int:
        dropped = 0
        for job_id in [j for j, org in self._tenants.items() if org == org_id]:
            task = self._tasks.pop(job_id, None)
            self._tenants.pop(job_id, None)
            if task is not None and not task.done():
                task.cancel()
                dropped += 1
        return dropped

    async def close(self) -> None:
        pending = [t for t in self._tasks.values() if not t.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


class ArqJobQueue:
    """Queues jobs on Redis for ``chorus worker`` processes on any number of machines.

    The connection pool is made on first use, so a service starts (and reports Redis as down
    in its health check) even when Redis is unreachable.
    """

    def __init__(self, redis_url: str) -> None:
        self._redis_url = redis_url
        self._pool: Any = None
        self._lock = asyncio.Lock()

    async def _connection(self) -> Any:
        async with self._lock:
            if self._pool is None:
                from arq import create_pool
                from arq.connections import RedisSettings

                self._pool = await create_pool(RedisSettings.from_dsn(self._redis_url))
            return self._pool

    async def enqueue(self, name: str, /, *, job_id: str | None = None, **kwargs: Any) -> str:
        pool = await self._connection()
        # The worker logs the job under the id of the request that queued it (chorus.worker).
        if (request_id := current_request_id()) is not None:
            kwargs[REQUEST_ID_ARG] = request_id
        job = await pool.enqueue_job(name, _job_id=job_id, **kwargs)
        # arq answers None when a job with that id is already queued or running.
        return job.job_id if job is not None else str(job_id)

    async def depth(self) -> int:
        from arq.constants import default_queue_name

        pool = await self._connection()
        return int(await pool.zcard(default_queue_name))

    async def cancel_tenant(self, org_id: str) -> int:
        from arq.constants import default_queue_name, job_key_prefix, result_key_prefix

        pool = await self._connection()
        dropped = 0
        for job in await pool.queued_jobs():
            if job.kwargs.get("org_id") == org_id:
                # Without its job key a worker that pops the id skips it (arq: "expired").
                await pool.zrem(default_queue_name, job.job_id)
                dropped += int(await pool.delete(job_key_prefix + job.job_id))
        for result in await pool.all_job_results():
            if result.kwargs.get("org_id") == org_id:
                dropped += int(await pool.delete(result_key_prefix + result.job_id))
        return dropped

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
