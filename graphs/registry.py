"""Every graph by name: the seven single-agent graphs and the workflows."""

from __future__ import annotations

from collections.abc import Callable

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph

from agents.registry import AGENTS
from graphs import console, content_creation, crisis_response
from graphs.agent_graphs import build_agent_graph
from graphs.analysis import ANALYSES, build_analysis
from persistence.errors import NotFound

Builder = Callable[[BaseCheckpointSaver | None], CompiledStateGraph]

WORKFLOWS: dict[str, Builder] = {
    "content_creation": content_creation.build,
    **{spec.name: (lambda cp, spec=spec: build_analysis(spec, cp)) for spec in ANALYSES},
    "crisis_response": crisis_response.build,
    "console": console.build,
}
AGENT_GRAPHS: dict[str, Builder] = {
    name: (lambda cp, agent=agent: build_agent_graph(agent, cp)) for name, agent in AGENTS.items()
}
GRAPH_NAMES: tuple[str, ...] = (*WORKFLOWS, *AGENT_GRAPHS)

DESCRIPTIONS: dict[str, str] = {
    "content_creation": "Trends, draft, optimize, schedule, then your approval before storing.",
    "trend_analysis": "Rising hashtags and topics, remembered and reported.",
    "performance_analysis": "Metrics, top and bottom posts, anomalies and recommendations.",
    "competitor_analysis": "Benchmarks, content gaps and a SWOT from a two-agent crew.",
    "crisis_response": "Risk assessment and a response plan; pauses posts with your approval.",
    "console": "Chat: each turn goes to the agent that fits, or is answered directly.",
    **{name: agent.persona.goal for name, agent in AGENTS.items()},
}


class UnknownGraph(NotFound, LookupError):
    """No graph (assistant) has that name."""

    default_code = "unknown_graph"


def build_graph(name: str, checkpointer: BaseCheckpointSaver | None) -> CompiledStateGraph:
    builder = WORKFLOWS.get(name) or AGENT_GRAPHS.get(name)
    if builder is None:
        raise UnknownGraph(f"no graph named {name!r}; choose one of: {', '.join(GRAPH_NAMES)}")
    return builder(checkpointer)
