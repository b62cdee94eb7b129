"""Assistants of the runs API: one per graph, and the configured variants an organization makes.

A graph's own assistant is addressed by the graph's name or a stable UUID, derived from the
name in a fixed namespace, so every deployment gives a graph the same assistant id and a client
can keep it; it is not stored, and it dates from the organization's creation. A variant
(``assistants.create``) is stored for its organization: a graph, a name and a configuration
(the chat model its runs use unless a run names its own), and is theirs only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from bson import ObjectId
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from graphs.examples import INPUT_EXAMPLES
from graphs.inputs import INPUT_MODELS
from graphs.registry import DESCRIPTIONS, GRAPH_NAMES, UnknownGraph
from persistence.admin import OrganizationAdmin
from persistence.errors import Conflict, InvalidInput, NotFound
from persistence.ids import utcnow
from persistence.models.runs import LgAssistant
from persistence.repository import TenantRepository
from runs.engine import RunEngine, check_graph
from runs.errors import AlreadyExists
from runs.threads import checked_metadata

_NAMESPACE = uuid.UUID("6f1c3a52-4d0e-4b8a-9a57-2f7d0c1e9b11")
ASSISTANT_IDS: dict[str, str] = {n: str(uuid.uuid5(_NAMESPACE, n)) for n in GRAPH_NAMES}
_BY_UUID = {v: k for k, v in ASSISTANT_IDS.items()}


class ReadOnlyAssistant(Conflict):
    """A graph's own assistant is the same for everyone: it is not changed or deleted."""

    default_code = "read_only_assistant"


class AssistantConfigurable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(
        default=None, min_length=1, max_length=200, description="provider:model its runs use"
    )
    system_prompt: str | None = Field(
        default=None,
        min_length=1,
        max_length=4000,
        description="Instructions every agent of its runs follows (in place of the "
        "organization's own per-agent addition)",
    )


class AssistantConfig(BaseModel):
    """What a variant may configure (anything else is refused, not silently ignored)."""

    model_config = ConfigDict(extra="forbid")

    configurable: AssistantConfigurable = Field(default_factory=AssistantConfigurable)


def graph_for(assistant_id: str) -> str:
    """The graph a built-in assistant id (a graph name or its UUID) stands for."""
    name = _BY_UUID.get(assistant_id, assistant_id)
    if name not in ASSISTANT_IDS:
        raise UnknownGraph(
            f"no assistant {assistant_id!r}; choose one of: {', '.join(GRAPH_NAMES)}"
        )
    return name


def _builtin_name(assistant_id: str) -> str | None:
    name = _BY_UUID.get(assistant_id, assistant_id)
    return name if name in ASSISTANT_IDS else None


def checked_config(config: Any, field: str = "body.config") -> dict[str, Any]:
    try:
        checked = AssistantConfig.model_validate(config or {})
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in (field, *problem["loc"]))
        raise InvalidInput.field(where, problem["msg"]) from exc
    return checked.model_dump(exclude_none=True)


def _repo(db: Any) -> TenantRepository[LgAssistant]:
    return TenantRepository(db, LgAssistant)


async def _builtin(db: Any, org_id: ObjectId, name: str) -> LgAssistant:
    org = await OrganizationAdmin(db).get(org_id)
    since = org.created_at if org is not None else utcnow()
    return LgAssistant(
        organization_id=org_id,
        assistant_id=ASSISTANT_IDS[name],
        graph_id=name,
        name=name,
        description=DESCRIPTIONS.get(name),
        metadata={"created_by": "system"},
        created_at=since,
        updated_at=since,
    )


async def get(db: Any, org_id: ObjectId, assistant_id: str) -> LgAssistant:
    """A graph's own assistant, or the organization's variant; NotFound otherwise (another
    organization's variant included)."""
    name = _builtin_name(assistant_id)
    if name is not None:
        return await _builtin(db, org_id, name)
    found = await _repo(db).find_one(org_id, {"assistantId": assistant_id})
    if found is None:
        raise NotFound(f"no assistant {assistant_id!r}")
    return found


@dataclass(frozen=True)
class Resolved:
    """What a run of an assistant runs: its graph, and the variant's model and prompt."""

    graph: str
    model: str | None = None
    system_prompt: str | None = None


async def resolve(db: Any, org_id: ObjectId, assistant_id: str) -> Resolved:
    if _builtin_name(assistant_id) is not None:
        return Resolved(graph_for(assistant_id))
    found = await get(db, org_id, assistant_id)
    configurable = found.config.get("configurable") or {}
    return Resolved(found.graph_id, configurable.get("model"), configurable.get("system_prompt"))


