"""The workflows end to end on the seeded demo organization, with the scripted model."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from bson import ObjectId
from langchain_core.messages import HumanMessage
from langgraph.types import Command
from support import DEMO_NOW, seeded_runtime

from chorus.runtime import Runtime
from graphs.registry import GRAPH_NAMES, build_graph
from graphs.runner import BadGraphInput, run_config, stream_run
from memory.kinds import MemoryKind
from persistence.admin import OrganizationAdmin
from persistence.models import AiTask, Post
from persistence.repository import TenantRepository

pytestmark = pytest.mark.asyncio(loop_scope="module")

BRIEF = {"brief": "Announce our new single-origin cold brew from Ethiopia", "platform": "instagram"}
ANGRY = {
    "brand": "Lumen Coffee Roasters",
    "mentions": [
        {"text": "Your cold brew made my kid sick, this is a recall situation", "reach": 90000},
        {"text": "Lawsuit incoming. Burned my hand on the lid, injury!", "reach": 40000},
        {"text": "Boycott Lumen until they answer for this", "reach": 120000},
        {"text": "Food poisoning after the Ethiopia cold brew. Never again.", "reach": 30000},
    ],
}


@dataclass
class World:
    runtime: Runtime
    org: ObjectId


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with seeded_runtime(tmp_path_factory.mktemp("graphs") / "data") as (runtime, demo):
        yield World(runtime, ObjectId(demo.organization_id))


def config_for(world: World, graph: str, thread: str | None = None) -> dict[str, Any]:
    config = run_config(world.org, world.runtime, graph=graph, thread_id=thread or uuid.uuid4().hex)
    config["configurable"]["now"] = DEMO_NOW  # the seeded data's "today"
    return config


async def tasks_by_agent(world: World, thread: str) -> dict[str, int]:
    rows = await TenantRepository(world.runtime.db, AiTask).find(world.org, {"threadId": thread})
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.agent_type] = counts.get(row.agent_type, 0) + 1
    return counts


async def test_every_graph_compiles_with_the_checkpointer(world: World) -> None:
    for name in GRAPH_NAMES:
        graph = build_graph(name, world.runtime.checkpointer)
        assert graph.name == name


async def test_content_creation_pauses_for_approval_then_stores_the_post(world: World) -> None:
    graph = build_graph("content_creation", world.runtime.checkpointer)
    config = config_for(world, "content_creation")
    await graph.ainvoke(BRIEF, config)
    state = await graph.aget_state(config)
    assert state.next == ("approval",)
    [pending] = state.interrupts
    assert pending.value["draft"]["text"]
    assert pending.value["slots"], "the approval shows the proposed slots"

    done = await graph.ainvoke(Command(resume={"action": "approve"}), config)
    post = await TenantRepository(world.runtime.db, Post).get(world.org, ObjectId(done["postId"]))
    assert post is not None
    assert post.scheduling.status == "scheduled"
    assert post.scheduling.scheduled_at is not None
    first_slot = done["slots"][0]["at"]
    assert post.scheduling.scheduled_at.isoformat()[:16] == _utc(first_slot)[:16]
    assert post.content.text == done["optimized"]["text"]
    remembered = await world.runtime.memory.get(
        world.org, MemoryKind.CONTENT_HISTORY, done["postId"]
    )
    assert remembered is not None


async def test_a_youtube_post_is_stored_with_the_drafts_title(world: World) -> None:
    graph = build_graph("content_creation", world.runtime.checkpointer)
    config = config_for(world, "content_creation")
    brief = {"brief": "Video: Priya roasts a Costa Rica lot to first crack.", "platform": "youtube"}
    await graph.ainvoke(brief, config)
    done = await graph.ainvoke(Command(resume={"action": "approve"}), config)
    title = done["draft"]["title"]
    assert title, "a YouTube draft has a title"
    post = await TenantRepository(world.runtime.db, Post).get(world.org, ObjectId(done["postId"]))
    assert post is not None
    assert post.content.title == title


def _utc(iso: str) -> str:
    from datetime import UTC, datetime

    return datetime.fromisoformat(iso).astimezone(UTC).isoformat()


async def test_revise_loops_back_to_the_draft_with_feedback(world: World) -> None:
    graph = build_graph("content_creation", world.runtime.checkpointer)
    config = config_for(world, "content_creation")
    await graph.ainvoke(BRIEF, config)
    await graph.ainvoke(Command(resume={"action": "revise", "feedback": "shorter"}), config)
    state = await graph.aget_state(config)
    assert state.next == ("approval",), "a revision ends at a new approval"
    assert state.values["revisions"] == 1
    assert state.values["feedback"] == "shorter"
    thread = config["configurable"]["thread_id"]
    assert (await tasks_by_agent(world, thread))["content_creator"] == 2

    await graph.ainvoke(Command(resume={"action": "reject"}), config)
    final = await graph.aget_state(config)
    assert final.next == ()
    assert final.values["status"] == "rejected"
    assert "postId" not in final.values


async def test_a_bad_resume_answer_says_what_to_send(world: World) -> None:
    graph = build_graph("content_creation", world.runtime.checkpointer)
    config = config_for(world, "content_creation")
    await graph.ainvoke(BRIEF, config)
    with pytest.raises(ValueError, match="approve"):
        await graph.ainvoke(Command(resume={"action": "publish-now"}), config)


async def test_a_failed_run_resumes_without_repeating_finished_steps(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents.scheduler import scheduler

    original = scheduler.call
    failures = iter([RuntimeError("scheduler fell over")])

    async def flaky(request: Any, config: Any) -> Any:
        error = next(failures, None)
        if error:
            raise error
        return await original(request, config)

    monkeypatch.setattr(scheduler, "call", flaky)
    graph = build_graph("content_creation", world.runtime.checkpointer)
    config = config_for(world, "content_creation")
    thread = config["configurable"]["thread_id"]
    with pytest.raises(RuntimeError, match="fell over"):
        await graph.ainvoke(BRIEF, config)
    await graph.ainvoke(None, config)  # resume from the last checkpoint
    state = await graph.aget_state(config)
    assert state.next == ("approval",)
    counts = await tasks_by_agent(world, thread)
    assert counts["trend_analyzer"] == 1
    assert counts["content_creator"] == 1
    assert counts["engagement_optimizer"] == 1


async def test_crisis_response_pauses_scheduled_posts_once_approved(world: World) -> None:
    posts = TenantRepository(world.runtime.db, Post)
    scheduled_before = await posts.count(world.org, {"scheduling.status": "scheduled"})
    assert scheduled_before > 0
    graph = build_graph("crisis_response", world.runtime.checkpointer)
    config = config_for(world, "crisis_response")
    await graph.ainvoke({"input": ANGRY}, config)
    state = await graph.aget_state(config)
    assert state.values["output"]["assessment"]["riskLevel"] in ("high", "critical")
    [pending] = state.interrupts
    assert pending.value["scheduledPosts"] == scheduled_before

    done = await graph.ainvoke(Command(resume={"action": "approve"}), config)
    assert done["paused"] == scheduled_before
    assert await posts.count(world.org, {"scheduling.status": "scheduled"}) == 0
    assert await posts.count(world.org, {"scheduling.status": "paused"}) >= scheduled_before
    # Pausing again changes nothing.
    again = await posts.update_many(
        world.org, {"scheduling.status": "scheduled"}, {"scheduling.status": "paused"}
    )
    assert again == 0
    await posts.update_many(
        world.org, {"scheduling.status": "paused"}, {"scheduling.status": "scheduled"}
    )


async def test_calm_mentions_need_no_approval(world: World) -> None:
    graph = build_graph("crisis_response", world.runtime.checkpointer)
    config = config_for(world, "crisis_response")
    calm = {"brand": "Lumen", "mentions": [{"text": "Love the new roast, so smooth!"}]}
    done = await graph.ainvoke({"input": calm}, config)
    assert done["output"]["assessment"]["riskLevel"] in ("none", "low")
    assert (await graph.aget_state(config)).next == ()


@pytest.mark.parametrize(
    ("name", "request_body", "kind"),
    [
        ("trend_analysis", {"days": 14}, MemoryKind.TREND_ANALYSIS),
        ("performance_analysis", {"days": 30}, MemoryKind.ENGAGEMENT_PATTERNS),
        ("competitor_analysis", {"competitors": ["Nobody Coffee"]}, MemoryKind.COMPETITOR_INSIGHTS),
    ],
)
async def test_analysis_workflows_remember_once_and_report(
    world: World, name: str, request_body: dict[str, Any], kind: MemoryKind
) -> None:
    graph = build_graph(name, world.runtime.checkpointer)
    config = config_for(world, name)
    before = await world.runtime.memory.count(world.org, kind)
    done = await graph.ainvoke({"input": request_body}, config)
    assert done["report"].startswith("# ")
    assert await world.runtime.memory.count(world.org, kind) == before + 1
    # Replaying the memory step of the same thread overwrites instead of adding.
    await graph.aupdate_state(config, {"output": done["output"]}, as_node="analyze")
    await graph.ainvoke(None, config)
    assert await world.runtime.memory.count(world.org, kind) == before + 1


async def test_console_routes_turns_and_keeps_the_conversation(world: World) -> None:
    graph = build_graph("console", world.runtime.checkpointer)
    config = config_for(world, "console")
    first = await graph.ainvoke(
        {"messages": [HumanMessage("When should we post on Instagram this week?")]}, config
    )
    assert first["route"] == "scheduler"
    assert (
        "Instagram" in first["messages"][-1].content or "instagram" in first["messages"][-1].content
    )
    second = await graph.ainvoke({"messages": [HumanMessage("Thanks! Anything else?")]}, config)
    assert second["route"] == "answer"
    assert len(second["messages"]) == 4  # both turns, kept by the checkpointer


async def test_threads_belong_to_their_tenant(world: World) -> None:
    other = await OrganizationAdmin(world.runtime.db).create("Other Tenant")
    graph = build_graph("content_creation", world.runtime.checkpointer)
    config = config_for(world, "content_creation")
    await graph.ainvoke(BRIEF, config)
    thread = config["configurable"]["thread_id"]
    theirs = run_config(other.id, world.runtime, graph="content_creation", thread_id=thread)
    assert (await graph.aget_state(theirs)).values == {}


async def test_runner_streams_updates_then_the_interrupt_and_resumes(world: World) -> None:
    config = config_for(world, "content_creation")
    events = [
        e
        async for e in stream_run(
            "content_creation", config, world.runtime.checkpointer, input=BRIEF
        )
    ]
    nodes = [next(iter(e["update"])) for e in events if "update" in e]
    assert nodes[:4] == ["trends", "draft", "optimize", "schedule"]
    final = events[-1]["final"]
    assert final["next"] == ["approval"]
    assert final["interrupts"][0]["kind"] == "approval"
    resumed = [
        e
        async for e in stream_run(
            "content_creation", config, world.runtime.checkpointer, resume={"action": "approve"}
        )
    ]
    assert resumed[-1]["final"]["values"]["postId"]
    with pytest.raises(BadGraphInput, match="no pending interrupt"):
        async for _ in stream_run(
            "content_creation", config, world.runtime.checkpointer, resume={"action": "approve"}
        ):
            pass


async def test_runner_rejects_input_that_does_not_fit(world: World) -> None:
    config = config_for(world, "content_creation")
    with pytest.raises(BadGraphInput, match="brief"):
        async for _ in stream_run(
            "content_creation", config, world.runtime.checkpointer, input={"platform": "x"}
        ):
            pass


async def test_graph_names_cover_agents_and_workflows() -> None:
    assert set(GRAPH_NAMES) >= {
        "content_creation",
        "trend_analysis",
        "performance_analysis",
        "competitor_analysis",
        "crisis_response",
        "console",
        "content_creator",
        "crisis_manager",
    }
