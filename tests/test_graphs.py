"""The workflows end to end on the seeded demo organization, with the scripted model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
import pytest_asyncio
from bson import ObjectId
from langchain_core.messages import HumanMessage
from langgraph.types import Command
from support import DEMO_NOW, seeded_runtime

from agents.base import org_settings
from chorus.runtime import Runtime
from graphs.registry import GRAPH_NAMES, build_graph
from memory.kinds import MemoryKind
from persistence.admin import OrganizationAdmin
from persistence.models import AiTask, Post
from persistence.repository import TenantRepository
from runs.engine import RunEngine
from runs.errors import InvalidRunInput, NothingToResume
from tools.context import RunContext

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


@dataclass
class GraphRun:
    """One graph on one thread, invoked directly (as the engine does) with its context."""

    engine: RunEngine
    ctx: RunContext

    @property
    def thread(self) -> str:
        return self.ctx.thread_id or ""

    async def invoke(self, payload: Any) -> Any:
        graph = self.engine.graph(self.ctx.graph or "")
        return await graph.ainvoke(payload, self.engine.config(self.ctx), context=self.ctx)

    async def state(self) -> Any:
        return await self.engine.state(self.ctx)

    async def update_state(self, values: Any, *, as_node: str) -> Any:
        return await self.engine.update_state(self.ctx, values, as_node=as_node)


def run_for(
    world: World, graph: str, org: ObjectId | None = None, thread: str | None = None
) -> GraphRun:
    # At the seeded data's "today".
    engine = world.runtime.engine
    ctx = engine.context(org or world.org, graph=graph, thread_id=thread, now=DEMO_NOW)
    return GraphRun(engine, ctx)


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


async def test_an_approval_may_pick_another_slot_and_edit_the_text(world: World) -> None:
    run = run_for(world, "content_creation")
    await run.invoke(BRIEF)
    [pending] = (await run.state()).interrupts
    slots = pending.value["slots"]
    assert len(slots) >= 2
    assert pending.value["approveWith"] == ["slot", "text"]

    # An edit that breaks the platform's rules is refused: nothing stored, the card again
    # with the reason; so is a slot that was not proposed.
    await run.invoke(Command(resume={"action": "approve", "text": "Cold brew! " * 300}))
    state = await run.state()
    assert state.next == ("approval",)
    assert "instagram allows 2200" in state.interrupts[0].value["problem"]
    assert "postId" not in state.values
    await run.invoke(Command(resume={"action": "approve", "slot": 7}))
    assert "slot 7" in (await run.state()).interrupts[0].value["problem"]

    edited = "Our Ethiopia cold brew is here: bright, floral, smooth. Try it this week."
    done = await run.invoke(Command(resume={"action": "approve", "slot": 1, "text": edited}))
    post = await TenantRepository(world.runtime.db, Post).get(world.org, ObjectId(done["postId"]))
    assert post is not None
    assert post.content.text == edited
    assert post.scheduling.scheduled_at is not None
    assert post.scheduling.scheduled_at.isoformat()[:16] == _utc(slots[1]["at"])[:16]


async def test_content_creation_pauses_for_approval_then_stores_the_post(world: World) -> None:
    run = run_for(world, "content_creation")
    await run.invoke(BRIEF)
    state = await run.state()
    assert state.next == ("approval",)
    [pending] = state.interrupts
    assert pending.value["draft"]["text"]
    assert pending.value["slots"], "the approval shows the proposed slots"
    # ... and the zone they are on, the organization's, for a client to show them in.
    expected = (await org_settings(run.ctx)).timezone
    assert expected
    assert pending.value["timezone"] == expected

    done = await run.invoke(Command(resume={"action": "approve"}))
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


async def test_the_approval_card_numbers_agree(world: World) -> None:
    """Issue 18: one engagement figure per slot, combining the draft's prediction and the
    slot's timing; the draft's figure is the first slot's; the rationale names the slots."""
    run = run_for(world, "content_creation")
    await run.invoke(BRIEF)
    [pending] = (await run.state()).interrupts
    card = pending.value
    slots = card["slots"]
    assert len(slots) >= 2
    assert card["draftSource"] in ("model", "regenerated", "composed")
    assert card["draft"]["predictedEngagement"]["rate"] == slots[0]["expectedEngagement"]
    for slot in slots:
        when = datetime.fromisoformat(slot["at"]).strftime("%a %d %b %H:%M")
        assert f"{when} ({slot['expectedEngagement'] * 100:.2f}%)" in card["draft"]["rationale"]
    # A revision keeps the slots the reviewer saw and re-predicts them for the new draft.
    await run.invoke(Command(resume={"action": "revise", "feedback": "Add a question."}))
    [again] = (await run.state()).interrupts
    assert [s["at"] for s in again.value["slots"]] == [s["at"] for s in slots]
    assert (
        again.value["draft"]["predictedEngagement"]["rate"]
        == again.value["slots"][0]["expectedEngagement"]
    )


async def test_a_youtube_post_is_stored_with_the_drafts_title(world: World) -> None:
    run = run_for(world, "content_creation")
    brief = {"brief": "Video: Priya roasts a Costa Rica lot to first crack.", "platform": "youtube"}
    await run.invoke(brief)
    done = await run.invoke(Command(resume={"action": "approve"}))
    title = done["draft"]["title"]
    assert title, "a YouTube draft has a title"
    post = await TenantRepository(world.runtime.db, Post).get(world.org, ObjectId(done["postId"]))
    assert post is not None
    assert post.content.title == title


