"""The background jobs of runs, as arq (or the in-process queue) calls them: ``job(ctx, ...)``.

``ctx["engine"]`` is the worker's ``RunEngine`` (its services are the worker's runtime);
``ctx["run_locks"]`` and ``ctx["worker_id"]`` say which worker holds which background run.
The composition root (``chorus.jobs``) registers these by name and schedules the crons.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

from persistence.admin import OrganizationAdmin
from runs.background import run_in_background
from runs.engine import RunEngine
from runs.recovery import sweep
from runs.schedules import tick
from services.notifications import emails
from services.publishing import Ticker

JobContext = dict[str, Any]


def engine_of(ctx: JobContext) -> RunEngine:
    engine = ctx["engine"]
    if not isinstance(engine, RunEngine):
        raise TypeError("the job context's 'engine' must be a RunEngine")
    return engine


async def graph_run(ctx: JobContext, org_id: str, user_id: str, run_id: str, thread_id: str) -> str:
    """A background run of the runs API (``runs.create``, a cron's fire, a recovery)."""
    return await run_in_background(
        engine_of(ctx),
        org_id,
        user_id,
        run_id,
        thread_id,
        locks=ctx["run_locks"],
        worker=ctx["worker_id"],
    )


async def recover_runs(ctx: JobContext) -> int:
    """Queue again the background runs whose worker died; how many were."""
    return len(await sweep(engine_of(ctx).services, ctx["run_locks"]))


async def schedule_tick(ctx: JobContext) -> dict[str, int]:
    """Fire due scheduled workflows and crons."""
    return await tick(engine_of(ctx))


class PublishingHost(Protocol):
    """The runtime as the publishing job sees it (``Runtime.enable_publishing`` sets it)."""

    @property
    def publishing(self) -> Ticker | None: ...


async def publish_due(ctx: JobContext) -> dict[str, int]:
    """Claim and publish due posts (``services.publishing.tick``); how each post settled.
    A process whose runtime has no account access yet publishes nothing."""
    host: PublishingHost | None = ctx.get("runtime")
    ticker = host.publishing if host is not None else None
    if ticker is None:
        return {"not_enabled": 1}
    return await ticker.tick()


async def purge_expired_sessions(ctx: JobContext) -> int:
    """Delete sign-in sessions past their expiry (maintenance)."""
    return await OrganizationAdmin(engine_of(ctx).services.db).purge_expired_sessions()


async def send_notification_emails(ctx: JobContext) -> int:
    """Send the notification emails that are due (each burst as one message)."""
    services = cast(emails.MailServices, engine_of(ctx).services)
    return await emails.send_due(services.db, services.mailer, services.public_base_url)
