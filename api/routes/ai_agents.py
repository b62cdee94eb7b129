"""The seven agents as the organization configures them: settings, status, training
examples into long-term memory, and memory search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field, Strict
from pydantic.alias_generators import to_camel

from agents.base import Agent
from agents.models import ModelNotConfigured, parse_spec
from agents.registry import AGENTS
from api.deps import Reader, RuntimeDep, Writer
from api.routes.ai_common import AI_RATE, Body, BodyIn, agent_named
from memory.kinds import MemoryKind
from memory.store import MemoryHit
from persistence.errors import InvalidInput
from persistence.models.ai import AgentConfiguration, AiAgent
from services import agents
from services.agents import NATURAL_KIND

router = APIRouter(prefix="/api/ai-agents", tags=["ai-agents"], dependencies=[AI_RATE])


class AgentOut(Body):
    name: str
    role: str
    goal: str
    task_type: str
    memory_kind: MemoryKind = Field(description="where /train stores and /memory searches")
    enabled: bool
    configured: bool = Field(description="false: no stored configuration, defaults apply")
    configuration: dict[str, Any]


def _agent_out(agent: Agent, stored: AiAgent | None) -> AgentOut:
    config = stored.configuration if stored else AgentConfiguration()
    return AgentOut(
        name=agent.name,
        role=agent.persona.role,
        goal=agent.persona.goal,
        task_type=agent.task_type,
        memory_kind=NATURAL_KIND[agent.name],
        enabled=stored.status.is_active if stored else True,
        configured=stored is not None,
        configuration=config.model_dump(by_alias=True, mode="json"),
    )


@router.get("", response_model=list[AgentOut])
async def list_agents(principal: Reader, runtime: RuntimeDep) -> list[AgentOut]:
    """The seven agents with the organization's configuration (defaults where none stored)."""
    return [
        _agent_out(agent, await agents.stored_agent(runtime.db, principal.org_id, name))
        for name, agent in AGENTS.items()
    ]


class ConfigureIn(BodyIn):
    """Only the fields sent change; the others keep their stored (or default) values."""

    model: str | None = Field(default=None, description="provider:model, e.g. openai:gpt-4o")
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=32000)
    system_prompt: str | None = Field(default=None, max_length=8000)
    enabled: bool | None = None


@router.post("/{agent}/configure", response_model=AgentOut)
async def configure_agent(
    agent: str, body: ConfigureIn, principal: Writer, runtime: RuntimeDep
) -> AgentOut:
    """Upsert the organization's configuration of ``agent``. ``enabled: false`` switches it
    off: its routes then answer 423 until it is enabled again."""
    found = agent_named(agent)
    sent = body.model_fields_set
    if body.model:
        try:
            parse_spec(body.model)
        except ModelNotConfigured as exc:
            raise InvalidInput.field("body.model", str(exc)) from exc
    for name in sent & {"temperature", "max_tokens", "enabled"}:
        if getattr(body, name) is None:  # null only makes sense for model and systemPrompt
            raise InvalidInput.field(f"body.{to_camel(name)}", "may not be null")
    stored = await agents.configure(
        runtime.db,
        principal.org_id,
        found.name,
        name=found.persona.role,
        description=found.persona.goal,
        changes={k: getattr(body, k) for k in sent & agents.CONFIG_FIELDS},
        enabled=body.enabled if "enabled" in sent else None,
    )
    return _agent_out(found, stored)


class AgentStatusOut(AgentOut):
    tasks: dict[str, int] = Field(description="task counts by status")
    total_tasks: int
    success_rate: float | None = Field(description="completed / (completed + failed)")
    avg_duration_seconds: float | None = Field(description="mean of completed tasks")
    total_cost_usd: float
    last_task_at: str | None


@router.get("/{agent}/status", response_model=AgentStatusOut)
async def agent_status(agent: str, principal: Reader, runtime: RuntimeDep) -> AgentStatusOut:
    """The configuration and how the agent has done for the organization, from ai_tasks."""
    found = agent_named(agent)
    stored = await agents.stored_agent(runtime.db, principal.org_id, agent)
    stats = await agents.task_stats(runtime.db, principal.org_id, agent)
    return AgentStatusOut(
        **_agent_out(found, stored).model_dump(),
        tasks=stats.counts,
        total_tasks=stats.total,
        success_rate=stats.success_rate,
        avg_duration_seconds=stats.avg_duration_seconds,
        total_cost_usd=stats.total_cost_usd,
        last_task_at=stats.last_task_at,
    )


class Example(BodyIn):
    text: str = Field(min_length=1, max_length=10000)
    # An enum: by value, as the schema lists them (strict mode alone takes only the member).
    kind: Annotated[MemoryKind, Strict(False)] | None = Field(
        default=None, description="default: the agent's own kind"
    )
    metadata: dict[str, Any] = Field(default_factory=dict)


class TrainIn(BodyIn):
    examples: list[Example] = Field(min_length=1, max_length=200)


class TrainOut(Body):
    agent: str
    stored: list[dict[str, str]] = Field(description="{id, kind} of each example, in order")


@router.post("/{agent}/train", response_model=TrainOut)
async def train_agent(
    agent: str, body: TrainIn, principal: Writer, runtime: RuntimeDep
) -> TrainOut:
    """Store examples in the organization's long-term memory, where the agent retrieves them
    (brand voice for the content creator, crisis patterns for the crisis manager...)."""
    agent_named(agent)
    examples = [agents.Example(e.text, e.kind, e.metadata) for e in body.examples]
    stored = await agents.train(runtime.memory, principal.org_id, agent, examples)
    return TrainOut(agent=agent, stored=[{"id": i, "kind": k.value} for i, k in stored])


@router.get("/{agent}/memory", response_model=list[MemoryHit])
async def search_memory(
    agent: str,
    principal: Reader,
    runtime: RuntimeDep,
    q: Annotated[str, Query(min_length=1, max_length=2000)],
    kind: MemoryKind | None = None,
    k: Annotated[int, Query(ge=1, le=50)] = 5,
) -> list[MemoryHit]:
    """The organization's memories nearest to ``q`` (the agent's own kind by default), most
    similar first; ``score`` is cosine similarity in [0, 1]."""
    agent_named(agent)
    return await runtime.memory.search(principal.org_id, kind or NATURAL_KIND[agent], q, k=k)