async def search(
    db: Any,
    org_id: ObjectId,
    *,
    graph_id: str | None = None,
    name: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> list[LgAssistant]:
    """The graphs' assistants, then the organization's variants, newest first."""
    found = [await _builtin(db, org_id, n) for n in ASSISTANT_IDS]
    found += await _repo(db).find(org_id, sort=[("createdAt", -1), ("assistantId", -1)])
    wanted = checked_metadata(metadata)
    return [
        a
        for a in found
        if (not graph_id or a.graph_id == graph_id)
        and (not name or name in a.name)
        and all(a.metadata.get(k) == v for k, v in wanted.items())
    ]


async def create(
    db: Any,
    org_id: ObjectId,
    *,
    graph_id: str,
    config: Any = None,
    metadata: Any = None,
    name: str | None = None,
    description: str | None = None,
    assistant_id: str | None = None,
    if_exists: Literal["raise", "do_nothing"] = "raise",
) -> LgAssistant:
    graph = check_graph(graph_id)
    assistant_id = assistant_id or str(uuid.uuid4())
    if _builtin_name(assistant_id) is not None:
        raise AlreadyExists(f"{assistant_id!r} is a graph's own assistant")
    doc = LgAssistant(
        organization_id=org_id,
        assistant_id=assistant_id,
        graph_id=graph,
        name=name or "Untitled",
        description=description,
        config=checked_config(config),
        metadata=checked_metadata(metadata),
    )
    existing = await _repo(db).find_one(org_id, {"assistantId": assistant_id})
    if existing is not None:
        if if_exists == "do_nothing":
            return existing
        raise AlreadyExists(f"assistant {assistant_id!r} already exists")
    return await _repo(db).insert(doc)


async def update(
    db: Any,
    org_id: ObjectId,
    assistant_id: str,
    *,
    graph_id: str | None = None,
    config: Any = None,
    metadata: Any = None,
    name: str | None = None,
    description: str | None = None,
) -> LgAssistant:
    """Change a variant (a new version); metadata is merged. The graphs' own are fixed."""
    if _builtin_name(assistant_id) is not None:
        raise ReadOnlyAssistant(
            f"{assistant_id!r} is a graph's own assistant and cannot change; create a variant"
        )
    current = await get(db, org_id, assistant_id)
    changes: dict[str, Any] = {"version": current.version + 1, "updatedAt": utcnow()}
    if graph_id is not None:
        changes["graphId"] = check_graph(graph_id)
    if config is not None:
        changes["config"] = checked_config(config)
    if metadata is not None:
        changes["metadata"] = checked_metadata({**current.metadata, **checked_metadata(metadata)})
    if name is not None:
        changes["name"] = name
    if description is not None:
        changes["description"] = description
    updated = await _repo(db).update(org_id, current.id, changes)
    if updated is None:
        raise NotFound(f"no assistant {assistant_id!r}")
    return updated


async def delete(db: Any, org_id: ObjectId, assistant_id: str) -> None:
    if _builtin_name(assistant_id) is not None:
        raise ReadOnlyAssistant(f"{assistant_id!r} is a graph's own assistant; it stays")
    current = await get(db, org_id, assistant_id)
    await _repo(db).delete(org_id, current.id)


# --- what Studio and agent-chat-ui read ---------------------------------------------------


def graph_json(engine: RunEngine, graph_id: str, xray: bool | int = False) -> dict[str, Any]:
    """The graph's nodes and edges, as LangGraph draws it."""
    drawn = engine.graph(graph_id).get_graph(xray=xray).to_json()
    return dict(drawn)


def schemas(engine: RunEngine, graph_id: str) -> dict[str, Any]:
    """The JSON schemas of what a run takes (the input contract the API checks), what it
    returns, the state its checkpoints hold and the configuration an assistant may set."""
    graph = engine.graph(graph_id)
    state_schema = graph.builder.state_schema
    return {
        "graph_id": graph_id,
        # With a valid example (``graphs.examples``): clients prefill it.
        "input_schema": {
            **INPUT_MODELS[graph_id].model_json_schema(by_alias=True),
            "examples": [INPUT_EXAMPLES[graph_id]],
        },
        "output_schema": graph.get_output_jsonschema(),
        "state_schema": TypeAdapter(state_schema).json_schema(),
        "config_schema": AssistantConfig.model_json_schema(),
        "context_schema": None,
    }
