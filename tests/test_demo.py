"""``seed_demo``: counts, tenancy, determinism, idempotency, the admin password, and the
planted facts, found with aggregation pipelines the way an analytics tool would."""

from __future__ import annotations

import asyncio
import os
import stat
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from bson import ObjectId
from support import TEST_MONGODB_URI, make_settings

from chorus.runtime import Runtime
from persistence.admin import OrganizationAdmin
from persistence.models import Analytics, Post, User
from persistence.passwords import verify_password
from persistence.repository import TenantRepository
from services.demo import ADMIN_EMAIL, DEMO_SLUG, PLANTED, DemoSummary, seed_demo
from services.demo import seed as demo_seed
from services.demo.planted import BANNED_TERMS, PROFILES, TIMEZONE, TRENDING_HASHTAG

# A fixed "now" keeps the planted facts (whose weekdays depend on the date) identical on every
# day the suite runs.
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TZ = ZoneInfo(TIMEZONE)
SEEDED = ("users", "social_accounts", "posts", "analytics")
ENGAGEMENTS = {"$add": ["$metrics.likes", "$metrics.comments", "$metrics.shares", "$metrics.saves"]}


@asynccontextmanager
async def other_runtime(data_dir: Path) -> AsyncIterator[Runtime]:
    """A second, independent runtime (its own data dir, or its own test database)."""
    settings = make_settings(data_dir)
    runtime = await Runtime.open(settings)
    try:
        yield runtime
    finally:
        if TEST_MONGODB_URI:
            await runtime.db.client.drop_database(settings.mongodb_database)
        await runtime.close()


async def aggregate(runtime: Runtime, collection: str, org_id: str, pipeline: list) -> list:
    repo = TenantRepository(runtime.db, {"analytics": Analytics, "posts": Post}[collection])
    return await repo.aggregate(ObjectId(org_id), pipeline)


def local_day(days_ago: int) -> datetime:
    """Local midnight ``days_ago`` days before NOW's local date, as UTC."""
    today = NOW.astimezone(TZ).date()
    day = today - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, tzinfo=TZ).astimezone(UTC)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def read(path: Path) -> str:
    return path.read_text().strip()


@pytest.fixture
async def demo(runtime: Runtime) -> DemoSummary:
    return await seed_demo(runtime, now=NOW)


# --- shape, tenancy, idempotency -------------------------------------------------------------


async def test_counts_and_tenancy(runtime: Runtime, demo: DemoSummary) -> None:
    org_id = ObjectId(demo.organization_id)
    assert demo.created
    assert (demo.slug, demo.admin_email) == (DEMO_SLUG, ADMIN_EMAIL)
    assert (demo.users, demo.social_accounts) == (3, 5)
    assert 330 <= demo.posts <= 450
    assert demo.analytics >= demo.posts - 20  # one per (published post, platform)
    for name in SEEDED:
        collection = runtime.db[name]
        assert await collection.count_documents({"organizationId": org_id}) == getattr(demo, name)
        assert await collection.count_documents({"organizationId": {"$ne": org_id}}) == 0

    org = await OrganizationAdmin(runtime.db).get_by_slug(DEMO_SLUG)
    assert org is not None
    assert org.id == org_id
    assert org.settings.timezone == TIMEZONE
    assert "cheap" in org.settings.banned_terms
    assert "coffee" in (org.settings.industry or "")

    roles = {u["role"] async for u in runtime.db.users.find({"organizationId": org_id})}
    assert roles == {"admin", "manager", "viewer"}
    async for account in runtime.db.social_accounts.find({"organizationId": org_id}):
        assert account["accountInfo"]["platformId"].startswith("sandbox-")
        assert account["settings"]["contentFilters"] == {"sandbox": True}
        assert "accessToken" not in account["authentication"]
        assert account["metrics"]["totalPosts"] > 0
    assert {a["platform"] async for a in runtime.db.social_accounts.find({})} == set(PROFILES)


