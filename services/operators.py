"""What a platform operator sees of the whole service: figures, organizations, users and
the audit log across organizations. Read-only; nothing here acts on a tenant's behalf."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bson import ObjectId

from persistence.ids import utcnow
from persistence.models import AuditLog, Organization, User
from persistence.platform import Platform


@dataclass(frozen=True)
class Stats:
    documents: dict[str, int]
    organizations_by_plan: dict[str, int]
    organizations_by_status: dict[str, int]
    signups_last_7_days: int
    runs_last_24_hours: int


async def stats(db: Any) -> Stats:
    platform = Platform(db)
    now = utcnow()
    return Stats(
        documents=await platform.counts(),
        organizations_by_plan=await platform.organizations_by("subscription.plan"),
        organizations_by_status=await platform.organizations_by("subscription.status"),
        signups_last_7_days=await platform.count_since(
            User.collection, "createdAt", now - timedelta(days=7)
        ),
        runs_last_24_hours=await platform.count_since(
            "lg_runs", "createdAt", now - timedelta(hours=24)
        ),
    )


async def organizations(db: Any, *, skip: int, limit: int) -> list[tuple[Organization, int]]:
    """Organizations in creation order with their active member counts."""
    platform = Platform(db)
    found = await platform.organizations(skip=skip, limit=limit)
    members = await platform.member_counts([o.id for o in found])
    return [(o, members.get(o.id, 0)) for o in found]


async def users(db: Any, *, skip: int, limit: int) -> list[User]:
    return await Platform(db).users(skip=skip, limit=limit)


async def audit_log(
    db: Any, *, limit: int, before: ObjectId | None, org_id: ObjectId | None
) -> list[AuditLog]:
    return await Platform(db).audit(limit=limit, before=before, org_id=org_id)
