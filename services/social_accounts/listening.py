"""Listening: mentions and comments of a connected account, pulled since a stored cursor.

Each item is stored once per organization in ``network_activity``, the store the network
webhooks already fill (``services.network_webhooks``), keyed on (platform, the network's item
id): an item that arrives both by webhook and by polling is kept once. The cursor is the
network's own (X's ``since_id``, a timestamp...), stored on the account after the items, so a
crash between the two re-reads a batch instead of skipping one. What to do with a new batch
(assess it for a crisis) is the caller's: this layer cannot run agents.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bson import ObjectId

from persistence.ids import utcnow
from persistence.models import NetworkActivity, SocialAccount
from persistence.repository import TenantRepository
from persistence.schedule_claims import claim, due
from services.social_accounts.access import StoredAccountAccess
from services.social_accounts.errors import translated
from services.social_accounts.ports import AccountsRuntime
from tools.platforms.base import AccessTokenExpired, Mention, NeedsReconnect, PlatformError

log = logging.getLogger(__name__)

#: How often an account's mentions are read by the schedule.
LISTEN_INTERVAL = timedelta(minutes=5)
NEXT_LISTEN = "listening.nextRun"


async def pull_mentions(
    rt: AccountsRuntime, org_id: ObjectId, account_id: ObjectId, *, now: datetime | None = None
) -> list[NetworkActivity]:
    """The account's mentions and comments newer than its cursor, stored; the new ones
    (oldest first). Network failures are raised as domain errors (a refused token marks
    the account ``needs_reconnect`` first)."""
    now = now or utcnow()
    access = StoredAccountAccess(rt)
    try:
        opened = await access.open(org_id, account_id)
        cursor = opened.account.listening.cursor
        try:
            page = await opened.provider.mentions(opened.tokens, cursor)
        except AccessTokenExpired:
            opened = await access.refresh(org_id, account_id)
            page = await opened.provider.mentions(opened.tokens, cursor)
    except NeedsReconnect as refused:
        await access.mark_needs_reconnect(org_id, account_id, refused.reason)
        raise translated(refused) from refused
    except PlatformError as exc:
        raise translated(exc) from exc
    account = opened.account
    repo = TenantRepository(rt.db, NetworkActivity)
    new: list[NetworkActivity] = []
    for item in page.items:
        doc = _activity(org_id, account, item)
        stored = await repo.insert_once(
            org_id, {"platform": account.platform, "externalId": item.id}, doc
        )
        if stored.id == doc.id:
            new.append(stored)
    changes: dict[str, object] = {"listening.lastRun": now}
    if page.next_cursor is not None:
        changes["listening.cursor"] = page.next_cursor
    await TenantRepository(rt.db, SocialAccount).update(org_id, account_id, changes)
    return new


async def due_accounts(
    rt: AccountsRuntime,
    *,
    now: datetime | None = None,
    limit: int = 100,
    interval: timedelta = LISTEN_INTERVAL,
) -> list[tuple[ObjectId, ObjectId]]:
    """(organization, account) of the connected accounts due for listening, each claimed
    for this caller once across workers (its next run moved on by ``interval``)."""
    now = now or utcnow()
    collection = TenantRepository(rt.db, SocialAccount).collection
    query = {
        "status.isActive": True,
        "status.connection": "connected",
        "authentication.accessToken": {"$type": "string"},
    }
    won = []
    # Connecting sets the first run (services.social_accounts.connect); due() reads across
    # tenants like every schedule, and each account won is then handled in its own tenant.
    for raw in await due(collection, query, NEXT_LISTEN, now, limit):
        if await claim(collection, raw, NEXT_LISTEN, now + interval):
            won.append((raw["organizationId"], raw["_id"]))
    return won


async def record_risk(
    rt: AccountsRuntime, org_id: ObjectId, account_id: ObjectId, level: str
) -> None:
    await TenantRepository(rt.db, SocialAccount).update(
        org_id, account_id, {"listening.lastRiskLevel": level}
    )


def _activity(org_id: ObjectId, account: SocialAccount, item: Mention) -> NetworkActivity:
    return NetworkActivity(
        organization_id=org_id,
        platform=account.platform,
        social_account_id=account.id,
        kind=item.kind,
        external_id=item.id,
        text=item.text,
        author=item.author.username or item.author.display_name or item.author.platform_id,
        occurred_at=item.created_at,
        raw={
            "source": "poll",
            "url": item.url,
            "parentPostId": item.parent_post_id,
            "authorId": item.author.platform_id,
        },
    )
