"""performance_tracker on the seeded demo: its numbers are the tools' numbers, the planted
incident and viral posts are found, the model's words never bring figures of their own, every
call is one accounted ai_tasks row, and one tenant never sees another's posts."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from bson import ObjectId
from support import (
    DEMO_NOW,
    add_organization,
    isolated_environment,
    run_context,
    seeded_runtime,
)

from agents.performance_tracker import performance_tracker
from agents.schemas import PerformanceReport
from chorus.runtime import Runtime
from chorus.scripted_model import ScriptedChatModel
from persistence.models import AiTask, Analytics, Post
from persistence.models.analytics import Metrics, TimeData
from persistence.models.content import PlatformTarget, PostContent, Scheduling
from persistence.repository import TenantRepository
from services.demo.planted import PLANTED, TIMEZONE, TZ, VIRAL_POSTS
from tools.analytics import daily_series, engagement_by_weekday_hour, metric_summary, top_posts

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class World:
    runtime: Runtime
    a: ObjectId  # the demo organization
    b: ObjectId  # a second organization with one post of its own


async def _seed_b(db: Any, b: ObjectId) -> None:
    at = DEMO_NOW - timedelta(days=2)
    post = Post(
        organization_id=b,
        content=PostContent(text="B's only post", hashtags=["#bee"]),
        scheduling=Scheduling(status="published", published_at=at),
        platforms=[PlatformTarget(social_account_id=ObjectId(), platform="instagram")],
    )
    stats = Analytics(
        organization_id=b,
        post_id=post.id,
        platform="instagram",
        metrics=Metrics(likes=40, comments=5, shares=3, saves=2, reach=1000, impressions=1500),
        time_data=TimeData(
            recorded_at=at,
            date_bucket=datetime(at.year, at.month, at.day, tzinfo=UTC),
            hour_bucket=at.hour,
            day_of_week=at.weekday(),
            month=at.month,
            quarter=(at.month - 1) // 3 + 1,
        ),
    )
    await TenantRepository(db, Post).insert(post)
    await TenantRepository(db, Analytics).insert(stats)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    seeded = seeded_runtime(tmp_path_factory.mktemp("performance") / "data")
    with isolated_environment():
        runtime, demo = await seeded.__aenter__()
    try:
        b = await add_organization(runtime.db, name="B")
        await _seed_b(runtime.db, b)
        yield World(runtime, ObjectId(demo.organization_id), b)
    finally:
        await seeded.__aexit__(None, None, None)


def config(world: World, org: ObjectId | None = None, **extra: Any) -> dict:
    return run_context(org or world.a, world.runtime, now=DEMO_NOW, **extra)


async def report(world: World, request: dict, org: ObjectId | None = None) -> PerformanceReport:
    result = await performance_tracker.call(request, config(world, org))
    assert isinstance(result, PerformanceReport)
    return result


def local_day(days_ago: int) -> date:
    return DEMO_NOW.astimezone(TZ).date() - timedelta(days=days_ago)


@pytest.fixture
def scripted(world: World, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The agent's model replies with what the test puts in this list."""
    replies: list[str] = []
    monkeypatch.setattr(
        world.runtime.chat_models, "get", lambda *a, **k: ScriptedChatModel(responses=replies)
    )
    return replies


# --- numbers are the tools' numbers -----------------------------------------------------------


async def test_metrics_match_metric_summary(world: World) -> None:
    got = await report(world, {"days": 30})
    summary = await metric_summary(world.runtime.db, world.a, days=30, now=DEMO_NOW)
    active = {p.platform for p in summary.platforms if p.current.posts}
    assert {m.platform for m in got.metrics} == active == set(PLANTED["platform_reach_order"])
    for m in got.metrics:
        row = summary.platform(m.platform)
        assert row is not None
        assert (m.posts, m.reach, m.impressions, m.engagements) == (
            row.current.posts,
            row.current.reach,
            row.current.impressions,
            row.current.engagements,
        )
        assert m.engagement_rate == row.current.engagement_rate
        assert m.previous_engagement_rate == row.previous.engagement_rate
        assert m.change_pct == row.percent_change["engagement_rate"]
    # The demo's engagement order is discoverable from the report alone.
    ranked = [m.platform for m in sorted(got.metrics, key=lambda m: -m.engagement_rate)]
    assert ranked[0] == PLANTED["platform_engagement_rate_order"][0]
    assert ranked[-1] == PLANTED["platform_engagement_rate_order"][-1]


