"""How much of each limit an organization uses, counted from what is stored.

Counts are read from the documents themselves (memberships and invitations, connected
accounts, posts, the media store), so a deleted post or a disconnected account frees its place
at once. AI credits are the exception: every agent call checks them, so the task recorder
adds each call's tokens and cost to an hourly ledger (``ai_usage``) as it records the call,
and the check reads a month of that ledger rather than summing the month's ``ai_tasks``.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from bson import ObjectId

from persistence.ids import utcnow
from persistence.media import MediaStore
from persistence.models import Invitation, Membership, Organization, Post, SocialAccount
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


AI_USAGE = "ai_usage"


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


async def record_ai_usage(
    db: Any, org_id: ObjectId, at: datetime, tokens: int, cost_usd: float | None
) -> None:
    """Add one model call's tokens and cost to the organization's hourly AI usage: the
    ledger ``ai_credits`` reads, so checking the allowance before each agent call is one
    small read instead of a sum over the month's ``ai_tasks``."""
    await db[AI_USAGE].update_one(
        {"organizationId": org_id, "hour": _hour(at)},
        {"$inc": {"tokens": int(tokens), "costUsd": float(cost_usd or 0.0)}},
        upsert=True,
    )


async def ai_credits(db: Any, org: Organization, at: datetime) -> int:
    """Whole credits spent by the model calls recorded in the month that contains ``at``
    (from the hourly ledger; a month holds at most 744 of its rows)."""
    start, end = period(org, at)
    cursor = db[AI_USAGE].find(
        {"organizationId": org.id, "hour": {"$gte": _hour(start), "$lt": end}},
        {"tokens": 1, "costUsd": 1},
    )
    tokens, cost = 0, 0.0
    for row in await cursor.to_list(None):
        tokens += int(row.get("tokens") or 0)
        cost += float(row.get("costUsd") or 0.0)
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
