"""``/lg/assistants``: one read-only assistant per graph; its id is the graph name or a UUID."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends

from api.deps import rate_limited, require
from api.routes.lg_schemas import AssistantOut, AssistantSearch, CountBody
from graphs.registry import DESCRIPTIONS
from runs.assistants import ASSISTANT_IDS, graph_for

RATE = rate_limited("runs", 600, 60)
router = APIRouter(
    prefix="/assistants",
    tags=["runs"],
    dependencies=[Depends(require("read")), Depends(RATE)],
)
_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def assistant(name: str) -> AssistantOut:
    return AssistantOut(
        assistant_id=ASSISTANT_IDS[name],
        graph_id=name,
        name=name,
        description=DESCRIPTIONS.get(name),
        metadata={"created_by": "system"},
        created_at=_EPOCH,
        updated_at=_EPOCH,
    )


def _matching(graph_id: str | None, name: str | None) -> list[AssistantOut]:
    found = [assistant(n) for n in ASSISTANT_IDS]
    if graph_id:
        found = [a for a in found if a.graph_id == graph_id]
    if name:
        found = [a for a in found if name in a.name]
    return found


@router.post("/search", response_model=list[AssistantOut])
async def search_assistants(
    body: Annotated[AssistantSearch | None, Body()] = None,
) -> list[AssistantOut]:
    """SDK ``assistants.search``: filter by graph_id / name; limit and offset."""
    body = body or AssistantSearch()
    found = _matching(body.graph_id, body.name)
    return found[body.offset : body.offset + body.limit]


@router.post("/count", response_model=int)
async def count_assistants(body: Annotated[CountBody | None, Body()] = None) -> int:
    body = body or CountBody()
    return len(_matching(body.graph_id, body.name))


@router.get("/{assistant_id}", response_model=AssistantOut)
async def get_assistant(assistant_id: str) -> AssistantOut:
    return assistant(graph_for(assistant_id))