async def test_posts_and_anomalies_match_the_tools(world: World) -> None:
    got = await report(world, {"days": 30})
    db = world.runtime.db
    best = await top_posts(db, world.a, days=30, n=5, now=DEMO_NOW)
    worst = await top_posts(db, world.a, days=30, n=5, worst=True, now=DEMO_NOW)
    assert [(p.post_id, p.engagement_rate, p.reach) for p in got.top_posts] == [
        (p.post_id, p.engagement_rate, p.reach) for p in best
    ]
    assert {p.post_id for p in got.bottom_posts} <= {p.post_id for p in worst}
    assert got.bottom_posts
    assert not {p.post_id for p in got.bottom_posts} & {p.post_id for p in got.top_posts}
    series = await daily_series(db, world.a, days=30, timezone=TIMEZONE, now=DEMO_NOW)
    assert [(a.day, a.metric, a.direction, a.value, a.z, a.median) for a in got.anomalies] == [
        (a.date.isoformat(), a.metric, a.direction, a.value, a.robust_z, a.median)
        for a in series.anomalies
    ]


async def test_planted_incident_days_are_anomalies(world: World) -> None:
    got = await report(world, {"days": 30})
    incident = {local_day(d).isoformat() for d in PLANTED["incident"]["days_ago"]}
    spikes = {a.day for a in got.anomalies if a.metric == "comments" and a.direction == "spike"}
    dips = {a.day for a in got.anomalies if a.metric == "sentiment" and a.direction == "dip"}
    assert incident <= spikes
    assert incident <= dips
    # The strongest anomaly is the incident, and the first recommendation sends people there.
    assert got.anomalies[0].day in incident
    assert any(day in got.recommendations[0] for day in incident)
    assert "complaint" in got.recommendations[0]


async def test_viral_posts_lead_the_top_posts(world: World) -> None:
    got = await report(world, {"days": 90})
    published = await _published_days(world, got)
    viral_days = {local_day(d) for d, *_ in VIRAL_POSTS}
    # The two biggest viral posts (on the high-engagement networks) lead the 90-day list.
    assert len(published) == 5
    assert set(published[:2]) <= viral_days


@pytest.mark.parametrize("viral", VIRAL_POSTS, ids=[v[5] for v in VIRAL_POSTS])
async def test_each_viral_post_tops_its_platform(world: World, viral: tuple) -> None:
    days_ago, platform, *_ = viral
    got = await report(world, {"days": 90, "platforms": [platform]})
    assert {p.platform for p in got.top_posts} == {platform}
    # On X an ordinary post edges the viral one on rate (3.10% vs 2.96%) with half its reach.
    assert local_day(days_ago) in (await _published_days(world, got))[:2]
    assert {m.platform for m in got.metrics} == {platform}
    assert all(a.platform == platform for a in got.anomalies)


async def _published_days(world: World, got: PerformanceReport) -> list[date]:
    repo = TenantRepository(world.runtime.db, Post)
    days = []
    for ref in got.top_posts:
        post = await repo.get(world.a, ObjectId(ref.post_id))
        assert post is not None
        assert post.scheduling.published_at is not None
        days.append(post.scheduling.published_at.astimezone(TZ).date())
    return days


async def test_planted_best_hours_are_recommended(world: World) -> None:
    got = await report(world, {"days": 30})
    text = " ".join(got.recommendations)
    for platform in ("instagram", "linkedin"):
        hours = PLANTED["best_hours"][platform]["local_hours"]
        assert any(f"{platform} posts at {h:02d}:00" in text for h in hours), text


# --- words from the model, numbers from the data ----------------------------------------------

_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)")


def numbers(text: str) -> list[str]:
    return _NUMBER.findall(re.sub(r"(?<=\d),(?=\d{3}\b)", "", text))


