"""``chorus worker``: arq workers on Redis that run background jobs and crons."""

from __future__ import annotations

from typing import Any

from chorus.jobs import CRONS, JOBS
from chorus.runtime import Runtime
from chorus.settings import Settings, secret


class WorkerNeedsRedis(RuntimeError):
    """The worker runs jobs from Redis; without it there is nothing to run."""


def build_worker(settings: Settings, *, burst: bool = False) -> Any:
    """An arq ``Worker`` for the jobs of ``chorus.jobs``, with a runtime in its context."""
    redis_url = secret(settings.redis_url)
    if not redis_url:
        raise WorkerNeedsRedis(
            "`chorus worker` needs CHORUS_REDIS_URL: without Redis, background jobs run inside "
            "`chorus serve` itself, so no separate worker is needed."
        )
    from arq import cron, func
    from arq.connections import RedisSettings
    from arq.worker import Worker

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["runtime"] = await Runtime.open(settings)

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "runtime" in ctx:
            await ctx["runtime"].close()

    return Worker(
        functions=[func(job, name=name) for name, job in JOBS.items()],
        cron_jobs=[
            cron(JOBS[name], name=f"cron:{name}", **fields) for name, fields in CRONS.items()
        ],
        redis_settings=RedisSettings.from_dsn(redis_url),
        on_startup=startup,
        on_shutdown=shutdown,
        burst=burst,
        handle_signals=True,
    )
