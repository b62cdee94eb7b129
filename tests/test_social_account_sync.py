"""Syncing numbers back from the sandbox networks: post metrics into ``analytics`` in the
importer's shape, account numbers into ``audience_insights``, rate limits honoured, refused
tokens stop the sync, and the scheduled job syncs each due account once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from bson import ObjectId
from sandbox_support import connect as consent
from sandbox_support import sandbox_fixture, sandbox_url  # noqa: F401 - fixture
from support import make_settings, opened_runtime

from chorus.jobs import CRONS, JOBS
from chorus.runtime import Runtime
from persistence.admin import OrganizationAdmin
from persistence.analytics_versions import analytics_version
from persistence.errors import Conflict, NotFound, RateLimited
from persistence.ids import utcnow
from persistence.models import Analytics, AudienceInsights, Post, SocialAccount
from persistence.models.content import PlatformTarget, PostContent, Scheduling
from persistence.repository import TenantRepository
from sandbox.client import SandboxControl
from services.social_accounts import connect, sync
from services.social_accounts.access import StoredAccountAccess
from tools.analytics.audience import audience_demographics
from tools.platforms import Publication


@dataclass
class World:
    rt: Runtime
    sandbox: SandboxControl
    org: ObjectId
    account: SocialAccount


@pytest.fixture
async def world(tmp_path: Path, sandbox: SandboxControl) -> AsyncIterator[World]:
    settings = make_settings(tmp_path / "data", platforms_sandbox_url=sandbox_url())
    async with opened_runtime(settings) as rt:
        org = await OrganizationAdmin(rt.db).create(f"Sync {ObjectId()}")
        connection = await consent(rt.platforms.provider("twitter"), sandbox)
        [account] = await connect.store(rt, org.id, ObjectId(), "twitter", connection)
        yield World(rt, sandbox, org.id, account)


async def published(world: World, text: str) -> tuple[Post, str]:
    """A post published on the sandbox's X and stored as the publishing engine stores it."""
    opened = await StoredAccountAccess(world.rt).open(world.org, world.account.id)
    made = await opened.provider.publish(opened.tokens, Publication(text=text, key=text))
    at = utcnow() - timedelta(hours=3)
    post = Post(
        organization_id=world.org,
        content=PostContent(text=text),
        scheduling=Scheduling(status="published", published_at=at, scheduled_at=at),
        platforms=[
            PlatformTarget(
                social_account_id=world.account.id,
                platform=world.account.platform,
                platform_post_id=made.platform_post_id,
                url=made.url,
                status="published",
                published_at=at,
            )
        ],
    )
    await TenantRepository(world.rt.db, Post).insert(post)
    return post, made.platform_post_id


async def account(world: World) -> SocialAccount:
    found = await TenantRepository(world.rt.db, SocialAccount).get(world.org, world.account.id)
    assert found is not None
    return found


async def test_a_sync_brings_post_metrics_into_analytics_and_account_numbers_into_insights(
    world: World,
) -> None:
    post, tweet = await published(world, "Cold brew is back")
    world.sandbox.bump("x", tweet, like_count=5, reply_count=2, impression_count=100)

    result = await sync.sync_account(world.rt, world.org, world.account.id)

    assert result.posts == 1
    docs = await TenantRepository(world.rt.db, Analytics).find(world.org, {"postId": post.id})
    assert len(docs) == 1
    doc = docs[0]
    assert (doc.metrics.likes, doc.metrics.comments, doc.metrics.impressions) == (5, 2, 100)
    assert doc.platform == "twitter"
    assert doc.social_account_id == world.account.id
    assert doc.time_data.recorded_at == post.scheduling.published_at
    assert doc.metrics.engagement_rate == pytest.approx(7 / 100)
    stored_post = await TenantRepository(world.rt.db, Post).get(world.org, post.id)
    assert stored_post is not None
    assert stored_post.performance.like_count == 5
    [day] = await TenantRepository(world.rt.db, AudienceInsights).find(world.org)
    assert day.insights["followers"] == result.followers
    assert day.data_source == "platform_api"
    synced = await account(world)
    assert synced.status.last_sync is not None
    assert synced.status.sync_status == "active"
    assert synced.status.next_sync_at is not None
    assert synced.status.next_sync_at > utcnow() + timedelta(minutes=50)
    assert synced.account_info.follower_count == result.followers
    assert synced.metrics.total_posts == 1

    # Numbers move; the next sync updates the same documents.
    world.sandbox.bump("x", tweet, like_count=3)
    await sync.sync_account(world.rt, world.org, world.account.id)
    docs = await TenantRepository(world.rt.db, Analytics).find(world.org, {"postId": post.id})
    assert [d.metrics.likes for d in docs] == [8]
    assert await TenantRepository(world.rt.db, AudienceInsights).count(world.org) == 2
    assert await analytics_version(world.rt.db, world.org) >= 2, "cached analytics go stale"


