"""scheduler: the planted best hours, gaps to each other and to posts already scheduled, the
timezone offset on every slot, the summary's words (grounded or replaced), accounting,
tenancy, and the local model's smoke path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from itertools import combinations
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from agent_support import (
    World,
    agent_world,
    config,
    latest_task,
    needs_local_model,
    scripted_usage,
    use_model,
)
from bson import ObjectId
from support import DEMO_NOW

from agents.scheduler import scheduler
from agents.schemas import Schedule
from persistence.models import Post
from persistence.models.content import PlatformTarget, PostContent, Scheduling
from persistence.repository import TenantRepository
from services.demo.planted import PLANTED, TIMEZONE

pytestmark = pytest.mark.asyncio(loop_scope="module")

NY = ZoneInfo(TIMEZONE)
BEST_HOURS = set(PLANTED["best_hours"]["instagram"]["local_hours"])  # {18, 19}
REQUEST = {"platform": "instagram", "count": 3, "timezone": TIMEZONE}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with agent_world(tmp_path_factory.mktemp("scheduler") / "data") as w:
        yield w


async def scheduled(world: World, org: ObjectId, platform: str) -> list[datetime]:
    posts = await TenantRepository(world.runtime.db, Post).find(
        org, {"scheduling.status": "scheduled", "platforms.platform": platform}
    )
    return [p.scheduling.scheduled_at for p in posts if p.scheduling.scheduled_at]


def assert_apart(times: list[datetime], others: list[datetime], hours: float) -> None:
    gap = timedelta(hours=hours)
    for a, b in combinations(times, 2):
        assert abs(a - b) >= gap, (a, b)
    for a in times:
        for b in others:
            assert abs(a - b) >= gap, (a, b)


async def test_slots_hit_the_planted_best_hours_with_offsets(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch, world, ["Noted."])
    schedule = await scheduler.call(REQUEST, config(world, world.a))
    assert isinstance(schedule, Schedule)
    slots = schedule.slots
    assert len(slots) == 3
    assert [s.at for s in slots] == sorted(s.at for s in slots)
    for slot in slots:
        local = slot.at.astimezone(NY)
        assert local.hour in BEST_HOURS
        assert slot.at.utcoffset() == timedelta(hours=-5)  # New York in November
        assert DEMO_NOW <= slot.at < DEMO_NOW + timedelta(days=7)
        assert slot.expected_engagement > 0
        assert slot.reason
    dumped = schedule.model_dump(mode="json", by_alias=True)
    assert set(dumped["slots"][0]) == {"at", "expectedEngagement", "reason"}
    assert all(s["at"].endswith("-05:00") for s in dumped["slots"])
    # The demo has Instagram posts scheduled at 19:30 on the weekend; the slots keep clear.
    existing = await scheduled(world, world.a, "instagram")
    assert existing
    assert_apart([s.at for s in slots], existing, 3)
    # "Noted." is no summary: the template speaks, with the computed times.
    assert slots[0].at.astimezone(NY).strftime("%a %d %b %H:%M") in schedule.summary


async def test_min_gap_hours_is_respected(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    use_model(monkeypatch, world, ["Noted."])
    schedule = await scheduler.call(
        {**REQUEST, "count": 5, "minGapHours": 30}, config(world, world.a)
    )
    assert 1 <= len(schedule.slots) <= 5
    assert_apart([s.at for s in schedule.slots], await scheduled(world, world.a, "instagram"), 30)


async def test_a_newly_scheduled_post_pushes_slots_away(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch, world, ["Noted."])
    before = await scheduler.call(REQUEST, config(world, world.a))
    taken = before.slots[0].at
    post = Post(
        organization_id=world.a,
        content=PostContent(text="Already planned"),
        scheduling=Scheduling(status="scheduled", scheduled_at=taken, timezone=TIMEZONE),
        platforms=[PlatformTarget(social_account_id=ObjectId(), platform="instagram")],
    )
    await TenantRepository(world.runtime.db, Post).insert(post)
    try:
        after = await scheduler.call(REQUEST, config(world, world.a))
        assert all(abs(s.at - taken) >= timedelta(hours=3) for s in after.slots)
    finally:
        await TenantRepository(world.runtime.db, Post).delete(world.a, post.id)


async def test_timezone_defaults_to_the_organization_and_start_is_local(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch, world, ["Noted."])
    schedule = await scheduler.call(
        {"platform": "instagram", "count": 2, "start": "2026-11-23T00:00:00", "days": 2},
        config(world, world.a),
    )
    for slot in schedule.slots:
        local = slot.at.astimezone(NY)
        assert slot.at.utcoffset() == timedelta(hours=-5)
        assert datetime(2026, 11, 23, tzinfo=NY) <= local < datetime(2026, 11, 25, tzinfo=NY)
        assert local.hour in BEST_HOURS


async def test_grounded_words_are_kept_and_invented_numbers_are_not(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    baseline = await scheduler.call(REQUEST, config(world, world.a, model="scripted"))
    day = baseline.slots[0].at.astimezone(NY).strftime("%A")
    words = f"Lead with {day} evening: it is one of your strongest times, clear of other posts."
    model = use_model(monkeypatch, world, [words])
    schedule = await scheduler.call(REQUEST, config(world, world.a))
    assert schedule.summary == words
    assert "Scheduling Strategist" in str(model.prompts[0][0].content)
    facts = model.users[0]
    assert baseline.slots[0].at.astimezone(NY).strftime("%a %d %b %H:%M") in facts

    use_model(monkeypatch, world, ["Post at 9 am on Monday for 45% more engagement."])
    schedule = await scheduler.call(REQUEST, config(world, world.a))
    assert "45%" not in schedule.summary
    assert schedule.summary.startswith("Post on Instagram at ")


async def test_an_empty_organization_gets_the_typical_week_not_the_demo_data(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch, world, ["Noted."])
    schedule = await scheduler.call(REQUEST, config(world, world.b))
    assert len(schedule.slots) == 3
    for slot in schedule.slots:
        assert "no posts of yours yet" in slot.reason
    assert "You have no Instagram posts" in schedule.summary
    demo = await scheduler.call(REQUEST, config(world, world.a))
    assert [s.expected_engagement for s in schedule.slots] != [
        s.expected_engagement for s in demo.slots
    ]


async def test_ai_task_records_the_call(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    model = use_model(monkeypatch, world, ["Noted."])
    await scheduler.call(REQUEST, config(world, world.a))
    task = await latest_task(world, world.a, "scheduler")
    assert (task.agent_type, task.task_type) == ("scheduler", "schedule_posts")
    assert task.execution.status == "completed"
    tokens = scripted_usage(model)
    assert (task.resources.tokens_in, task.resources.tokens_out) == tokens
    assert tokens[0] > 0
    assert len(task.output.result["slots"]) == 3


@pytest.mark.local_models
async def test_local_model_returns_a_valid_schedule(world: World) -> None:
    needs_local_model()
    schedule = await scheduler.call(REQUEST, config(world, world.a, model="local"))
    assert len(schedule.slots) == 3
    assert all(s.at.astimezone(NY).hour in BEST_HOURS for s in schedule.slots)
    assert schedule.summary
    Schedule.model_validate(schedule.model_dump(mode="json", by_alias=True))


async def test_slots_follow_the_audience_clock_when_shown_in_another_timezone(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asked from Tokyo, the slots still hit New York's evening (where the audience and its
    history are), shown with Tokyo's offset."""
    use_model(monkeypatch, world, ["Noted."])
    request = {**REQUEST, "timezone": "Asia/Tokyo"}
    schedule = await scheduler.call(request, config(world, world.a))
    assert len(schedule.slots) == 3
    for slot in schedule.slots:
        assert slot.at.utcoffset() == timedelta(hours=9)
        assert slot.at.astimezone(NY).hour in BEST_HOURS
        assert "America/New_York time" in slot.reason