def _values(data: Any) -> Iterator[float]:
    if isinstance(data, bool):
        return
    if isinstance(data, int | float):
        yield float(data)
    elif isinstance(data, dict):
        for v in data.values():
            yield from _values(v)
    elif isinstance(data, list | tuple):
        for v in data:
            yield from _values(v)
    elif isinstance(data, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", data):
        yield from (float(n) for n in re.findall(r"\d+", data[:10]))


def traceable(stated: str, known: list[float]) -> bool:
    """A number in text is traceable if it is a known value (or that value as a percentage,
    or its magnitude) rounded to the decimals it was written with."""
    decimals = len(stated.split(".")[1]) if "." in stated else 0
    x = float(stated)
    return any(
        round(v, decimals) == x or round(v * 100, decimals) == x or round(abs(v), decimals) == x
        for v in known
    )


async def _known_values(world: World, days: int) -> list[float]:
    """Every value the tools return for the demo: what the report's text may state."""
    db = world.runtime.db
    dumps: list[Any] = [
        (await metric_summary(db, world.a, days=days, now=DEMO_NOW)).model_dump(mode="json"),
        [p.model_dump(mode="json") for p in await top_posts(db, world.a, days=days, now=DEMO_NOW)],
        (await daily_series(db, world.a, days=days, timezone=TIMEZONE, now=DEMO_NOW)).model_dump(
            mode="json"
        ),
    ]
    for platform in PLANTED["platform_reach_order"]:
        profile = await engagement_by_weekday_hour(
            db, world.a, timezone=TIMEZONE, platform=platform, days=90, now=DEMO_NOW, min_posts=5
        )
        dumps.append(profile.model_dump(mode="json"))
    # The period, the timing window, and the top-posts count ("3 of your top 5 posts").
    return [*_values(dumps), float(days), 90.0, 5.0, 3.0]


async def test_model_words_bring_no_numbers(world: World, scripted: list[str]) -> None:
    scripted.append(
        "Engagement grew 999% this month. Your audience responds to real people behind the "
        "counter, so keep showing them. Reach will hit 5,000,000 next week."
    )
    got = await report(world, {"days": 30})
    assert "real people behind the counter" in got.summary
    assert "999" not in got.summary
    assert "5,000,000" not in got.summary
    known = await _known_values(world, 30)
    for text in [got.summary, *got.recommendations]:
        for stated in numbers(text):
            assert traceable(stated, known), (stated, text)


async def test_an_echoing_or_empty_reply_leaves_the_template(
    world: World, scripted: list[str]
) -> None:
    scripted.append("")
    empty = await report(world, {"days": 30})
    scripted[:] = ["Facts: All platforms: 123 posts, reach 973,074, 86,020 engagements"]
    echoed = await report(world, {"days": 30})
    assert empty.summary == echoed.summary
    assert empty.summary.startswith("Last 30 days: ")


async def test_a_model_outage_keeps_the_numbers(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(messages: Any) -> str:
        raise RuntimeError("provider down")

    monkeypatch.setattr(
        world.runtime.chat_models, "get", lambda *a, **k: ScriptedChatModel(responder=down)
    )
    got = await report(world, {"days": 30})
    assert got.summary.startswith("Last 30 days: ")
    assert got.metrics
    assert got.recommendations


# --- accounting and tenancy --------------------------------------------------------------------


async def test_each_call_is_one_ai_task_with_tokens(world: World) -> None:
    thread = f"perf-{ObjectId()}"
    await performance_tracker.call({"days": 14}, config(world, thread_id=thread))
    [task] = await TenantRepository(world.runtime.db, AiTask).find(world.a, {"threadId": thread})
    assert task.agent_type == "performance_tracker"
    assert task.task_type == "performance_report"
    assert task.execution.status == "completed"
    assert task.resources.tokens_in > 0
    assert task.resources.tokens_out > 0
    assert task.resources.model_used == "scripted"
    assert task.output.result["summary"].startswith("Last 14 days")


async def test_a_tenant_sees_only_its_own_posts(world: World) -> None:
    got = await report(world, {"days": 30}, org=world.b)
    assert [m.platform for m in got.metrics] == ["instagram"]
    assert (got.metrics[0].posts, got.metrics[0].reach) == (1, 1000)
    assert [p.text for p in got.top_posts] == ["B's only post"]
    assert got.metrics[0].engagement_rate == 0.05
    a_posts = {p.post_id for p in (await report(world, {"days": 30})).top_posts}
    assert not a_posts & {p.post_id for p in got.top_posts}


async def test_an_organization_without_data_gets_a_plain_report(world: World) -> None:
    empty = await add_organization(world.runtime.db, name="Empty")
    got = await report(world, {"days": 30}, org=empty)
    assert (got.metrics, got.top_posts, got.anomalies) == ([], [], [])
    assert "no posts" in got.summary.lower()
    assert len(got.recommendations) == 1


# --- the local model ---------------------------------------------------------------------------


@pytest.mark.local_models
async def test_local_model_still_returns_the_contract(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chorus.local_model import local_model_path

    if local_model_path() is None:
        pytest.skip("the local extra is not installed (pip install -e '.[local]')")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    got = await performance_tracker.call({"days": 30}, config(world, model="local"))
    assert isinstance(got, PerformanceReport)
    assert got.summary.startswith("Last 30 days: ")
    known = await _known_values(world, 30)
    for stated in numbers(got.summary):
        assert traceable(stated, known), (stated, got.summary)