async def test_posts_are_valid_and_consistent(runtime: Runtime, demo: DemoSummary) -> None:
    org_id = ObjectId(demo.organization_id)
    posts = await TenantRepository(runtime.db, Post).find(org_id)
    by_status: dict[str, list[Post]] = {}
    for post in posts:
        by_status.setdefault(post.scheduling.status, []).append(post)
        text = post.content.text.lower()
        assert not any(term in text for term in BANNED_TERMS), post.content.text
        for target in post.platforms:
            assert len(post.content.text) <= PROFILES[target.platform].max_length
    assert len(by_status["draft"]) == 3
    assert 5 <= len(by_status["scheduled"]) <= 14
    assert all(p.scheduling.scheduled_at > NOW for p in by_status["scheduled"])  # type: ignore[operator]
    published = by_status["published"]
    assert all(NOW - timedelta(days=91) < p.scheduling.published_at < NOW for p in published)  # type: ignore[operator]
    assert any(p.content.links for p in published)
    assert any(p.content.mentions for p in published)
    assert any("?" in p.content.text for p in published)
    assert {p.content.content_type for p in published} == {
        "text",
        "image",
        "video",
        "carousel",
        "link",
    }

    # performance is the sum of the post's analytics documents
    totals = await aggregate(
        runtime,
        "analytics",
        demo.organization_id,
        [{"$group": {"_id": "$postId", "likes": {"$sum": "$metrics.likes"}, "n": {"$sum": 1}}}],
    )
    likes = {row["_id"]: row["likes"] for row in totals}
    assert set(likes) == {p.id for p in published}
    assert all(p.performance.like_count == likes[p.id] for p in published)
    assert sum(row["n"] for row in totals) == demo.analytics


async def test_timedata_buckets_are_utc(runtime: Runtime, demo: DemoSummary) -> None:
    docs = await TenantRepository(runtime.db, Analytics).find(ObjectId(demo.organization_id))
    for doc in docs:
        at, buckets = doc.time_data.recorded_at, doc.time_data
        assert (buckets.hour_bucket, buckets.day_of_week) == (at.hour, at.weekday())
        assert buckets.date_bucket == datetime(at.year, at.month, at.day, tzinfo=UTC)
        assert buckets.quarter == (at.month - 1) // 3 + 1
        m = doc.metrics
        assert m.engagement_rate == round((m.likes + m.comments + m.shares + m.saves) / m.reach, 5)


async def test_same_seed_same_data(runtime: Runtime, demo: DemoSummary, tmp_path: Path) -> None:
    async def metrics(rt: Runtime, org_id: str) -> list[tuple]:
        docs = await TenantRepository(rt.db, Analytics).find(
            ObjectId(org_id), sort=[("timeData.recordedAt", 1), ("platform", 1)]
        )
        return [(d.time_data.recorded_at, d.platform, d.metrics.model_dump()) for d in docs]

    first = await metrics(runtime, demo.organization_id)
    async with other_runtime(tmp_path / "same") as rt:
        again = await seed_demo(rt, now=NOW)
        assert again.created
        assert again.organization_id != demo.organization_id
        assert await metrics(rt, again.organization_id) == first
    async with other_runtime(tmp_path / "different") as rt:
        other = await seed_demo(rt, seed=7, now=NOW)
        assert await metrics(rt, other.organization_id) != first


async def test_second_run_creates_nothing(runtime: Runtime, demo: DemoSummary) -> None:
    again = await seed_demo(runtime, now=NOW + timedelta(days=3))
    assert not again.created
    assert again.organization_id == demo.organization_id
    assert again.admin_password == demo.admin_password
    counts = ("users", "social_accounts", "posts", "analytics")
    assert [getattr(again, c) for c in counts] == [getattr(demo, c) for c in counts]
    for name in counts:
        assert await runtime.db[name].count_documents({}) == getattr(demo, name)
    assert await runtime.db.organizations.count_documents({}) == 1


async def test_unfinished_seed_is_redone(runtime: Runtime, demo: DemoSummary) -> None:
    org_id = ObjectId(demo.organization_id)
    # As if a run had stopped before writing users, long enough ago not to be in progress.
    await runtime.db.users.delete_many({"organizationId": org_id})
    await runtime.db.organizations.update_one(
        {"_id": org_id}, {"$set": {"updatedAt": datetime.now(UTC) - timedelta(hours=1)}}
    )
    again = await seed_demo(runtime, now=NOW)
    assert again.created
    assert again.organization_id == demo.organization_id
    for name in SEEDED:
        assert await runtime.db[name].count_documents({}) == getattr(demo, name)


