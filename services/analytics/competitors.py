"""Competitors an organization tracks: a handle per network, whose public numbers are read
through that network's provider with the tokens of one of the organization's own accounts.

Each tracked handle is one ``competitor_analysis`` document, updated in place by every sync,
so the competitor monitor's benchmarks (``tools.analytics.competitors``) compare against the
latest public numbers. Posting frequency is the change in the public post count between two
readings, per week.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from persistence.analytics_versions import bump_analytics_version
from persistence.errors import Conflict, InvalidInput, NotFound
from persistence.ids import utcnow
from persistence.models import CompetitorAnalysis, SocialAccount
from persistence.models.analytics import Competitor, CompetitorSync
from persistence.repository import TenantRepository
from services.social_accounts.access_port import AccountAccess
from tools.platforms.base import PlatformError, Unsupported

log = logging.getLogger(__name__)

MAX_TRACKED = 50  # handles per organization: a watch list, not a crawl
SYNC_EVERY = timedelta(hours=6)
MIN_FREQUENCY_GAP = timedelta(hours=1)  # shorter gaps make a noisy posts-per-week


def _repo(db: Any) -> TenantRepository[CompetitorAnalysis]:
    return TenantRepository(db, CompetitorAnalysis)


def _handle(value: str) -> str:
    return value.strip().lstrip("@").strip()


async def tracked(db: Any, org_id: ObjectId) -> list[CompetitorAnalysis]:
    """The organization's tracked competitors, by name then network."""
    docs = await _repo(db).find(org_id, {"sync": {"$ne": None}}, sort=[("_id", 1)])
    return sorted(docs, key=lambda d: (d.competitor.name.casefold(), d.competitor.platform))


async def add(
    db: Any,
    access: AccountAccess,
    org_id: ObjectId,
    *,
    name: str,
    handles: Mapping[str, str],
    profile_urls: Mapping[str, str] | None = None,
) -> list[CompetitorAnalysis]:
    """Track ``name`` on each network of ``handles`` and read its numbers now. A handle
    already tracked on that network is a Conflict; nothing is stored then."""
    cleaned = {p: _handle(h) for p, h in handles.items()}
    for platform, handle in cleaned.items():
        if not handle:
            raise InvalidInput.field(f"body.handles.{platform}", "must not be empty")
    existing = await tracked(db, org_id)
    for doc in existing:
        wanted = cleaned.get(doc.competitor.platform)
        if wanted and wanted.casefold() == doc.competitor.handle.casefold():
            raise Conflict(
                f"@{wanted} on {doc.competitor.platform} is already tracked",
                code="competitor_exists",
            )
    if len(existing) + len(cleaned) > MAX_TRACKED:
        raise Conflict(f"at most {MAX_TRACKED} competitor handles can be tracked")
    docs = [
        CompetitorAnalysis(
            organization_id=org_id,
            competitor=Competitor(
                name=name.strip(),
                platform=platform,  # type: ignore[arg-type]
                handle=handle,
                profile_url=(profile_urls or {}).get(platform),
            ),
            sync=CompetitorSync(),
        )
        for platform, handle in sorted(cleaned.items())
    ]
    await _repo(db).insert_many(org_id, docs)
    return [await sync_one(db, access, org_id, doc) for doc in docs]


async def remove(db: Any, org_id: ObjectId, competitor_id: ObjectId) -> None:
    doc = await _repo(db).find_one(org_id, {"_id": competitor_id, "sync": {"$ne": None}})
    if doc is None:
        raise NotFound(f"competitor {competitor_id} not found")
    await _repo(db).delete(org_id, competitor_id)
    await bump_analytics_version(db, org_id)


async def _reader(db: Any, org_id: ObjectId, platform: str) -> SocialAccount | None:
    """An active account of the organization on ``platform``, to read with."""
    accounts = await TenantRepository(db, SocialAccount).find(
        org_id, {"platform": platform, "status.isActive": True}, sort=[("_id", 1)]
    )
    usable = [a for a in accounts if a.authentication.access_token]
    return usable[0] if usable else None


async def sync_one(
    db: Any,
    access: AccountAccess,
    org_id: ObjectId,
    doc: CompetitorAnalysis,
    *,
    now: datetime | None = None,
) -> CompetitorAnalysis:
    """Read the competitor's public numbers now and store them (or why they could not be)."""
    now = now or utcnow()
    platform, handle = doc.competitor.platform, doc.competitor.handle
    sync = doc.sync or CompetitorSync()
    changes: dict[str, Any] = {}
    reader = await _reader(db, org_id, platform)
    if reader is None:
        sync = sync.model_copy(
            update={"status": "error", "message": f"connect a {platform} account to read it"}
        )
    else:
        try:
            opened = await access.open(org_id, reader.id)
            found = await opened.provider.public_account(opened.tokens, handle)
        except Unsupported as exc:
            sync = sync.model_copy(update={"status": "unsupported", "message": exc.message})
        except PlatformError as exc:
            log.info("competitor sync of %s on %s failed: %s", handle, platform, exc)
            sync = sync.model_copy(update={"status": "error", "message": exc.message})
        else:
            metrics = doc.metrics.model_copy()
            m = found.metrics
            metrics.follower_count = m.followers or 0
            metrics.following_count = m.following or 0
            posts = m.posts
            if posts is not None:
                frequency = _per_week(sync, posts, now)
                if frequency is not None:
                    metrics.post_frequency = frequency
                metrics.post_count = posts
            sync = CompetitorSync(
                status="ok",
                synced_at=now,
                previous_posts=posts if posts is not None else sync.previous_posts,
                previous_at=now if posts is not None else sync.previous_at,
            )
            changes["metrics"] = metrics.model_dump(by_alias=True)
            changes["lastAnalyzed"] = now
            if found.profile.url and not doc.competitor.profile_url:
                changes["competitor.profileUrl"] = found.profile.url
    if sync.status != "ok":
        sync = sync.model_copy(update={"synced_at": now})
    changes["sync"] = sync.model_dump(by_alias=True)
    updated = await _repo(db).update(org_id, doc.id, changes)
    await bump_analytics_version(db, org_id)
    return updated or doc


def _per_week(sync: CompetitorSync, posts: int, now: datetime) -> float | None:
    """Posts per week since the previous reading (None without one far enough back)."""
    if sync.previous_posts is None or sync.previous_at is None:
        return None
    gap = now - sync.previous_at
    if gap < MIN_FREQUENCY_GAP:
        return None
    return round(max(posts - sync.previous_posts, 0) / (gap / timedelta(weeks=1)), 2)


async def sync_due(
    db: Any, access: AccountAccess, org_id: ObjectId, *, now: datetime | None = None
) -> int:
    """Sync the organization's competitors last read more than ``SYNC_EVERY`` ago."""
    now = now or utcnow()
    done = 0
    for doc in await tracked(db, org_id):
        last = doc.sync.synced_at if doc.sync else None
        if last is None or now - last >= SYNC_EVERY:
            await sync_one(db, access, org_id, doc, now=now)
            done += 1
    return done
