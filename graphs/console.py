"""console: a chat graph that hands each user turn to the agent that fits, or answers itself.

With a model that calls tools (OpenAI, Anthropic) the model routes: each agent is offered as
a tool whose arguments are the agent's input contract, and a tool call runs that agent with
those arguments (over defaults read from the turn and the tenant); no call means the model
answers itself. The local model cannot call tools, so there routing is by rules over the
user's words (fast and predictable): a turn about trends goes to the trend analyzer, "when
should we post" to the scheduler, and so on; anything else is answered by the chat model
directly, streamed token by token. Agent
answers are rendered from their structured results, so every number shown comes from a tool.
The conversation is kept per thread by the checkpointer.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, NotRequired

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict

from agents.base import admit_model_work, agent_services, chat_model, org_settings
from agents.models import TOOL_CALLING_PROVIDERS
from agents.registry import AGENTS
from graphs.agent_graphs import dump
from graphs.analysis import _competitor_report, _performance_report, _trend_report
from graphs.retry import MODEL_RETRY
from persistence.models.content import PLATFORMS
from services import organizations
from tools.context import RunContext

HISTORY_TURNS = 12
SYSTEM = (
    "You are Chorus, a social media assistant for the team you are talking to. Be brief and "
    "concrete. You have agents for trends, scheduling, performance, competitors, crises, "
    "writing posts and optimizing them; suggest them when they fit."
)

# (agent, pattern): the first pattern that matches the user's turn decides.
ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (agent, re.compile(pattern, re.I))
    for agent, pattern in (
        ("crisis_manager", r"\b(crisis|backlash|complain\w*|outrage|boycott|recall|mentions?)\b"),
        ("competitor_monitor", r"\bcompetitors?\b|\bvs\.?\s|\bversus\b|\brivals?\b"),
        ("scheduler", r"\b(when|best time|schedule|slots?|what time)\b"),
        ("trend_analyzer", r"\b(trend\w*|hashtags? (are|is) (rising|hot)|what'?s hot|viral)\b"),
        ("performance_tracker", r"\b(perform\w*|how did|how are we|metrics|analytics|report)\b"),
        ("engagement_optimizer", r"\b(optimi[sz]e|improve|better engagement|punch up)\b"),
        ("content_creator", r"\b(write|draft|compose|create|caption)\b.*\b(post|tweet|caption)"),
    )
)


class ConsoleState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    route: NotRequired[str | None]
    toolArgs: NotRequired[dict[str, Any] | None]
    result: NotRequired[dict[str, Any] | None]


def choose_route(text: str) -> str:
    for agent, pattern in ROUTES:
        if pattern.search(text):
            return agent
    return "answer"


def _last_user_text(state: ConsoleState) -> str:
    for message in reversed(state["messages"]):
        if isinstance(message, HumanMessage):
            return str(message.content)
    return ""


def _platform(text: str, default: str = "instagram") -> str:
    lowered = f" {text.lower()} ".replace(" x ", " twitter ")  # X is Twitter's new name
    return next((p for p in PLATFORMS if re.search(rf"\b{p}\b", lowered)), default)


def _number(text: str, unit: str, default: int) -> int:
    match = re.search(rf"(\d+)\s*{unit}", text, re.I)
    return int(match.group(1)) if match else default


async def _request_for(agent: str, text: str, run: RunContext) -> dict[str, Any]:
    """The agent's input, read from the user's words with defaults from the tenant."""
    settings = await org_settings(run)
    platform = _platform(text)
    if agent == "scheduler":
        return {
            "platform": platform,
            "count": _number(text, r"(?:slots?|posts?|times)", 3),
            "timezone": settings.timezone,
        }
    named = [p for p in PLATFORMS if re.search(rf"\b{p}\b", text, re.I)] or None
    if agent == "trend_analyzer":
        days = _number(text, "days?", 7)
        return {"industry": settings.industry, "platforms": named, "days": days}
    if agent == "performance_tracker":
        return {"days": _number(text, "days?", 30), "platforms": named}
    if agent == "competitor_monitor":
        pattern = r"\bcompetitors?:?|\bvs\.?\s|\bversus\b|\brivals?\b"
        after = re.split(pattern, text, maxsplit=1, flags=re.I)[-1]
        names = [n.strip(" .?!") for n in re.split(r",|\band\b", after) if n.strip(" .?!")]
        days = _number(text, "days?", 30)
        return {"competitors": names[:10] or [text.strip()[:80]], "days": days}
    if agent == "crisis_manager":
        lines = [line.strip("-• ").strip() for line in text.splitlines()[1:] if line.strip()]
        quoted = re.findall(r'"([^"]{3,})"', text)
        mentions = [{"text": t} for t in (quoted or lines or [text])]
        brand = await organizations.display_name(run.services.db, run.org_id)
        return {"brand": brand, "mentions": mentions}
    if agent == "engagement_optimizer":
        body = text.split(":", 1)[-1].strip() or text
        return {"text": body, "platform": platform}
    return {"brief": text, "platform": platform, "industry": settings.industry}


def render(agent: str, out: dict[str, Any]) -> str:
    """An agent's structured answer as a chat message."""
    if agent == "trend_analyzer":
        return _trend_report(out)
    if agent == "performance_tracker":
        return _performance_report(out)
    if agent == "competitor_monitor":
        return _competitor_report(out)
    if agent == "scheduler":
        slots = "\n".join(f"- {s['at']}: {s['reason']}" for s in out["slots"])
        return f"{out.get('summary', '')}\n\n{slots}".strip()
    if agent == "crisis_manager":
        a, plan = out["assessment"], out["responsePlan"]
        actions = "\n".join(f"- {x}" for x in plan["actions"])
        statement = (
            f"\n\nHolding statement: {plan['holdingStatement']}"
            if plan.get("holdingStatement")
            else ""
        )
        return (
            f"Risk: **{a['riskLevel']}** (score {a['score']:.2f}). {plan['summary']}\n\n"
            f"{actions}{statement}"
        )
    if agent == "engagement_optimizer":
        p = out["predictedEngagement"]
        return (
            f"{out['text']}\n\n{' '.join(out['hashtags'])}\n\nPredicted engagement "
            f"{p['rate']:.2%} ({p['low']:.2%}–{p['high']:.2%}). {out['rationale']}"
        )
    tags = " ".join(out["hashtags"])
    cta = f"\n\n{out['callToAction']}" if out.get("callToAction") else ""
    return f"{out['text']}{cta}\n\n{tags}".strip()


