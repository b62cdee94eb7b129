"""The background jobs every worker registers. Each is ``async def job(ctx, **kwargs)``.

``ctx["runtime"]`` is the worker's ``Runtime``. The runs API adds graph-run jobs here.
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
        ctx["runtime"], org_id, user_id, run_id, thread_id, attempt=ctx.get("job_try", 1)
    )


JOBS: dict[str, Job] = {
    "purge_expired_sessions": purge_expired_sessions,
    "graph_run": graph_run,
}

# Jobs arq runs on a schedule: name -> cron fields (arq.cron keyword arguments).
CRONS: dict[str, dict[str, Any]] = {
    "purge_expired_sessions": {"minute": {17}},
}
