"""The seven agents as the organization configures them: settings, status, training
examples into long-term memory, and memory search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from pydantic.alias_generators import to_camel

from agents.base import Agent
from agents.registry import AGENTS
from api.deps import RuntimeDep, require
from api.principal import Principal
from api.routes.ai_common import AI_RATE, NATURAL_KIND, Body, agent_named, invalid_field
from chorus.chat_models import ModelNotConfigured, parse_spec
from memory.kinds import MemoryKind
from memory.store import InvalidMetadata, MemoryHit, flatten_metadata
from persistence.models.ai import AgentConfiguration, AgentStatus, AiAgent, AiTask
from persistence.repository import TenantRepository

Reader = Annotated[Principal, Depends(require("read"))]
Writer = Annotated[Principal, Depends(require("write"))]

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


async def _stored(runtime: Any, principal: Principal, name: str) -> AiAgent | None:
    # The newest document wins, as in agents.accounting.load_agent_config.
    found = await TenantRepository(runtime.db, AiAgent).find(
        principal.org_id, {"agentType": name}, sort=[("createdAt", -1)], limit=1
    )
    return found[0] if found else None


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
        _agent_out(agent, await _stored(runtime, principal, name)) for name, agent in AGENTS.items()
    ]


class ConfigureIn(Body):
    """Only the fields sent change; the others keep their stored (or default) values."""

    model: str | None = Field(default=None, description="provider:model, e.g. openai:gpt-4o")
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=32000)
    system_prompt: str | None = Field(default=None, max_length=8000)
    enabled: bool | None = None


_CONFIG_FIELDS = {"model", "temperature", "max_tokens", "system_prompt"}


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
            raise invalid_field("body.model", str(exc)) from exc
    for name in sent & {"temperature", "max_tokens", "enabled"}:
        if getattr(body, name) is None:  # null only makes sense for model and systemPrompt
            raise invalid_field(f"body.{to_camel(name)}", "may not be null")
    repo = TenantRepository(runtime.db, AiAgent)
    stored = await _stored(runtime, principal, agent)
    config_changes = {k: getattr(body, k) for k in sent & _CONFIG_FIELDS}
    if stored is None:
        stored = await repo.insert(
            AiAgent(
                organization_id=principal.org_id,
                agent_type=found.name,
                name=found.persona.role,
                description=found.persona.goal,
                configuration=AgentConfiguration(**config_changes),
                status=AgentStatus(is_active=body.enabled is not False),
            )
        )
    else:
        changes: dict[str, Any] = {
            f"configuration.{to_camel(k)}": v for k, v in config_changes.items()
        }
        if "enabled" in sent:
            changes["status.isActive"] = body.enabled
        if changes:
            stored = await repo.update(principal.org_id, stored.id, changes) or stored
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
    stored = await _stored(runtime, principal, agent)
    repo = TenantRepository(runtime.db, AiTask)
    rows = await repo.aggregate(
        principal.org_id,
        [
            {"$match": {"agentType": agent}},
            {
                "$group": {
                    "_id": "$execution.status",
                    "n": {"$sum": 1},
                    "avg": {"$avg": "$execution.executionTime"},
                    "cost": {"$sum": {"$ifNull": ["$resources.costUsd", 0]}},
                }
            },
        ],
    )
    counts = {str(r["_id"]): int(r["n"]) for r in rows}
    done, failed = counts.get("completed", 0), counts.get("failed", 0)
    avg = next((r["avg"] for r in rows if r["_id"] == "completed"), None)
    latest = await repo.find(
        principal.org_id, {"agentType": agent}, sort=[("createdAt", -1)], limit=1
    )
    return AgentStatusOut(
        **_agent_out(found, stored).model_dump(),
        tasks=counts,
        total_tasks=sum(counts.values()),
        success_rate=round(done / (done + failed), 4) if done + failed else None,
        avg_duration_seconds=round(float(avg), 3) if avg is not None else None,
        total_cost_usd=round(sum(float(r["cost"] or 0) for r in rows), 6),
        last_task_at=latest[0].created_at.isoformat() if latest else None,
    )


class Example(Body):
    text: str = Field(min_length=1, max_length=10000)
    kind: MemoryKind | None = Field(default=None, description="default: the agent's own kind")
    metadata: dict[str, Any] = Field(default_factory=dict)


class TrainIn(Body):
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
    planned: list[tuple[MemoryKind, str, dict[str, Any]]] = []
    for i, example in enumerate(body.examples):
        metadata = {**example.metadata, "agent": agent, "source": "training"}
        try:
            flatten_metadata(metadata)  # checked for all first: a bad one stores none
        except InvalidMetadata as exc:
            raise invalid_field(f"body.examples.{i}.metadata", str(exc)) from exc
        planned.append((example.kind or NATURAL_KIND[agent], example.text, metadata))
    stored: list[dict[str, str]] = []
    for kind, text, metadata in planned:
        memory_id = await runtime.memory.add(principal.org_id, kind, text, metadata)
        stored.append({"id": memory_id, "kind": kind.value})
    return TrainOut(agent=agent, stored=stored)


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
