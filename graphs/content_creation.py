"""content_creation: trends -> draft -> schedule -> optimize -> submit -> human approval ->
store (or discard).

The optimizer runs after the scheduler so that the approval card's numbers agree: the
draft's predicted engagement is its prediction at the first proposed slot, and each slot's
expected engagement is the same model's prediction for this draft at that slot (the slot's
timing and the draft's features together), with the rationale naming those slots. A revision
goes back to the draft and then straight to the optimizer: the slots stand.

``submit`` puts the draft in the approval inbox as a ``pending_approval`` post (the same one
again after a revision) and tells the managers it waits (the approval-waiting event a
person's submission emits), so the workspace's inbox and this interrupt are one queue: approving
or rejecting the post there resumes this thread (``runs.approvals``), and answering the
interrupt here decides the post. The approval step pauses the run with ``interrupt()``
carrying the draft and the proposed slots. Resume with ``{"action": "approve"}``,
``{"action": "revise", "feedback": "..."}`` (back to the draft with the feedback) or
``{"action": "reject"}``. On approval the post is scheduled at the first slot and the draft
enters the tenant's content_history memory; a rejection here removes the waiting post (a
rejected run stores nothing), while one in the inbox keeps it as a draft with the reason.
Every step with an effect is idempotent, so a resumed or retried run never stores twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, NotRequired

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import BaseModel, Field, ValidationError
from typing_extensions import TypedDict

from agents.base import org_settings
from agents.content_creator import content_creator
from agents.engagement_optimizer import engagement_optimizer
from agents.scheduler import scheduler
from agents.trend_analyzer import trend_analyzer
from graphs.agent_graphs import dump
from graphs.ports import workflow_services
from graphs.retry import MODEL_RETRY
from memory.kinds import MemoryKind
from services import posts
from tools.context import RunContext
from tools.platform_rules import validate_post

MAX_REVISIONS = 5


class ContentCreationState(TypedDict):
    brief: str
    platform: str
    industry: NotRequired[str | None]
    audience: NotRequired[str | None]
    tone: NotRequired[str | None]
    callToAction: NotRequired[str | None]
    timezone: NotRequired[str | None]
    slotCount: NotRequired[int | None]
    trends: NotRequired[list[dict[str, Any]] | None]
    draft: NotRequired[dict[str, Any] | None]
    optimized: NotRequired[dict[str, Any] | None]
    slots: NotRequired[list[dict[str, Any]] | None]
    feedback: NotRequired[str | None]
    revisions: NotRequired[int | None]
    decision: NotRequired[dict[str, Any] | None]
    status: NotRequired[str | None]
    postId: NotRequired[str | None]
    pendingPostId: NotRequired[str | None]
    # Why the reviewer's last approval could not be applied (shown on the next card).
    approvalProblem: NotRequired[str | None]


class Decision(BaseModel):
    """What a reviewer answers at the approval interrupt. An approval may pick another of
    the proposed slots (its index) and edit the text, which must still pass the platform's
    rules and the organization's banned terms: an invalid post is never stored."""

    action: Literal["approve", "revise", "reject"]
    feedback: str | None = Field(default=None, max_length=2000)
    slot: int | None = Field(default=None, ge=0, le=9)
    text: str | None = Field(default=None, min_length=1, max_length=10000)


async def trends(
    state: ContentCreationState, runtime: Runtime[RunContext], config: RunnableConfig
) -> dict[str, Any]:
    report = await trend_analyzer.call(
        {"industry": state.get("industry"), "platforms": [state["platform"]], "days": 7},
        runtime.context,
        config,
    )
    return {"trends": dump(report)["trends"]}


async def draft(
    state: ContentCreationState, runtime: Runtime[RunContext], config: RunnableConfig
) -> dict[str, Any]:
    trending = [t["tag"] for t in state.get("trends", [])[:5]]
    previous = state.get("draft")
    result = await content_creator.call(
        {
            "brief": state["brief"],
            "platform": state["platform"],
            "industry": state.get("industry"),
            "audience": state.get("audience"),
            "tone": state.get("tone"),
            "callToAction": state.get("callToAction"),
            "hashtags": trending,
            "feedback": state.get("feedback"),
            "previousDraft": previous["text"] if previous and state.get("feedback") else None,
        },
        runtime.context,
        config,
    )
    return {"draft": dump(result), "status": "drafted"}


