"""``chorus worker``: arq workers on Redis that run background jobs and crons.

Every worker has an id and a heartbeat in Redis (``persistence.run_locks``): the background
runs it holds are its own only while the heartbeat lasts, and the ``recover_runs`` cron on
any other worker queues them again once it has expired. On SIGTERM arq cancels the running
jobs and queues them again itself; each background run is handed back (``pending``, its lock
released) on the way out, so the next worker continues it from its checkpoint at once.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from arq import cron, func
from arq.connections import RedisSettings
from arq.worker import Worker

from chorus.jobs import CRONS, JOBS
from chorus.runtime import Runtime
from chorus.settings import Settings, secret
from persistence import logs
from persistence.queue import REQUEST_ID_ARG, Job
from persistence.run_locks import (
    HEARTBEAT_TTL_SECONDS,
    RedisRunLocks,
    keep_alive,
    new_worker_id,
    stop_heartbeat,
)

Hook = Callable[[dict[str, Any]], Awaitable[None]]

# arq's per-job settings where its defaults do not fit. A background run: arq counts each
# hand-back on shutdown as a try and drops the job after ``max_tries`` (the run would stay
# pending), so a run must outlive many deploys; and its 300 s default timeout would cancel
# a long run (arq does not retry a timeout).
# A report's assembly waits for its graphs' runs, so it gets the same room (and is
# idempotent: a retry finds the runs done, or the report already finished).
JOB_OPTIONS: dict[str, dict[str, Any]] = {
    "graph_run": {"max_tries": 100, "timeout": 3600},
    "build_report": {"max_tries": 100, "timeout": 3900},
}


class WorkerNeedsRedis(RuntimeError):
    """The worker runs jobs from Redis; without it there is nothing to run."""


def _redis_url(settings: Settings) -> str:
    redis_url = secret(settings.redis_url)
    if not redis_url:
        raise WorkerNeedsRedis(
            "`chorus worker` needs CHORUS_REDIS_URL: without Redis, background jobs run inside "
            "`chorus serve` itself, so no separate worker is needed."
        )
    return redis_url


class ChorusWorker(Worker):
    """arq's ``Worker`` with a close that always gets to its end.

    arq's ``close`` cancels the running jobs and then gathers them without
    ``return_exceptions``: a job whose cancel lands while arq books its end (after the job
    itself stopped) raises ``CancelledError`` out of the gather, and the close stops there,
    before ``on_shutdown`` (the heartbeat, the runtime) and before the Redis pool is closed.
    """

    async def close(self) -> None:
        # Each job is cancelled once: a second cancel (after a SIGTERM's) would interrupt the
        # job's own hand-back of its run.
        for task in self.tasks.values():
            if not task.done() and not task.cancelling():
                task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        self.tasks.clear()
        await super().close()


def _worker(
    redis_url: str,
    *,
    burst: bool,
    handle_signals: bool,
    heartbeat_ttl: float,
    open_runtime: Hook | None = None,
    close_runtime: Hook | None = None,
    **options: Any,
) -> Any:
    async def startup(ctx: dict[str, Any]) -> None:
        if open_runtime is not None:
            await open_runtime(ctx)
        # arq puts its Redis pool in ctx before calling this.
        ctx["run_locks"] = locks = RedisRunLocks(ctx["redis"])
        ctx["worker_id"] = worker_id = new_worker_id()
        await locks.beat(worker_id, heartbeat_ttl)  # alive before it takes its first job
        ctx["heartbeat"] = asyncio.create_task(
            keep_alive(locks, worker_id, heartbeat_ttl), name=f"heartbeat:{worker_id}"
        )

    async def shutdown(ctx: dict[str, Any]) -> None:
        # arq calls this after its jobs have ended, so the runs are handed back already.
        if "heartbeat" in ctx:
            await stop_heartbeat(ctx["run_locks"], ctx["worker_id"], ctx.pop("heartbeat"))
        if close_runtime is not None:
            await close_runtime(ctx)

    return ChorusWorker(
        functions=[
            func(traced(job), name=name, **JOB_OPTIONS.get(name, {})) for name, job in JOBS.items()
        ],
        # A burst worker exits once the queue is empty, which it would never be if it queued
        # its own crons (the run sweeper's comes every two seconds): it runs none.
        cron_jobs=[]
        if burst
        else [
            cron(traced(JOBS[name]), name=f"cron:{name}", **fields)
            for name, fields in CRONS.items()
        ],
        redis_settings=RedisSettings.from_dsn(redis_url),
        burst=burst,
        handle_signals=handle_signals,
        on_startup=startup,
        on_shutdown=shutdown,
        **options,
    )


def traced(job: Job) -> Job:
    """``job`` run under a request id: the queuing request's (sent by the queue), or else
    one of the job's own, so every log line of a job can be followed."""

    @functools.wraps(job)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        request_id = kwargs.pop(REQUEST_ID_ARG, None) or f"job-{ctx.get('job_id', 'cron')}"
        token = logs.bind_request_id(request_id)
        try:
            return await job(ctx, *args, **kwargs)
        finally:
            logs.unbind_request_id(token)

    return run


def build_worker(
    settings: Settings, *, burst: bool = False, heartbeat_ttl: float = HEARTBEAT_TTL_SECONDS
) -> Any:
    """An arq ``Worker`` for the jobs of ``chorus.jobs``, with a runtime in its context."""
    redis_url = _redis_url(settings)

    async def open_runtime(ctx: dict[str, Any]) -> None:
        runtime = await Runtime.open(settings)
        ctx["runtime"], ctx["engine"] = runtime, runtime.engine

    async def close_runtime(ctx: dict[str, Any]) -> None:
        if "runtime" in ctx:
            await ctx["runtime"].close()

    return _worker(
        redis_url,
        burst=burst,
        handle_signals=True,
        heartbeat_ttl=heartbeat_ttl,
        open_runtime=open_runtime,
        close_runtime=close_runtime,
    )


def build_worker_for(
    runtime: Runtime, *, burst: bool = False, heartbeat_ttl: float = HEARTBEAT_TTL_SECONDS
) -> Any:
    """An arq ``Worker`` that runs its jobs on ``runtime``, which stays its owner's to close.

    For a worker inside a process that already has a runtime (the API server): the embedded
    document store locks its data directory per process, so a second runtime could not open
    it. Build and run it on the runtime's event loop; the host owns the signals, so stop it
    with ``await worker.close()`` (which cancels its running jobs, handing their runs back).
    """
    return _worker(
        _redis_url(runtime.settings),
        burst=burst,
        handle_signals=False,
        heartbeat_ttl=heartbeat_ttl,
        ctx={"runtime": runtime, "engine": runtime.engine},
    )
