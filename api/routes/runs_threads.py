"""``/lg/threads``: per-tenant threads, their state and history."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Response

from api.deps import RuntimeDep, rate_limited, require
from api.errors import ApiError
from api.principal import Principal
from api.routes.runs_common import (
    checkpoint_of,
    config_for,
    get_thread,
    graph,
    runs,
    snapshot_json,
    thread_json,
    thread_values,
    threads,
)
from persistence.models.runs import LgThread

RATE = rate_limited("runs", 600, 60)
router = APIRouter(prefix="/threads", tags=["runs"], dependencies=[Depends(RATE)])
Reader = Annotated[Principal, Depends(require("read"))]
Writer = Annotated[Principal, Depends(require("write"))]


def checked_metadata(metadata: Any) -> dict[str, Any]:
    """Thread metadata: an object whose keys are plain names (they become document paths,
    where a leading "$" or a "." would be an operator or a nested path)."""
    if metadata is None:
        return {}
    bad = not isinstance(metadata, dict) or any(
        not k or k.startswith("$") or "." in k for k in metadata
    )
    if bad:
        raise ApiError(
            422,
            "invalid input: body.metadata",
            fields=[{"field": "body.metadata", "message": "an object; keys without $ or ."}],
        )
    return metadata


def _search_query(body: dict[str, Any]) -> dict[str, Any]:
    """A thread filter from a search body: metadata (exact keys), status, ids."""
    query: dict[str, Any] = {}
    for key, value in checked_metadata(body.get("metadata")).items():
        query["graphId" if key == "graph_id" else f"metadata.{key}"] = value
    if body.get("status"):
        query["status"] = str(body["status"])
    if body.get("ids"):
        query["threadId"] = {"$in": [str(i) for i in body["ids"]]}
    return query


@router.post("")
async def create_thread(
    runtime: RuntimeDep,
    principal: Writer,
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> dict[str, Any]:
    """SDK ``threads.create``; ``if_exists`` "do_nothing" returns an existing thread."""
    body = body or {}
    thread_id = str(body.get("thread_id") or uuid.uuid4())
    existing = await threads(runtime).find_one(principal.org_id, {"threadId": thread_id})
    if existing is not None:
        if body.get("if_exists") == "do_nothing":
            return thread_json(existing)
        raise ApiError(409, f"thread {thread_id!r} already exists")
    doc = LgThread(
        organization_id=principal.org_id,
        thread_id=thread_id,
        metadata=checked_metadata(body.get("metadata")),
    )
    await threads(runtime).insert(doc)
    return thread_json(doc)


@router.post("/search")
async def search_threads(
    runtime: RuntimeDep, principal: Reader, body: Annotated[dict[str, Any] | None, Body()] = None
) -> list[dict[str, Any]]:
    """SDK ``threads.search``: by metadata (exact keys), status, ids; newest first."""
    body = body or {}
    query = _search_query(body)
    found = await threads(runtime).find(
        principal.org_id,
        query,
        sort=[("createdAt", -1)],
        skip=int(body.get("offset") or 0),
        limit=int(body.get("limit") or 10),
    )
    return [thread_json(t) for t in found]


@router.post("/count")
async def count_threads(
    runtime: RuntimeDep, principal: Reader, body: Annotated[dict[str, Any] | None, Body()] = None
) -> int:
    """SDK ``threads.count``."""
    body = body or {}
    query = _search_query(body)
    return await threads(runtime).count(principal.org_id, query)


@router.patch("/{thread_id}")
async def update_thread(
    thread_id: str,
    runtime: RuntimeDep,
    principal: Writer,
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> dict[str, Any]:
    """SDK ``threads.update``: merge ``metadata`` into the thread's."""
    t = await get_thread(runtime, principal.org_id, thread_id)
    metadata = {**t.metadata, **checked_metadata((body or {}).get("metadata"))}
    updated = await threads(runtime).update(principal.org_id, t.id, {"metadata": metadata})
    return thread_json(updated or t)


