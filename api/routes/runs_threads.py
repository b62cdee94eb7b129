"""``/lg/threads``: per-tenant threads, their state and history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Response

from api.deps import EngineDep, Reader, Writer, rate_limited
from api.routes.lg_schemas import (
    Checkpoint,
    CountBody,
    HistoryQuery,
    StateUpdate,
    ThreadCreate,
    ThreadOut,
    ThreadPatch,
    ThreadSearch,
    ThreadState,
    UpdateStateOut,
)
from runs.sdk import get_thread
from runs.threads import Threads, search_query

RATE = rate_limited("runs", 600, 60)
router = APIRouter(prefix="/threads", tags=["runs"], dependencies=[Depends(RATE)])


def threads_of(engine: EngineDep) -> Threads:
    return Threads(engine)


ThreadsDep = Annotated[Threads, Depends(threads_of)]


@router.post("", response_model=ThreadOut)
async def create_thread(
    threads: ThreadsDep, principal: Writer, body: Annotated[ThreadCreate | None, Body()] = None
) -> ThreadOut:
    """SDK ``threads.create``; ``if_exists`` "do_nothing" returns an existing thread."""
    body = body or ThreadCreate()
    thread = await threads.create(
        principal.org_id,
        thread_id=body.thread_id,
        metadata=body.metadata,
        if_exists=body.if_exists or "raise",
    )
    return ThreadOut.of(thread)


@router.post("/search", response_model=list[ThreadOut])
async def search_threads(
    threads: ThreadsDep, principal: Reader, body: Annotated[ThreadSearch | None, Body()] = None
) -> list[ThreadOut]:
    """SDK ``threads.search``: by metadata (exact keys), status, ids; newest first."""
    body = body or ThreadSearch()
    query = search_query(body.metadata, body.status, body.ids)
    found = await threads.search(principal.org_id, query, offset=body.offset, limit=body.limit)
    return [ThreadOut.of(t) for t in found]


@router.post("/count", response_model=int)
async def count_threads(
    threads: ThreadsDep, principal: Reader, body: Annotated[CountBody | None, Body()] = None
) -> int:
    """SDK ``threads.count``."""
    body = body or CountBody()
    return await threads.count(principal.org_id, search_query(body.metadata, body.status, body.ids))


@router.patch("/{thread_id}", response_model=ThreadOut)
async def update_thread(
    thread_id: str,
    threads: ThreadsDep,
    principal: Writer,
    body: Annotated[ThreadPatch | None, Body()] = None,
) -> ThreadOut:
    """SDK ``threads.update``: merge ``metadata`` into the thread's."""
    return ThreadOut.of(
        await threads.update(principal.org_id, thread_id, (body or ThreadPatch()).metadata)
    )


async def _state(
    threads: Threads, principal: Reader, thread_id: str, checkpoint_id: str | None = None
) -> ThreadState:
    thread = await get_thread(threads.db, principal.org_id, thread_id)
    snap = await threads.state(principal.org_id, principal.user_id, thread, checkpoint_id)
    return ThreadState.of(snap) if snap else ThreadState.empty(thread_id)


@router.get("/{thread_id}", response_model=ThreadOut)
async def get_thread_route(thread_id: str, threads: ThreadsDep, principal: Reader) -> ThreadOut:
    thread = await get_thread(threads.db, principal.org_id, thread_id)
    return ThreadOut.of(thread, await _state(threads, principal, thread_id))


@router.delete("/{thread_id}", status_code=204)
async def delete_thread(thread_id: str, threads: ThreadsDep, principal: Writer) -> Response:
    """The thread, its runs and its checkpoints."""
    await threads.delete(principal.org_id, thread_id)
    return Response(status_code=204)


@router.get("/{thread_id}/state", response_model=ThreadState)
async def get_state(thread_id: str, threads: ThreadsDep, principal: Reader) -> ThreadState:
    """SDK ``threads.get_state``: the latest checkpoint as a ThreadState."""
    return await _state(threads, principal, thread_id)


@router.get("/{thread_id}/state/{checkpoint_id}", response_model=ThreadState)
async def get_state_at(
    thread_id: str, checkpoint_id: str, threads: ThreadsDep, principal: Reader
) -> ThreadState:
    """SDK ``threads.get_state(checkpoint_id=...)``: the state at one checkpoint (404 for a
    checkpoint the thread does not have)."""
    return await _state(threads, principal, thread_id, checkpoint_id)


@router.post("/{thread_id}/state", response_model=UpdateStateOut)
async def update_state(
    thread_id: str,
    threads: ThreadsDep,
    principal: Writer,
    body: Annotated[StateUpdate | None, Body()] = None,
) -> UpdateStateOut:
    """SDK ``threads.update_state``: write ``values`` as if ``as_node`` had returned them."""
    body = body or StateUpdate()
    checkpoint_id = body.checkpoint_id or (
        body.checkpoint.checkpoint_id if body.checkpoint else None
    )
    written = await threads.update_state(
        principal.org_id,
        principal.user_id,
        thread_id,
        body.values,
        as_node=body.as_node,
        checkpoint_id=checkpoint_id,
    )
    return UpdateStateOut(checkpoint=Checkpoint.of(written))


@router.post("/{thread_id}/history", response_model=list[ThreadState])
async def get_history(
    thread_id: str,
    threads: ThreadsDep,
    principal: Reader,
    body: Annotated[HistoryQuery | None, Body()] = None,
) -> list[ThreadState]:
    """SDK ``threads.get_history``: checkpoints newest first, ``limit``/``before``."""
    body = body or HistoryQuery()
    snaps = await threads.history(
        principal.org_id, principal.user_id, thread_id, limit=body.limit, before=body.before_id
    )
    return [ThreadState.of(s) for s in snaps]
