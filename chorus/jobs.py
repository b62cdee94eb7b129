"""The background jobs every worker registers. Each is ``async def job(ctx, **kwargs)``.

``ctx["runtime"]`` is the worker's ``Runtime``; ``ctx["run_locks"]`` and ``ctx["worker_id"]``
say which worker holds which background run (``persistence.run_locks``). The runs API adds
graph-run jobs here.
"""

from __future__ import annotations

from typing import Any

from persistence.admin import OrganizationAdmin
from persistence.queue import Job


async def purge_expired_sessions(ctx: dict[str, Any]) -> int:
    return await OrganizationAdmin(ctx["runtime"].db).purge_expired_sessions()


async def graph_run(
    ctx: dict[str, Any], org_id: str, user_id: str, run_id: str, thread_id: str
) -> str:
    """A background run of the /lg runs API; imported late: the API imports the runtime."""
    from api.routes.runs_exec import run_in_background

    return await run_in_background(
        ctx["runtime"],
        org_id,
        user_id,
        run_id,
        thread_id,
        locks=ctx["run_locks"],
        worker=ctx["worker_id"],
    )


async def recover_runs(ctx: dict[str, Any]) -> int:
    """Queue again the background runs whose worker died; how many were."""
    from api.routes.runs_recovery import sweep

    return len(await sweep(ctx["runtime"], ctx["run_locks"]))


async def schedule_tick(ctx: dict[str, Any]) -> dict[str, int]:
    """Fire due scheduled workflows and /lg crons; imported late like ``graph_run``."""
    from api.scheduled import tick

    return await tick(ctx["runtime"])


JOBS: dict[str, Job] = {
    "schedule_tick": schedule_tick,
    "purge_expired_sessions": purge_expired_sessions,
    "graph_run": graph_run,
    "recover_runs": recover_runs,
}

# Jobs arq runs on a schedule: name -> cron fields (arq.cron keyword arguments).
CRONS: dict[str, dict[str, Any]] = {
    # Every minute (at second 0); scheduled workflows run inside the tick, hence the timeout.
    "schedule_tick": {"second": 0, "timeout": 3600},
    "purge_expired_sessions": {"minute": {17}},
    # Every two seconds: a killed worker's runs resume soon after its heartbeat expires. Each
    # tick has one job id, so one worker sweeps per tick (arq keeps no cron results).
    "recover_runs": {"second": set(range(0, 60, 2))},
}