def _utc(iso: str) -> str:
    from datetime import UTC, datetime

    return datetime.fromisoformat(iso).astimezone(UTC).isoformat()


async def test_revise_loops_back_to_the_draft_with_feedback(world: World) -> None:
    run = run_for(world, "content_creation")
    await run.invoke(BRIEF)
    await run.invoke(Command(resume={"action": "revise", "feedback": "shorter"}))
    state = await run.state()
    assert state.next == ("approval",), "a revision ends at a new approval"
    assert state.values["revisions"] == 1
    assert state.values["feedback"] == "shorter"
    thread = run.thread
    assert (await tasks_by_agent(world, thread))["content_creator"] == 2

    await run.invoke(Command(resume={"action": "reject"}))
    final = await run.state()
    assert final.next == ()
    assert final.values["status"] == "rejected"
    assert "postId" not in final.values


async def test_a_bad_resume_answer_says_what_to_send(world: World) -> None:
    run = run_for(world, "content_creation")
    await run.invoke(BRIEF)
    with pytest.raises(ValueError, match="approve"):
        await run.invoke(Command(resume={"action": "publish-now"}))


async def test_a_failed_run_resumes_without_repeating_finished_steps(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents.scheduler import scheduler

    original = scheduler.call
    failures = iter([RuntimeError("scheduler fell over")])

    async def flaky(request: Any, run: Any, config: Any = None) -> Any:
        error = next(failures, None)
        if error:
            raise error
        return await original(request, run, config)

    monkeypatch.setattr(scheduler, "call", flaky)
    run = run_for(world, "content_creation")
    thread = run.thread
    with pytest.raises(RuntimeError, match="fell over"):
        await run.invoke(BRIEF)
    await run.invoke(None)  # resume from the last checkpoint
    state = await run.state()
    assert state.next == ("approval",)
    counts = await tasks_by_agent(world, thread)
    assert counts["trend_analyzer"] == 1
    assert counts["content_creator"] == 1
    assert counts["engagement_optimizer"] == 1


async def test_crisis_response_pauses_scheduled_posts_once_approved(world: World) -> None:
    posts = TenantRepository(world.runtime.db, Post)
    scheduled_before = await posts.count(world.org, {"scheduling.status": "scheduled"})
    assert scheduled_before > 0
    run = run_for(world, "crisis_response")
    await run.invoke({"input": ANGRY})
    state = await run.state()
    assert state.values["output"]["assessment"]["riskLevel"] in ("high", "critical")
    [pending] = state.interrupts
    assert pending.value["scheduledPosts"] == scheduled_before

    done = await run.invoke(Command(resume={"action": "approve"}))
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
    run = run_for(world, "crisis_response")
    calm = {"brand": "Lumen", "mentions": [{"text": "Love the new roast, so smooth!"}]}
    done = await run.invoke({"input": calm})
    assert done["output"]["assessment"]["riskLevel"] in ("none", "low")
    assert (await run.state()).next == ()


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
    run = run_for(world, name)
    before = await world.runtime.memory.count(world.org, kind)
    done = await run.invoke({"input": request_body})
    assert done["report"].startswith("# ")
    assert await world.runtime.memory.count(world.org, kind) == before + 1
    # Replaying the memory step of the same thread overwrites instead of adding.
    await run.update_state({"output": done["output"]}, as_node="analyze")
    await run.invoke(None)
    assert await world.runtime.memory.count(world.org, kind) == before + 1


async def test_console_routes_turns_and_keeps_the_conversation(world: World) -> None:
    run = run_for(world, "console")
    first = await run.invoke(
        {"messages": [HumanMessage("When should we post on Instagram this week?")]}
    )
    assert first["route"] == "scheduler"
    assert (
        "Instagram" in first["messages"][-1].content or "instagram" in first["messages"][-1].content
    )
    second = await run.invoke({"messages": [HumanMessage("Thanks! Anything else?")]})
    assert second["route"] == "answer"
    assert len(second["messages"]) == 4  # both turns, kept by the checkpointer


async def test_threads_belong_to_their_tenant(world: World) -> None:
    other = await OrganizationAdmin(world.runtime.db).create("Other Tenant")
    run = run_for(world, "content_creation")
    await run.invoke(BRIEF)
    thread = run.thread
    theirs = run_for(world, "content_creation", org=other.id, thread=thread)
    assert (await theirs.state()).values == {}


async def test_the_engine_streams_updates_then_the_interrupt_and_resumes(world: World) -> None:
    run = run_for(world, "content_creation")
    engine = run.engine
    payload = await engine.payload(run.ctx, input=BRIEF)
    updates = [chunk async for _, chunk in engine.stream(run.ctx, payload)]
    nodes = [next(iter(update)) for update in updates]
    assert nodes[:4] == ["trends", "draft", "schedule", "optimize"]
    paused = await engine.outcome(run.ctx)
    assert paused.next == ["approval"]
    assert paused.interrupts[0]["kind"] == "approval"
    resumed = await engine.run(run.ctx, resume={"action": "approve"})
    assert resumed.values["postId"]
    with pytest.raises(NothingToResume, match="no pending interrupt"):
        await engine.run(run.ctx, resume={"action": "approve"})


async def test_the_engine_rejects_input_that_does_not_fit(world: World) -> None:
    run = run_for(world, "content_creation")
    with pytest.raises(InvalidRunInput, match="brief"):
        await run.engine.run(run.ctx, input={"platform": "x"})


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
