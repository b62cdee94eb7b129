"""The analytics API against a hand-built organization whose every figure is known, the same
figures from the agents' tools, the organization's timezone, tenancy and bad input.

One app is opened for the module; the hand-built organization is only read. Tests that write
metrics register an organization of their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from api_support import add_member, api_client, assert_error_shape, bearer, register
from bson import ObjectId
from fastapi import FastAPI
from support import isolated_environment, make_settings, run_context, with_runtime

from persistence.models import Analytics, Organization, Post, SocialAccount
from persistence.models.analytics import Metrics, TimeData
from persistence.models.content import AccountInfo, PlatformTarget, PostContent, Scheduling
from persistence.repository import TenantRepository
from tools.analytics import ANALYTICS_TOOLS
from tools.analytics._common import Window
from tools.analytics.audience import record_audience
from tools.analytics.posts import trending_posts
from tools.importer import import_analytics

pytestmark = pytest.mark.asyncio(loop_scope="module")

NY = ZoneInfo("America/New_York")
TOOLS = {t.name: t for t in ANALYTICS_TOOLS}
JANUARY = {"from": "2026-01-01", "to": "2026-01-31"}
# Local midnight after January 31st in New York: the end of the period above.
END = datetime(2026, 2, 1, tzinfo=NY).astimezone(UTC)


@dataclass
class World:
    app: FastAPI
    client: httpx.AsyncClient
    org: ObjectId
    auth: dict[str, str]
    other_auth: dict[str, str]
    other_org: ObjectId
    ig: ObjectId  # the Instagram account
    x: ObjectId  # the X account
    posts: dict[str, ObjectId]


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY).astimezone(UTC)


def time_data(at: datetime) -> TimeData:
    return TimeData(
        recorded_at=at,
        date_bucket=datetime(at.year, at.month, at.day, tzinfo=UTC),
        hour_bucket=at.hour,
        day_of_week=at.weekday(),
        month=at.month,
        quarter=(at.month - 1) // 3 + 1,
    )


async def add_post(
    db: Any,
    org: ObjectId,
    at: datetime,
    targets: dict[ObjectId, tuple[str, dict[str, int]]],
    *,
    text: str,
    kind: str = "image",
) -> ObjectId:
    """A published post with one analytics document per (account: platform, metrics)."""
    post = Post(
        organization_id=org,
        content=PostContent(text=text, content_type=kind),  # type: ignore[arg-type]
        scheduling=Scheduling(status="published", published_at=at),
        platforms=[
            PlatformTarget(social_account_id=a, platform=p, status="published")  # type: ignore[arg-type]
            for a, (p, _) in targets.items()
        ],
    )
    await TenantRepository(db, Post).insert(post)
    docs = [
        Analytics(
            organization_id=org,
            post_id=post.id,
            social_account_id=account,
            platform=platform,  # type: ignore[arg-type]
            metrics=Metrics(**counts),
            time_data=time_data(at),
        )
        for account, (platform, counts) in targets.items()
    ]
    await TenantRepository(db, Analytics).insert_many(org, docs)
    return post.id


def m(likes: int, comments: int, shares: int, saves: int, reach: int, **rest: int) -> dict:
    return dict(likes=likes, comments=comments, shares=shares, saves=saves, reach=reach, **rest)


async def build(db: Any, org: ObjectId) -> tuple[ObjectId, ObjectId, dict[str, ObjectId]]:
    """The known truth (New York time; January 2026 is the period, December 2025 before it):

    p1  Mon Jan  5 10:00  instagram  70 engagements / 1000 reach (0.07)
    p2  Sat Jan 10 20:00  x          30 / 400 (0.075)  -- already January 11th in UTC
    p3  Sat Jan 31 23:30  instagram  10 / no reach      -- February 1st in UTC
    p4  Sun Feb  1 00:30  instagram  100 / 1000         -- after the period
    p5  Mon Dec 15 12:00  instagram  40 / 800 (0.05)    -- the previous period
    p6  Tue Jan 20 12:00  instagram 30 / 600 and x 10 / 200 (one post on two networks)
    """
    accounts = TenantRepository(db, SocialAccount)
    ig = SocialAccount(
        organization_id=org,
        platform="instagram",
        account_info=AccountInfo(platform_id="ig-1", username="acme.ig"),
    )
    x = SocialAccount(
        organization_id=org,
        platform="twitter",
        account_info=AccountInfo(platform_id="x-1", username="acme_x"),
    )
    await accounts.insert(ig)
    await accounts.insert(x)
    ig_m = dict(impressions=1500, clicks=7)
    posts = {
        "p1": await add_post(
            db,
            org,
            ny(2026, 1, 5, 10),
            {ig.id: ("instagram", m(50, 10, 5, 5, 1000, **ig_m))},
            text="p1",
        ),
        "p2": await add_post(
            db,
            org,
            ny(2026, 1, 10, 20),
            {x.id: ("twitter", m(20, 4, 6, 0, 400))},
            text="p2",
            kind="text",
        ),
        "p3": await add_post(
            db, org, ny(2026, 1, 31, 23, 30), {ig.id: ("instagram", m(10, 0, 0, 0, 0))}, text="p3"
        ),
        "p4": await add_post(
            db,
            org,
            ny(2026, 2, 1, 0, 30),
            {ig.id: ("instagram", m(100, 0, 0, 0, 1000))},
            text="p4",
        ),
        "p5": await add_post(
            db, org, ny(2025, 12, 15, 12), {ig.id: ("instagram", m(40, 0, 0, 0, 800))}, text="p5"
        ),
        "p6": await add_post(
            db,
            org,
            ny(2026, 1, 20, 12),
            {ig.id: ("instagram", m(30, 0, 0, 0, 600)), x.id: ("twitter", m(10, 0, 0, 0, 200))},
            text="p6",
            kind="video",
        ),
    }
    # Followers: Instagram 900 before the period, 1000 from the 15th; X 500 from the 5th.
    await record_audience(db, org, ig, followers=900, at=ny(2025, 12, 20, 9))
    await record_audience(
        db,
        org,
        ig,
        followers=1000,
        at=ny(2026, 1, 15, 9),
        demographics={"age": {"18-24": 0.4, "25-34": 0.6}, "gender": {"f": 0.55, "m": 0.45}},
    )
    await record_audience(db, org, x, followers=500, at=ny(2026, 1, 5, 9))
    return ig.id, x.id, posts


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    with isolated_environment():
        settings = make_settings(tmp_path_factory.mktemp("api-analytics") / "data")
        async with api_client(settings) as (app, client):
            ana = await register(client)
            ben = await register(client, email="ben@example.com", org="Ben Tea")
            org = ObjectId(ana["organization"]["id"])
            db = app.state.runtime.db
            await TenantRepository(db, Organization).update(
                org, org, {"settings.timezone": "America/New_York"}
            )
            ig, x, posts = await build(db, org)
            yield World(
                app,
                client,
                org,
                bearer(ana["accessToken"]),
                bearer(ben["accessToken"]),
                ObjectId(ben["organization"]["id"]),
                ig,
                x,
                posts,
            )


async def get(world: World, path: str, **params: Any) -> dict[str, Any]:
    response = await world.client.get(f"/api/analytics{path}", params=params, headers=world.auth)
    assert response.status_code == 200, response.text
    return response.json()


def tool_context(world: World, now: datetime) -> Any:
    return run_context(world.org, world.app.state.runtime, now=now)


# --- the figures ------------------------------------------------------------------------------


async def test_summary_figures_are_the_known_truth(world: World) -> None:
    body = await get(world, "/summary", **JANUARY)
    assert body["range"]["from"] == "2026-01-01"
    assert body["range"]["timezone"] == "America/New_York"
    assert body["range"]["start"] == "2026-01-01T00:00:00-05:00"
    overall = body["summary"]["overall"]
    # p1, p2, p3, p6 (one post on two networks): 4 posts, 5 rows.
    assert overall["current"]["posts"] == 4
    assert overall["current"]["likes"] == 120
    assert overall["current"]["engagements"] == 150
    assert overall["current"]["reach"] == 2200
    # p3 has no reach: its 10 engagements are left out of the rate.
    assert overall["current"]["engagement_rate"] == round(140 / 2200, 5)
    assert overall["previous"]["posts"] == 1
    assert overall["previous"]["engagement_rate"] == 0.05
    assert overall["change"]["engagements"] == 110
    by_platform = {p["platform"]: p["current"] for p in body["summary"]["platforms"]}
    assert by_platform["instagram"]["posts"] == 3
    assert by_platform["instagram"]["engagements"] == 110
    assert by_platform["instagram"]["engagement_rate"] == 0.0625
    assert by_platform["twitter"]["engagements"] == 40
    assert by_platform["twitter"]["engagement_rate"] == round(40 / 600, 5)


async def test_platforms_and_accounts_narrow_every_figure(world: World) -> None:
    only_x = await get(world, "/summary", accounts=str(world.x), **JANUARY)
    assert [p["platform"] for p in only_x["summary"]["platforms"]] == ["twitter"]
    assert only_x["summary"]["overall"]["current"]["engagements"] == 40
    assert only_x["range"]["accounts"] == [str(world.x)]
    ig = await get(world, "/engagement", platforms="instagram", **JANUARY)
    assert ig["totals"]["engagements"] == 110
    kinds = {k["kind"]: k for k in ig["breakdown"]}
    assert kinds["likes"]["count"] == 90
    assert kinds["likes"]["share"] == round(90 / 110, 4)
    both = await world.client.get(
        "/api/analytics/summary",
        params=[("platforms", "instagram"), ("platforms", "twitter"), *JANUARY.items()],
        headers=world.auth,
    )
    assert both.json()["summary"]["overall"]["current"]["engagements"] == 150


async def test_days_are_the_organizations_local_days(world: World) -> None:
    trends = await get(world, "/engagement/trends", **JANUARY)
    points = {p["date"]: p for p in trends["series"]["points"]}
    assert len(points) == 31
    # p2 went out at 20:00 on the 10th in New York (the 11th in UTC).
    assert points["2026-01-10"]["engagements"] == 30
    assert points["2026-01-11"]["engagements"] == 0
    # p3 (23:30 on the 31st) is in January; p4 (00:30 on February 1st) is not.
    assert points["2026-01-31"]["engagements"] == 10
    assert points["2026-01-31"]["engagement_rate"] is None
    assert sum(p["posts"] for p in points.values()) == 5
    optimal = await get(world, "/engagement/optimal", **JANUARY)
    assert optimal["profile"]["timezone"] == "America/New_York"
    by_hour = {s["hour"]: s for s in optimal["profile"]["by_hour"]}
    assert by_hour[20]["posts"] == 1  # p2, local 20:00
    assert by_hour[10]["engagements"] == 70  # p1, local 10:00
    monday = optimal["profile"]["by_weekday"][0]
    assert monday["posts"] == 1


async def test_posts_list_detail_top_and_trending(world: World) -> None:
    listed = await get(world, "/posts", sort="engagements", order="desc", limit=2, **JANUARY)
    assert listed["total"] == 5
    # 70 (p1), then a tie at 30 (p2, p6 on Instagram) broken by the older row.
    assert [r["post_id"] for r in listed["items"]] == [
        str(world.posts["p1"]),
        str(world.posts["p2"]),
    ]
    assert listed["items"][0]["published_at"] == "2026-01-05T10:00:00-05:00"
    page2 = await get(world, "/posts", sort="engagements", limit=2, offset=4, **JANUARY)
    assert [r["post_id"] for r in page2["items"]] == [str(world.posts["p6"])]  # x: 10

    top = await get(world, "/posts/top", n=3, **JANUARY)
    assert [p["post_id"] for p in top["posts"][:2]] == [
        str(world.posts["p2"]),
        str(world.posts["p1"]),
    ]
    assert top["posts"][0]["engagement_rate"] == 0.075

    detail = await get(world, f"/posts/{world.posts['p6']}")
    platforms = {p["platform"]: p for p in detail["post"]["platforms"]}
    assert platforms["instagram"]["engagements"] == 30
    assert platforms["twitter"]["reach"] == 200
    assert detail["post"]["totals"]["engagement_rate"] == 0.05
    assert detail["post"]["totals"]["reach"] == 800

    trending = await get(world, "/posts/trending", **JANUARY)
    velocities = [p["velocity"] for p in trending["posts"]]
    assert velocities == sorted(velocities, reverse=True)
    assert len(trending["posts"]) == 5


async def test_trending_is_engagements_per_hour_live(world: World) -> None:
    """As of local midnight after January: p3 is half an hour old (counted as one hour)."""
    db = world.app.state.runtime.db
    window = Window(ny(2026, 1, 1), END)
    posts = await trending_posts(db, world.org, period=window, now=END)
    got = [(p.post.post_id, p.post.platform, p.velocity) for p in posts]
    p = {k: str(v) for k, v in world.posts.items()}
    assert got == [
        (p["p3"], "instagram", 10.0),
        (p["p1"], "instagram", round(70 / 638, 5)),  # Jan 5 10:00 -> Feb 1 00:00: 638 h
        (p["p6"], "instagram", round(30 / 276, 5)),
        (p["p2"], "twitter", round(30 / 508, 5)),
        (p["p6"], "twitter", round(10 / 276, 5)),
    ]
    median = 30 / 276
    assert posts[0].lift == round(10 / median, 3)


async def test_audience_followers_growth_and_demographics(world: World) -> None:
    audience = (await get(world, "/audience", **JANUARY))["audience"]
    assert audience["followers"] == 1500
    accounts = {a["platform"]: a for a in audience["accounts"]}
    assert accounts["instagram"]["followers_at_start"] == 900
    assert accounts["instagram"]["change"] == 100
    assert accounts["twitter"]["change"] is None  # no reading before the period
    assert audience["change"] == 100

    growth = (await get(world, "/audience/growth", **JANUARY))["growth"]
    points = {p["date"]: p["followers"] for p in growth["points"]}
    assert points["2026-01-01"] == 900
    assert points["2026-01-05"] == 1400
    assert points["2026-01-14"] == 1400
    assert points["2026-01-15"] == 1500
    assert points["2026-01-31"] == 1500
    assert growth["net_change"] == 600
    assert growth["growth_rate"] == round(600 / 900, 5)

    demo = await get(world, "/audience/demographics")
    by_platform = {a["platform"]: a for a in demo["accounts"]}
    assert by_platform["instagram"]["breakdowns"]["age"] == {"18-24": 0.4, "25-34": 0.6}
    assert by_platform["instagram"]["as_of"].endswith("-05:00")
    assert by_platform["twitter"]["available"] is False
    assert by_platform["twitter"]["breakdowns"] == {}
    assert "does not report" in by_platform["twitter"]["note"]
    assert demo["available"] is True
    platforms = {p["platform"]: p for p in demo["platforms"]}
    assert platforms["instagram"]["reported"] is True
    assert (platforms["instagram"]["accounts"], platforms["instagram"]["synced"]) == (1, 1)
    assert platforms["twitter"]["reported"] is False
    assert platforms["twitter"]["synced"] == 0
    assert "does not report" in platforms["twitter"]["note"]

    behavior = await get(world, "/audience/behavior", **JANUARY)
    kinds = {k["content_type"]: k for k in behavior["content_types"]}
    assert kinds["image"]["posts"] == 2  # p1, p3
    assert kinds["video"]["engagements"] == 40  # p6 on both networks
    assert kinds["text"]["engagement_rate"] == 0.075
    assert behavior["most_engaged_hours"][0]["hour"] == 10


async def test_overview_and_realtime(world: World) -> None:
    overview = await get(world, "/overview", **JANUARY)
    assert overview["overall"]["current"]["engagements"] == 150
    assert overview["followers"] == 1500
    assert overview["follower_change"] == 100
    assert len(overview["top_posts"]) == 3
    realtime = await get(world, "/realtime", hours=6)
    assert realtime["hours"] == 6
    assert realtime["timezone"] == "America/New_York"
    assert realtime["summary"]["overall"]["current"]["posts"] == 0  # nothing in the last hours


# --- one source of truth ----------------------------------------------------------------------


async def test_the_api_and_the_agents_tools_give_the_same_figures(world: World) -> None:
    """The tools ask for "the last 31 days" as of local midnight after January 31st; the API
    asks for January: the same period, the same query code, the same numbers."""
    cfg = tool_context(world, END)
    tool = await TOOLS["performance_summary"].ainvoke(with_runtime({"days": 31}, cfg))
    api = (await get(world, "/summary", **JANUARY))["summary"]
    assert api["overall"] == tool["overall"]
    assert api["platforms"] == tool["platforms"]

    tool_top = await TOOLS["top_posts"].ainvoke(with_runtime({"days": 31, "n": 5}, cfg))
    api_top = await get(world, "/posts/top", n=5, **JANUARY)
    assert [(p["post_id"], p["platform"], p["engagement_rate"]) for p in api_top["posts"]] == [
        (p["post_id"], p["platform"], p["engagement_rate"]) for p in tool_top["posts"]
    ]

    best = await TOOLS["best_posting_times"].ainvoke(with_runtime({"days": 31}, cfg))
    api_best = (await get(world, "/engagement/optimal", **JANUARY))["profile"]
    assert [s for s in api_best["by_hour"] if s["posts"]] == best["by_hour"]
    assert api_best["by_weekday"] == best["by_weekday"]

    # The daily tool's "today" is the last day of its series: January 31st, local.
    daily_cfg = tool_context(world, END - timedelta(milliseconds=1))
    daily = await TOOLS["daily_metrics"].ainvoke(with_runtime({"days": 31}, daily_cfg))
    api_daily = (await get(world, "/engagement/trends", **JANUARY))["series"]
    strip = ("partial", "flags")
    assert [{k: v for k, v in p.items() if k not in strip} for p in api_daily["points"]] == [
        {k: v for k, v in p.items() if k not in strip} for p in daily["points"]
    ]


# --- the cache --------------------------------------------------------------------------------


async def test_answers_are_cached_until_new_metrics_arrive(world: World) -> None:
    client = world.client
    cat = await register(client, email="cat@example.com", org="Cat Coffee")
    auth = bearer(cat["accessToken"])
    day = date.today().isoformat()
    row = (
        '{{"platform": "instagram", "platformPostId": "{id}", "publishedAt": "{day}T00:00:00Z",'
        ' "likes": {likes}, "reach": 100}}\n'
    )
    params = {"from": day, "to": day, "platforms": "instagram"}

    async def engagements() -> int:
        r = await client.get("/api/analytics/summary", params=params, headers=auth)
        assert r.status_code == 200, r.text
        return r.json()["summary"]["overall"]["current"]["engagements"]

    db = world.app.state.runtime.db
    org = ObjectId(cat["organization"]["id"])
    await import_analytics(db, org, _stream(row.format(id="a", day=day, likes=5)))
    assert await engagements() == 5
    # A write that bypasses the importer is not seen: the answer comes from the cache.
    doc = await TenantRepository(db, Analytics).find_one(org)
    assert doc is not None
    await TenantRepository(db, Analytics).update(org, doc.id, {"metrics.likes": 50})
    assert await engagements() == 5
    # The importer bumps the organization's version: the next answer is computed afresh.
    await import_analytics(db, org, _stream(row.format(id="b", day=day, likes=7)))
    assert await engagements() == 57
    # An audience reading is a metrics write too.
    account = SocialAccount(
        organization_id=org,
        platform="instagram",
        account_info=AccountInfo(platform_id="cat-ig", username="cat.ig", follower_count=10),
    )
    await TenantRepository(db, SocialAccount).insert(account)

    async def followers() -> int:
        r = await client.get("/api/analytics/audience", params=params, headers=auth)
        assert r.status_code == 200, r.text
        return r.json()["audience"]["followers"]

    before = await followers()
    await record_audience(db, org, account, followers=before + 25)
    assert await followers() == before + 25
    # Another organization's cache is its own.
    assert (await get(world, "/summary", **JANUARY))["summary"]["overall"]["current"][
        "engagements"
    ] == 150


def _stream(text: str) -> Any:
    import io

    return io.StringIO(text)


# --- tenancy, roles, bad input ------------------------------------------------------------------


async def test_another_organizations_posts_and_accounts_are_not_found(world: World) -> None:
    other = world.other_auth
    post = await world.client.get(f"/api/analytics/posts/{world.posts['p1']}", headers=other)
    assert_error_shape(post, 404)
    account = await world.client.get(
        "/api/analytics/summary", params={"accounts": str(world.ig)}, headers=other
    )
    assert_error_shape(account, 404)
    theirs = await world.client.get("/api/analytics/summary", params=JANUARY, headers=other)
    assert theirs.json()["summary"]["overall"]["current"]["posts"] == 0
    listed = await world.client.get("/api/analytics/posts", params=JANUARY, headers=other)
    assert listed.json()["total"] == 0


async def test_every_role_may_read_and_nobody_unauthenticated(world: World) -> None:
    viewer = await add_member(world.app, world.client, str(world.org), "vic@example.com", "viewer")
    r = await world.client.get("/api/analytics/overview", params=JANUARY, headers=bearer(viewer))
    assert r.status_code == 200
    assert r.json()["overall"]["current"]["engagements"] == 150
    assert_error_shape(await world.client.get("/api/analytics/overview"), 401)


async def test_demographics_keep_to_the_organization_and_check_their_input(
    world: World,
) -> None:
    url = "/api/analytics/audience/demographics"
    other = world.other_auth
    # Another organization's account is a 404; its own answer holds none of ours.
    assert_error_shape(
        await world.client.get(url, params={"accounts": str(world.ig)}, headers=other), 404
    )
    theirs = await world.client.get(url, headers=other)
    assert theirs.status_code == 200
    assert (theirs.json()["accounts"], theirs.json()["platforms"]) == ([], [])
    assert theirs.json()["available"] is False
    viewer = await add_member(world.app, world.client, str(world.org), "vi@example.com", "viewer")
    mine = await world.client.get(url, params={"platforms": "instagram"}, headers=bearer(viewer))
    assert mine.status_code == 200
    assert [p["platform"] for p in mine.json()["platforms"]] == ["instagram"]
    bad = await world.client.get(url, params={"platforms": "myspace"}, headers=world.auth)
    assert "query.platforms.0" in [f["field"] for f in assert_error_shape(bad, 422)["fields"]]
    assert_error_shape(await world.client.get(url), 401)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-02-01", "to": "2026-01-01"}, "query.from"),
        ({"from": "0001-01-01", "to": "2026-01-01"}, "query.from"),
        ({"from": "2026-01-01", "to": "9999-12-31"}, "query.to"),
        ({"from": "2010-01-01", "to": "2026-01-01"}, "query.from"),  # over 10 years
        ({"from": "yesterday"}, "query.from"),
        ({"platforms": "myspace"}, "query.platforms.0"),
        ({"accounts": "not-an-id"}, "query.accounts.0"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    world: World, params: dict[str, str], field: str
) -> None:
    r = await world.client.get("/api/analytics/summary", params=params, headers=world.auth)
    error = assert_error_shape(r, 422)
    assert field in [f["field"] for f in error["fields"]], error


async def test_bad_paging_and_ranking_are_422(world: World) -> None:
    for path, params in (
        ("/posts", {"limit": 0}),
        ("/posts", {"sort": "likes"}),
        ("/posts/top", {"rank_by": "vibes"}),
        ("/realtime", {"hours": 0}),
        ("/posts/nope", {}),
    ):
        r = await world.client.get(f"/api/analytics{path}", params=params, headers=world.auth)
        assert_error_shape(r, 422)


# --- export -----------------------------------------------------------------------------------


async def test_export_csv_of_posts_and_xlsx_of_days(world: World) -> None:
    import csv
    import io

    from openpyxl import load_workbook

    body = {"format": "csv", "metrics": ["reach", "engagements"], **JANUARY}
    r = await world.client.post("/api/analytics/export", json=body, headers=world.auth)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "analytics-posts-2026-01-01-2026-01-31.csv" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == [
        "post_id",
        "platform",
        "social_account_id",
        "published_at",
        "reach",
        "engagements",
    ]
    assert len(rows) == 6  # the 5 rows of January, oldest first
    p2 = next(row for row in rows[1:] if row[0] == str(world.posts["p2"]))
    assert p2[1:] == ["twitter", str(world.x), "2026-01-10T20:00:00-05:00", "400", "30"]

    body = {"format": "xlsx", "dataset": "daily", "metrics": ["engagements"], **JANUARY}
    r = await world.client.post("/api/analytics/export", json=body, headers=world.auth)
    assert r.status_code == 200, r.text
    sheet = load_workbook(io.BytesIO(r.content)).active
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert cells[0] == ["date", "engagements"]
    assert len(cells) == 32
    assert dict((d, e) for d, e in cells[1:])["2026-01-10"] == 30


async def test_export_refuses_unknown_metrics_and_other_tenants_accounts(world: World) -> None:
    bad = await world.client.post(
        "/api/analytics/export", json={"metrics": ["vibes"]}, headers=world.auth
    )
    assert assert_error_shape(bad, 422)["fields"][0]["field"] == "body.metrics"
    bad = await world.client.post(
        "/api/analytics/export", json={"format": "pdf"}, headers=world.auth
    )
    assert assert_error_shape(bad, 422)["fields"][0]["field"] == "body.format"
    theirs = await world.client.post(
        "/api/analytics/export", json={"accounts": [str(world.ig)]}, headers=world.other_auth
    )
    assert_error_shape(theirs, 404)
    empty = await world.client.post("/api/analytics/export", json=JANUARY, headers=world.other_auth)
    assert empty.status_code == 200
    assert empty.text.count("\n") == 1  # the header only: nothing of the other organization
