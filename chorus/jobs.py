"""The job table every worker registers, and the crons among them.

Each job is ``async def job(ctx, **kwargs)`` from ``runs.jobs``; ``ctx`` carries the
worker's ``RunEngine`` (see ``chorus.worker`` and the in-process queue in ``chorus.runtime``).
"""

from __future__ import annotations

from typing import Any

from persistence.queue import Job
from runs import jobs

JOBS: dict[str, Job] = {
    "schedule_tick": jobs.schedule_tick,
    "purge_expired_sessions": jobs.purge_expired_sessions,
    "graph_run": jobs.graph_run,
    "recover_runs": jobs.recover_runs,
    "publish_due": jobs.publish_due,
    "send_notification_emails": jobs.send_notification_emails,
    "sync_competitors": jobs.sync_competitors,
    # Named in runs.reports.JOB, which queues it.
    "build_report": jobs.build_report,
    # Named in services.gdpr.export.JOB, which queues it.
    "gdpr_export": jobs.build_data_export,
    "sync_social_accounts": jobs.sync_social_accounts,
    "listen_social_accounts": jobs.listen_social_accounts,
    "deliver_webhooks": jobs.deliver_webhooks,
    "apply_retention": jobs.apply_retention,
}

# Jobs arq runs on a schedule: name -> cron fields (arq.cron keyword arguments).
CRONS: dict[str, dict[str, Any]] = {
    # Every minute (at second 0); scheduled workflows run inside the tick, hence the timeout.
    "schedule_tick": {"second": 0, "timeout": 3600},
    "purge_expired_sessions": {"minute": {17}},
    # Daily, at a quiet hour (UTC): each organization's dataRetentionDays.
    "apply_retention": {"hour": {3}, "minute": {41}, "second": 0, "timeout": 3600},
    # Every two seconds: a killed worker's runs resume soon after its heartbeat expires. Each
    # tick has one job id, so one worker sweeps per tick (arq keeps no cron results).
    "recover_runs": {"second": set(range(0, 60, 2))},
    # Every five seconds: webhook retries go out close to their backoff.
    "deliver_webhooks": {"second": set(range(0, 60, 5)), "timeout": 600},
    # Every second: a post is published within about a second of its time. A process runs
    # one pass at a time (a tick during a pass returns at once) and a pass stops claiming
    # after publishing_pass_seconds, well inside the timeout.
    "publish_due": {"second": set(range(60)), "timeout": 300},
    # Every ten seconds: a burst's grouped email goes soon after its window closes.
    "send_notification_emails": {"second": set(range(0, 60, 10)), "timeout": 300},
    # Every five minutes: each account is synced once its own next sync (hourly, or after a
    # network's Retry-After) has come; claimed per account, so several workers share it.
    "sync_social_accounts": {"minute": set(range(0, 60, 5)), "second": 30, "timeout": 600},
    # Every minute: each account's mentions are read every five minutes (claimed per account).
    "listen_social_accounts": {"second": 45, "timeout": 600},
    # Hourly; each competitor is read again only when its last reading is 6 hours old.
    "sync_competitors": {"minute": {41}, "timeout": 1800},
}
