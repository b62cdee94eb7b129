"""crisis_response: assess -> remember -> (at high or critical risk) approve pausing -> pause.

At high or critical risk the run pauses with a proposal to pause every scheduled post of the
tenant; resume with ``{"action": "approve"}`` or ``{"action": "reject"}``. Pausing is one
idempotent update: posts already paused stay paused and nothing else changes.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal, NotRequired

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import BaseModel, ValidationError
from typing_extensions import TypedDict

from agents.crisis_manager import crisis_manager
from graphs.agent_graphs import dump
from graphs.retry import MODEL_RETRY
from memory.kinds import MemoryKind
from services import posts
from tools.context import RunContext

PAUSE_AT = ("high", "critical")


class CrisisState(TypedDict):
    input: dict[str, Any]
    output: NotRequired[dict[str, Any] | None]
    decision: NotRequired[dict[str, Any] | None]
    paused: NotRequired[int | None]
    status: NotRequired[str | None]


class PauseDecision(BaseModel):
    action: Literal["approve", "reject"]


async def assess(
    state: CrisisState, runtime: Runtime[RunContext], config: RunnableConfig
) -> dict[str, Any]:
    return {"output": dump(await crisis_manager.call(state["input"], runtime.context, config))}


async def remember(state: CrisisState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    run = runtime.context
    assessment = state["output"]["assessment"]
    plan = state["output"]["responsePlan"]
    text = f"{plan['summary']} Drivers: {'; '.join(assessment['drivers'])}."
    memory_id = uuid.uuid5(uuid.NAMESPACE_URL, f"crisis:{run.thread_key}").hex
    await run.services.memory.add(
        run.org_id,
        MemoryKind.CRISIS_PATTERNS,
        text,
        {
            "crisis_type": state["input"].get("brand", ""),
            "severity": assessment["riskLevel"],
            "score": float(assessment["score"]),
            "response_effectiveness": "unknown",
        },
        memory_id=memory_id,
    )
    return {}


def after_remember(state: CrisisState) -> str:
    return "approval" if state["output"]["assessment"]["riskLevel"] in PAUSE_AT else END


async def approval(state: CrisisState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    # Counting before interrupt() is a read, so re-running this node on resume is harmless.
    run = runtime.context
    scheduled = await posts.count_scheduled(run.services.db, run.org_id)
    answer = interrupt(
        {
            "kind": "approval",
            "question": f"Pause all {scheduled} scheduled posts while the crisis is handled?",
            "riskLevel": state["output"]["assessment"]["riskLevel"],
            "responsePlan": state["output"]["responsePlan"],
            "scheduledPosts": scheduled,
            "actions": ["approve", "reject"],
        }
    )
    try:
        decision = PauseDecision.model_validate(answer)
    except ValidationError as exc:
        raise ValueError('resume with {"action": "approve"} or {"action": "reject"}') from exc
    return {"decision": decision.model_dump()}


def after_approval(state: CrisisState) -> str:
    return "pause" if state["decision"]["action"] == "approve" else END


async def pause(state: CrisisState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    paused = await posts.pause_scheduled(runtime.context.services.db, runtime.context.org_id)
    return {"paused": paused, "status": "paused"}


def build(checkpointer: BaseCheckpointSaver | None) -> CompiledStateGraph:
    graph = StateGraph(CrisisState, context_schema=RunContext)
    graph.add_node("assess", assess, retry_policy=MODEL_RETRY)
    graph.add_node("remember", remember)
    graph.add_node("approval", approval)
    graph.add_node("pause", pause)
    graph.add_edge(START, "assess")
    graph.add_edge("assess", "remember")
    graph.add_conditional_edges("remember", after_remember, ["approval", END])
    graph.add_conditional_edges("approval", after_approval, ["pause", END])
    graph.add_edge("pause", END)
    return graph.compile(checkpointer=checkpointer, name="crisis_response")
