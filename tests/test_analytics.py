"""Analytics queries and their LangChain tools: the demo's planted facts, exact arithmetic on a
small hand-built tenant, tenancy, and the tool wrappers.

One runtime is seeded once for the module (the demo org A, the hand-built org B) and shared;
no test here writes to it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import pytest_asyncio
from bson import ObjectId
from support import TEST_MONGODB_URI, isolated_environment, make_settings, run_context, with_runtime

from chorus.runtime import Runtime
from persistence.models import Analytics, CompetitorAnalysis, Post
from persistence.models.analytics import (
    Competitor,
    CompetitorContent,
    CompetitorMetrics,
    Metrics,
    TimeData,
)
from persistence.models.content import PlatformTarget, PostContent, Scheduling
from persistence.repository import TenantRepository
from services.demo import PLANTED, seed_demo
from services.demo.planted import TIMEZONE, TRENDING_HASHTAG, VIRAL_POSTS
from tools.analytics import (
    ANALYTICS_TOOLS,
    competitor_benchmarks,
    daily_series,
    engagement_by_weekday_hour,
    hashtag_stats,
    metric_summary,
    robust_z,
    top_posts,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
NY = ZoneInfo(TIMEZONE)
TOOLS = {t.name: t for t in ANALYTICS_TOOLS}


@dataclass
class World:
    runtime: Runtime
    a: ObjectId  # the demo organization
    b: ObjectId  # a small hand-built organization
    a_post: Post  # one of A's posts, which B's forged analytics document points at


# --- building the data ------------------------------------------------------------------------


def make_post(
    org: ObjectId,
    at: datetime,
    metrics: dict[str, dict[str, int]],
    *,
    text: str = "hello",
    hashtags: list[str] | None = None,
    post_id: ObjectId | None = None,
) -> tuple[Post, list[Analytics]]:
    """A published post with one analytics document per platform in ``metrics``."""
    post = Post(
        id=post_id or ObjectId(),
        organization_id=org,
        content=PostContent(text=text, hashtags=hashtags or []),
        scheduling=Scheduling(status="published", published_at=at),
        platforms=[
            PlatformTarget(social_account_id=ObjectId(), platform=p, status="published")  # type: ignore[arg-type]
            for p in metrics
        ],
    )
    docs = [
        Analytics(
            organization_id=org,
            post_id=post.id,
            platform=platform,  # type: ignore[arg-type]
            metrics=Metrics(**counts),
            time_data=time_data(at),
        )
        for platform, counts in metrics.items()
    ]
    return post, docs


def time_data(at: datetime) -> TimeData:
    return TimeData(
        recorded_at=at,
        date_bucket=datetime(at.year, at.month, at.day, tzinfo=UTC),
        hour_bucket=at.hour,
        day_of_week=at.weekday(),
        month=at.month,
        quarter=(at.month - 1) // 3 + 1,
    )


def m(likes: int, comments: int, shares: int, saves: int, reach: int, **rest: int) -> dict:
    return dict(likes=likes, comments=comments, shares=shares, saves=saves, reach=reach, **rest)


async def build_org_b(db: Any, b: ObjectId, a_post: Post) -> None:
    """Exact numbers for the period-over-period arithmetic (see test_metric_summary_arithmetic)."""
    d = timedelta(days=1)
    built = [
        # current 7 days
        make_post(
            b,
            NOW - 1 * d,
            {
                "instagram": m(100, 10, 5, 5, 1000, impressions=1500, clicks=10),
                "facebook": m(10, 0, 0, 0, 100, impressions=100),
            },
            hashtags=["#Foo", "#bar"],
            text="B's best " + "x" * 300,
        ),
        make_post(
            b,
            NOW - 3 * d,
            {"instagram": m(60, 20, 10, 10, 500, impressions=800, clicks=5)},
            hashtags=["foo"],
        ),
        make_post(b, NOW - 2 * d, {"twitter": m(8, 2, 0, 0, 200, impressions=300, clicks=1)}),
        make_post(b, NOW - 4 * d, {"twitter": m(5, 0, 0, 0, 0)}),  # no reach: no rate
        # previous 7 days
        make_post(
            b,
            NOW - 10 * d,
            {"instagram": m(80, 10, 5, 5, 1000, impressions=1200, clicks=8)},
            hashtags=["#foo"],
        ),
        # outside both
        make_post(b, NOW - 20 * d, {"instagram": m(9000, 900, 90, 9, 10000)}),
    ]
    posts = [p for p, _ in built]
    docs = [d for _, ds in built for d in ds]
    # A forged analytics document of B pointing at A's post: B must never see A's text or tags.
    forged = Analytics(
        organization_id=b,
        post_id=a_post.id,
        platform="tiktok",
        metrics=Metrics(**m(1, 1, 1, 1, 10)),
        time_data=time_data(NOW - 25 * d),
    )
    await TenantRepository(db, Post).insert_many(b, posts)
    await TenantRepository(db, Analytics).insert_many(b, [*docs, forged])


async def build_competitors(db: Any, a: ObjectId) -> None:
    def analysis(name: str, platform: str, handle: str, when: datetime, **metrics: Any):
        content = metrics.pop("content", {})
        return CompetitorAnalysis(
            organization_id=a,
            competitor=Competitor(name=name, platform=platform, handle=handle),  # type: ignore[arg-type]
            metrics=CompetitorMetrics(**metrics),
            content=CompetitorContent(**content),
            last_analyzed=when,
        )

    docs = [
        # An older analysis of the same competitor: the latest one must win.
        analysis(
            "Blue Bottle", "instagram", "@bluebottle", NOW - timedelta(days=40), post_frequency=1.0
        ),
        analysis(
            "Blue Bottle",
            "instagram",
            "@bluebottle",
            NOW - timedelta(days=2),
            follower_count=96_400,
            avg_engagement=0.02,
            post_frequency=40.0,
            content={
                "hashtag_usage": ["#ColdBrew", "#pourover", "coffeetime"],
                "content_types": {"video": 30, "image": 10},
            },
        ),
        # avgEngagement given as a percentage
        analysis(
            "Stumptown",
            "tiktok",
            "stumptowncoffee",
            NOW - timedelta(days=1),
            follower_count=10_000,
            avg_engagement=6.5,
            post_frequency=2.0,
        ),
    ]
    await TenantRepository(db, CompetitorAnalysis).insert_many(a, docs)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    with isolated_environment():
        settings = make_settings(tmp_path_factory.mktemp("analytics") / "data")
        runtime = await Runtime.open(settings)
    try:
        demo = await seed_demo(runtime, now=NOW)
        a, b = ObjectId(demo.organization_id), ObjectId()
        [a_post] = await TenantRepository(runtime.db, Post).find(
            a, {"scheduling.status": "published"}, limit=1
        )
        await build_org_b(runtime.db, b, a_post)
        await build_competitors(runtime.db, a)
        yield World(runtime, a, b, a_post)
    finally:
        if TEST_MONGODB_URI:
            await runtime.db.client.drop_database(settings.mongodb_database)
        await runtime.close()


def local_day(days_ago: int) -> date:
    return NOW.astimezone(NY).date() - timedelta(days=days_ago)


# --- weekday / hour ---------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["instagram", "linkedin"])
async def test_best_hours_are_the_planted_ones(world: World, platform: str) -> None:
    profile = await engagement_by_weekday_hour(
        world.runtime.db, world.a, timezone=TIMEZONE, platform=platform, now=NOW
    )
    planted = PLANTED["best_hours"][platform]["local_hours"]
    assert {s.hour for s in profile.best_hours[:2]} == set(planted)
    assert profile.best[0].hour in planted
    strong = PLANTED["weekly"][platform]["strong_days"]
    assert {s.weekday for s in profile.best_weekdays[: len(strong)]} == set(strong)
    assert all(s.posts >= profile.min_posts for s in profile.best)


async def test_grid_matches_a_python_count_in_local_time(world: World) -> None:
    """$dayOfWeek (1 = Sunday) and $hour in the timezone land in the right cells."""
    db = world.runtime.db
    profile = await engagement_by_weekday_hour(db, world.a, timezone=TIMEZONE, now=NOW)
    docs = await TenantRepository(db, Analytics).find(
        world.a, {"timeData.recordedAt": {"$gte": NOW - timedelta(days=90), "$lt": NOW}}
    )
    expected = Counter(
        (
            d.time_data.recorded_at.astimezone(NY).weekday(),
            d.time_data.recorded_at.astimezone(NY).hour,
        )
        for d in docs
    )
    got = Counter({(c.weekday, c.hour): c.posts for c in profile.cells if c.posts})
    assert got == expected
    assert len(profile.cells) == 7 * 24
    assert profile.posts == len(docs)
    assert sum(s.posts for s in profile.by_hour) == sum(s.posts for s in profile.by_weekday)
    # the cell's mean rate is the mean of its posts' rates
    cell = profile.best[0]
    rates = [
        d.metrics.engagement_rate
        for d in docs
        if (
            d.time_data.recorded_at.astimezone(NY).weekday(),
            d.time_data.recorded_at.astimezone(NY).hour,
        )
        == (cell.weekday, cell.hour)
    ]
    assert cell.engagement_rate == pytest.approx(float(np.mean(rates)), abs=1e-4)
    assert profile.cell(cell.weekday, cell.hour) == cell  # type: ignore[arg-type]


async def test_other_timezones_shift_the_hours(world: World) -> None:
    db = world.runtime.db
    ny = await engagement_by_weekday_hour(
        db, world.a, timezone=TIMEZONE, platform="instagram", now=NOW
    )
    utc = await engagement_by_weekday_hour(
        db, world.a, timezone="UTC", platform="instagram", now=NOW
    )
    assert ny.posts == utc.posts
    # 18:00-19:59 in New York is 22:00-00:59 UTC (EDT or EST)
    assert {s.hour for s in utc.best_hours[:2]} <= {22, 23, 0}


async def test_invalid_timezone_is_named(world: World) -> None:
    with pytest.raises(ValueError, match="Mars/Olympus_Mons"):
        await engagement_by_weekday_hour(world.runtime.db, world.a, timezone="Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="unknown platform 'myspace'"):
        await engagement_by_weekday_hour(
            world.runtime.db, world.a, timezone="UTC", platform="myspace"
        )


# --- top posts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_ago", "platform", "content_type", "hour", "mult", "theme"), VIRAL_POSTS
)
async def test_viral_posts_top_their_platform(
    world: World,
    days_ago: int,
    platform: str,
    content_type: str,
    hour: int,
    mult: float,
    theme: str,
) -> None:
    [top] = await top_posts(
        world.runtime.db, world.a, days=90, platform=platform, n=1, rank_by="engagements", now=NOW
    )
    local = top.published_at.astimezone(NY)  # type: ignore[union-attr]
    assert (local.date(), local.hour) == (local_day(days_ago), hour)
    assert top.content_type == content_type
    assert top.platform == platform
    assert top.engagements == top.likes + top.comments + top.shares + top.saves


async def test_top_and_worst_posts(world: World) -> None:
    db = world.runtime.db
    best = await top_posts(db, world.a, days=90, n=10, now=NOW)
    worst = await top_posts(db, world.a, days=90, n=10, worst=True, now=NOW)
    assert len(best) == len(worst) == 10
    rates = [p.engagement_rate for p in best]
    assert rates == sorted(rates, reverse=True)
    assert [p.engagement_rate for p in worst] == sorted(p.engagement_rate for p in worst)
    assert worst[0].engagement_rate < best[-1].engagement_rate
    # the Instagram and TikTok viral posts are among the highest rates of all
    viral = {(local_day(d), p) for d, p, *_ in VIRAL_POSTS if p in ("instagram", "tiktok")}
    found = {(p.published_at.astimezone(NY).date(), p.platform) for p in best[:5]}  # type: ignore[union-attr]
    assert viral <= found
    assert (best[0].published_at.astimezone(NY).date(), best[0].platform) in viral  # type: ignore[union-attr]
    for post in best:
        assert post.text
        assert len(post.text) <= 200
        assert post.engagement_rate == round(
            (post.likes + post.comments + post.shares + post.saves) / post.reach, 5
        )
    recent = await top_posts(db, world.a, days=7, platform="linkedin", n=100, now=NOW)
    assert recent
    assert all(p.platform == "linkedin" for p in recent)
    assert all(p.published_at >= NOW - timedelta(days=7) for p in recent)  # type: ignore[operator]


# --- metric summary ---------------------------------------------------------------------------


async def test_metric_summary_arithmetic(world: World) -> None:
    s = await metric_summary(world.runtime.db, world.b, days=7, now=NOW)
    assert (s.start, s.end) == (NOW - timedelta(days=7), NOW)
    assert (s.previous_start, s.previous_end) == (NOW - timedelta(days=14), NOW - timedelta(days=7))
    assert [p.platform for p in s.platforms] == ["facebook", "instagram", "twitter"]

    ig = s.platform("instagram")
    assert ig is not None
    cur, prev = ig.current, ig.previous
    assert (cur.posts, cur.likes, cur.comments, cur.shares, cur.saves) == (2, 160, 30, 15, 15)
    assert (cur.reach, cur.impressions, cur.clicks, cur.engagements) == (1500, 2300, 15, 220)
    assert cur.engagement_rate == round(220 / 1500, 5)
    assert (prev.posts, prev.likes, prev.reach, prev.engagements) == (1, 80, 1000, 100)
    assert prev.engagement_rate == 0.1
    assert ig.change["posts"] == 1
    assert ig.percent_change["posts"] == 100.0
    assert ig.change["likes"] == 80
    assert ig.percent_change["likes"] == 100.0
    assert ig.change["impressions"] == 1100
    assert ig.percent_change["impressions"] == round(1100 / 1200 * 100, 2)
    assert ig.change["engagement_rate"] == pytest.approx(220 / 1500 - 0.1, abs=1e-5)
    assert ig.percent_change["engagement_rate"] == pytest.approx(
        (220 / 1500 - 0.1) / 0.1 * 100, abs=0.01
    )

    tw = s.platform("twitter")
    assert tw is not None
    # the post without reach counts as a post and for its likes, not for the rate
    assert (tw.current.posts, tw.current.likes, tw.current.engagements) == (2, 13, 15)
    assert tw.current.engagement_rate == 0.05
    assert tw.previous.posts == 0
    assert tw.previous.engagement_rate is None
    assert tw.percent_change["posts"] is None
    assert tw.change["posts"] == 2
    assert tw.change["engagement_rate"] is None

    overall = s.overall
    assert overall.platform == "all"
    # four distinct posts (the Instagram post shared to Facebook counts once) ...
    assert (overall.current.posts, overall.previous.posts) == (4, 1)
    # ... while the counts add up over the platforms
    assert overall.current.engagements == 220 + 10 + 15
    assert overall.current.reach == 1800
    assert overall.current.engagement_rate == round(240 / 1800, 5)
    assert overall.percent_change["posts"] == 300.0


async def test_metric_summary_platform_filter_and_demo_totals(world: World) -> None:
    db = world.runtime.db
    s = await metric_summary(db, world.b, days=7, platforms=["twitter", "youtube"], now=NOW)
    assert [p.platform for p in s.platforms] == ["twitter", "youtube"]
    youtube = s.platform("youtube")
    assert youtube is not None
    assert youtube.current.posts == 0
    assert youtube.current.engagement_rate is None
    assert s.overall.current.posts == 2

    demo = await metric_summary(db, world.a, days=30, now=NOW)
    assert {p.platform for p in demo.platforms} == set(PLANTED["platform_reach_order"])
    for name in ("reach", "likes", "comments", "engagements"):
        assert getattr(demo.overall.current, name) == sum(
            getattr(p.current, name) for p in demo.platforms
        )
    rates = {p.platform: p.current.engagement_rate or 0 for p in demo.platforms}
    assert max(rates, key=rates.__getitem__) == "tiktok"
    assert min(rates, key=rates.__getitem__) == "twitter"
    with pytest.raises(ValueError, match="unknown platform"):
        await metric_summary(db, world.a, platforms=["friendster"])
    with pytest.raises(ValueError, match="days"):
        await metric_summary(db, world.a, days=0)


# --- daily series -----------------------------------------------------------------------------


async def test_incident_days_are_flagged(world: World) -> None:
    series = await daily_series(world.runtime.db, world.a, days=45, timezone=TIMEZONE, now=NOW)
    assert len(series.points) == 45
    assert series.points[-1].date == NOW.astimezone(NY).date()
    assert series.points[-1].partial
    assert not any(p.partial for p in series.points[:-1])
    incident = {local_day(d) for d in PLANTED["incident"]["days_ago"]}
    for day in incident:
        point = series.point(day)
        assert point is not None
        assert (
            point.flags.get("sentiment") == "dip"
            or point.flags.get("comments") == "spike"
            or point.flags.get("comment_rate") == "spike"
        ), point
    # the sentiment dips are exactly the incident days
    dips = {a.date for a in series.anomalies if a.metric == "sentiment" and a.direction == "dip"}
    assert dips == incident
    assert any(
        a.metric in ("comments", "comment_rate") and a.date in incident for a in series.anomalies
    )
    scores = [abs(a.robust_z) for a in series.anomalies]
    assert scores == sorted(scores, reverse=True)
    assert min(scores) >= 3.5


async def test_daily_series_totals(world: World) -> None:
    db = world.runtime.db
    series = await daily_series(db, world.b, days=14, timezone="UTC", platform="instagram", now=NOW)
    by_day = {p.date: p for p in series.points if p.posts}
    one = by_day[(NOW - timedelta(days=1)).date()]
    assert (one.posts, one.reach, one.engagements, one.comments) == (1, 1000, 120, 10)
    assert (one.engagement_rate, one.comment_rate) == (0.12, 0.01)
    assert sum(p.posts for p in series.points) == 3
    assert series.anomalies == []  # fewer than a week of active days: nothing to judge


async def test_robust_z() -> None:
    values = np.array([10.0, 11, 9, 10, 12, 10, 9, 11, 60])
    median, z = robust_z(values)  # type: ignore[misc]
    assert median == 10.0
    assert z[-1] > 3.5
    assert all(abs(z[:-1]) < 3.5)
    # MAD of 0 (most values equal): the mean absolute deviation stands in
    median, z = robust_z(np.array([5.0] * 8 + [50.0]))  # type: ignore[misc]
    assert median == 5.0
    assert z[-1] > 3.5
    assert robust_z(np.array([3.0] * 5)) is None


# --- hashtags ---------------------------------------------------------------------------------


async def test_trending_hashtag_surges(world: World) -> None:
    stats = await hashtag_stats(world.runtime.db, world.a, days=90, recent_days=14, now=NOW)
    by_tag = {s.tag: s for s in stats}
    trend = by_tag[TRENDING_HASHTAG]
    assert (trend.recent_days, trend.baseline_days) == (14, 76)
    assert trend.uses == trend.recent_uses + trend.baseline_uses
    assert trend.recent_per_day == pytest.approx(trend.recent_uses / 14, abs=1e-3)
    assert trend.baseline_per_day == pytest.approx(trend.baseline_uses / 76, abs=1e-3)
    assert trend.growth_ratio is not None
    assert trend.growth_ratio >= 4
    assert trend.recent_engagement_rate > trend.baseline_engagement_rate  # type: ignore[operator]
    assert trend.last_used_at is not None
    assert trend.last_used_at > NOW - timedelta(days=2)
    # the brand tag is steady
    steady = by_tag["#lumencoffee"]
    assert steady.growth_ratio is not None
    assert 0.5 < steady.growth_ratio < 2
    assert all(s.tag.startswith("#") and s.tag == s.tag.lower() for s in stats)


async def test_hashtags_merge_spellings_and_respect_windows(world: World) -> None:
    stats = await hashtag_stats(world.runtime.db, world.b, days=30, recent_days=7, now=NOW)
    by_tag = {s.tag: s for s in stats}
    # #Foo, foo (recent) and #foo (baseline) are one tag; A's tags (the forged row) are not here
    assert set(by_tag) == {"#foo", "#bar"}
    foo = by_tag["#foo"]
    assert (foo.recent_uses, foo.baseline_uses, foo.uses) == (2, 1, 3)
    # per post over its networks: (140+10)/1100 and 100/500
    assert foo.recent_engagement_rate == round((130 / 1100 + 100 / 500) / 2, 5)
    assert foo.baseline_engagement_rate == 0.1
    # all of B's posts per window, tagged or not (the forged row's post is not B's)
    assert (foo.recent_posts, foo.baseline_posts) == (4, 2)
    assert foo.growth_ratio == round((2 / 7) / (1 / 23), 3)
    assert by_tag["#bar"].growth_ratio is None  # no baseline use
    twitter = await hashtag_stats(
        world.runtime.db, world.b, days=30, recent_days=7, platform="twitter", now=NOW
    )
    assert twitter == []  # B's tweets carry no hashtags
    with pytest.raises(ValueError, match="recent_days"):
        await hashtag_stats(world.runtime.db, world.b, days=14, recent_days=14)


# --- competitors ------------------------------------------------------------------------------


async def test_competitor_benchmarks(world: World) -> None:
    db = world.runtime.db
    result = await competitor_benchmarks(
        db, world.a, competitors=["blue bottle", "@StumptownCoffee", "Nobody Roasters"], now=NOW
    )
    assert result.missing == ["Nobody Roasters"]
    by_name = {c.competitor.name: c for c in result.comparisons}
    assert set(by_name) == {"Blue Bottle", "Stumptown"}

    blue = by_name["Blue Bottle"]
    own_summary = await metric_summary(db, world.a, days=30, platforms=["instagram"], now=NOW)
    own_ig = own_summary.platform("instagram")
    assert own_ig is not None
    assert blue.own.posts == own_ig.current.posts
    assert blue.own.engagement_rate == own_ig.current.engagement_rate
    assert blue.own.followers == 48_200  # the demo's Instagram account
    assert blue.own.posts_per_week == round(own_ig.current.posts / 30 * 7, 2)
    assert blue.competitor.posts_per_week == 40.0  # the latest analysis, not the older one
    assert blue.competitor.top_hashtags == ["#coldbrew", "#pourover", "#coffeetime"]
    assert blue.competitor.content_types == {"video": 0.75, "image": 0.25}
    gaps = {g.metric: g for g in blue.gaps}
    freq = gaps["posts_per_week"]
    assert freq.leader == "competitor"
    assert freq.ratio == round(40.0 / blue.own.posts_per_week, 3)
    assert f"posts {freq.ratio:.1f}x more often than you on instagram" in freq.statement
    assert gaps["engagement_rate"].leader == "you"
    assert gaps["followers"].leader == "competitor"
    assert set(blue.shared_hashtags) <= set(blue.own.top_hashtags)
    assert not set(blue.competitor_only_hashtags) & set(blue.own.top_hashtags)
    assert set(blue.shared_hashtags) | set(blue.competitor_only_hashtags) == set(
        blue.competitor.top_hashtags
    )
    assert "content_type" in gaps
    assert "video" in gaps["content_type"].statement

    stump = by_name["Stumptown"]
    assert stump.competitor.engagement_rate == 0.065  # 6.5 read as a percentage
    assert stump.competitor.platform == stump.own.platform == "tiktok"

    everyone = await competitor_benchmarks(db, world.a, now=NOW)
    assert everyone.missing == []
    assert len(everyone.comparisons) == 2


async def test_competitor_names_match_whatever_the_spacing(world: World) -> None:
    result = await competitor_benchmarks(
        world.runtime.db, world.a, competitors=["blue  bottle", " BlueBottle "], now=NOW
    )
    assert result.missing == []
    assert [c.competitor.name for c in result.comparisons] == ["Blue Bottle"]


async def test_competitors_of_another_tenant_are_missing(world: World) -> None:
    result = await competitor_benchmarks(
        world.runtime.db, world.b, competitors=["Blue Bottle", "Stumptown"], now=NOW
    )
    assert result.comparisons == []
    assert result.missing == ["Blue Bottle", "Stumptown"]


# --- tenancy ----------------------------------------------------------------------------------


async def test_tenants_see_only_their_own_data(world: World) -> None:
    db = world.runtime.db
    b_posts = {p.id for p in await TenantRepository(db, Post).find(world.b)}
    best = await top_posts(db, world.b, days=30, n=100, now=NOW)
    assert {p.post_id for p in best} - {str(i) for i in b_posts} == {str(world.a_post.id)}
    forged = next(p for p in best if p.post_id == str(world.a_post.id))
    assert forged.text == ""
    assert forged.hashtags == []
    a_best = await top_posts(db, world.a, days=90, n=100, now=NOW)
    assert not {p.post_id for p in a_best} & {str(i) for i in b_posts}

    profile = await engagement_by_weekday_hour(db, world.b, timezone="UTC", now=NOW)
    assert profile.posts == 8  # B's analytics documents in 90 days, the forged one included
    empty = ObjectId()
    assert (await engagement_by_weekday_hour(db, empty, timezone="UTC", now=NOW)).posts == 0
    assert (await metric_summary(db, empty, now=NOW)).overall.current.posts == 0
    assert await hashtag_stats(db, empty, now=NOW) == []
    assert await top_posts(db, empty, now=NOW) == []
    series = await daily_series(db, empty, now=NOW)
    assert sum(p.posts for p in series.points) == 0
    assert series.anomalies == []


# --- LangChain tools --------------------------------------------------------------------------


def config(world: World, org: ObjectId) -> dict:
    return run_context(org, world.runtime, now=NOW)


async def test_tools_are_described_for_a_model() -> None:
    assert set(TOOLS) == {
        "best_posting_times",
        "top_posts",
        "performance_summary",
        "daily_metrics",
        "hashtag_stats",
        "competitor_benchmarks",
    }
    for t in ANALYTICS_TOOLS:
        schema = t.tool_call_schema.model_json_schema()
        assert "config" not in schema["properties"]
        assert not {"org_id", "organization_id", "db"} & set(schema["properties"])
        assert len(t.description) > 60
        assert all(p.get("description") for p in schema["properties"].values()), t.name


async def test_each_tool_runs_for_the_tenant_of_its_run_context(world: World) -> None:
    cfg = config(world, world.a)
    calls: dict[str, dict[str, Any]] = {
        "best_posting_times": {"platform": "instagram"},
        "top_posts": {"days": 90, "platform": "tiktok", "n": 3, "rank_by": "engagements"},
        "performance_summary": {"days": 30},
        "daily_metrics": {"days": 30},
        "hashtag_stats": {"days": 90, "recent_days": 14, "limit": 5},
        "competitor_benchmarks": {"competitors": ["Blue Bottle", "Ghost Cafe"]},
    }
    out = {name: await TOOLS[name].ainvoke(with_runtime(args, cfg)) for name, args in calls.items()}
    for result in out.values():
        assert isinstance(result, dict)
        json.dumps(result)  # JSON-serializable as returned

    best = out["best_posting_times"]
    assert best["timezone"] == TIMEZONE  # the organization's timezone by default
    assert {s["hour"] for s in best["best_hours"][:2]} == {18, 19}
    assert "cells" not in best
    tiktok_viral = local_day(next(d for d, p, *_ in VIRAL_POSTS if p == "tiktok"))
    first = out["top_posts"]["posts"][0]
    assert datetime.fromisoformat(first["published_at"]).astimezone(NY).date() == tiktok_viral
    assert len(out["top_posts"]["posts"]) == 3
    assert out["performance_summary"]["overall"]["platform"] == "all"
    incident = {str(local_day(d)) for d in PLANTED["incident"]["days_ago"]}
    assert incident <= {a["date"] for a in out["daily_metrics"]["anomalies"]}
    assert TRENDING_HASHTAG in [h["tag"] for h in out["hashtag_stats"]["hashtags"]]
    assert len(out["hashtag_stats"]["hashtags"]) == 5
    assert out["competitor_benchmarks"]["missing"] == ["Ghost Cafe"]

    grid = await TOOLS["best_posting_times"].ainvoke(
        with_runtime(
            {"platform": "linkedin", "timezone": "America/New_York", "include_grid": True}, cfg
        )
    )
    assert grid["cells"]
    assert all(c["posts"] for c in grid["cells"])
    assert {s["hour"] for s in grid["best_hours"][:2]} == {8, 9}


async def test_tools_never_cross_tenants(world: World) -> None:
    """Org B's config, whatever the arguments name: nothing of A comes back."""
    cfg = config(world, world.b)
    a_ids = {str(p.id) for p in await TenantRepository(world.runtime.db, Post).find(world.a)}
    a_ids.discard(str(world.a_post.id))  # the forged row of B points at this one, textless
    smuggled = {
        "organization_id": str(world.a),
        "org_id": str(world.a),
        "post_id": sorted(a_ids)[0],
    }

    top = await TOOLS["top_posts"].ainvoke(with_runtime({"days": 365, "n": 25, **smuggled}, cfg))
    assert top["posts"]
    assert not {p["post_id"] for p in top["posts"]} & a_ids
    assert all(not p["text"] for p in top["posts"] if p["post_id"] == str(world.a_post.id))
    summary = await TOOLS["performance_summary"].ainvoke(with_runtime({"days": 7, **smuggled}, cfg))
    assert summary["overall"]["current"]["posts"] == 4
    tags = await TOOLS["hashtag_stats"].ainvoke(with_runtime({"days": 30, "recent_days": 7}, cfg))
    assert {h["tag"] for h in tags["hashtags"]} == {"#foo", "#bar"}
    comp = await TOOLS["competitor_benchmarks"].ainvoke(
        with_runtime({"competitors": ["Blue Bottle", "@bluebottle"]}, cfg)
    )
    assert comp["comparisons"] == []
    # "Blue Bottle" and "@bluebottle" name one rival: missing once, as first written.
    assert comp["missing"] == ["Blue Bottle"]
    best = await TOOLS["best_posting_times"].ainvoke(with_runtime({"days": 365}, cfg))
    assert best["posts"] == 8
    assert best["timezone"] == "UTC"
    daily = await TOOLS["daily_metrics"].ainvoke(with_runtime({"days": 30}, cfg))
    assert sum(p["posts"] for p in daily["points"]) == 8


async def test_tool_errors_go_back_to_the_model(world: World) -> None:
    cfg = config(world, world.a)
    message = await TOOLS["best_posting_times"].ainvoke(
        with_runtime({"timezone": "Mars/Base"}, cfg)
    )
    assert isinstance(message, str)
    assert "Mars/Base" in message
    message = await TOOLS["hashtag_stats"].ainvoke(
        with_runtime({"days": 7, "recent_days": 14}, cfg)
    )
    assert "recent_days" in message
    message = await TOOLS["top_posts"].ainvoke(
        with_runtime({"days": 0, "platform": "myspace"}, cfg)
    )
    assert message.startswith("Invalid arguments")
    assert "days" in message
    assert "platform" in message
    # as a tool call from a model, the error comes back as the ToolMessage content
    reply = await TOOLS["daily_metrics"].ainvoke(
        with_runtime(
            {
                "type": "tool_call",
                "id": "c1",
                "name": "daily_metrics",
                "args": {"timezone": "Nowhere"},
            },
            cfg,
        )
    )
    assert reply.tool_call_id == "c1"
    assert "Nowhere" in reply.content
