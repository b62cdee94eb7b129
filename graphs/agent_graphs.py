"""Each agent as a one-node graph named after it: ``{"input": {...}} -> {"output": {...}}``."""

from __future__ import annotations

from typing import Any, NotRequired

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict

from agents.base import Agent
from graphs.retry import MODEL_RETRY
from tools.context import RunContext


class AgentState(TypedDict):
    input: dict[str, Any]
    output: NotRequired[dict[str, Any] | None]


def dump(model: Any) -> dict[str, Any]:
    """A pydantic result as graph state: JSON types and camelCase, as the API answers."""
    return model.model_dump(mode="json", by_alias=True)


def build_agent_graph(agent: Agent, checkpointer: BaseCheckpointSaver | None) -> CompiledStateGraph:
    async def run(
        state: AgentState, runtime: Runtime[RunContext], config: RunnableConfig
    ) -> dict[str, Any]:
        return {"output": dump(await agent.call(state["input"], runtime.context, config))}

    graph = StateGraph(AgentState, context_schema=RunContext)
    graph.add_node(agent.name, run, retry_policy=MODEL_RETRY)
    graph.add_edge(START, agent.name)
    graph.add_edge(agent.name, END)
    return graph.compile(checkpointer=checkpointer, name=agent.name)