async def test_a_rate_limit_moves_the_next_sync_past_retry_after(world: World) -> None:
    await published(world, "Rate limits are real")
    world.sandbox.fault("x", "rate_limit", path=".*", count=1, retry_after=120)

    with pytest.raises(RateLimited) as limited:
        await sync.sync_account(world.rt, world.org, world.account.id)

    assert limited.value.retry_after == pytest.approx(120, abs=5)
    waiting = await account(world)
    assert waiting.status.sync_status == "rate_limited"
    assert waiting.status.next_sync_at is not None
    assert waiting.status.next_sync_at > utcnow() + timedelta(seconds=100)
    # Neither a manual sync nor the schedule calls the network before then.
    with pytest.raises(RateLimited):
        await sync.sync_account(world.rt, world.org, world.account.id)
    assert await sync.sync_due(world.rt) == {"synced": 0, "failed": 0}
    later = utcnow() + timedelta(seconds=125)
    assert await sync.sync_due(world.rt, now=later) == {"synced": 1, "failed": 0}
    assert (await account(world)).status.sync_status == "active"


async def test_refused_tokens_stop_the_sync_until_the_account_is_reconnected(
    world: World,
) -> None:
    world.sandbox.revoke("x")

    with pytest.raises(Conflict) as refused:
        await sync.sync_account(world.rt, world.org, world.account.id)

    assert refused.value.code == "needs_reconnect"
    stopped = await account(world)
    assert stopped.status.connection == "needs_reconnect"
    assert stopped.status.reconnect_reason
    far = utcnow() + timedelta(days=2)
    assert await sync.sync_due(world.rt, now=far) == {"synced": 0, "failed": 0}

    connection = await consent(world.rt.platforms.provider("twitter"), world.sandbox)
    await connect.store(world.rt, world.org, ObjectId(), "twitter", connection)
    assert await sync.sync_due(world.rt, now=utcnow() + timedelta(seconds=1)) == {
        "synced": 1,
        "failed": 0,
    }


async def test_the_scheduled_job_syncs_each_due_account_once_across_workers(
    world: World,
) -> None:
    _, tweet = await published(world, "Two workers, one sync")
    world.sandbox.bump("x", tweet, like_count=1)
    soon = utcnow() + timedelta(seconds=1)

    first, second = await asyncio.gather(
        sync.sync_due(world.rt, now=soon), sync.sync_due(world.rt, now=soon)
    )

    assert first["synced"] + second["synced"] == 1
    assert "sync_social_accounts" in CRONS
    # The registered job runs the same sync (nothing is due any more).
    assert await JOBS["sync_social_accounts"]({"engine": world.rt.engine}) == {
        "synced": 0,
        "failed": 0,
    }


async def test_another_organization_cannot_sync_the_account(world: World) -> None:
    with pytest.raises(NotFound):
        await sync.sync_account(world.rt, ObjectId(), world.account.id)