async def optimize(
    state: ContentCreationState, runtime: Runtime[RunContext], config: RunnableConfig
) -> dict[str, Any]:
    current = state["draft"]
    slots = state.get("slots") or []
    result = await engagement_optimizer.call(
        {
            "text": current["text"],
            "platform": state["platform"],
            "hashtags": current["hashtags"],
            "slots": [s["at"] for s in slots],
        },
        runtime.context,
        config,
    )
    optimized = dump(result)
    # One figure per slot on the card: the draft's prediction at that slot replaces the
    # scheduler's timing-only figure (its reason, why the slot was picked, stays).
    by_slot = optimized.pop("slotPredictions", [])
    combined = [
        slot | {"expectedEngagement": p["rate"]} for slot, p in zip(slots, by_slot, strict=True)
    ]
    return {"optimized": optimized, "slots": combined or slots}


async def schedule(
    state: ContentCreationState, runtime: Runtime[RunContext], config: RunnableConfig
) -> dict[str, Any]:
    timezone = state.get("timezone") or (await org_settings(runtime.context)).timezone
    result = await scheduler.call(
        {"platform": state["platform"], "count": state.get("slotCount", 3), "timezone": timezone},
        runtime.context,
        config,
    )
    return {"slots": dump(result)["slots"], "timezone": timezone}


def _generated(state: ContentCreationState, run: RunContext) -> posts.GeneratedPost:
    final = state["optimized"]
    first_slot = state["slots"][0] if state["slots"] else None
    return posts.GeneratedPost(
        platform=state["platform"],
        text=final["text"],
        hashtags=final["hashtags"],
        # The draft's title (YouTube needs one to publish); the optimizer leaves it alone.
        title=(state.get("draft") or {}).get("title"),
        brief=state["brief"],
        scheduled_at=datetime.fromisoformat(first_slot["at"]) if first_slot else None,
        timezone=state.get("timezone") or "UTC",
        model=run.model,
        iterations=state.get("revisions", 0) + 1,
        feedback=state.get("feedback"),
        thread_key=run.thread_key,
    )


