"""The machinery every agent shares: a named, traced child run and an accounted ai_tasks row."""

from __future__ import annotations

from typing import ClassVar

import pytest
from bson import ObjectId
from langchain_core.tracers.context import collect_runs
from pydantic import BaseModel
from support import run_context

from agents.base import Agent, AgentContext, Persona
from chorus.runtime import Runtime
from persistence.admin import OrganizationAdmin
from persistence.models import AiAgent, AiTask
from persistence.models.ai import AgentConfiguration, AgentStatus
from persistence.repository import TenantRepository
from services.agents import AgentDisabled


class Echo(BaseModel):
    text: str


class EchoAgent(Agent[Echo, Echo]):
    """The smallest real agent: asks the model once and returns its words."""

    name: ClassVar = "content_creator"
    task_type: ClassVar = "echo"
    persona: ClassVar = Persona("Echo", "Repeat things.", "Test agent.")
    input_model: ClassVar = Echo
    output_model: ClassVar = Echo

    async def run(self, request: Echo, ctx: AgentContext) -> Echo:
        return Echo(text=await ctx.chat(self.persona.system_prompt(), request.text))


async def _org(runtime: Runtime, name: str = "Base Tests") -> ObjectId:
    return (await OrganizationAdmin(runtime.db).create(name)).id


async def test_a_call_is_a_named_child_run_with_tenant_metadata(runtime: Runtime) -> None:
    org = await _org(runtime)
    config = run_context(org, runtime, thread_id="t-1", graph="content_creation")
    with collect_runs() as collector:
        out = await EchoAgent().call({"text": "hello world"}, config)
    assert out.text == "Noted: hello world"
    [run] = [r for r in collector.traced_runs if r.name == "content_creator"]
    metadata = run.extra["metadata"]
    assert metadata["organizationId"] == str(org)
    assert metadata["agent"] == "content_creator"
    assert metadata["workflow"] == "content_creation"
    assert metadata["thread_id"] == "t-1"
    assert "agent:content_creator" in run.tags


async def test_each_call_writes_one_ai_task_with_tokens(runtime: Runtime) -> None:
    org = await _org(runtime)
    await EchoAgent().call({"text": "count these four words"}, run_context(org, runtime))
    [task] = await TenantRepository(runtime.db, AiTask).find(org)
    assert task.agent_type == "content_creator"
    assert task.execution.status == "completed"
    assert task.resources.model_used == "scripted"
    assert task.resources.tokens_in > 0
    assert task.resources.tokens_out > 0
    assert task.resources.cost_usd == 0.0


async def test_a_failing_call_is_recorded_as_failed(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await _org(runtime)

    async def broken(self: EchoAgent, request: Echo, ctx: AgentContext) -> Echo:
        await ctx.chat("system", "first call is accounted")
        raise RuntimeError("model output unusable")

    monkeypatch.setattr(EchoAgent, "run", broken)
    with pytest.raises(RuntimeError):
        await EchoAgent().call({"text": "x"}, run_context(org, runtime))
    [task] = await TenantRepository(runtime.db, AiTask).find(org)
    assert task.execution.status == "failed"
    assert "unusable" in (task.execution.error_message or "")
    assert task.resources.tokens_in > 0, "tokens spent before the failure still count"


async def test_tenant_configuration_is_read_at_run_time(runtime: Runtime) -> None:
    org = await _org(runtime)
    agents = TenantRepository(runtime.db, AiAgent)
    config = AiAgent(
        organization_id=org,
        agent_type="content_creator",
        name="Writer",
        configuration=AgentConfiguration(model="scripted:custom"),
    )
    await agents.insert(config)
    await EchoAgent().call({"text": "x"}, run_context(org, runtime))
    [task] = await TenantRepository(runtime.db, AiTask).find(org)
    assert task.resources.model_used == "scripted:custom"
    # A model named for the run wins over the tenant's choice.
    await EchoAgent().call({"text": "y"}, run_context(org, runtime, model="scripted:run"))
    latest = await TenantRepository(runtime.db, AiTask).find(org, sort=[("createdAt", -1)])
    assert latest[0].resources.model_used == "scripted:run"

    await agents.update(
        org, config.id, {"status": AgentStatus(is_active=False).model_dump(by_alias=True)}
    )
    with pytest.raises(AgentDisabled):
        await EchoAgent().call({"text": "z"}, run_context(org, runtime))
