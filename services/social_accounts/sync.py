"""Numbers back from the networks: each published post's metrics into ``analytics``, the
account's own numbers into ``audience_insights``, so the agents' tools work on live data.

Post metrics land exactly where the analytics importer puts them (one ``analytics``
document per post and network, its ``timeData`` bucketed on the publishing time, the post's
``performance`` recomputed from them), so imported and synced numbers mix and the agents
cannot tell them apart. The account's followers, following, posts, impressions and reach
are kept as one ``audience_insights`` reading per sync (``tools.analytics.audience.
record_audience``, ``data_source`` ``platform_api``), and the latest followers on the account
itself. Every sync makes the organization's cached analytics stale.

A scheduled job (``sync_due``) syncs every connected account whose ``status.nextSyncAt`` has
come, claiming each with a compare-and-set so that any number of workers sync it once. A rate
limit moves ``nextSyncAt`` to after the network's Retry-After (status ``rate_limited``); a
refused token turns the account ``needs_reconnect`` and it is not synced again until it is
reconnected.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import UpdateOne

from persistence.analytics_versions import bump_analytics_version
from persistence.errors import RateLimited as TooSoon
from persistence.ids import utcnow
from persistence.models import Analytics, AudienceInsights, Post, SocialAccount
from persistence.models.analytics import Metrics, TimeData, performance_of
from persistence.repository import TenantRepository, tenant_filter
from persistence.schedule_claims import claim, due
from services.social_accounts import manage
from services.social_accounts.access import StoredAccountAccess
from services.social_accounts.errors import translated
from services.social_accounts.ports import AccountsRuntime
from tools.analytics.audience import record_audience
from tools.platforms.audience import Demographics
from tools.platforms.base import (
    AccessTokenExpired,
    AccountMetrics,
    NeedsReconnect,
    PermanentError,
    PlatformError,
    PostMetrics,
    RateLimited,
    SocialProvider,
    Tokens,
    Unsupported,
)

log = logging.getLogger(__name__)

#: How often a connected account is synced by the schedule.
SYNC_INTERVAL = timedelta(hours=1)
#: How many posts of an account are synced (the most recently published): older posts'
#: numbers barely move, and every network meters these reads.
MAX_POSTS = 500
COUNTS = ("likes", "comments", "shares", "saves", "clicks", "impressions", "reach")
NEXT_SYNC = "status.nextSyncAt"
#: How often an account's audience demographics are read again.
DEMOGRAPHICS_INTERVAL = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SyncResult:
    account_id: ObjectId
    posts: int
    followers: int | None
    synced_at: datetime


async def sync_account(
    rt: AccountsRuntime,
    org_id: ObjectId,
    account_id: ObjectId,
    *,
    now: datetime | None = None,
    interval: timedelta = SYNC_INTERVAL,
    claimed: bool = False,
) -> SyncResult:
    """Sync one account now. Raises the domain errors of ``services.social_accounts.errors``
    (409 ``needs_reconnect``, 429 with the wait, 503...), after recording the outcome on the
    account. ``claimed``: the schedule found it due (and has moved its next sync on)."""
    now = now or utcnow()
    account = await manage.get(rt, org_id, account_id)
    waiting = account.status.next_sync_at
    limited = account.status.sync_status == "rate_limited"
    if limited and not claimed and waiting and waiting > now:
        seconds = (waiting - now).total_seconds()
        raise TooSoon(
            f"{account.platform} rate limited this account; the next sync is possible at "
            f"{waiting.isoformat()}",
            code="platform_rate_limited",
            retry_after=seconds,
        )
    try:
        account_numbers, audience, post_numbers, posts = await _read(rt, org_id, account_id, now)
    except PlatformError as exc:
        await _record_failure(rt, org_id, account_id, exc, now, interval)
        raise translated(exc) from exc
    await _write_posts(rt, org_id, account_id, account.platform, posts, post_numbers, now)
    await _write_account(rt, org_id, account, account_numbers, audience, now, interval)
    # New numbers: the organization's cached analytics answers are stale from now on.
    await bump_analytics_version(rt.db, org_id)
    return SyncResult(account_id, len(post_numbers), account_numbers.followers, now)


async def sync_due(
    rt: AccountsRuntime,
    *,
    now: datetime | None = None,
    limit: int = 100,
    concurrency: int = 8,
    interval: timedelta = SYNC_INTERVAL,
) -> dict[str, int]:
    """The scheduled sync: every connected account whose next sync has come, each claimed
    once across workers. Returns how many were synced and how many failed."""
    now = now or utcnow()
    collection = TenantRepository(rt.db, SocialAccount).collection
    query = {
        "status.isActive": True,
        "status.connection": "connected",
        "authentication.accessToken": {"$type": "string"},
    }
    won: list[dict[str, Any]] = []
    for raw in await due(collection, query, NEXT_SYNC, now, limit):
        # Claimed for one interval: a worker that dies mid-sync leaves it for the next round.
        if await claim(collection, raw, NEXT_SYNC, now + interval):
            won.append(raw)
    gate = asyncio.Semaphore(concurrency)

    async def one(raw: dict[str, Any]) -> bool:
        async with gate:
            try:
                await sync_account(
                    rt, raw["organizationId"], raw["_id"], now=now, interval=interval, claimed=True
                )
                return True
            except Exception as exc:  # recorded on the account; the others go on
                log.info("sync of social account %s failed: %s", raw["_id"], exc)
                return False

    results = await asyncio.gather(*(one(raw) for raw in won))
    return {"synced": sum(results), "failed": len(results) - sum(results)}


# --- reading ------------------------------------------------------------------------------------


async def _read(
    rt: AccountsRuntime, org_id: ObjectId, account_id: ObjectId, now: datetime
) -> tuple[AccountMetrics, Demographics | None, dict[str, PostMetrics], list[Post]]:
    access = StoredAccountAccess(rt)
    audience_due = await _demographics_due(rt, org_id, account_id, now)
    opened = await access.open(org_id, account_id)
    posts = await TenantRepository(rt.db, Post).find(
        org_id,
        {
            "platforms": {
                "$elemMatch": {
                    "socialAccountId": account_id,
                    "status": "published",
                    "platformPostId": {"$type": "string"},
                    # The demo's generated history carries ids no network knows.
                    "platformData.sandbox": {"$ne": True},
                }
            }
        },
        sort=[("scheduling.publishedAt", -1)],
        limit=MAX_POSTS,
    )
    ids = [pid for post in posts if (pid := _target_id(post, account_id))]
    for attempt in (1, 2):
        try:
            numbers = await opened.provider.account_metrics(opened.tokens)
            audience = await _demographics(opened.provider, opened.tokens) if audience_due else None
            found = await _post_numbers(opened.provider, opened.tokens, ids) if ids else {}
            return numbers, audience, found, posts
        except AccessTokenExpired:
            if attempt == 2:
                raise
            # Expired before its stated time (clock skew, a revoked session renewed): one
            # refresh, then the network's answer stands.
            opened = await access.refresh(org_id, account_id)
        except NeedsReconnect as refused:
            await access.mark_needs_reconnect(org_id, account_id, refused.reason)
            raise
    raise AssertionError("unreachable")


async def _demographics_due(
    rt: AccountsRuntime, org_id: ObjectId, account_id: ObjectId, now: datetime
) -> bool:
    """Whether the account's audience demographics are a day old (or were never read): the
    networks update them daily at most, and each read costs requests of the rate budget."""
    latest = await TenantRepository(rt.db, AudienceInsights).find(
        org_id,
        {"socialAccountId": account_id, "insights.demographics": {"$exists": True}},
        sort=[("analysisDate", -1)],
        limit=1,
    )
    if not latest:
        return True
    read_at = latest[0].analysis_date
    read_at = read_at.replace(tzinfo=UTC) if read_at.tzinfo is None else read_at
    return now - read_at >= DEMOGRAPHICS_INTERVAL


async def _demographics(provider: SocialProvider, tokens: Tokens) -> Demographics | None:
    """The audience demographics where the network reports them, else None. They are extra:
    a refusal here (a scope the account was connected without, too few followers, a rate
    limit) leaves them for a later sync and fails nothing else."""
    try:
        return await provider.audience_demographics(tokens) or None
    except Unsupported:
        return None
    except PlatformError as exc:
        log.info("%s audience demographics not read: %s", provider.network, exc)
        return None


async def _post_numbers(
    provider: SocialProvider, tokens: Tokens, ids: list[str]
) -> dict[str, PostMetrics]:
    """Metrics of ``ids``; a post the network refuses to read (deleted there, never
    visible to this account) is left out instead of failing the others."""
    try:
        return await provider.post_metrics(tokens, ids)
    except PermanentError:
        if len(ids) == 1:
            log.info("%s refused the metrics of post %s", provider.network, ids[0])
            return {}
    found: dict[str, PostMetrics] = {}
    for one in ids:  # find the refused one(s): the other posts still count
        found.update(await _post_numbers(provider, tokens, [one]))
    return found


def _target_id(post: Post, account_id: ObjectId) -> str | None:
    for target in post.platforms:
        if target.social_account_id == account_id and target.status == "published":
            return target.platform_post_id
    return None


async def _record_failure(
    rt: AccountsRuntime,
    org_id: ObjectId,
    account_id: ObjectId,
    exc: PlatformError,
    now: datetime,
    interval: timedelta,
) -> None:
    changes: dict[str, Any] = {"status.errorMessage": f"{exc.network}: {exc.message}"}
    if isinstance(exc, RateLimited):
        changes["status.syncStatus"] = "rate_limited"
        changes[NEXT_SYNC] = now + timedelta(seconds=exc.retry_after_seconds)
    elif isinstance(exc, NeedsReconnect):
        changes["status.syncStatus"] = "error"  # the connection says why; no next sync
    else:
        changes["status.syncStatus"] = "error"
        changes[NEXT_SYNC] = now + interval
    await TenantRepository(rt.db, SocialAccount).update(org_id, account_id, changes)


# --- writing ------------------------------------------------------------------------------------


def _metrics(stored: Metrics | None, found: PostMetrics) -> Metrics:
    """``found`` over what was stored: a number the network does not give keeps its value."""
    values = {name: getattr(stored, name) if stored else 0 for name in COUNTS}
    for name in COUNTS:
        value = getattr(found, name)
        if value is not None:
            values[name] = int(value)
    engaged = values["likes"] + values["comments"] + values["shares"] + values["saves"]
    # The importer's rates: engagements per reach; X gives impressions but no reach, and a
    # rate of 0 would read as "nobody engaged", so impressions stand in where reach is unknown.
    base = values["reach"] or values["impressions"]
    return Metrics(
        **values,
        engagement_rate=round(engaged / base, 5) if base else 0.0,
        click_through_rate=(
            round(values["clicks"] / values["impressions"], 5) if values["impressions"] else 0.0
        ),
    )


def _time_data(at: datetime) -> TimeData:
    """Bucketed on the publishing time, in UTC, as the importer and the demo data do."""
    return TimeData(
        recorded_at=at,
        date_bucket=datetime(at.year, at.month, at.day, tzinfo=UTC),
        hour_bucket=at.hour,
        day_of_week=at.weekday(),
        month=at.month,
        quarter=(at.month - 1) // 3 + 1,
    )


async def _write_posts(
    rt: AccountsRuntime,
    org_id: ObjectId,
    account_id: ObjectId,
    platform: str,
    posts: Sequence[Post],
    found: dict[str, PostMetrics],
    now: datetime,
) -> None:
    if not found:
        return
    analytics = TenantRepository(rt.db, Analytics)
    mine = [p for p in posts if _target_id(p, account_id) in found]
    stored = {
        (doc.post_id, doc.platform): doc
        for doc in await analytics.find(
            org_id, {"postId": {"$in": [p.id for p in mine]}}, sort=[("_id", 1)]
        )
    }
    post_ops = []
    for post in mine:
        numbers = found[_target_id(post, account_id) or ""]
        doc = stored.get((post.id, platform))
        metrics = _metrics(doc.metrics if doc else None, numbers)
        if doc is None:
            published = next(
                (
                    t.published_at
                    for t in post.platforms
                    if t.social_account_id == account_id and t.published_at
                ),
                post.scheduling.published_at or post.created_at,
            )
            doc = Analytics(
                organization_id=org_id,
                post_id=post.id,
                social_account_id=account_id,
                platform=platform,  # type: ignore[arg-type]
                metrics=metrics,
                time_data=_time_data(published),
            )
            # Keyed on (post, network): a concurrent sync of the same post cannot add twice.
            doc = await analytics.insert_once(
                org_id, {"postId": post.id, "platform": platform}, doc
            )
        await analytics.update(org_id, doc.id, {"metrics": metrics.model_dump(by_alias=True)})
        doc.metrics = metrics
        stored[(post.id, platform)] = doc
        performance = performance_of(d for (pid, _), d in stored.items() if pid == post.id)
        post_ops.append(
            UpdateOne(
                tenant_filter(org_id, {"_id": post.id}),
                {"$set": {"performance": performance.model_dump(by_alias=True)}},
            )
        )
    if post_ops:
        await TenantRepository(rt.db, Post).collection.bulk_write(post_ops, ordered=False)


async def _write_account(
    rt: AccountsRuntime,
    org_id: ObjectId,
    account: SocialAccount,
    numbers: AccountMetrics,
    audience: Demographics | None,
    now: datetime,
    interval: timedelta,
) -> None:
    followers = numbers.followers
    # Demographics are kept with a follower reading: a network that hides the count (a
    # YouTube channel's choice) has its demographics wait for one.
    if followers is not None:
        # The audience history the analytics tools read (one reading per sync); it also
        # keeps the account's follower count current and makes cached analytics stale.
        reading = await record_audience(
            rt.db,
            org_id,
            account,
            followers=followers,
            at=now,
            following=numbers.following,
            demographics=audience,
        )
        more = {
            f"insights.{key}": value
            for key, value in (
                ("posts", numbers.posts),
                ("impressions", numbers.impressions),
                ("reach", numbers.reach),
            )
            if value is not None
        }
        if more:
            await TenantRepository(rt.db, AudienceInsights).update(org_id, reading.id, more)
    else:
        await bump_analytics_version(rt.db, org_id)  # the post metrics changed all the same
    summary = await _post_summary(rt, org_id, account.id)
    changes: dict[str, Any] = {
        "status.lastSync": now,
        "status.syncStatus": "active",
        "status.errorMessage": None,
        NEXT_SYNC: now + interval,
        **summary,
    }
    await TenantRepository(rt.db, SocialAccount).update(org_id, account.id, changes)


async def _post_summary(rt: AccountsRuntime, org_id: ObjectId, account_id: ObjectId) -> dict:
    """The account's roll-up (``metrics``) from its analytics documents."""
    rows = await TenantRepository(rt.db, Analytics).aggregate(
        org_id,
        [
            {"$match": {"socialAccountId": account_id}},
            {
                "$group": {
                    "_id": None,
                    "posts": {"$sum": 1},
                    "engagement": {"$avg": "$metrics.engagementRate"},
                    "last": {"$max": "$timeData.recordedAt"},
                }
            },
        ],
    )
    if not rows:
        return {}
    row = rows[0]
    return {
        "metrics.totalPosts": int(row["posts"]),
        "metrics.avgEngagement": round(float(row["engagement"] or 0.0), 5),
        "metrics.lastPostDate": row["last"],
    }
