"""``/lg/assistants``: one read-only assistant per graph; its id is the graph name or a UUID."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from api.deps import rate_limited, require
from api.routes.runs_common import ASSISTANT_IDS, assistant, graph_name

RATE = rate_limited("runs", 600, 60)
router = APIRouter(
    prefix="/assistants",
    tags=["runs"],
    dependencies=[Depends(require("read")), Depends(RATE)],
)


@router.post("/search")
async def search_assistants(body: Annotated[dict[str, Any] | None, Body()] = None) -> list[dict]:
    """SDK ``assistants.search``: filter by graph_id / name; limit and offset."""
    body = body or {}
    found = [assistant(n) for n in ASSISTANT_IDS]
    if body.get("graph_id"):
        found = [a for a in found if a["graph_id"] == body["graph_id"]]
    if body.get("name"):
        found = [a for a in found if body["name"] in a["name"]]
    offset, limit = int(body.get("offset") or 0), int(body.get("limit") or 10)
    return found[offset : offset + limit]


@router.post("/count")
async def count_assistants(body: Annotated[dict[str, Any] | None, Body()] = None) -> int:
    return len(await search_assistants({**(body or {}), "limit": 10_000, "offset": 0}))


@router.get("/{assistant_id}")
async def get_assistant(assistant_id: str) -> dict[str, Any]:
    return assistant(graph_name(assistant_id))
