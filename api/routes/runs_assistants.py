"""``/lg/assistants``: a read-only assistant per graph (its id is the graph name or a UUID), the
organization's configured variants (``assistants.create/update/delete``), and what LangGraph
Studio and agent-chat-ui read of each: its graph and its schemas."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import Field

from api.deps import EngineDep, Reader, RuntimeDep, Writer, rate_limited, require
from api.responses import errors
from api.routes.lg_schemas import (
    AssistantCreate,
    AssistantGraph,
    AssistantOut,
    AssistantPatch,
    AssistantSchemas,
    AssistantSearch,
    CountBody,
)
from runs import assistants

RATE = rate_limited("runs", 600, 60)
router = APIRouter(
    prefix="/assistants",
    tags=["runs"],
    dependencies=[Depends(require("read")), Depends(RATE)],
)


@router.post("", response_model=AssistantOut, responses=errors(403, 404, 409, 422))
async def create_assistant(
    body: AssistantCreate, principal: Writer, runtime: RuntimeDep
) -> AssistantOut:
    """SDK ``assistants.create``: a configured variant of a graph for this organization."""
    created = await assistants.create(
        runtime.db,
        principal.org_id,
        graph_id=body.graph_id,
        config=body.config.model_dump(exclude_none=True) if body.config else None,
        metadata=body.metadata,
        name=body.name,
        description=body.description,
        assistant_id=body.assistant_id,
        if_exists=body.if_exists or "raise",
    )
    return AssistantOut.of(created)


@router.post("/search", response_model=list[AssistantOut])
async def search_assistants(
    principal: Reader,
    runtime: RuntimeDep,
    body: Annotated[AssistantSearch | None, Body()] = None,
) -> list[AssistantOut]:
    """SDK ``assistants.search``: filter by graph_id / name / metadata; limit and offset."""
    body = body or AssistantSearch()
    found = await assistants.search(
        runtime.db, principal.org_id, graph_id=body.graph_id, name=body.name, metadata=body.metadata
    )
    return [AssistantOut.of(a) for a in found[body.offset : body.offset + body.limit]]


@router.post("/count", response_model=int)
async def count_assistants(
    principal: Reader, runtime: RuntimeDep, body: Annotated[CountBody | None, Body()] = None
) -> int:
    body = body or CountBody()
    found = await assistants.search(
        runtime.db, principal.org_id, graph_id=body.graph_id, name=body.name, metadata=body.metadata
    )
    return len(found)


@router.get("/{assistant_id}", response_model=AssistantOut, responses=errors(404))
async def get_assistant(assistant_id: str, principal: Reader, runtime: RuntimeDep) -> AssistantOut:
    return AssistantOut.of(await assistants.get(runtime.db, principal.org_id, assistant_id))


@router.patch("/{assistant_id}", response_model=AssistantOut, responses=errors(403, 404, 409))
async def update_assistant(
    assistant_id: str, body: AssistantPatch, principal: Writer, runtime: RuntimeDep
) -> AssistantOut:
    """SDK ``assistants.update``: a variant's graph, configuration, name, description; its
    metadata is merged. A graph's own assistant cannot change (409)."""
    updated = await assistants.update(
        runtime.db,
        principal.org_id,
        assistant_id,
        graph_id=body.graph_id,
        config=body.config.model_dump(exclude_none=True) if body.config else None,
        metadata=body.metadata,
        name=body.name,
        description=body.description,
    )
    return AssistantOut.of(updated)


@router.delete(
    "/{assistant_id}", status_code=204, response_class=Response, responses=errors(403, 404, 409)
)
async def delete_assistant(assistant_id: str, principal: Writer, runtime: RuntimeDep) -> Response:
    """SDK ``assistants.delete``: a variant (a graph's own assistant stays: 409)."""
    await assistants.delete(runtime.db, principal.org_id, assistant_id)
    return Response(status_code=204)


@router.get("/{assistant_id}/graph", response_model=AssistantGraph, responses=errors(404))
async def get_assistant_graph(
    assistant_id: str,
    principal: Reader,
    runtime: RuntimeDep,
    engine: EngineDep,
    xray: Annotated[
        bool | Annotated[int, Field(ge=0, le=10)],
        Query(description="Draw subgraphs too (an int: to that depth)."),
    ] = False,
) -> AssistantGraph:
    """SDK ``assistants.get_graph``: the nodes and edges of the assistant's graph."""
    found = await assistants.get(runtime.db, principal.org_id, assistant_id)
    return AssistantGraph.model_validate(assistants.graph_json(engine, found.graph_id, xray))


@router.get("/{assistant_id}/schemas", response_model=AssistantSchemas, responses=errors(404))
async def get_assistant_schemas(
    assistant_id: str, principal: Reader, runtime: RuntimeDep, engine: EngineDep
) -> AssistantSchemas:
    """SDK ``assistants.get_schemas``: input, output, state and config JSON schemas."""
    found = await assistants.get(runtime.db, principal.org_id, assistant_id)
    return AssistantSchemas.model_validate(assistants.schemas(engine, found.graph_id))
