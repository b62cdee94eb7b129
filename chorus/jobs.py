"""The background jobs every worker registers. Each is ``async def job(ctx, **kwargs)``.

``ctx["runtime"]`` is the worker's ``Runtime``. The runs API adds graph-run jobs here.
"""

from __future__ import annotations

from typing import Any

from persistence.admin import OrganizationAdmin
from persistence.queue import Job


async def purge_expired_sessions(ctx: dict[str, Any]) -> int:
    return await OrganizationAdmin(ctx["runtime"].db).purge_expired_sessions()


JOBS: dict[str, Job] = {
    "purge_expired_sessions": purge_expired_sessions,
}

# Jobs arq runs on a schedule: name -> cron fields (arq.cron keyword arguments).
CRONS: dict[str, dict[str, Any]] = {
    "purge_expired_sessions": {"minute": {17}},
}
