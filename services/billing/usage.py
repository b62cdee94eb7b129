"""How much of each limit an organization uses, counted from what is stored.

Nothing is kept as a running counter: each figure is read from the documents themselves
(memberships and invitations, connected accounts, posts, ``ai_tasks``, the media store), so
a deleted post or a disconnected account frees its place at once and no counter can drift.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from persistence.ids import utcnow
from persistence.media import MediaStore
from persistence.models import AiTask, Invitation, Membership, Organization, Post, SocialAccount
from persistence.repository import TenantRepository
from services.billing.periods import month_of
from services.billing.plans import CREDIT_TOKENS, CREDIT_USD, LimitKind

# Posts that take a place in their month: in the queue or already out. Drafts and cancelled
# posts do not.
SCHEDULED_STATES = (
    "scheduled",
    "publishing",
    "paused",
    "published",
    "partially_published",
    "failed",
)


def period(org: Organization, at: datetime) -> tuple[datetime, datetime]:
    """The organization's monthly period that contains ``at``."""
    return month_of(at, org.subscription.period_anchor)


async def members(db: Any, org: Organization, now: datetime | None = None) -> int:
    """Active members and invitations still waiting for an answer."""
    active = await TenantRepository(db, Membership).count(org.id, {"status": "active"})
    pending = await TenantRepository(db, Invitation).count(
        org.id, {"status": "pending", "expiresAt": {"$gt": now or utcnow()}}
    )
    return active + pending


async def social_accounts(db: Any, org: Organization) -> int:
    """Accounts connected now (one that needs reconnecting still holds its place; one that
    was disconnected does not)."""
    return await TenantRepository(db, SocialAccount).count(
        org.id, {"status.isActive": True, "status.connection": {"$ne": "disconnected"}}
    )


async def scheduled_posts(db: Any, org: Organization, at: datetime) -> int:
    """Posts scheduled in the month that contains ``at`` (sent or still waiting)."""
    start, end = period(org, at)
    return await TenantRepository(db, Post).count(
        org.id,
        {
            "scheduling.status": {"$in": list(SCHEDULED_STATES)},
            "scheduling.scheduledAt": {"$gte": start, "$lt": end},
        },
    )


async def ai_credits(db: Any, org: Organization, at: datetime) -> int:
    """Whole credits spent by the model calls recorded in the month that contains ``at``."""
    start, end = period(org, at)
    rows = await TenantRepository(db, AiTask).aggregate(
        org.id,
        [
            {"$match": {"createdAt": {"$gte": start, "$lt": end}}},
            {
                "$group": {
                    "_id": None,
                    "tokens": {"$sum": {"$ifNull": ["$resources.tokensUsed", 0]}},
                    "cost": {"$sum": {"$ifNull": ["$resources.costUsd", 0]}},
                }
            },
        ],
    )
    if not rows:
        return 0
    tokens, cost = rows[0].get("tokens") or 0, rows[0].get("cost") or 0.0
    return math.floor(max(tokens / CREDIT_TOKENS, cost / CREDIT_USD))


async def media_storage(media: MediaStore, org: Organization) -> int:
    """Bytes of media the organization keeps."""
    return sum(item.size for item in await media.list(str(org.id)))


async def used(
    db: Any,
    org: Organization,
    kind: LimitKind,
    *,
    at: datetime,
    media: MediaStore | None = None,
) -> int:
    """How much of ``kind`` is used (for monthly kinds, in the month that contains ``at``)."""
    if kind == "members":
        return await members(db, org, at)
    if kind == "social_accounts":
        return await social_accounts(db, org)
    if kind == "scheduled_posts":
        return await scheduled_posts(db, org, at)
    if kind == "ai_credits":
        return await ai_credits(db, org, at)
    if media is None:
        raise TypeError("media storage is counted in the media store: pass media=")
    return await media_storage(media, org)
