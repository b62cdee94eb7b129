"""The background jobs of runs, as arq (or the in-process queue) calls them: ``job(ctx, ...)``.

``ctx["engine"]`` is the worker's ``RunEngine`` (its services are the worker's runtime);
``ctx["run_locks"]`` and ``ctx["worker_id"]`` say which worker holds which background run.
The composition root (``chorus.jobs``) registers these by name and schedules the crons.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

from bson import ObjectId

from persistence.admin import OrganizationAdmin
from runs import reports
from runs.background import run_in_background
from runs.engine import RunEngine
from runs.listening import listen_due
from runs.recovery import sweep
from runs.schedules import tick
from services.analytics import competitors
from services.gdpr import export as gdpr_export
from services.gdpr import retention
from services.gdpr.ports import GdprServices
from services.integrations.delivery import WebhookDispatcher
from services.notifications import emails
from services.publishing import Ticker
from services.social_accounts import sync
from services.social_accounts.access import StoredAccountAccess
from services.social_accounts.ports import AccountsRuntime

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


async def sync_competitors(ctx: JobContext) -> int:
    """Read the tracked competitors' public numbers again where the last reading is older
    than ``services.analytics.competitors.SYNC_EVERY``; how many were read."""
    services = cast(AccountsRuntime, engine_of(ctx).services)
    access = StoredAccountAccess(services)
    done = 0
    for org in await OrganizationAdmin(services.db).list():
        done += await competitors.sync_due(services.db, access, org.id)
    return done


async def build_report(ctx: JobContext, org_id: str, report_id: str) -> str:
    """Assemble an analytics report once its graphs are done (``runs.reports``)."""
    return await reports.build(engine_of(ctx), ObjectId(org_id), ObjectId(report_id))


async def purge_expired_sessions(ctx: JobContext) -> int:
    """Delete sign-in sessions past their expiry (maintenance)."""
    return await OrganizationAdmin(engine_of(ctx).services.db).purge_expired_sessions()


async def send_notification_emails(ctx: JobContext) -> int:
    """Send the notification emails that are due (each burst as one message)."""
    services = cast(emails.MailServices, engine_of(ctx).services)
    return await emails.send_due(services.db, services.mailer, services.public_base_url)


async def build_data_export(ctx: JobContext, org_id: str, export_id: str) -> str:
    """Build a GDPR export archive (``services.gdpr.export``); its status."""
    # The worker's runtime holds every store; the engine types it only as RunServices.
    services = cast(GdprServices, engine_of(ctx).services)
    done = await gdpr_export.build(services, ObjectId(org_id), ObjectId(export_id))
    return done.processing.status


async def sync_social_accounts(ctx: JobContext) -> dict[str, int]:
    """Pull metrics of the connected accounts whose next sync has come."""
    # The worker's services are the process runtime, which carries the providers too.
    return await sync.sync_due(cast(AccountsRuntime, engine_of(ctx).services))


async def deliver_webhooks(ctx: JobContext) -> int:
    """Attempt the outgoing webhook deliveries whose backoff has run out."""
    services = cast(_WithWebhooks, engine_of(ctx).services)
    return await services.webhooks.deliver_due()


class _WithWebhooks(Protocol):
    """The runtime the worker runs on has the process's webhook dispatcher."""

    @property
    def webhooks(self) -> WebhookDispatcher: ...


async def apply_retention(ctx: JobContext) -> dict[str, int]:
    """Delete every organization's activity past its ``dataRetentionDays`` (daily)."""
    return await retention.apply_all(cast(GdprServices, engine_of(ctx).services))


async def listen_social_accounts(ctx: JobContext) -> dict[str, int]:
    """Pull new mentions of the connected accounts due for listening; assess each batch."""
    return await listen_due(engine_of(ctx))