async def test_a_post_the_network_no_longer_knows_does_not_stop_the_others_syncing(
    world: World,
) -> None:
    connection = await consent(world.rt.platforms.provider("facebook"), world.sandbox)
    page = (await connect.store(world.rt, world.org, ObjectId(), "facebook", connection))[0]
    page_world = World(world.rt, world.sandbox, world.org, page)
    kept, kept_id = await published(page_world, "Still there")
    gone, _ = await published(page_world, "Removed from Facebook long ago")
    # An id the Graph API answers "does not exist" for (the sandbox's deleted posts stay
    # readable, as Facebook's do for a while).
    await TenantRepository(world.rt.db, Post).update(
        world.org, gone.id, {"platforms.0.platformPostId": f"{kept_id.split('_')[0]}_404404"}
    )

    result = await sync.sync_account(world.rt, world.org, page.id)

    assert result.posts == 1
    analytics = TenantRepository(world.rt.db, Analytics)
    assert await analytics.count(world.org, {"postId": kept.id}) == 1
    assert await analytics.count(world.org, {"postId": gone.id}) == 0
    stored = await TenantRepository(world.rt.db, SocialAccount).get(world.org, page.id)
    assert stored is not None
    assert stored.status.sync_status == "active"


async def test_a_sync_keeps_the_audience_demographics_a_network_reports_once_a_day(
    world: World,
) -> None:
    connection = await consent(world.rt.platforms.provider("instagram"), world.sandbox)
    [ig] = await connect.store(world.rt, world.org, ObjectId(), "instagram", connection)
    now = utcnow()
    await sync.sync_account(world.rt, world.org, ig.id, now=now)
    await sync.sync_account(world.rt, world.org, world.account.id, now=now)

    answers = {a.platform: a for a in await audience_demographics(world.rt.db, world.org)}
    instagram = answers["instagram"]
    # The sandbox account's follower_demographics, as shares.
    assert instagram.breakdowns == {
        "age": {"18-24": 0.3, "25-34": 0.5, "35-44": 0.2},
        "gender": {"F": 0.6, "M": 0.4},
        "countries": {"FR": 0.3, "US": 0.7},
    }
    assert instagram.as_of is not None
    assert answers["twitter"].available is False
    assert answers["twitter"].breakdowns == {}
    assert "does not report" in answers["twitter"].note

    # An hour later the followers are read again, the demographics not (read daily).
    await sync.sync_account(world.rt, world.org, ig.id, now=now + timedelta(hours=1))
    readings = await TenantRepository(world.rt.db, AudienceInsights).find(
        world.org, {"socialAccountId": ig.id}, sort=[("analysisDate", 1)]
    )
    assert ["demographics" in r.insights for r in readings] == [True, False]
    await sync.sync_account(world.rt, world.org, ig.id, now=now + timedelta(days=1, hours=1))
    readings = await TenantRepository(world.rt.db, AudienceInsights).find(
        world.org, {"socialAccountId": ig.id}, sort=[("analysisDate", 1)]
    )
    assert ["demographics" in r.insights for r in readings] == [True, False, True]


async def test_a_network_refusing_the_demographics_fails_nothing_else(world: World) -> None:
    connection = await consent(world.rt.platforms.provider("youtube"), world.sandbox)
    [yt] = await connect.store(world.rt, world.org, ObjectId(), "youtube", connection)
    # As YouTube answers an account connected before the analytics scope was asked for.
    world.sandbox.fault("google", "error", path=r"/youtubeanalytics/", status=403, count=5)
    result = await sync.sync_account(world.rt, world.org, yt.id)
    assert result.followers == 8800
    [reading] = await TenantRepository(world.rt.db, AudienceInsights).find(
        world.org, {"socialAccountId": yt.id}
    )
    assert "demographics" not in reading.insights
    synced = await TenantRepository(world.rt.db, SocialAccount).get(world.org, yt.id)
    assert synced is not None
    assert synced.status.sync_status == "active"
    assert synced.status.connection == "connected"
