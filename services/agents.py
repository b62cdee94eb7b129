"""How an organization configures its seven agents, how they have done, and what they learn.

An organization may store one ``ai_agents`` document per agent type: the model, sampling,
an extra system prompt, and whether the agent is on. Without one, defaults apply. Training
examples go into the organization's long-term memory, of the kind the agent reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pydantic.alias_generators import to_camel

from memory.kinds import MemoryKind
from memory.store import InvalidMetadata, TenantMemory, checked_metadata
from persistence.errors import InvalidInput, Locked
from persistence.models.ai import AGENT_TYPES, AgentConfiguration, AgentStatus, AiAgent, AiTask
from persistence.repository import TenantRepository

#: The memory an agent learns from by default (training) and searches.
NATURAL_KIND: dict[str, MemoryKind] = {
    "content_creator": MemoryKind.BRAND_VOICE,
    "trend_analyzer": MemoryKind.TREND_ANALYSIS,
    "engagement_optimizer": MemoryKind.ENGAGEMENT_PATTERNS,
    "scheduler": MemoryKind.ENGAGEMENT_PATTERNS,
    "performance_tracker": MemoryKind.CONTENT_HISTORY,
    "competitor_monitor": MemoryKind.COMPETITOR_INSIGHTS,
    "crisis_manager": MemoryKind.CRISIS_PATTERNS,
}
CONFIG_FIELDS = frozenset({"model", "temperature", "max_tokens", "system_prompt"})


class AgentDisabled(Locked):
    """The organization has switched this agent off."""

    default_code = "agent_disabled"

    def __init__(self, agent_type: str, name: str | None = None) -> None:
        self.agent_type = agent_type
        label = f"{name!r} ({agent_type})" if name else agent_type
        super().__init__(
            f"the {label} agent is disabled for this organization; an admin can turn it on "
            "again with POST /api/ai-agents/{agent}/configure and enabled: true"
        )


def check_agent_type(agent_type: str) -> str:
    if agent_type not in AGENT_TYPES:
        raise ValueError(
            f"unknown agent type {agent_type!r}; expected one of: {', '.join(AGENT_TYPES)}"
        )
    return agent_type


async def stored_agent(db: Any, org_id: ObjectId, agent_type: str) -> AiAgent | None:
    """The organization's document for the agent; the newest wins should there be several."""
    found = await TenantRepository(db, AiAgent).find(
        org_id, {"agentType": check_agent_type(agent_type)}, sort=[("createdAt", -1)], limit=1
    )
    return found[0] if found else None


async def load_configuration(db: Any, org_id: ObjectId, agent_type: str) -> AgentConfiguration:
    """The organization's configuration of an agent, defaults if it has none stored.

    Raises :class:`AgentDisabled` if the organization turned the agent off."""
    agent = await stored_agent(db, org_id, agent_type)
    if agent is None:
        return AgentConfiguration()
    if not agent.status.is_active:
        raise AgentDisabled(agent_type, agent.name)
    return agent.configuration


async def configure(
    db: Any,
    org_id: ObjectId,
    agent_type: str,
    *,
    name: str,
    description: str,
    changes: dict[str, Any],
    enabled: bool | None = None,
) -> AiAgent:
    """Upsert the configuration: only the ``changes`` given (``CONFIG_FIELDS``) and
    ``enabled`` when not None change; the rest keep their stored (or default) values."""
    unknown = set(changes) - CONFIG_FIELDS
    if unknown:
        raise InvalidInput(f"unknown configuration fields: {', '.join(sorted(unknown))}")
    repo = TenantRepository(db, AiAgent)
    stored = await stored_agent(db, org_id, agent_type)
    if stored is None:
        return await repo.insert(
            AiAgent(
                organization_id=org_id,
                agent_type=agent_type,  # type: ignore[arg-type]
                name=name,
                description=description,
                configuration=AgentConfiguration(**changes),
                status=AgentStatus(is_active=enabled is not False),
            )
        )
    update: dict[str, Any] = {f"configuration.{to_camel(k)}": v for k, v in changes.items()}
    if enabled is not None:
        update["status.isActive"] = enabled
    if not update:
        return stored
    return await repo.update(org_id, stored.id, update) or stored


@dataclass(frozen=True)
class TaskStats:
    """How an agent has done for an organization, from its ``ai_tasks``."""

    counts: dict[str, int]
    success_rate: float | None
    avg_duration_seconds: float | None
    total_cost_usd: float
    last_task_at: str | None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def task_stats(db: Any, org_id: ObjectId, agent_type: str) -> TaskStats:
    repo = TenantRepository(db, AiTask)
    rows = await repo.aggregate(
        org_id,
        [
            {"$match": {"agentType": agent_type}},
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
    latest = await repo.find(org_id, {"agentType": agent_type}, sort=[("createdAt", -1)], limit=1)
    return TaskStats(
        counts=counts,
        success_rate=round(done / (done + failed), 4) if done + failed else None,
        avg_duration_seconds=round(float(avg), 3) if avg is not None else None,
        total_cost_usd=round(sum(float(r["cost"] or 0) for r in rows), 6),
        last_task_at=latest[0].created_at.isoformat() if latest else None,
    )


@dataclass(frozen=True)
class Example:
    text: str
    kind: MemoryKind | None = None
    metadata: dict[str, Any] | None = None


async def train(
    memory: TenantMemory, org_id: ObjectId, agent_type: str, examples: list[Example]
) -> list[tuple[str, MemoryKind]]:
    """Store ``examples`` in the organization's memory; (id, kind) of each, in order.

    Every example is checked before any is stored: one bad example stores none."""
    planned: list[tuple[MemoryKind, str, dict[str, Any]]] = []
    for i, example in enumerate(examples):
        metadata = {**(example.metadata or {}), "agent": agent_type, "source": "training"}
        try:
            checked_metadata(org_id, metadata)
        except InvalidMetadata as exc:
            raise InvalidInput.field(f"body.examples.{i}.metadata", str(exc)) from exc
        planned.append((example.kind or NATURAL_KIND[agent_type], example.text, metadata))
    stored = []
    for kind, text, metadata in planned:
        stored.append((await memory.add(org_id, kind, text, metadata), kind))
    return stored
