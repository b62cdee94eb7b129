"""Retention: an organization's activity records are kept for its ``dataRetentionDays``
(``settings.dataRetentionDays``), then deleted by a daily job.

Activity records are what the service writes about what happened (audit entries, domain
events, notifications, webhook deliveries, agent tasks, runs, idle conversation threads
with their checkpoints, exports, ended sessions). What the organization made or set up
(its settings, members, accounts, posts, templates, workflows) and the metrics it analyses
over years are its own data, not activity: they stay until it deletes them or is erased.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from persistence.admin import OrganizationAdmin
from persistence.ids import utcnow
from persistence.models import LgThread
from persistence.repository import TenantRepository, tenant_filter
from services.gdpr.export import expire_archives
from services.gdpr.ports import GdprServices

log = logging.getLogger(__name__)

# Activity collections and the date each record is aged by.
ACTIVITY: dict[str, str] = {
    "audit_logs": "timestamp",
    "domain_events": "createdAt",
    "notifications": "createdAt",
    "webhook_events": "createdAt",
    "ai_tasks": "createdAt",
    "workflow_runs": "createdAt",
    "lg_runs": "createdAt",
    "data_exports": "createdAt",
    "user_sessions": "expiresAt",
}
# Threads that are running or waiting for a person are never aged out under them.
_LIVE_THREADS = ("busy", "interrupted")


async def apply(
    services: GdprServices, org_id: ObjectId, days: int, now: datetime | None = None
) -> dict[str, int]:
    """Delete the organization's activity older than ``days``; how many, by store."""
    now = now or utcnow()
    cutoff = now - timedelta(days=days)
    removed: dict[str, int] = {}
    # Archives past their download window first: their records may age out below.
    if archives := await expire_archives(services, org_id):
        removed["export_archives"] = archives
    threads = await _idle_threads(services.db, org_id, cutoff)
    for thread in threads:
        await services.checkpointer.adelete_thread(thread.thread_id, organization_id=str(org_id))
        await TenantRepository(services.db, LgThread).delete(org_id, thread.id)
    if threads:
        removed["lg_threads"] = len(threads)
    for collection, field in ACTIVITY.items():
        result = await services.db[collection].delete_many(
            tenant_filter(org_id, {field: {"$lt": cutoff}})
        )
        if result.deleted_count:
            removed[collection] = result.deleted_count
    return removed


async def _idle_threads(db: Any, org_id: ObjectId, cutoff: datetime) -> list[LgThread]:
    last_touched = {
        "$or": [
            {"updatedAt": {"$lt": cutoff}},
            {"updatedAt": None, "createdAt": {"$lt": cutoff}},
        ]
    }
    query = {**last_touched, "status": {"$nin": list(_LIVE_THREADS)}}
    return await TenantRepository(db, LgThread).find(org_id, query)


async def apply_all(services: GdprServices, now: datetime | None = None) -> dict[str, int]:
    """Apply every organization's retention period (the daily job); records removed per
    organization id, for those where something was."""
    done: dict[str, int] = {}
    for org in await OrganizationAdmin(services.db).list():
        try:
            removed = await apply(services, org.id, org.settings.data_retention_days, now)
        except Exception:  # one organization's failure must not stop the others'
            log.exception("retention failed for organization %s", org.id)
            continue
        if removed:
            done[str(org.id)] = sum(removed.values())
            log.info("retention for %s removed %s", org.id, removed)
    return done