@router.get("/{thread_id}")
async def get_thread_route(
    thread_id: str, runtime: RuntimeDep, principal: Reader
) -> dict[str, Any]:
    t = await get_thread(runtime, principal.org_id, thread_id)
    state = await thread_values(runtime, principal.org_id, principal.user_id, t)
    interrupts = {task["id"]: task["interrupts"] for task in state["tasks"] if task["interrupts"]}
    return thread_json(t, state["values"], interrupts)


@router.delete("/{thread_id}", status_code=204)
async def delete_thread(thread_id: str, runtime: RuntimeDep, principal: Writer) -> Response:
    """The thread, its runs and its checkpoints."""
    t = await get_thread(runtime, principal.org_id, thread_id)
    await runtime.checkpointer.adelete_thread(thread_id, organization_id=str(principal.org_id))
    await threads(runtime).delete(principal.org_id, t.id)
    await runtime.db["lg_runs"].delete_many(
        {"organizationId": principal.org_id, "threadId": thread_id}
    )
    return Response(status_code=204)


@router.get("/{thread_id}/state")
async def get_state(thread_id: str, runtime: RuntimeDep, principal: Reader) -> dict[str, Any]:
    """SDK ``threads.get_state``: the latest checkpoint as a ThreadState."""
    t = await get_thread(runtime, principal.org_id, thread_id)
    return await thread_values(runtime, principal.org_id, principal.user_id, t)


@router.get("/{thread_id}/state/{checkpoint_id}")
async def get_state_at(
    thread_id: str, checkpoint_id: str, runtime: RuntimeDep, principal: Reader
) -> dict[str, Any]:
    """SDK ``threads.get_state(checkpoint_id=...)``: the state at one checkpoint."""
    t = await get_thread(runtime, principal.org_id, thread_id)
    return await thread_values(runtime, principal.org_id, principal.user_id, t, checkpoint_id)


@router.post("/{thread_id}/state")
async def update_state(
    thread_id: str,
    runtime: RuntimeDep,
    principal: Writer,
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> dict[str, Any]:
    """SDK ``threads.update_state``: write ``values`` as if ``as_node`` had returned them."""
    body = body or {}
    t = await get_thread(runtime, principal.org_id, thread_id)
    if not t.graph_id:
        raise ApiError(409, f"thread {thread_id!r} has not run a graph yet; start a run first")
    busy = await runs(runtime).count(
        principal.org_id, {"threadId": thread_id, "status": {"$in": ["pending", "running"]}}
    )
    if busy:
        raise ApiError(409, f"thread {thread_id!r} has a run in progress", code="thread_busy")
    config = config_for(runtime, principal.org_id, principal.user_id, t.graph_id, thread_id)
    checkpoint_id = body.get("checkpoint_id") or (body.get("checkpoint") or {}).get("checkpoint_id")
    if checkpoint_id:
        config["configurable"]["checkpoint_id"] = checkpoint_id
    try:
        written = await graph(runtime, t.graph_id).aupdate_state(
            config, body.get("values"), as_node=body.get("as_node")
        )
    except (ValueError, KeyError) as exc:
        raise ApiError(422, f"cannot update the state: {exc}") from exc
    return {"checkpoint": checkpoint_of(written)}


@router.post("/{thread_id}/history")
async def get_history(
    thread_id: str,
    runtime: RuntimeDep,
    principal: Reader,
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> list[dict[str, Any]]:
    """SDK ``threads.get_history``: checkpoints newest first, ``limit``/``before``."""
    body = body or {}
    t = await get_thread(runtime, principal.org_id, thread_id)
    if not t.graph_id:
        return []
    config = config_for(runtime, principal.org_id, principal.user_id, t.graph_id, thread_id)
    before = body.get("before")
    before_config = None
    if before:
        checkpoint_id = before.get("checkpoint_id") if isinstance(before, dict) else before
        before_config = {"configurable": {"checkpoint_id": checkpoint_id}}
    out = []
    async for snap in graph(runtime, t.graph_id).aget_state_history(
        config, limit=int(body.get("limit") or 10), before=before_config
    ):
        out.append(snapshot_json(snap))
    return out
