"""The console with a tool-calling model (OpenAI here, through the real client against a local
server that speaks its wire format): each agent is offered as a tool with its input contract,
the model's call picks the agent and its arguments; no call means the model answers. The
local model keeps rule routing (tests/test_graphs.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from agent_support import World, agent_world
from fake_model_apis import serve
from langchain_core.messages import HumanMessage
from support import DEMO_NOW, make_settings

from agents.registry import AGENTS
from chorus.chat_models import ChatModels
from graphs.console import agent_tools

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with agent_world(tmp_path_factory.mktemp("console_tools") / "data") as w:
        yield w


async def _turn(world: World, text: str, base: str, tmp: Any, mp: pytest.MonkeyPatch) -> Any:
    models = ChatModels(
        make_settings(tmp, model=None, openai_api_key="sk-test", openai_base_url=f"{base}/v1")
    )
    mp.setattr(world.runtime.chat_models, "get", lambda *a, **kw: models.get(**kw))
    engine = world.runtime.engine
    ctx = engine.context(world.a, graph="console", model="openai:gpt-4o-mini", now=DEMO_NOW)
    graph = engine.graph("console")
    return await graph.ainvoke({"messages": [HumanMessage(text)]}, engine.config(ctx), context=ctx)


async def test_every_agent_is_offered_with_its_contract() -> None:
    tools = {t["function"]["name"]: t["function"] for t in agent_tools()}
    assert set(tools) == set(AGENTS)
    assert "count" in tools["scheduler"]["parameters"]["properties"]


async def test_the_models_tool_call_picks_the_agent_and_its_arguments(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    # Words the rules would send to the scheduler; the model calls the scheduler for five
    # LinkedIn slots, and its arguments win over the rules' defaults.
    args = {"platform": "linkedin", "count": 5}
    with serve("unused", structured=args, tool_call="scheduler") as (base, requests):
        out = await _turn(world, "Plan our week, please.", base, tmp_path, monkeypatch)
    sent = next(r for r in requests if r["path"] == "chat" and r.get("tools"))
    assert {t["function"]["name"] for t in sent["tools"]} == set(AGENTS)
    assert out["route"] == "scheduler"
    assert len(out["result"]["slots"]) == 5
    assert out["messages"][-1].name == "scheduler"


async def test_no_tool_call_means_the_model_answers(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    with serve("Happy to help with your social media.") as (base, requests):
        out = await _turn(world, "When should we post? Actually, hi!", base, tmp_path, monkeypatch)
    assert out["route"] == "answer"
    assert out["messages"][-1].content == "Happy to help with your social media."
    assert len([r for r in requests if r["path"] == "chat"]) == 2  # the routing, the answer