def agent_tools() -> list[dict[str, Any]]:
    """Every agent as a tool: its name, its goal, its input contract as the parameters."""
    return [
        {
            "type": "function",
            "function": {
                "name": name,
                "description": f"{agent.persona.role}: {agent.persona.goal}",
                "parameters": agent.input_model.model_json_schema(by_alias=True),
            },
        }
        for name, agent in AGENTS.items()
    ]


def _tool_calling(run: RunContext) -> bool:
    spec = run.model or agent_services(run).chat_models.default or ""
    return spec.partition(":")[0].strip().lower() in TOOL_CALLING_PROVIDERS


async def route(
    state: ConsoleState, runtime: Runtime[RunContext], config: RunnableConfig
) -> dict[str, Any]:
    run = runtime.context
    if not _tool_calling(run):
        return {"route": choose_route(_last_user_text(state)), "toolArgs": None}
    await admit_model_work(run)
    model = chat_model(run, temperature=0.0, max_tokens=400).bind_tools(agent_tools())
    history = state["messages"][-HISTORY_TURNS:]
    reply = await model.ainvoke([SystemMessage(SYSTEM), *history], config)
    calls = [c for c in getattr(reply, "tool_calls", []) or [] if c["name"] in AGENTS]
    if not calls:
        return {"route": "answer", "toolArgs": None}
    return {"route": calls[0]["name"], "toolArgs": dict(calls[0]["args"])}


async def run_agent(
    state: ConsoleState, runtime: Runtime[RunContext], config: RunnableConfig
) -> dict[str, Any]:
    agent = AGENTS[state["route"]]
    text = _last_user_text(state)
    run = runtime.context
    # The model's arguments (tool calling) over what the rules read from the turn: the agent's
    # contract validates the merge, and a bad argument is a ValueError like a missing one.
    request = {**(await _request_for(agent.name, text, run)), **(state.get("toolArgs") or {})}
    try:
        result = dump(await agent.call(request, run, config))
    except ValueError as exc:  # the turn did not carry what the agent needs
        return {"messages": [AIMessage(f"I need a little more to go on: {exc}")]}
    return {"result": result, "messages": [AIMessage(render(agent.name, result), name=agent.name)]}


async def answer(
    state: ConsoleState, runtime: Runtime[RunContext], config: RunnableConfig
) -> dict[str, Any]:
    await admit_model_work(runtime.context)
    model = chat_model(runtime.context, temperature=0.4, max_tokens=400)
    history = state["messages"][-HISTORY_TURNS:]
    reply = await model.ainvoke([SystemMessage(SYSTEM), *history], config)
    text = str(reply.content).strip() or "Could you say a bit more about what you need?"
    return {"messages": [AIMessage(text, usage_metadata=reply.usage_metadata)]}


def after_route(state: ConsoleState) -> str:
    return "answer" if state["route"] == "answer" else "agent"


def build(checkpointer: BaseCheckpointSaver | None) -> CompiledStateGraph:
    graph = StateGraph(ConsoleState, context_schema=RunContext)
    graph.add_node("route", route, retry_policy=MODEL_RETRY)
    graph.add_node("agent", run_agent, retry_policy=MODEL_RETRY)
    graph.add_node("answer", answer, retry_policy=MODEL_RETRY)
    graph.add_edge(START, "route")
    graph.add_conditional_edges("route", after_route, ["agent", "answer"])
    graph.add_edge("agent", END)
    graph.add_edge("answer", END)
    return graph.compile(checkpointer=checkpointer, name="console")