async def submit(state: ContentCreationState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    # Its own node, before the interrupt: approval re-runs from the top on resume.
    run = runtime.context
    pending = await posts.store_pending(
        run.services.db,
        run.org_id,
        _generated(state, run),
        # The managers are told a draft waits, as when a person submits one.
        events=workflow_services(run).events,
        requested_by=run.user_id,
    )
    return {"pendingPostId": str(pending.id)}


async def approval(state: ContentCreationState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    # Nothing happens before interrupt(): the node re-runs from the top on resume.
    drafted = state["draft"]
    answer = interrupt(
        {
            "kind": "approval",
            "question": "Publish this post at the first proposed slot?",
            "draft": state["optimized"] | {"callToAction": drafted.get("callToAction")},
            # Who wrote the words, and why the model's draft was not used (the quality gate):
            # a reviewer should know whether they are judging the model or a composed draft.
            "draftSource": drafted.get("source", "model"),
            "qualityNotes": drafted.get("qualityNotes", []),
            "slots": state["slots"],
            # The IANA zone the slots were picked in (the organization's, unless the input
            # named one): a client shows them on that clock, not the reader's own.
            "timezone": state.get("timezone"),
            "actions": ["approve", "revise", "reject"],
            # With approve: another proposed slot (its index) and/or edited text.
            "approveWith": ["slot", "text"],
            "problem": state.get("approvalProblem"),
        }
    )
    try:
        decision = Decision.model_validate(answer)
    except ValidationError as exc:
        raise ValueError(
            'resume with {"action": "approve"}, {"action": "revise", "feedback": "..."} or '
            f'{{"action": "reject"}}: {exc.errors()[0]["msg"]}'
        ) from exc
    update: dict[str, Any] = {"decision": decision.model_dump()}
    update["approvalProblem"] = None
    if decision.action == "approve":
        try:
            update |= await _reviewers_choice(state, runtime.context, decision)
        except ValueError as exc:
            # Asked again with the reason, rather than failing the run: LangGraph would keep
            # this answer for the interrupt, so a corrected one could never replace it.
            return {"approvalProblem": str(exc), "decision": decision.model_dump()}
    if decision.action == "revise":
        update |= {"feedback": decision.feedback or "Make it better.", "status": "revising"}
        update["revisions"] = state.get("revisions", 0) + 1
    elif decision.action == "reject":
        update["status"] = "rejected"
    return update


async def _reviewers_choice(
    state: ContentCreationState, run: RunContext, decision: Decision
) -> dict[str, Any]:
    """The chosen slot first (the post is scheduled at the first), the edited text checked
    like the model's; ValueError says what to fix."""
    update: dict[str, Any] = {}
    slots = list(state.get("slots") or [])
    if decision.slot is not None:
        if decision.slot >= len(slots):
            raise ValueError(f"slot {decision.slot}: choose one of 0..{len(slots) - 1}")
        chosen = slots.pop(decision.slot)
        update["slots"] = [chosen, *slots]
    if decision.text is not None:
        final = state["optimized"]
        banned = (await org_settings(run)).banned_terms
        problems = validate_post(
            decision.text, final["hashtags"], state["platform"], banned_terms=banned
        )
        if problems:
            raise ValueError("the edited text: " + "; ".join(p.message for p in problems))
        update["optimized"] = final | {"text": decision.text}
    return update


def after_draft(state: ContentCreationState) -> str:
    """A first draft is scheduled; a revision keeps the slots the reviewer already saw."""
    return "optimize" if state.get("slots") else "schedule"


def after_approval(state: ContentCreationState) -> str:
    if state.get("approvalProblem"):
        return "approval"  # the card again, with what to fix
    action = state["decision"]["action"]
    if action == "revise" and state.get("revisions", 0) <= MAX_REVISIONS:
        return "draft"
    return "store" if action == "approve" else "discard"


async def discard(state: ContentCreationState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    run = runtime.context
    await posts.discard_pending(run.services.db, run.org_id, run.thread_key)
    return {}


async def store(state: ContentCreationState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    run = runtime.context
    final = state["optimized"]
    stored = await posts.store_generated(run.services.db, run.org_id, _generated(state, run))
    # The post id as the memory id: a retried step overwrites, never duplicates.
    await run.services.memory.add(
        run.org_id,
        MemoryKind.CONTENT_HISTORY,
        stored.content.text,
        {
            "post_id": str(stored.id),
            "platform": state["platform"],
            "content_type": stored.content.content_type,
            "engagement_score": float(final["predictedEngagement"]["rate"]),
        },
        memory_id=str(stored.id),
    )
    # The post as decided: at the slot, or as an approver in the inbox left it.
    status = "scheduled" if stored.scheduling.status == "scheduled" else "approved"
    return {"postId": str(stored.id), "status": status}


def build(checkpointer: BaseCheckpointSaver | None) -> CompiledStateGraph:
    graph = StateGraph(ContentCreationState, context_schema=RunContext)
    graph.add_node("trends", trends, retry_policy=MODEL_RETRY)
    graph.add_node("draft", draft, retry_policy=MODEL_RETRY)
    graph.add_node("optimize", optimize, retry_policy=MODEL_RETRY)
    graph.add_node("schedule", schedule, retry_policy=MODEL_RETRY)
    graph.add_node("submit", submit)
    graph.add_node("approval", approval)
    graph.add_node("store", store)
    graph.add_node("discard", discard)
    graph.add_edge(START, "trends")
    graph.add_edge("trends", "draft")
    graph.add_conditional_edges("draft", after_draft, ["schedule", "optimize"])
    graph.add_edge("schedule", "optimize")
    graph.add_edge("optimize", "submit")
    graph.add_edge("submit", "approval")
    graph.add_conditional_edges(
        "approval", after_approval, ["draft", "store", "discard", "approval"]
    )
    graph.add_edge("store", END)
    graph.add_edge("discard", END)
    return graph.compile(checkpointer=checkpointer, name="content_creation")
