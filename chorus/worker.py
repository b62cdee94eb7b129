"""``chorus worker``: arq workers on Redis that run background jobs and crons."""

from __future__ import annotations

from typing import Any

from chorus.jobs import CRONS, JOBS
from chorus.runtime import Runtime
from chorus.settings import Settings, secret


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


def _worker(redis_url: str, *, burst: bool, handle_signals: bool, **options: Any) -> Any:
    from arq import cron, func
    from arq.connections import RedisSettings
    from arq.worker import Worker

    return Worker(
        functions=[func(job, name=name) for name, job in JOBS.items()],
        cron_jobs=[
            cron(JOBS[name], name=f"cron:{name}", **fields) for name, fields in CRONS.items()
        ],
        redis_settings=RedisSettings.from_dsn(redis_url),
        burst=burst,
        handle_signals=handle_signals,
        **options,
    )


def build_worker(settings: Settings, *, burst: bool = False) -> Any:
    """An arq ``Worker`` for the jobs of ``chorus.jobs``, with a runtime in its context."""
    redis_url = _redis_url(settings)

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["runtime"] = await Runtime.open(settings)

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "runtime" in ctx:
            await ctx["runtime"].close()

    return _worker(
        redis_url, burst=burst, handle_signals=True, on_startup=startup, on_shutdown=shutdown
    )


def build_worker_for(runtime: Runtime, *, burst: bool = False) -> Any:
    """An arq ``Worker`` that runs its jobs on ``runtime``, which stays its owner's to close.

    For a worker inside a process that already has a runtime (the API server): the embedded
    document store locks its data directory per process, so a second runtime could not open
    it. Build and run it on the runtime's event loop; the host owns the signals, so stop it
    with ``await worker.close()`` (which cancels its running jobs) or by cancelling its task.
    """
    return _worker(
        _redis_url(runtime.settings),
        burst=burst,
        handle_signals=False,
        ctx={"runtime": runtime},
    )