async def test_concurrent_seeders_make_one_organization(runtime: Runtime) -> None:
    # Several replicas started with `serve --seed-demo` against one database.
    first, second = await asyncio.gather(seed_demo(runtime, now=NOW), seed_demo(runtime, now=NOW))
    assert sorted([first.created, second.created]) == [False, True]
    assert first.organization_id == second.organization_id
    assert first.admin_password == second.admin_password
    assert await runtime.db.organizations.count_documents({}) == 1
    assert await runtime.db.posts.count_documents({}) == first.posts == second.posts


async def test_recent_unfinished_seed_is_waited_for(
    runtime: Runtime, demo: DemoSummary, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Users missing but the organization just touched: another seeder may still be at work,
    # so the call waits out the grace period before taking over.
    monkeypatch.setattr(demo_seed, "IN_PROGRESS_GRACE", timedelta(seconds=1.5))
    org_id = ObjectId(demo.organization_id)
    await runtime.db.users.delete_many({"organizationId": org_id})
    await runtime.db.organizations.update_one(
        {"_id": org_id}, {"$set": {"updatedAt": datetime.now(UTC)}}
    )
    started = time.monotonic()
    again = await seed_demo(runtime, now=NOW)
    assert time.monotonic() - started >= 1.0
    assert again.created
    assert await runtime.db.posts.count_documents({}) == demo.posts


# --- the admin password ------------------------------------------------------------------------


async def test_password_file(runtime: Runtime, demo: DemoSummary) -> None:
    path = Path(demo.password_file)
    assert path == runtime.settings.data_dir / "secrets" / "demo-admin-password"
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert read(path) == demo.admin_password
    assert len(demo.admin_password) >= 20
    assert demo.admin_password not in repr(demo)

    user = await OrganizationAdmin(runtime.db).find_user_by_email(ADMIN_EMAIL)
    assert user is not None
    assert user.role == "admin"
    assert str(user.organization_id) == demo.organization_id
    assert verify_password(user.password_hash, demo.admin_password)
    others = await TenantRepository(runtime.db, User).find(
        user.organization_id, {"role": {"$ne": "admin"}}
    )
    assert not any(verify_password(u.password_hash, demo.admin_password) for u in others)


async def test_missing_password_file_gets_a_new_password(
    runtime: Runtime, demo: DemoSummary
) -> None:
    os.unlink(demo.password_file)
    again = await seed_demo(runtime)
    assert not again.created
    assert again.admin_password != demo.admin_password
    assert read(Path(again.password_file)) == again.admin_password
    assert mode(Path(again.password_file)) == 0o600
    user = await OrganizationAdmin(runtime.db).find_user_by_email(ADMIN_EMAIL)
    assert user is not None
    assert verify_password(user.password_hash, again.admin_password)
    assert not verify_password(user.password_hash, demo.admin_password)


async def test_progress_is_reported(runtime: Runtime) -> None:
    seen: dict[str, tuple[int, int]] = {}
    summary = await seed_demo(
        runtime, now=NOW, days=20, progress=lambda s, d, t: seen.__setitem__(s, (d, t))
    )
    assert seen["generate"] == (20, 20)
    assert seen["posts"] == (summary.posts, summary.posts)
    assert seen["analytics"] == (summary.analytics, summary.analytics)


# --- the planted facts, found with aggregation pipelines -------------------------------------


async def _windows(runtime: Runtime, org_id: str, platform: str) -> dict[int, list[float]]:
    """Engagement rates per 2-hour local window (windows with at least 5 posts)."""
    hour = {"$hour": {"date": "$timeData.recordedAt", "timezone": TIMEZONE}}
    rows = await aggregate(
        runtime,
        "analytics",
        org_id,
        [
            {"$match": {"platform": platform}},
            {"$project": {"hour": hour, "rate": "$metrics.engagementRate"}},
            {"$project": {"window": {"$subtract": ["$hour", {"$mod": ["$hour", 2]}]}, "rate": 1}},
            {"$group": {"_id": "$window", "rates": {"$push": "$rate"}}},
        ],
    )
    return {r["_id"]: r["rates"] for r in rows if len(r["rates"]) >= 5}


async def test_best_instagram_window(runtime: Runtime, demo: DemoSummary) -> None:
    windows = await _windows(runtime, demo.organization_id, "instagram")
    planted = PLANTED["best_hours"]["instagram"]["local_hours"][0]
    # Found by the mean an $avg would give, and by the median, so the viral post in the
    # window is not what makes it win.
    for summary in (statistics.mean, statistics.median):
        rates = {w: summary(r) for w, r in windows.items()}
        assert max(rates, key=rates.__getitem__) == planted == 18
        runner_up = max(rate for window, rate in rates.items() if window != planted)
        assert rates[planted] > 1.3 * runner_up


async def test_best_linkedin_window(runtime: Runtime, demo: DemoSummary) -> None:
    windows = await _windows(runtime, demo.organization_id, "linkedin")
    planted = PLANTED["best_hours"]["linkedin"]["local_hours"][0]
    for summary in (statistics.mean, statistics.median):
        rates = {w: summary(r) for w, r in windows.items()}
        assert max(rates, key=rates.__getitem__) == planted == 8
        rest = summary([x for w, r in windows.items() if w != planted for x in r])
        assert rates[planted] > 1.2 * rest


async def test_weekly_rhythm(runtime: Runtime, demo: DemoSummary) -> None:
    # $dayOfWeek: 1 = Sunday ... 7 = Saturday, in the brand's time zone.
    day = {"$dayOfWeek": {"date": "$timeData.recordedAt", "timezone": TIMEZONE}}
    rows = await aggregate(
        runtime,
        "analytics",
        demo.organization_id,
        [
            {"$match": {"platform": {"$in": ["instagram", "linkedin"]}}},
            {"$project": {"platform": 1, "day": day, "rate": "$metrics.engagementRate"}},
            {"$group": {"_id": {"p": "$platform", "d": "$day"}, "rates": {"$push": "$rate"}}},
        ],
    )

    def median(platform: str, days: set[int]) -> float:
        # Medians (in Python: $median needs MongoDB 7 and the embedded engine lacks it) keep
        # the planted viral posts from deciding a weekday comparison.
        return statistics.median(
            rate
            for r in rows
            if r["_id"]["p"] == platform and r["_id"]["d"] in days
            for rate in r["rates"]
        )

    weekend, weekdays = {1, 7}, {2, 3, 4, 5, 6}
    assert median("instagram", weekend) > 1.25 * median("instagram", weekdays)
    assert median("linkedin", weekend) < 0.6 * median("linkedin", weekdays)
    assert median("linkedin", {3, 4, 5}) > 1.05 * median("linkedin", {2, 6})  # Tue-Thu; Mon, Fri


async def test_platform_differences(runtime: Runtime, demo: DemoSummary) -> None:
    rows = await aggregate(
        runtime,
        "analytics",
        demo.organization_id,
        [
            {
                "$group": {
                    "_id": "$platform",
                    "rate": {"$avg": "$metrics.engagementRate"},
                    "reach": {"$avg": "$metrics.reach"},
                }
            }
        ],
    )
    by_rate = [r["_id"] for r in sorted(rows, key=lambda r: -r["rate"])]
    by_reach = [r["_id"] for r in sorted(rows, key=lambda r: -r["reach"])]
    assert by_rate == PLANTED["platform_engagement_rate_order"]
    assert by_reach == PLANTED["platform_reach_order"]


async def test_media_effect(runtime: Runtime, demo: DemoSummary) -> None:
    # Single-network posts, so the post's engagementScore is that network's engagement rate.
    rows = await aggregate(
        runtime,
        "posts",
        demo.organization_id,
        [
            {"$match": {"scheduling.status": "published", "platforms": {"$size": 1}}},
            {"$unwind": "$platforms"},
            {
                "$group": {
                    "_id": {"p": "$platforms.platform", "t": "$content.contentType"},
                    "scores": {"$push": "$performance.engagementScore"},
                }
            },
        ],
    )
    # Each score against the median image post of its network, then pooled per content type:
    # the lift of each format over an image, with every network on its own scale. Medians keep
    # the viral posts from deciding. TikTok is left out: it only has video.
    image = {
        r["_id"]["p"]: statistics.median(r["scores"]) for r in rows if r["_id"]["t"] == "image"
    }
    lifts: dict[str, list[float]] = {}
    for r in rows:
        if r["_id"]["p"] in image:
            norm = image[r["_id"]["p"]]
            lifts.setdefault(r["_id"]["t"], []).extend(x / norm for x in r["scores"])
    lift = {t: statistics.median(xs) for t, xs in lifts.items()}
    # PLANTED["media_effect_order"]: video, carousel > image > link, text
    assert min(lift["video"], lift["carousel"]) > 1.15
    assert max(lift["link"], lift["text"]) < 0.9


async def test_trending_hashtag(runtime: Runtime, demo: DemoSummary) -> None:
    surge = PLANTED["trending_hashtag"]["surge_last_days"]
    cutoff = local_day(surge)
    rows = await aggregate(
        runtime,
        "posts",
        demo.organization_id,
        [
            {"$match": {"scheduling.status": "published", "content.hashtags": TRENDING_HASHTAG}},
            {
                "$group": {
                    "_id": {"$gte": ["$scheduling.publishedAt", cutoff]},
                    "n": {"$sum": 1},
                }
            },
        ],
    )
    count = {r["_id"]: r["n"] for r in rows}
    recent_rate, earlier_rate = count[True] / surge, count.get(False, 0) / (90 - surge)
    assert count[True] >= 15
    assert recent_rate > 5 * earlier_rate

    # Rising engagement: each tagged post's rate against its platform's median, early vs surge.
    docs = await TenantRepository(runtime.db, Analytics).find(ObjectId(demo.organization_id))
    tagged = {
        p.id
        for p in await TenantRepository(runtime.db, Post).find(
            ObjectId(demo.organization_id), {"content.hashtags": TRENDING_HASHTAG}
        )
    }
    median = {
        p: statistics.median(d.metrics.engagement_rate for d in docs if d.platform == p)
        for p in PROFILES
    }
    relative = [
        (d.time_data.recorded_at >= cutoff, d.metrics.engagement_rate / median[d.platform])
        for d in docs
        if d.post_id in tagged
    ]
    in_surge = statistics.mean(r for recent, r in relative if recent)
    before = statistics.mean(r for recent, r in relative if not recent)
    assert in_surge > 1.2 * before


async def test_negative_spike(runtime: Runtime, demo: DemoSummary) -> None:
    local = {"date": "$timeData.recordedAt", "timezone": TIMEZONE}
    rows = await aggregate(
        runtime,
        "analytics",
        demo.organization_id,
        [
            {
                "$group": {
                    "_id": {
                        "y": {"$year": local},
                        "m": {"$month": local},
                        "d": {"$dayOfMonth": local},
                    },
                    "sentiment": {"$avg": "$metrics.sentimentScore"},
                    "comments": {"$sum": "$metrics.comments"},
                    "engagements": {"$sum": ENGAGEMENTS},
                }
            }
        ],
    )
    for row in rows:
        row["share"] = row["comments"] / row["engagements"]
    incident = {
        (d.year, d.month, d.day)
        for d in (
            NOW.astimezone(TZ).date() - timedelta(days=n) for n in PLANTED["incident"]["days_ago"]
        )
    }
    key = lambda r: (r["_id"]["y"], r["_id"]["m"], r["_id"]["d"])  # noqa: E731
    worst = sorted(rows, key=lambda r: r["sentiment"])[: len(incident)]
    assert {key(r) for r in worst} == incident
    assert all(r["sentiment"] < 0 for r in worst)
    assert all(r["sentiment"] > 0 for r in rows if key(r) not in incident)
    typical_share = statistics.median(r["share"] for r in rows)
    assert all(r["share"] > 3 * typical_share for r in rows if key(r) in incident)

    # ... and the brand said what happened, in posts an agent can search.
    notices = await TenantRepository(runtime.db, Post).find(
        ObjectId(demo.organization_id),
        {"content.text": {"$regex": "delivery delay", "$options": "i"}},
    )
    assert notices
    assert all(local_day(21) <= p.scheduling.published_at < local_day(18) for p in notices)  # type: ignore[operator]


async def test_viral_outliers(runtime: Runtime, demo: DemoSummary) -> None:
    rows = await aggregate(
        runtime,
        "analytics",
        demo.organization_id,
        [
            {"$project": {"platform": 1, "at": "$timeData.recordedAt", "eng": ENGAGEMENTS}},
            {"$sort": {"eng": -1}},
            {
                "$group": {
                    "_id": "$platform",
                    "top_at": {"$first": "$at"},
                    "top": {"$first": "$eng"},
                    "all": {"$push": "$eng"},
                }
            },
        ],
    )
    by_platform = {r["_id"]: r for r in rows}
    for viral in PLANTED["viral_posts"]:
        row = by_platform[viral["platform"]]
        day = local_day(viral["days_ago"])
        assert day <= row["top_at"].replace(tzinfo=UTC) < day + timedelta(days=1), viral
        assert row["top"] >= 6 * statistics.median(row["all"]), viral
